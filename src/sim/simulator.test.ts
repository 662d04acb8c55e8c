import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type EngineAction, type EngineOptions, refuseControl, type SyncEngineApi } from '../core/engine/engine-api.js';
import { sourceOptions } from '../core/engine/source-options.js';
import { unsynchronizedState } from '../core/system.js';
import type { Instant } from '../time/instant.js';
import { Random } from './random.js';
import type { Scenario } from './scenario.js';
import { simulate } from './simulator.js';
import { StandInEngine } from './stand-in-engine.test-helper.js';

let last: StandInEngine | null = null;
/** The parts of SyncEngineApi that the inert test doubles below do not care about. */
const inert = {
  snapshot: () => ({ version: 1 as const, time: '0', clock: 'sim' as const, tracking: {} as never, sources: [] }),
  systemState: () => unsynchronizedState(-24),
  drift: () => ({ frequencyPpm: 0, skewPpm: 0 }),
  control: refuseControl,
};
const standIn = (o: EngineOptions): SyncEngineApi => (last = new StandInEngine(o));

function base(over: Partial<Scenario> = {}): Scenario {
  return {
    duration: 2000,
    client: { clock: { offset: 0.5, freqPpm: 50, wanderPpbPerS: 1 }, sources: [sourceOptions('server', '10.0.0.1', { minpoll: 4 })], discipline: { makestep: { threshold: 0.1, limit: 3 } } },
    servers: [{ address: '10.0.0.1', path: { delay: 1e-3, jitter: 100e-6 } }],
    convergedAfter: 1000,
    ...over,
  };
}

test('random streams: deterministic, forked streams independent of draw order', () => {
  const a = new Random(42);
  const b = new Random(42);
  const xs = Array.from({ length: 5 }, () => a.uint32());
  assert.deepEqual(Array.from({ length: 5 }, () => b.uint32()), xs);
  assert.notDeepEqual(Array.from({ length: 5 }, () => new Random(43).uint32()), xs);
  assert.equal(new Random(7).fork('x').uniform(), new Random(7).fork('x').uniform());
  const r = new Random(3);
  let sum = 0;
  let sumExp = 0;
  let sumSq = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    sum += r.uniform();
    sumExp += r.exponential();
    const z = r.normal();
    sumSq += z * z;
  }
  assert.ok(Math.abs(sum / n - 0.5) < 0.01);
  assert.ok(Math.abs(sumExp / n - 1) < 0.03);
  assert.ok(Math.abs(sumSq / n - 1) < 0.04);
});

test('same seed, same run; another seed, another run', () => {
  const a = simulate(base(), { engine: standIn, seed: 1 });
  const b = simulate(base(), { engine: standIn, seed: 1 });
  const c = simulate(base(), { engine: standIn, seed: 2 });
  assert.deepEqual(a.metrics, b.metrics);
  assert.deepEqual(a.series, b.series);
  assert.notEqual(a.metrics.rmsError, c.metrics.rmsError);
});

test('a polling engine converges: one step, then slewing; metrics reflect it', () => {
  const r = simulate(base(), { engine: standIn, seed: 5 });
  assert.equal(r.metrics.steps, 1);
  assert.ok(Math.abs(r.steps[0]!.seconds + 0.5) < 0.01, 'stepped back by about the 0.5 s offset');
  assert.ok(r.metrics.rmsError < 1e-3, `rms ${r.metrics.rmsError}`);
  assert.ok(r.metrics.timeWithin1ms !== null && r.metrics.timeWithin1ms < 1000);
  assert.ok(r.metrics.maxAbsErrorOverall >= 0.5);
  assert.ok(r.metrics.maxFrequencyPpm > 40, 'it had to cancel 50 ppm');
  assert.ok(r.metrics.requests >= 2000 / 16 && r.metrics.replies === r.metrics.requests);
  assert.equal(r.events.filter((e) => e.event.type === 'step').length, 1);
});

test('the measured error is the true one: a null engine sees offset + frequency * t exactly', () => {
  const nothing = (): SyncEngineApi => ({
    start: () => [], tick: () => [], sent: () => {}, receive: () => [], resolved: () => [], ...inert,
  });
  const r = simulate({ duration: 100, client: { clock: { offset: -0.02, freqPpm: 30 }, sources: [] }, servers: [], convergedAfter: 0 }, { engine: nothing, seed: 1 });
  assert.equal(r.metrics.samples, 101);
  for (const s of r.series) assert.ok(Math.abs(s.error - (-0.02 + 30e-6 * s.t)) < 1e-9);
  assert.ok(Math.abs(r.metrics.finalError - (-0.02 + 30e-6 * 100)) < 1e-9);
  assert.equal(r.metrics.timeWithin1ms, null);
});

