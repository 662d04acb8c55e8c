import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config/diagnostics.js';
import { type EngineAction, type EngineEvent, type EngineOptions, refuseControl } from '../core/engine/engine-api.js';
import { SNAPSHOT_VERSION, type DaemonSnapshot } from '../core/engine/snapshot.js';
import { synchronizedState, type SystemState, unsynchronizedState } from '../core/system.js';
import { Leap } from '../proto/constants.js';
import { freeUdpPort } from '../testing/loopback.js';
import { probeNtp } from '../testing/ntp-probe.js';
import { addSeconds, diffSeconds, type Instant } from '../time/instant.js';
import { realtime } from '../clock/realtime.js';
import { createServer } from './create-server.js';
import type { DaemonEngine } from './sync-daemon.js';
import { createSyncedClock, type SyncedClockOptions } from './synced-clock.js';

/** A stand-in for core/engine/engine.ts: synchronizes `syncAfterMs` after start (stepping the clock by `step`), or never. */
class FakeEngine implements DaemonEngine {
  synced = false;
  constructor(readonly options: EngineOptions, readonly syncAfterMs: number | null, readonly step = 0) {}
  start(now: Instant): EngineAction[] {
    const first: EngineAction[] = [{ kind: 'event', event: { type: 'falseticker', sourceId: 2 } }];
    return this.syncAfterMs === null ? first : [...first, { kind: 'timer', at: addSeconds(now, this.syncAfterMs / 1000) }];
  }
  tick(): EngineAction[] {
    if (this.synced) return [];
    this.synced = true;
    return [
      ...(this.step !== 0 ? [{ kind: 'step' as const, seconds: this.step }, { kind: 'event' as const, event: { type: 'step' as const, seconds: this.step } }] : []),
      { kind: 'event', event: { type: 'synchronized', sourceId: 1, offset: -this.step } },
    ];
  }
  sent(): void {}
  receive(): EngineAction[] { return []; }
  resolved(): EngineAction[] { return []; }
  drift(): { frequencyPpm: number; skewPpm: number } { return { frequencyPpm: 0, skewPpm: 1 }; }
  control() { return refuseControl(); }
  snapshot(now: Instant, clock: DaemonSnapshot['clock']): DaemonSnapshot {
    return {
      version: SNAPSHOT_VERSION, time: String(now), clock, sources: [],
      tracking: {
        referenceId: this.synced ? 0x7f000009 : 0, referenceName: null, stratum: this.synced ? 2 : 0, refTime: null, systemTime: 0, lastOffset: 0,
        rmsOffset: 0, frequencyPpm: 0, residualFreqPpm: 0, skewPpm: 0, rootDelay: 0, rootDispersion: 0, updateInterval: 0,
        leapStatus: this.synced ? 'normal' : 'unsynchronized', synchronized: this.synced,
      },
    };
  }
  systemState(now: Instant): SystemState {
    return this.synced
      ? synchronizedState({ leap: Leap.NoWarning, stratum: 2, referenceId: 0x7f000009, referenceTime: now, rootDelay: 0.004, rootDispersion: 0.001, precision: -20 })
      : unsynchronizedState(-20);
  }
}

function fake(syncAfterMs: number | null, step = 0): { engines: FakeEngine[]; opts: Pick<SyncedClockOptions, 'createEngine' | 'resolve'> } {
  const engines: FakeEngine[] = [];
  return {
    engines,
    opts: {
      createEngine: (o) => { const e = new FakeEngine(o, syncAfterMs, step); engines.push(e); return e; },
      resolve: async (h) => { throw new Error(`no DNS in tests (${h})`); },
    },
  };
}

test('exactly one of servers, config and configFile', async () => {
  const { opts } = fake(null);
  await assert.rejects(createSyncedClock({ ...opts }), TypeError);
  await assert.rejects(createSyncedClock({ ...opts, servers: ['192.0.2.1'], config: 'server 192.0.2.2' }), TypeError);
  await assert.rejects(createSyncedClock({ ...opts, servers: [] }), TypeError);
});

test('servers: chrony\'s source defaults, the given options, and makestep 0.1 3', async () => {
  const { engines, opts } = fake(null);
  const c = await createSyncedClock({ ...opts, servers: ['192.0.2.1', { host: '192.0.2.2', iburst: true, minpoll: 2, maxpoll: 4 }, { host: 'pool.test', kind: 'pool', maxsources: 2 }] });
  try {
    const o = engines[0]?.options;
    assert.deepEqual(o?.sources.map((s) => [s.kind, s.host, s.iburst, s.minpoll, s.maxpoll]), [
      ['server', '192.0.2.1', false, 6, 10], ['server', '192.0.2.2', true, 2, 4], ['pool', 'pool.test', false, 6, 10],
    ]);
    assert.equal(o?.sources[2]?.maxsources, 2);
    assert.deepEqual(o?.discipline.makestep, { threshold: 0.1, limit: 3 });
  } finally {
    await c.close();
  }
});

