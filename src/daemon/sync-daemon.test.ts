import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../clock/virtual-clock.js';
import type { Config } from '../config/config.js';
import { parseConfigText } from '../config/parse-config.js';
import { type EngineAction, type EngineOptions, refuseControl } from '../core/engine/engine-api.js';
import { SNAPSHOT_VERSION, type DaemonSnapshot } from '../core/engine/snapshot.js';
import { synchronizedState, type SystemState, unsynchronizedState, LOCAL_REFERENCE_ID } from '../core/system.js';
import { Leap } from '../proto/constants.js';
import { freeUdpPort } from '../testing/loopback.js';
import { probeNtp } from '../testing/ntp-probe.js';
import { type Instant } from '../time/instant.js';
import { type DaemonEngine, startSyncDaemon, type SyncDaemon } from './sync-daemon.js';

/**
 * Stands in for core/engine/engine.ts: it "synchronizes" at once to a stratum-2
 * source 127.0.0.9, applying the drift file's frequency as chrony does at start.
 */
class FakeEngine implements DaemonEngine {
  synced = true;
  driftNow = { frequencyPpm: 0, skewPpm: 0.5 };
  drift(): { frequencyPpm: number; skewPpm: number } { return this.driftNow; }
  control() { return refuseControl(); }
  constructor(readonly options: EngineOptions) {}
  start(now: Instant): EngineAction[] {
    const f = this.options.discipline.initialFrequencyPpm;
    return [
      ...(f !== null ? [{ kind: 'set-frequency' as const, ppm: f }] : []),
      { kind: 'event', event: { type: 'synchronized', sourceId: 1, offset: 0.000123 } },
      { kind: 'event', event: { type: 'step', seconds: 0.25 } },
      { kind: 'write-drift', frequencyPpm: 7.5, skewPpm: 0.25 },
      { kind: 'timer', at: now + (3600n << 32n) },
    ];
  }
  tick(): EngineAction[] { return []; }
  sent(): void {}
  receive(): EngineAction[] { return []; }
  resolved(): EngineAction[] { return []; }
  snapshot(now: Instant, clock: DaemonSnapshot['clock']): DaemonSnapshot {
    return {
      version: SNAPSHOT_VERSION, time: String(now), clock,
      sources: this.options.sources.map((s, i) => ({
        id: i + 1, kind: s.kind, name: s.host, address: s.host, port: s.port, verdict: 'selected', reason: '', prefer: false, noselect: false,
        stratum: 1, referenceId: 0, poll: 6, reach: 255, lastRxAgo: 1, lastSample: null, jitter: 0, rootDistance: 0, kissCode: null, kod: null, authProblem: null, interleaved: false,
        stats: { samples: 0, runs: 0, span: 0, frequencyPpm: 0, skewPpm: 0, offset: 0, stdDev: 0 },
      })),
      tracking: {
        referenceId: 0x7f000009, referenceName: '127.0.0.9', stratum: 2, refTime: null, systemTime: 0, lastOffset: 0, rmsOffset: 0, frequencyPpm: 0,
        residualFreqPpm: 0, skewPpm: 0.5, rootDelay: 0.01, rootDispersion: 0.02, updateInterval: 0, leapStatus: 'normal', synchronized: this.synced,
      },
    };
  }
  systemState(now: Instant): SystemState {
    if (!this.synced) return unsynchronizedState(-20);
    return synchronizedState({ leap: Leap.NoWarning, stratum: 2, referenceId: 0x7f000009, referenceTime: now, rootDelay: 0.01, rootDispersion: 0.02, precision: -20 });
  }
}

function config(text: string): Config {
  const r = parseConfigText(text, 'test.conf', { format: 'chrony' });
  assert.deepEqual(r.errors, []);
  return r.config as Config;
}