test('the engine measures what the network and server clocks make: asymmetry and a falseticker offset', () => {
  const run = (server: Scenario['servers'][number]): number[] => {
    simulate({
      duration: 300,
      client: { sources: [sourceOptions('server', server.address, { minpoll: 4 })] },
      servers: [server],
    }, { engine: (o) => { const e = new StandInEngine(o); last = e; return { ...wrapNoDiscipline(e) }; }, seed: 9 });
    return last!.offsets;
  };
  const asym = run({ address: '10.0.0.2', path: { delay: 5e-3, asymmetry: 2e-3 } });
  for (const o of asym) assert.ok(Math.abs(o - 1e-3) < 1e-8, `offset ${o}`);
  const fast = run({ address: '10.0.0.3', clock: { offset: 0.25 } });
  for (const o of fast) assert.ok(Math.abs(o - 0.25) < 1e-6);
});

/** The stand-in's measurements without its clock corrections. */
function wrapNoDiscipline(e: StandInEngine): SyncEngineApi {
  const strip = (a: EngineAction[]): EngineAction[] => a.filter((x) => x.kind !== 'set-frequency' && x.kind !== 'step');
  return {
    start: (n) => strip(e.start(n)), tick: (n) => strip(e.tick(n)), sent: (i, t) => e.sent(i, t),
    receive: (d, n) => strip(e.receive(d, n)), resolved: (i, r, n) => strip(e.resolved(i, r, n)), snapshot: (n, c) => e.snapshot(n, c),
    systemState: (n) => e.systemState(n), drift: () => e.drift(), control: () => refuseControl(),
  };
}

test('loss, down windows and unknown addresses: requests go unanswered', () => {
  const r = simulate({
    duration: 1600,
    client: { sources: [sourceOptions('server', '10.0.0.4', { minpoll: 4 }), sourceOptions('server', '10.9.9.9', { minpoll: 4 })] },
    servers: [{ address: '10.0.0.4', path: { loss: 0.3 }, down: [{ from: 800, to: 1200 }] }],
    convergedAfter: 0,
  }, { engine: standIn, seed: 3 });
  const s = r.servers['10.0.0.4']!;
  assert.ok(r.unroutable >= 100, 'the second source has no server');
  assert.ok(s.silentWhileDown >= 15 && s.silentWhileDown <= 30, `${s.silentWhileDown}`);
  const perRequestLoss = 1 - r.metrics.replies / (r.metrics.requests - r.unroutable - s.silentWhileDown * 1);
  assert.ok(perRequestLoss > 0.3 && perRequestLoss < 0.65, `loss ${perRequestLoss} (two directions at 30%)`);
});

test('kiss codes: DENY from the responder\'s access table, RATE from its rate limit, crafted codes', () => {
  const kisses = (server: Scenario['servers'][number], minpoll = 0): { code: string; t: number }[] => {
    const r = simulate({ duration: 120, client: { sources: [sourceOptions('server', server.address, { minpoll })] }, servers: [server] }, { engine: standIn, seed: 4 });
    return r.events.flatMap((e) => (e.event.type === 'kiss' ? [{ code: e.event.code, t: e.t }] : []));
  };
  const deny = kisses({ address: '10.0.0.5', deny: true });
  assert.equal(deny.length, 1, 'the stand-in stops after DENY');
  assert.equal(deny[0]!.code, 'DENY');
  const rate = kisses({ address: '10.0.0.6', rateLimit: { interval: 4, burst: 2, leak: 1, kod: 1 } });
  assert.ok(rate.length >= 1 && rate.every((k) => k.code === 'RATE'));
  const crafted = kisses({ address: '2001:db8::7', kiss: { code: 'RATE', windows: [{ from: 60 }] } }, 4);
  assert.ok(crafted.length >= 3 && crafted.every((k) => k.t >= 60 && k.code === 'RATE'), JSON.stringify(crafted));
});

test('DNS answers come from the scenario table and change over time', () => {
  const r = simulate({
    duration: 400,
    client: { sources: [sourceOptions('pool', 'pool.example', { minpoll: 4 })] },
    servers: [{ address: '10.1.0.1' }, { address: '10.1.0.2' }],
    dns: { 'pool.example': [{ addresses: ['10.1.0.1', '10.1.0.2'] }, { from: 200, error: 'SERVFAIL' }] },
  }, { engine: standIn, seed: 1 });
  assert.deepEqual(r.resolves.map((x) => x.host), ['pool.example']);
  assert.ok(r.servers['10.1.0.1']!.replies > 10);
  assert.equal(r.servers['10.1.0.2']!.requests, 0, 'the stand-in uses only the first address');
});

