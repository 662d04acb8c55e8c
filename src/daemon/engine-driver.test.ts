import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import type { Clock, ClockStatus } from '../clock/clock.js';
import { realtime } from '../clock/realtime.js';
import { environmentSwitches } from '../cli/environment-switches.js';
import { nativeUdpUnavailable } from '../net/udp-socket-factory.js';
import { type EngineAction, type EngineEvent, type StampSource, type SyncEngineApi, refuseControl } from '../core/engine/engine-api.js';
import { SNAPSHOT_VERSION, type DaemonSnapshot } from '../core/engine/snapshot.js';
import { type SystemState, unsynchronizedState } from '../core/system.js';
import { addSeconds, diffSeconds, type Instant, instantFromUnixSeconds } from '../time/instant.js';
import { type ClientSocketHandlers, EngineDriver, unmapIpv4 } from './engine-driver.js';
import type { DriftValues } from './drift-file.js';

/** Real time shifted by `offset` seconds; records what the driver applies. */
class ShiftedClock implements Clock {
  readonly kind = 'virtual' as const;
  freq = 0;
  steps: number[] = [];
  statuses: ClockStatus[] = [];
  constructor(public offset: number) {}
  now(): Instant { return addSeconds(realtime(), this.offset); }
  fromRealtime(t: Instant): Instant { return addSeconds(t, this.offset); }
  frequencyPpm(): number { return this.freq; }
  setFrequency(ppm: number): number { this.freq = ppm; return ppm; }
  step(seconds: number): void { this.offset += seconds; this.steps.push(seconds); }
  setStatus(s: ClockStatus): void { this.statuses.push(s); }
  close(): void {}
}

type Call =
  | { op: 'start' | 'tick'; now: Instant }
  | { op: 'sent'; sourceId: number; t1: Instant; stamp: StampSource | undefined }
  | { op: 'receive'; address: string; port: number; data: Uint8Array; t4: Instant; now: Instant }
  | { op: 'resolved'; sourceId: number; result: unknown };