test('config text is chrony.conf; its errors reject with file:line; its discipline is honoured', async () => {
  const { engines, opts } = fake(null);
  const c = await createSyncedClock({ ...opts, config: 'server 192.0.2.1 iburst minpoll 0 maxpoll 2\nmakestep 1 -1\nmaxslewrate 500\n' });
  try {
    assert.deepEqual(engines[0]?.options.discipline.makestep, { threshold: 1, limit: -1 });
    assert.equal(engines[0]?.options.discipline.maxslewrate, 500);
    assert.equal(engines[0]?.options.sources[0]?.minpoll, 0);
  } finally {
    await c.close();
  }
  await assert.rejects(createSyncedClock({ ...opts, config: 'server 192.0.2.1\nbogusdirective 3\n' }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /^<config>:2: /m);
    return true;
  });
  await assert.rejects(createSyncedClock({ ...opts, config: 'makestep 1 3\n' }), /nothing to synchronize to/);
});

test('configFile is read from disk; a missing file rejects with its name', async () => {
  const { engines, opts } = fake(null);
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-synced-'));
  try {
    const file = join(dir, 'chrony.conf');
    await writeFile(file, 'pool pool.test iburst maxsources 3\n');
    const c = await createSyncedClock({ ...opts, configFile: file });
    await c.close();
    assert.equal(engines[0]?.options.sources[0]?.kind, 'pool');
    await assert.rejects(createSyncedClock({ ...opts, configFile: join(dir, 'none.conf') }), /none\.conf.*cannot read/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('time at full precision, events, status, whenSynchronized', async () => {
  const { opts } = fake(30, -100);
  const c = await createSyncedClock({ ...opts, servers: ['192.0.2.1'], virtualClock: { offsetSeconds: 100 } });
  const events: EngineEvent[] = [];
  c.on('falseticker', (e) => events.push(e));
  c.on('step', (e) => events.push(e));
  c.on('synchronized', (e) => events.push(e));
  try {
    assert.equal(c.synchronized, false);
    assert.ok(Math.abs(diffSeconds(c.now(), realtime()) - 100) < 0.1, 'starts where the virtual clock was put');
    await c.whenSynchronized(5000);
    assert.equal(c.synchronized, true);
    assert.deepEqual(events.map((e) => e.type), ['falseticker', 'step', 'synchronized'], 'events during start are delivered too');
    assert.ok(Math.abs(diffSeconds(c.now(), realtime())) < 0.1, 'the step reached the clock');
    assert.ok(Math.abs(c.date().getTime() - Date.now()) < 100);
    assert.ok(Math.abs(c.unixMillis() - Date.now()) < 100);
    assert.match(c.isoString(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const s = c.status();
    assert.equal(s.clock, 'virtual');
    assert.equal(s.tracking.synchronized, true);
    assert.equal(s.version, SNAPSHOT_VERSION);
    await c.whenSynchronized(1); // already: resolves at once
  } finally {
    await c.close();
    await c.close();
  }
});

test('whenSynchronized times out, and rejects when closed', async () => {
  const { opts } = fake(null);
  const c = await createSyncedClock({ ...opts, servers: ['192.0.2.1'] });
  await assert.rejects(c.whenSynchronized(30), /Not synchronized within 30 ms/);
  const waiting = c.whenSynchronized(10_000);
  await c.close();
  await assert.rejects(waiting, /closed/);
  await assert.rejects(c.whenSynchronized(10), /closed/);
});

test('createServer serves a synced clock with its sync state, local stratum until then', async () => {
  const { opts } = fake(150);
  const c = await createSyncedClock({ ...opts, servers: ['192.0.2.1'], virtualClock: { offsetSeconds: 50 } });
  const port = await freeUdpPort('127.0.0.1');
  const server = await createServer({ port, address: '127.0.0.1', allow: ['127.0.0.1'], clock: c, localStratum: 12 });
  try {
    const before = await probeNtp('127.0.0.1', port, { timeoutMs: 2000 });
    assert.equal(before.header.stratum, 12);
    assert.ok(Math.abs(before.offset - 50) < 0.05, `served the synced clock: offset ${before.offset}`);
    await c.whenSynchronized(5000);
    const after = await probeNtp('127.0.0.1', port, { timeoutMs: 2000 });
    assert.equal(after.header.stratum, 2);
    assert.equal(after.header.referenceId, 0x7f000009);
  } finally {
    await server.close();
    await c.close();
  }
});

test('createServer without a clock: the system clock at local stratum 10, every client allowed', async () => {
  const port = await freeUdpPort('127.0.0.1');
  const server = await createServer({ port, address: '127.0.0.1' });
  try {
    const r = await probeNtp('127.0.0.1', port, { timeoutMs: 2000 });
    assert.equal(r.header.stratum, 10);
    assert.ok(Math.abs(r.offset) < 0.05);
  } finally {
    await server.close();
  }
  await assert.rejects(createServer({ port, localStratum: 99 }), ConfigError);
});