test('server steps and hooks change the servers\' clocks at the given time', () => {
  const r = simulate({
    duration: 200,
    client: { sources: [sourceOptions('server', '10.2.0.1', { minpoll: 3 })] },
    servers: [{ address: '10.2.0.1', steps: [{ at: 100, seconds: 1 }] }],
    hooks: [{ at: 150, run: (sim) => sim.server('10.2.0.1').clock.step(-3) }],
  }, { engine: (o) => wrapNoDiscipline((last = new StandInEngine(o))), seed: 1 });
  void r;
  const offs = last!.offsets;
  assert.ok(offs.slice(0, 10).every((o) => Math.abs(o) < 1e-2));
  assert.ok(offs.some((o) => Math.abs(o - 1) < 1e-2));
  assert.ok(Math.abs(offs.at(-1)! + 2) < 1e-2);
});

test('a leap second: true UTC repeats a second; the client follows only if its engine arms the kernel', () => {
  const midnight = 1_704_153_600;
  const scenario = (leap: boolean): Scenario => ({
    startUnix: midnight - 300, duration: 600, leapSecond: 'insert',
    client: { sources: [sourceOptions('server', '10.3.0.1', { minpoll: 3 })] },
    servers: [{ address: '10.3.0.1' }],
    sampleInterval: 0.5,
    hooks: leap ? [] : [{ at: 1, run: () => {} }],
  });
  const follows = simulate(scenario(true), { engine: standIn, seed: 1 });
  assert.deepEqual(follows.leaps.map((l) => l.kind), ['insert']);
  assert.ok(Math.abs(follows.leaps[0]!.t - 300) < 0.01);
  assert.ok(follows.metrics.maxAbsErrorOverall < 1e-3, `${follows.metrics.maxAbsErrorOverall}`);
  const ignores = simulate(scenario(false), { engine: (o) => wrapNoLeap((last = new StandInEngine(o))), seed: 1 });
  assert.equal(ignores.leaps.length, 0);
  const after = ignores.series.find((s) => s.t > 301)!;
  assert.ok(Math.abs(after.error - 1) < 0.01, 'one second ahead of UTC right after the leap');
});

test('a clock 2 us behind inserts its leap 2 us late: not counted as a 1 s error', () => {
  const midnight = 1_704_153_600;
  const arm = (): SyncEngineApi => ({
    start: () => [{ kind: 'set-status', synchronized: true, leap: 'insert', estError: 0, maxError: 0 }],
    tick: () => [], sent: () => {}, receive: () => [], resolved: () => [], ...inert,
  });
  const r = simulate({
    startUnix: midnight - 10, duration: 20, leapSecond: 'insert', sampleInterval: 1.0000001, // the 10th sample falls between the two leaps
    client: { clock: { offset: -2e-6 }, sources: [] }, servers: [],
    hooks: [{ at: 10, run: () => {} }], convergedAfter: 0,
  }, { engine: arm, seed: 1 });
  assert.equal(r.leaps.length, 1);
  assert.ok(r.metrics.maxAbsErrorOverall < 3e-6, `${r.metrics.maxAbsErrorOverall}`);
  const missed = simulate({
    startUnix: midnight - 10, duration: 20, leapSecond: 'insert', client: { clock: { offset: -2e-6 }, sources: [] }, servers: [], convergedAfter: 0,
  }, { engine: () => ({ start: () => [], tick: () => [], sent: () => {}, receive: () => [], resolved: () => [], ...inert }), seed: 1 });
  assert.ok(Math.abs(missed.metrics.finalError - 1) < 1e-5, 'a missed leap is a 1 s error');
});

function wrapNoLeap(e: StandInEngine): SyncEngineApi {
  const strip = (a: EngineAction[]): EngineAction[] => a.filter((x) => x.kind !== 'set-status');
  return {
    start: (n) => strip(e.start(n)), tick: (n) => strip(e.tick(n)), sent: (i, t) => e.sent(i, t),
    receive: (d, n) => strip(e.receive(d, n)), resolved: (i, r, n) => strip(e.resolved(i, r, n)), snapshot: (n, c) => e.snapshot(n, c),
    systemState: (n) => e.systemState(n), drift: () => e.drift(), control: () => refuseControl(),
  };
}

test('an engine that spins on timers in the past is stopped with an error', () => {
  const spinner = (): SyncEngineApi => ({
    start: (n: Instant) => [{ kind: 'timer', at: n }], tick: (n: Instant) => [{ kind: 'timer', at: n - 1n }], sent: () => {},
    receive: () => [], resolved: () => [], ...inert,
  });
  assert.throws(() => simulate({ duration: 10, client: { sources: [] }, servers: [] }, { engine: spinner, seed: 1 }), /timers/);
});