async function withDaemon(
  text: string,
  fn: (d: SyncDaemon, ctx: { engines: FakeEngine[]; logs: string[]; clock: VirtualClock; dir: string }) => Promise<void>,
  setup: (dir: string) => Promise<string> = async () => text,
  engineInit: (e: FakeEngine) => void = () => {},
  clockFrequencyPpm = 0,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-syncd-'));
  const engines: FakeEngine[] = [];
  const logs: string[] = [];
  const clock = new VirtualClock({ offsetSeconds: 100 });
  clock.setFrequency(clockFrequencyPpm);
  let d: SyncDaemon | undefined;
  try {
    d = await startSyncDaemon({
      config: config((await setup(dir)).replaceAll('{dir}', dir)),
      clock,
      log: (l) => logs.push(l),
      createEngine: (o) => { const e = new FakeEngine(o); engineInit(e); engines.push(e); return e; },
      resolve: async (h) => { throw new Error(`no DNS in tests (${h})`); },
    });
    await fn(d, { engines, logs, clock, dir });
  } finally {
    await d?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

test('the drift file is read at start, handed to the engine, and saved on stop in chrony\'s format', async () => {
  let path = '';
  await withDaemon('server 127.0.0.9 iburst\ndriftfile {dir}/drift\n', async (d, { engines, logs, clock }) => {
    path = d.config.driftfile as string;
    const o = engines[0]?.options;
    assert.equal(o?.discipline.initialFrequencyPpm, 12.5, 'file -12.5 = the clock was sped up by 12.5 ppm');
    assert.equal(o?.discipline.initialSkewPpm, 0.75);
    assert.equal(o?.sources.length, 1);
    assert.equal(o?.sources[0]?.host, '127.0.0.9');
    assert.ok((o?.precision ?? 1) > 0 && (o?.precision ?? 1) < 1e-3);
    assert.equal(o?.md5?.(new TextEncoder().encode('abc')).length, 16, 'MD5 for IPv6 refids');
    assert.equal(clock.frequencyPpm(), 12.5, 'the engine\'s set-frequency reached the clock');
    assert.ok(logs.some((l) => /Frequency -12\.500 \+\/- 0\.750 ppm read from .*drift/.test(l)), logs.join('\n'));
    assert.ok(logs.some((l) => /Selected source 127\.0\.0\.9 \(offset \+0\.000123000 s\)/.test(l)), logs.join('\n'));
    // chronyd's "System clock was stepped" is kept for the kernel clock only.
    assert.ok(logs.some((l) => /^Virtual clock was stepped by \+0\.250000000 seconds$/.test(l)), logs.join('\n'));
    // The engine's estimate is saved, not the clock's frequency in force (which carries slews).
    clock.setFrequency(-1000);
    (engines[0] as FakeEngine).driftNow = { frequencyPpm: -3.25, skewPpm: 0.5 };
    await d.stop();
    assert.equal(await readFile(path, 'utf8'), '            3.250000             0.500000\n');
  }, async (dir) => {
    await writeFile(join(dir, 'drift'), '-12.500000 0.750000\n');
    return 'server 127.0.0.9 iburst\ndriftfile {dir}/drift\n';
  });
});

test('a garbled drift file is reported and the engine starts from the clock\'s frequency (0 here)', async () => {
  await withDaemon('', async (_d, { engines, logs }) => {
    assert.equal(engines[0]?.options.discipline.initialFrequencyPpm, 0);
    assert.ok(logs.some((l) => /Could not read valid frequency and skew from driftfile/.test(l)), logs.join('\n'));
  }, async (dir) => {
    await writeFile(join(dir, 'drift'), 'garbage\n');
    return 'server 127.0.0.9\ndriftfile {dir}/drift\n';
  });
});

test('without a drift file the engine keeps the frequency the clock already has, as chronyd does', async () => {
  await withDaemon('server 127.0.0.9\ndriftfile {dir}/drift\n', async (_d, { engines, logs }) => {
    assert.equal(engines[0]?.options.discipline.initialFrequencyPpm, -42.5);
    assert.ok(logs.some((l) => /No drift file at/.test(l)), logs.join('\n'));
    assert.ok(logs.some((l) => /Initial frequency 42\.500 ppm/.test(l)), logs.join('\n'));
  }, undefined, undefined, -42.5);
});

test('the engine\'s write-drift requests reach the file', async () => {
  await withDaemon('server 127.0.0.9\ndriftfile {dir}/drift\n', async (_d, { dir }) => {
    // FakeEngine asks for 7.5 ppm at start; wait for the atomic write.
    for (let i = 0; i < 50; i++) {
      const t = await readFile(join(dir, 'drift'), 'utf8').catch(() => '');
      if (t !== '') { assert.equal(t, '           -7.500000             0.250000\n'); return; }
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.fail('no drift file written');
  });
});

test('with allow, the NTP server serves the disciplined clock and the engine\'s sync state', async () => {
  const port = await freeUdpPort('127.0.0.1');
  await withDaemon(`server 127.0.0.9\nport ${port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\n`, async (d, { logs }) => {
    assert.ok(d.ntpServer !== null, logs.join('\n'));
    const r = await probeNtp('127.0.0.1', port, { timeoutMs: 2000 });
    assert.equal(r.header.stratum, 2, 'the stratum of the engine\'s state');
    assert.equal(r.header.referenceId, 0x7f000009);
    assert.ok(Math.abs(r.header.rootDelay - 0.01) < 1e-4);
    assert.ok(r.header.rootDispersion >= 0.02 - 1e-4);
    // The virtual clock is 100 s ahead of the system clock: so is what is served.
    assert.ok(Math.abs(r.offset - 100) < 0.05, `offset ${r.offset}`);
  });
});

test('while the engine is unsynchronized, `local stratum` stands in; without allow nothing is served', async () => {
  const port = await freeUdpPort('127.0.0.1');
  await withDaemon(`server 127.0.0.9\nport ${port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 8\n`, async () => {
    const r = await probeNtp('127.0.0.1', port, { timeoutMs: 2000 });
    assert.equal(r.header.stratum, 8);
    assert.equal(r.header.referenceId, LOCAL_REFERENCE_ID);
    assert.equal(r.header.leap, 0);
  }, undefined, (e) => { e.synced = false; });
  await withDaemon(`server 127.0.0.9\nport ${port}\nbindaddress 127.0.0.1\n`, async (d, { logs }) => {
    assert.equal(d.ntpServer, null);
    assert.ok(logs.some((l) => /Not serving NTP: no allow/.test(l)));
  });
});

test('reconfigure: new sources on the same clock, the frequency in force carried over', async () => {
  const port = await freeUdpPort('127.0.0.1');
  await withDaemon('server 127.0.0.9\n', async (d, { engines, clock, logs }) => {
    clock.setFrequency(4.5);
    (engines[0] as FakeEngine).driftNow = { frequencyPpm: 4.5, skewPpm: 0.5 };
    const before = clock.now();
    await d.reconfigure(config(`server 127.0.0.10 iburst\nserver 127.0.0.11\nport ${port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\n`));
    assert.equal(engines.length, 2);
    const o = engines[1]?.options;
    assert.deepEqual(o?.sources.map((s) => s.host), ['127.0.0.10', '127.0.0.11']);
    assert.equal(o?.discipline.initialFrequencyPpm, 4.5);
    assert.equal(o?.discipline.initialSkewPpm, 0.5);
    assert.ok(clock.now() >= before, 'the clock kept running');
    assert.deepEqual(d.snapshot().sources.map((s) => s.name), ['127.0.0.10', '127.0.0.11']);
    assert.ok(d.ntpServer !== null, 'the new allow line started the server');
    const r = await probeNtp('127.0.0.1', port, { timeoutMs: 2000 });
    assert.equal(r.header.stratum, 2);
    assert.ok(logs.some((l) => /Reloaded the configuration: 2 sources/.test(l)));
  });
});
