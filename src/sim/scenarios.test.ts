/**
 * Deterministic scenarios against the real engine (core/engine.ts), each
 * judged on what happened to the simulated clock and what the engine said:
 * falsetickers, lost sources, a stepping server, a leap second, a large
 * initial offset, kiss codes and pool replacement. Short polls keep each run
 * to a fraction of a second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyncEngine } from '../core/engine.js';
import type { EngineOptions, SyncEngineApi } from '../core/engine-api.js';
import type { SourceSnapshot } from '../core/snapshot.js';
import { sourceOptions, type SourceOptions } from '../core/source-options.js';
import type { Scenario } from './scenario.js';
import { simulate, type SimResult } from './simulator.js';

const engine = (o: EngineOptions): SyncEngineApi => new SyncEngine(o);
const run = (s: Scenario, seed = 1): SimResult => simulate(s, { engine, seed });

const FAST = { minpoll: 2, maxpoll: 4, iburst: true } as const;
const server = (host: string, o: Partial<Omit<SourceOptions, 'kind' | 'host'>> = {}): SourceOptions => sourceOptions('server', host, { ...FAST, ...o });
const lan = { delay: 1e-3, jitter: 50e-6 } as const;
const every = (step: number, until: number): number[] => Array.from({ length: Math.floor(until / step) }, (_, i) => (i + 1) * step);

function sourceAt(r: SimResult, i: number, address: string): SourceSnapshot | undefined {
  return r.snapshots[i]?.snapshot.sources.find((s) => s.address === address || s.name === address);
}

function verdictsOf(r: SimResult, address: string): string[] {
  return r.snapshots.map((_, i) => sourceAt(r, i, address)?.verdict ?? 'missing');
}

function errorsBetween(r: SimResult, from: number, to: number): number[] {
  return r.series.filter((s) => s.t >= from && s.t <= to).map((s) => s.error);
}

const maxAbs = (xs: readonly number[]): number => xs.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

test('1 falseticker among 4 sources is never selected, and the clock follows the 3 others', () => {
  const r = run({
    duration: 900,
    client: {
      clock: { offset: 0.05, freqPpm: 20, wanderPpbPerS: 1 },
      sources: [server('192.0.2.1'), server('192.0.2.2'), server('2001:db8::3'), server('192.0.2.4')],
      discipline: { makestep: { threshold: 0.1, limit: 3 } },
    },
    servers: [
      { address: '192.0.2.1', path: lan }, { address: '192.0.2.2', path: lan }, { address: '2001:db8::3', path: lan },
      { address: '192.0.2.4', path: lan, clock: { offset: 0.5 } },
    ],
    snapshotsAt: every(10, 890),
    convergedAfter: 450,
  });
  const v = verdictsOf(r, '192.0.2.4');
  assert.ok(!v.includes('selected') && !v.includes('combined'), `falseticker verdicts: ${v.join(',')}`);
  assert.equal(v.at(-1), 'falseticker');
  assert.ok(r.events.some((e) => e.event.type === 'falseticker'), 'a falseticker event');
  assert.ok(['selected', 'combined'].includes(sourceAt(r, r.snapshots.length - 1, '2001:db8::3')?.verdict ?? ''), 'the IPv6 source is used');
  assert.ok(r.metrics.maxAbsError < 1e-3, `max error after convergence ${r.metrics.maxAbsError}`);
});

test('2 falsetickers among 5 (agreeing with each other) are outvoted', () => {
  const r = run({
    duration: 900,
    client: {
      clock: { offset: -0.03, freqPpm: -15 },
      sources: ['192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14', '192.0.2.15'].map((h) => server(h)),
      discipline: { makestep: { threshold: 0.1, limit: 3 } },
    },
    servers: [
      { address: '192.0.2.11', path: lan }, { address: '192.0.2.12', path: lan }, { address: '192.0.2.13', path: lan },
      { address: '192.0.2.14', path: lan, clock: { offset: 0.25 } }, { address: '192.0.2.15', path: lan, clock: { offset: 0.2502 } },
    ],
    snapshotsAt: every(10, 890),
    convergedAfter: 450,
  });
  for (const bad of ['192.0.2.14', '192.0.2.15']) {
    const v = verdictsOf(r, bad);
    assert.ok(!v.includes('selected') && !v.includes('combined'), `${bad}: ${v.join(',')}`);
    assert.equal(v.at(-1), 'falseticker');
  }
  assert.ok(r.metrics.maxAbsError < 1e-3, `max error after convergence ${r.metrics.maxAbsError}`);
});

test('all sources lost: the clock holds over on its frequency, then recovers when they return', () => {
  const down = [{ from: 1200, to: 3000 }];
  const r = run({
    duration: 3900,
    client: {
      clock: { offset: 0.02, freqPpm: 50 },
      sources: [server('192.0.2.21'), server('192.0.2.22'), server('192.0.2.23')],
      discipline: { makestep: { threshold: 0.1, limit: 3 } },
    },
    servers: ['192.0.2.21', '192.0.2.22', '192.0.2.23'].map((address) => ({ address, path: lan, down })),
    snapshotsAt: [1150, 2900, 3850],
    convergedAfter: 3600,
  });
  const atLoss = errorsBetween(r, 1195, 1200)[0]!;
  const holdover = errorsBetween(r, 1200, 3000);
  // 50 ppm uncorrected would be 90 ms in 1800 s; holding the learned frequency keeps it to well under 1 ms.
  assert.ok(maxAbs(holdover.map((e) => e - atLoss)) < 500e-6, `drift in holdover ${maxAbs(holdover.map((e) => e - atLoss))}`);
  assert.ok(r.snapshots[1]!.snapshot.sources.every((s) => s.reach === 0 || s.verdict === 'unusable'), 'sources seen as lost');
  assert.ok(r.snapshots[2]!.snapshot.sources.some((s) => s.verdict === 'selected'), 'a source selected again');
  assert.ok(r.metrics.maxAbsError < 1e-3, `after recovery ${r.metrics.maxAbsError}`);
  assert.equal(r.metrics.steps, 0);
});

test('a server steps by 1 s: among 4 it becomes a falseticker; alone it is followed by slewing, not stepping', () => {
  const four = run({
    duration: 1200,
    client: {
      sources: ['192.0.2.31', '192.0.2.32', '192.0.2.33', '192.0.2.34'].map((h) => server(h)),
      discipline: { makestep: { threshold: 0.1, limit: 3 } },
    },
    servers: [
      { address: '192.0.2.31', path: lan }, { address: '192.0.2.32', path: lan }, { address: '192.0.2.33', path: lan },
      { address: '192.0.2.34', path: lan, steps: [{ at: 500, seconds: 1 }] },
    ],
    snapshotsAt: every(10, 1190),
    convergedAfter: 300,
  });
  const after = verdictsOf(four, '192.0.2.34').slice(60);
  assert.ok(!after.includes('selected') && !after.includes('combined'), after.join(','));
  assert.equal(after.at(-1), 'falseticker');
  assert.ok(four.metrics.maxAbsError < 1e-3, `max error ${four.metrics.maxAbsError}`);
  assert.equal(four.metrics.steps, 0);

  const alone = run({
    duration: 1500,
    client: { sources: [server('192.0.2.35')], discipline: { makestep: { threshold: 0.1, limit: 3 }, maxslewrate: 1000 } },
    servers: [{ address: '192.0.2.35', path: lan, steps: [{ at: 200, seconds: 1 }] }],
    convergedAfter: 1400,
  });
  assert.equal(alone.metrics.steps, 0, 'makestep limit long passed: no step');
  // maxSlewPpm is the correction minus the ideal one, so it also holds the frequency
  // the engine learned while following the stepped server: allow 100 ppm of that.
  assert.ok(alone.metrics.maxSlewPpm <= 1000 + 100, `slew ${alone.metrics.maxSlewPpm} ppm > maxslewrate`);
  // 1 s at 1000 ppm takes 1000 s: the clock cannot be there earlier, and should be there by the end.
  const mid = errorsBetween(alone, 700, 700)[0]!;
  assert.ok(mid < 0.6, `at 700 s the clock has moved ${mid} s: faster than maxslewrate allows`);
  assert.ok(Math.abs(alone.metrics.finalError - 1) < 1e-3, `final ${alone.metrics.finalError}`);
});

test('a leap second announced by the servers is inserted at midnight (leapsecmode system)', () => {
  const midnight = 1_719_792_000; // 2024-07-01T00:00:00Z
  const r = run({
    startUnix: midnight - 1800, duration: 2400, leapSecond: 'insert',
    client: { sources: [server('192.0.2.41'), server('192.0.2.42'), server('192.0.2.43')], discipline: { leapsecmode: 'system' } },
    servers: ['192.0.2.41', '192.0.2.42', '192.0.2.43'].map((address) => ({ address, path: lan })),
    sampleInterval: 0.25,
    convergedAfter: 600,
  });
  assert.deepEqual(r.leaps.map((l) => l.kind), ['insert']);
  assert.ok(Math.abs(r.leaps[0]!.t - 1800) < 0.01, `leap at ${r.leaps[0]!.t}`);
  assert.ok(r.metrics.maxAbsError < 1e-3, `max error ${r.metrics.maxAbsError} (one second if the leap was missed)`);
  assert.equal(r.metrics.steps, 0, 'the kernel inserted it; the engine did not step');
  assert.ok(r.events.some((e) => e.event.type === 'leap' && e.event.leap === 'insert'));
});

test('a 100 s initial offset: makestep steps once; without it the clock slews at maxslewrate', () => {
  const scenario = (makestep: boolean): Scenario => ({
    duration: 2400,
    client: {
      clock: { offset: 100, freqPpm: 10 },
      sources: [server('192.0.2.51'), server('192.0.2.52'), server('192.0.2.53')],
      discipline: { makestep: makestep ? { threshold: 1, limit: 3 } : null },
    },
    servers: ['192.0.2.51', '192.0.2.52', '192.0.2.53'].map((address) => ({ address, path: lan })),
    convergedAfter: 2000,
  });
  const stepped = run(scenario(true));
  assert.equal(stepped.metrics.steps, 1);
  assert.ok(Math.abs(stepped.steps[0]!.seconds + 100) < 0.01, `step ${stepped.steps[0]!.seconds}`);
  assert.ok(stepped.steps[0]!.t < 20, `stepped at ${stepped.steps[0]!.t} s`);
  assert.ok(stepped.metrics.timeWithin1ms !== null && stepped.metrics.timeWithin1ms < 300, `within 1 ms at ${stepped.metrics.timeWithin1ms}`);

  const slewed = run(scenario(false));
  assert.equal(slewed.metrics.steps, 0);
  const rate = 1e6 / 12; // chrony's default maxslewrate, ppm
  assert.ok(slewed.metrics.maxSlewPpm <= rate * 1.01, `slew ${slewed.metrics.maxSlewPpm}`);
  const t = slewed.metrics.timeWithin1ms;
  // 100 s at 83333 ppm takes 1200 s: no honest slew gets there sooner.
  assert.ok(t !== null && t >= 1190 && t < 2000, `within 1 ms at ${t}`);
  assert.ok(slewed.metrics.maxAbsError < 1e-3);
});

test('kiss codes: DENY backs polling off to maxpoll and it goes on; RATE spaces requests 5 intervals apart; the poll stays within range', () => {
  const r = run({
    duration: 900,
    client: {
      sources: [server('192.0.2.61', { minpoll: 0, maxpoll: 1 }), server('192.0.2.62', { minpoll: 0, maxpoll: 1 }), server('192.0.2.63'), server('192.0.2.64')],
      discipline: { makestep: { threshold: 0.1, limit: 3 } },
    },
    servers: [
      { address: '192.0.2.61', path: lan, deny: true },
      { address: '192.0.2.62', path: lan, rateLimit: { interval: 4, burst: 2, leak: 1, kod: 1 } },
      { address: '192.0.2.63', path: lan }, { address: '192.0.2.64', path: lan },
    ],
    snapshotsAt: [890],
  });
  const kisses = r.events.flatMap((e) => (e.event.type === 'kiss' ? [e.event.code] : []));
  assert.ok(kisses.includes('DENY') && kisses.includes('RATE'), kisses.join(','));
  // Refused, then asked again at maxpoll (2 s), never faster once backed off.
  const denyTimes = r.requestTimes['192.0.2.61']!;
  const late = denyTimes.filter((t) => t >= 450);
  assert.ok(late.length >= 100 && late.length <= 450 / 2 + 1, `${late.length} requests in the last 450 s to the denying server`);
  // After a RATE the next request waits the interval plus 4 more (at least 5 s at minpoll 0).
  const snap = r.snapshots[0]!.snapshot.sources;
  const limited = snap.find((x) => x.address === '192.0.2.62');
  const rateAt = r.events.flatMap((e) => (e.event.type === 'kiss' && e.event.code === 'RATE' && e.event.sourceId === limited?.id ? [e.t] : []));
  const rateTimes = r.requestTimes['192.0.2.62']!;
  assert.ok(rateAt.length >= 3, `${rateAt.length} RATE episodes`);
  for (const t of rateAt) {
    const next = rateTimes.find((x) => x > t);
    if (next !== undefined) assert.ok(next - t >= 4.9, `a request ${next - t} s after a RATE`);
  }
  for (const a of ['192.0.2.61', '192.0.2.62']) {
    const s = snap.find((x) => x.address === a);
    assert.ok(s && s.poll >= 0 && s.poll <= 1, `${a}: poll ${s?.poll} outside minpoll..maxpoll`);
  }
  const denied = snap.find((s) => s.address === '192.0.2.61');
  assert.equal(denied?.kissCode, 'DENY');
  assert.equal(denied?.kod?.action, 'refused');
  assert.equal(denied?.verdict, 'unusable');
  assert.ok(r.metrics.maxAbsError < 1e-3, 'synchronized from the others');
});

test('an unreachable pool member is replaced by a fresh address from DNS', () => {
  const r = run({
    duration: 2400,
    client: { sources: [sourceOptions('pool', 'pool.example', { ...FAST, maxsources: 3 })], resolveInterval: 600 },
    servers: ['192.0.2.71', '192.0.2.72', '192.0.2.73', '192.0.2.74', '2001:db8::75'].map((address) => ({
      address, path: lan, ...(address === '192.0.2.71' ? { down: [{ from: 300 }] } : {}),
    })),
    dns: {
      'pool.example': [
        { addresses: ['192.0.2.71', '192.0.2.72', '192.0.2.73'] },
        { from: 200, addresses: ['192.0.2.74', '2001:db8::75', '192.0.2.72', '192.0.2.73'] },
      ],
    },
    snapshotsAt: [250, 2390],
  });
  const first = r.snapshots[0]!.snapshot.sources.map((s) => s.address);
  assert.ok(first.includes('192.0.2.71'), `in use at first: ${first.join(',')}`);
  const replaced = r.events.find((e) => e.event.type === 'source-replaced');
  assert.ok(replaced && replaced.event.type === 'source-replaced' && replaced.event.oldAddress === '192.0.2.71', JSON.stringify(replaced));
  const last = r.snapshots[1]!.snapshot.sources;
  assert.ok(!last.some((s) => s.address === '192.0.2.71'), 'the dead member is gone');
  assert.ok(last.some((s) => (s.address === '192.0.2.74' || s.address === '2001:db8::75') && s.reach > 0), 'a new member answers');
  assert.ok(r.resolves.filter((x) => x.host === 'pool.example').length >= 2, 'the pool name was resolved again');
});

test('the controller is chosen by name: the default one named gives the same run, an unknown one is refused', () => {
  const s: Scenario = {
    duration: 600, client: { clock: { offset: 0.01, freqPpm: 20 }, sources: [server('192.0.2.1')] },
    servers: [{ address: '192.0.2.1', path: lan }],
  };
  const named = simulate(s, { engine, seed: 3, controller: 'discipline' });
  assert.deepEqual(named.metrics, run(s, 3).metrics);
  assert.ok(named.metrics.replies > 0);
  assert.throws(() => simulate(s, { engine, seed: 3, controller: 'nosuch' }), /Cannot use clock controller "nosuch"/);
});