/** An engine whose answers the test scripts; it records every call. */
class ScriptedEngine implements SyncEngineApi {
  calls: Call[] = [];
  onStart: (now: Instant) => EngineAction[] = () => [];
  onTick: (now: Instant) => EngineAction[] = () => [];
  onReceive: (d: { address: string; port: number; data: Uint8Array; t4: Instant }) => EngineAction[] = () => [];
  onResolved: (id: number, r: unknown) => EngineAction[] = () => [];
  waiters: (() => void)[] = [];
  #record(c: Call): void { this.calls.push(c); for (const w of this.waiters.splice(0)) w(); }
  start(now: Instant): EngineAction[] { this.#record({ op: 'start', now }); return this.onStart(now); }
  tick(now: Instant): EngineAction[] { this.#record({ op: 'tick', now }); return this.onTick(now); }
  sent(sourceId: number, t1: Instant, stamp?: StampSource): void { this.#record({ op: 'sent', sourceId, t1, stamp }); }
  receive(d: { address: string; port: number; data: Uint8Array; t4: Instant }, now: Instant): EngineAction[] {
    this.#record({ op: 'receive', ...d, data: new Uint8Array(d.data), now });
    return this.onReceive(d);
  }
  resolved(sourceId: number, result: unknown): EngineAction[] { this.#record({ op: 'resolved', sourceId, result }); return this.onResolved(sourceId, result); }
  systemState(): SystemState { return unsynchronizedState(-20); }
  drift(): { frequencyPpm: number; skewPpm: number } { return { frequencyPpm: 0, skewPpm: 1 }; }
  control() { return refuseControl(); }
  snapshot(now: Instant, clock: DaemonSnapshot['clock']): DaemonSnapshot {
    return {
      version: SNAPSHOT_VERSION, time: String(now), clock, sources: [],
      tracking: {
        referenceId: 0, referenceName: null, stratum: 16, refTime: null, systemTime: 0, lastOffset: 0, rmsOffset: 0, frequencyPpm: 0,
        residualFreqPpm: 0, skewPpm: 0, rootDelay: 0, rootDispersion: 0, updateInterval: 0, leapStatus: 'unsynchronized', synchronized: false,
      },
    };
  }
  /** Resolves once `pred` holds for the recorded calls (or rejects after ms: a deadline for a hang, generous for a busy machine). */
  async until(pred: (calls: Call[]) => boolean, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.calls)) {
      if (Date.now() > deadline) throw new Error(`timed out; calls: ${this.calls.map((c) => c.op).join(',')}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 20); });
    }
  }
}

const noDns = async (host: string): Promise<string[]> => { throw new Error(`test tried to resolve ${host}`); };

/** A UDP echo server on 127.0.0.1 standing in for an NTP server. */
async function echoServer(): Promise<{ port: number; close: () => Promise<void>; seen: { address: string; port: number }[] }> {
  const s = dgram.createSocket('udp4');
  const seen: { address: string; port: number }[] = [];
  s.on('message', (m, r) => { seen.push({ address: r.address, port: r.port }); s.send(m, r.port, r.address); });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return { port: s.address().port, seen, close: () => new Promise((r) => s.close(() => r())) };
}

const stops: (() => Promise<void>)[] = [];
after(async () => { for (const s of stops) await s(); });

for (const transport of ['native-or-dgram', 'dgram'] as const) {
  test(`a request and its reply over loopback (${transport}): t1 and t4 on the disciplined clock's timescale`, async (t) => {
    const { udp } = environmentSwitches(transport === 'dgram' ? { NTPKIT_UDP: 'dgram' } : {});
    const server = await echoServer();
    t.after(server.close);
    const clock = new ShiftedClock(1000); // far from real time: a stamp not mapped through fromRealtime would be 1000 s off
    const engine = new ScriptedEngine();
    const packet = new Uint8Array(48).fill(7);
    engine.onStart = () => [{ kind: 'send', sourceId: 3, address: '127.0.0.1', port: server.port, packet }];
    const driver = new EngineDriver({ engine, clock, resolve: noDns, udp });
    t.after(() => driver.stop());
    const before = clock.now();
    driver.start();
    await engine.until((c) => c.some((x) => x.op === 'receive'));
    const after = clock.now();
    const sent = engine.calls.filter((c) => c.op === 'sent');
    assert.equal(sent.length, 1, 'exactly one sent() per request');
    const s = sent[0] as Extract<Call, { op: 'sent' }>;
    const r = engine.calls.find((c) => c.op === 'receive') as Extract<Call, { op: 'receive' }>;
    assert.equal(s.sourceId, 3);
    assert.equal(engine.calls.indexOf(s) < engine.calls.indexOf(r), true, 'sent() comes before the reply');
    assert.equal(r.address, '127.0.0.1');
    assert.equal(r.port, server.port);
    assert.deepEqual(r.data, packet);
    // Both stamps on the shifted clock, in order, within what this test saw of the exchange.
    assert.ok(before <= s.t1 && s.t1 < r.t4 && r.t4 <= after, `t1 ${diffSeconds(s.t1, before)} s and t4 ${diffSeconds(r.t4, before)} s into the ${diffSeconds(after, before)} s the test waited`);
    assert.ok(r.now >= r.t4);
    // Kernel stamps wherever the addon has the native socket: that is the path under test then.
    assert.equal(driver.transport?.kind, transport === 'dgram' || nativeUdpUnavailable() !== null ? 'dgram' : 'native-kernel-timestamps');
    if (transport === 'dgram') assert.match(driver.transport?.reason ?? '', /NTPKIT_UDP=dgram/);
  });
}

test('datagrams from addresses the engine never sent to still go to the engine', async (t) => {
  const engine = new ScriptedEngine();
  let handlers: ClientSocketHandlers | undefined;
  const driver = new EngineDriver({
    engine, clock: new ShiftedClock(0), resolve: noDns,
    openSocket: async (_family, h) => { handlers = h; return { info: { kind: 'dgram' }, send: () => -1, close: async () => {} }; },
  });
  t.after(() => driver.stop());
  engine.onStart = () => [{ kind: 'send', sourceId: 1, address: '192.0.2.1', port: 123, packet: new Uint8Array(48) }];
  driver.start();
  await engine.until((c) => c.some((x) => x.op === 'sent'));
  handlers?.onMessage(new Uint8Array([1, 2, 3]), '::ffff:198.51.100.7', 4242, null);
  const r = engine.calls.find((c) => c.op === 'receive') as Extract<Call, { op: 'receive' }>;
  assert.equal(r.address, '198.51.100.7', 'IPv4-mapped addresses are unmapped');
  assert.equal(r.port, 4242);
});

/**
 * A started driver whose engine sends two requests (sources 1 and 2) on a
 * fake socket that numbers its sends from `firstId`, as a kernel-stamping
 * one does; `handlers` are the driver's, for the test to play the kernel.
 */
async function twoRequestsOnStampingSocket(t: TestContext, clock: Clock, firstId: number, realtimeNow?: () => Instant): Promise<{ engine: ScriptedEngine; handlers: ClientSocketHandlers }> {
  const engine = new ScriptedEngine();
  let handlers: ClientSocketHandlers | undefined;
  let nextId = firstId;
  const driver = new EngineDriver({
    engine, clock, resolve: noDns, ...(realtimeNow ? { realtime: realtimeNow } : {}),
    openSocket: async (_f, h) => { handlers = h; return { info: { kind: 'native-kernel-timestamps' }, send: () => nextId++, close: async () => {} }; },
  });
  t.after(() => driver.stop());
  engine.onStart = () => [
    { kind: 'send', sourceId: 1, address: '192.0.2.1', port: 123, packet: new Uint8Array(48) },
    { kind: 'send', sourceId: 2, address: '192.0.2.2', port: 123, packet: new Uint8Array(48) },
  ];
  driver.start();
  await new Promise((r) => setTimeout(r, 20));
  return { engine, handlers: handlers as ClientSocketHandlers };
}

test('a kernel TX stamp replaces the user-space t1; without one, t1 is flushed before the next datagram', async (t) => {
  const clock = new ShiftedClock(5);
  const { engine, handlers } = await twoRequestsOnStampingSocket(t, clock, 10);
  assert.equal(engine.calls.filter((c) => c.op === 'sent').length, 0, 'sent() waits for the kernel stamp');
  const kernel = addSeconds(realtime(), 0.001);
  handlers?.onTxTime(10, kernel);
  handlers?.onTxTime(10, kernel); // duplicates are ignored
  handlers?.onTxTime(999, kernel); // unknown ids too
  let sent = engine.calls.filter((c) => c.op === 'sent') as Extract<Call, { op: 'sent' }>[];
  assert.equal(sent.length, 1);
  assert.equal(sent[0]?.sourceId, 1);
  assert.equal(sent[0]?.t1, addSeconds(kernel, 5), 'the kernel stamp, mapped with fromRealtime');
  handlers?.onMessage(new Uint8Array(48), '192.0.2.2', 123, realtime());
  sent = engine.calls.filter((c) => c.op === 'sent') as Extract<Call, { op: 'sent' }>[];
  assert.equal(sent.length, 2);
  assert.equal(sent[1]?.sourceId, 2);
  assert.ok(engine.calls.findIndex((c) => c.op === 'sent' && c.sourceId === 2) < engine.calls.findIndex((c) => c.op === 'receive'));
  assert.equal(sent[1]?.stamp, 'daemon', 'flushed before the reply: the user-space reading, said so');
  handlers?.onTxTime(11, kernel); // after the reply: the engine ignores a t1 for a request no longer in flight
  assert.equal(engine.calls.filter((c) => c.op === 'sent').length, 3);
  // A stamp from before the send cannot be this datagram's.
  engine.onReceive = () => [{ kind: 'send', sourceId: 4, address: '192.0.2.4', port: 123, packet: new Uint8Array(48) }];
  const beforeSend = clock.now();
  handlers?.onMessage(new Uint8Array(48), '192.0.2.4', 123, null);
  handlers?.onTxTime(12, addSeconds(realtime(), -10));
  const afterStamp = clock.now();
  const last = engine.calls.at(-1) as Extract<Call, { op: 'sent' }>;
  assert.equal(last.op, 'sent');
  assert.ok(beforeSend <= last.t1 && last.t1 <= afterStamp, 'the user-space reading is kept');
});

test('a timer that fires before the kernel TX stamp is read: the stamp still replaces the provisional t1, and only for the latest request', async (t) => {
  // Another source's poll timer often fires in the loop iteration after a
  // send, before the poll phase reads the error queue: the driver must give
  // the engine the user-space t1 then (the engine needs one before anything
  // else), but the kernel stamp that follows is still this request's T1.
  const clock = new ShiftedClock(5);
  const engine = new ScriptedEngine();
  let handlers: ClientSocketHandlers | undefined;
  let nextId = 10;
  const driver = new EngineDriver({
    engine, clock, resolve: noDns,
    openSocket: async (_f, h) => { handlers = h; return { info: { kind: 'native-kernel-timestamps' }, send: () => nextId++, close: async () => {} }; },
  });
  t.after(() => driver.stop());
  // Both sources poll (ids 10 and 11), and the engine's timer is due at once; its tick polls source 1 again (id 12).
  engine.onStart = (now) => [
    { kind: 'send', sourceId: 1, address: '192.0.2.1', port: 123, packet: new Uint8Array(48) },
    { kind: 'send', sourceId: 2, address: '192.0.2.2', port: 123, packet: new Uint8Array(48) },
    { kind: 'timer', at: now },
  ];
  engine.onTick = () => [{ kind: 'send', sourceId: 1, address: '192.0.2.1', port: 123, packet: new Uint8Array(48) }];
  driver.start();
  await engine.until((c) => c.some((x) => x.op === 'tick') && nextId === 13);
  const sentOf = (): Extract<Call, { op: 'sent' }>[] => engine.calls.filter((c) => c.op === 'sent') as Extract<Call, { op: 'sent' }>[];
  assert.deepEqual(sentOf().map((c) => [c.sourceId, c.stamp]), [[1, 'daemon'], [2, 'daemon']], 'provisional user-space t1s, before the tick');
  assert.ok(engine.calls.findIndex((c) => c.op === 'sent') < engine.calls.findIndex((c) => c.op === 'tick'));
  const h = handlers as ClientSocketHandlers;
  const kernel = addSeconds(realtime(), 0.001);
  h.onTxTime(11, kernel); // source 2's request is still its latest: its kernel stamp counts
  let last = sentOf().at(-1);
  assert.deepEqual([last?.sourceId, last?.stamp, last?.t1], [2, 'kernel', addSeconds(kernel, 5)]);
  const n = sentOf().length;
  h.onTxTime(10, kernel); // source 1 has sent again since: this stamp must not become the new request's T1
  assert.equal(sentOf().length, n);
  h.onTxTime(12, kernel); // the new request's own stamp
  last = sentOf().at(-1);
  assert.deepEqual([last?.sourceId, last?.stamp], [1, 'kernel']);
});

test('kernel TX stamps are judged against the injected CLOCK_REALTIME, not the host\'s', async (t) => {
  // A simulated CLOCK_REALTIME years away from the host's: kernel stamps and
  // the driver's reading with each send are both on it.
  let fakeRealtime = instantFromUnixSeconds(1_000_000_000);
  const clock = new ShiftedClock(0);
  clock.now = () => addSeconds(fakeRealtime, 5);
  clock.fromRealtime = (x: Instant) => addSeconds(x, 5);
  const { engine, handlers } = await twoRequestsOnStampingSocket(t, clock, 1, () => fakeRealtime);
  fakeRealtime = addSeconds(fakeRealtime, 0.001);
  const after = fakeRealtime;
  handlers?.onTxTime(1, after);
  handlers?.onTxTime(2, addSeconds(after, -1)); // before its send: not this datagram's
  const sent = engine.calls.filter((c) => c.op === 'sent') as Extract<Call, { op: 'sent' }>[];
  assert.equal(sent.length, 2);
  assert.equal(sent[0]?.t1, addSeconds(after, 5), 'a stamp after the send is taken, mapped with fromRealtime');
  assert.equal(sent[1]?.t1, addSeconds(after, 5 - 0.001), 'a stamp before it is not: the user-space t1 stands');
});

test('clock actions, drift writes and events are applied in order; onUpdate follows each batch', async (t) => {
  const engine = new ScriptedEngine();
  const clock = new ShiftedClock(0);
  const drift: DriftValues[] = [];
  const events: EngineEvent[] = [];
  let updates = 0;
  const driver = new EngineDriver({
    engine, clock, resolve: noDns, onWriteDrift: (v) => drift.push(v), onEvent: (e) => events.push(e),
    onUpdate: () => { updates++; assert.equal(clock.freq, 12.5, 'the clock is updated before onUpdate'); },
  });
  t.after(() => driver.stop());
  engine.onStart = () => [
    { kind: 'set-frequency', ppm: 12.5 },
    { kind: 'step', seconds: -0.25 },
    { kind: 'set-status', synchronized: true, leap: 'insert', estError: 1e-4, maxError: 2e-3 },
    { kind: 'write-drift', frequencyPpm: 12.5, skewPpm: 0.1 },
    { kind: 'event', event: { type: 'step', seconds: -0.25 } },
  ];
  driver.start();
  assert.equal(clock.freq, 12.5);
  assert.deepEqual(clock.steps, [-0.25]);
  assert.deepEqual(clock.statuses, [{ synchronized: true, leap: 'insert', estError: 1e-4, maxError: 2e-3 }]);
  assert.deepEqual(drift, [{ frequencyPpm: 12.5, skewPpm: 0.1 }]);
  assert.deepEqual(events, [{ type: 'step', seconds: -0.25 }]);
  assert.equal(updates, 1);
  assert.equal(driver.snapshot().clock, 'virtual');
});

test('the timer fires tick() at the requested instant of the disciplined clock, and one request replaces another', async (t) => {
  const engine = new ScriptedEngine();
  const clock = new ShiftedClock(-3600);
  const driver = new EngineDriver({ engine, clock, resolve: noDns });
  t.after(() => driver.stop());
  let target: Instant = 0n;
  engine.onStart = (now) => {
    target = addSeconds(now, 0.15);
    return [{ kind: 'timer', at: addSeconds(now, 0.05) }, { kind: 'timer', at: target }];
  };
  driver.start();
  await engine.until((c) => c.some((x) => x.op === 'tick'));
  const seen = clock.now();
  const ticks = engine.calls.filter((c) => c.op === 'tick') as { now: Instant }[];
  assert.equal(ticks.length, 1);
  // Not before the instant (timers have millisecond granularity), and no later than this test saw it.
  const late = diffSeconds(ticks[0]?.now as Instant, target);
  assert.ok(late >= -0.001 && late <= diffSeconds(seen, target), `tick ${late} s after the requested instant, seen ${diffSeconds(seen, target)} s after it`);
});

test('a step re-aims a pending timer: it is an instant of the stepped clock', async (t) => {
  const engine = new ScriptedEngine();
  const clock = new ShiftedClock(0);
  let handlers: ClientSocketHandlers | undefined;
  const driver = new EngineDriver({
    engine, clock, resolve: noDns,
    openSocket: async (_f, h) => { handlers = h; return { info: { kind: 'dgram' }, send: () => -1, close: async () => {} }; },
  });
  t.after(() => driver.stop());
  engine.onStart = (now) => [
    { kind: 'timer', at: addSeconds(now, 10) },
    { kind: 'send', sourceId: 1, address: '192.0.2.1', port: 123, packet: new Uint8Array(48) },
  ];
  // Stepping forward 9.9 s brings the instant 0.1 s away.
  engine.onReceive = () => [{ kind: 'step', seconds: 9.9 }];
  driver.start();
  await engine.until((c) => c.some((x) => x.op === 'sent'));
  const began = Date.now();
  handlers?.onMessage(new Uint8Array(48), '192.0.2.1', 123, null);
  await engine.until((c) => c.some((x) => x.op === 'tick'));
  // Re-aimed, the timer fires 0.1 s after the step; left alone, 10 s after the start. Halfway between tells them apart.
  assert.ok(Date.now() - began < 5000, `the timer fired ${Date.now() - began} ms after the step, as if not re-aimed`);
  assert.deepEqual(clock.steps, [9.9]);
});

test('resolution: literals need no DNS, names go to the injected resolver, failures come back as errors', async (t) => {
  const engine = new ScriptedEngine();
  const asked: string[] = [];
  const driver = new EngineDriver({
    engine, clock: new ShiftedClock(0),
    resolve: async (h) => {
      asked.push(h);
      if (h === 'pool.test') return ['192.0.2.10', '2001:db8::10'];
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    },
  });
  t.after(() => driver.stop());
  engine.onStart = () => [
    { kind: 'resolve', sourceId: 1, host: '192.0.2.1' },
    { kind: 'resolve', sourceId: 2, host: 'pool.test' },
    { kind: 'resolve', sourceId: 3, host: 'missing.test' },
    { kind: 'resolve', sourceId: 4, host: '2001:db8::1' },
  ];
  driver.start();
  await engine.until((c) => c.filter((x) => x.op === 'resolved').length === 4);
  const byId = new Map(engine.calls.filter((c) => c.op === 'resolved').map((c) => [(c as { sourceId: number }).sourceId, (c as { result: unknown }).result]));
  assert.deepEqual(byId.get(1), { addresses: ['192.0.2.1'] });
  assert.deepEqual(byId.get(2), { addresses: ['192.0.2.10', '2001:db8::10'] });
  assert.deepEqual(byId.get(3), { error: 'Cannot resolve missing.test: no such host' });
  assert.deepEqual(byId.get(4), { addresses: ['2001:db8::1'] });
  assert.deepEqual(asked.sort(), ['missing.test', 'pool.test']);
});

test('replaceEngine: the new engine starts, answers meant for the old one are dropped', async (t) => {
  const old = new ScriptedEngine();
  let release: (v: string[]) => void = () => {};
  const driver = new EngineDriver({ engine: old, clock: new ShiftedClock(0), resolve: () => new Promise((r) => { release = r; }) });
  t.after(() => driver.stop());
  old.onStart = () => [{ kind: 'resolve', sourceId: 1, host: 'slow.test' }];
  driver.start();
  const fresh = new ScriptedEngine();
  driver.replaceEngine(fresh);
  assert.equal(driver.engine, fresh);
  assert.deepEqual(fresh.calls.map((c) => c.op), ['start']);
  release(['192.0.2.1']);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(old.calls.filter((c) => c.op === 'resolved').length, 0);
  assert.equal(fresh.calls.filter((c) => c.op === 'resolved').length, 0);
});

test('after stop() nothing reaches the engine', async () => {
  const engine = new ScriptedEngine();
  const driver = new EngineDriver({ engine, clock: new ShiftedClock(0), resolve: noDns });
  engine.onStart = (now) => [{ kind: 'timer', at: addSeconds(now, 0.02) }];
  driver.start();
  await driver.stop();
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(engine.calls.map((c) => c.op), ['start']);
});

test('unmapIpv4', () => {
  assert.equal(unmapIpv4('::ffff:127.0.0.2'), '127.0.0.2');
  assert.equal(unmapIpv4('::FFFF:10.0.0.1'), '10.0.0.1');
  assert.equal(unmapIpv4('::1'), '::1');
  assert.equal(unmapIpv4('2001:db8::1'), '2001:db8::1');
  assert.equal(unmapIpv4('192.0.2.1'), '192.0.2.1');
});
