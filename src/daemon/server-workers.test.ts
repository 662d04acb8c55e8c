import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadServerConfig } from '../config/load.js';
import { realtime } from '../clock/realtime.js';
import { createServerCounters, snapshotServerStats } from '../core/server/server-stats.js';
import { synchronizedState } from '../core/system.js';
import { Leap } from '../proto/constants.js';
import { queryServer } from '../net/query.js';
import { loadNativeUdp } from '../net/native-udp.js';
import { freeUdpPort, pidAlive } from '../testing/index.js';
import { startWorkers, sumStats } from './server-workers.js';
import { waitUntil } from '../testing/bounds.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const BIN = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
const reuseSkip = loadNativeUdp().ok ? false : 'SO_REUSEPORT needs the native UDP socket on Node 20';

test('sumStats adds counters field by field and keeps the widest timestamp span', () => {
  const a = createServerCounters();
  a.received = 5; a.replied = 4; a.dropped['too-short'] = 1;
  const b = createServerCounters();
  b.received = 7; b.replied = 7; b.kodSent.RATE = 2;
  const s = sumStats([
    snapshotServerStats(a, { recordsDropped: 1, timestampsHeld: 3, timestampSpan: 10 }),
    snapshotServerStats(b, { recordsDropped: 0, timestampsHeld: 2, timestampSpan: 4 }),
  ]);
  assert.equal(s.ntpPacketsReceived, 12);
  assert.equal(s.ntpPacketsReplied, 11);
  assert.equal(s.droppedByReason['too-short'], 1);
  assert.equal(s.kodSent.RATE, 2);
  assert.equal(s.ntpTimestampsHeld, 5);
  assert.equal(s.ntpTimestampSpan, 10);
  assert.throws(() => sumStats([]), RangeError);
});

test('two workers share one port and every request is answered and counted once', { skip: reuseSkip }, async () => {
  const port = await freeUdpPort('127.0.0.1');
  const { config } = loadServerConfig(undefined, ['bindaddress 127.0.0.1', `port ${port}`, 'allow 127.0.0.0/8', 'local stratum 1']);
  const w = await startWorkers(config, 2);
  try {
    assert.equal(w.pids.length, 2);
    assert.equal(w.transport.kind, 'native-kernel-timestamps');
    for (let i = 0; i < 20; i++) {
      const r = await queryServer(`127.0.0.1:${port}`, { samples: 1, timeoutMs: 10_000 });
      assert.ok(r.estimate, JSON.stringify(r.error));
      assert.equal(r.estimate.header.stratum, 1);
    }
    const s = await w.stats();
    assert.equal(s.ntpPacketsReceived, 20);
    assert.equal(s.ntpPacketsReplied, 20);
  } finally {
    const final = await w.close();
    assert.equal(final?.ntpPacketsReplied, 20);
  }
  await waitUntil(() => !w.pids.some(pidAlive), `the workers to exit (${w.pids.filter(pidAlive).join(', ')} still running)`, 20_000);
});

test('workers exit when their primary is killed', { skip: reuseSkip }, async () => {
  const port = await freeUdpPort('127.0.0.1');
  const primary = spawn(process.execPath, [BIN, 'server', '--bindaddress', '127.0.0.1', '--port', String(port), '--allow', '--workers', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  primary.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  try {
    for (const end = Date.now() + 60_000; !err.includes('serving') && primary.exitCode === null && Date.now() < end;) await sleep(50);
    assert.match(err, /2 workers/);
    const workers = (await import('node:fs')).readFileSync(`/proc/${primary.pid}/task/${primary.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    assert.equal(workers.length, 2);
    primary.kill('SIGKILL');
    await new Promise((r) => primary.once('exit', r));
    await waitUntil(() => !workers.some(pidAlive), `the orphaned workers ${workers.filter(pidAlive).join(', ')} to exit`, 20_000);
  } finally {
    if (primary.exitCode === null && primary.signalCode === null) primary.kill('SIGKILL');
  }
});

test('setSystemState reaches every worker', { skip: reuseSkip }, async () => {
  const port = await freeUdpPort('127.0.0.1');
  const { config } = loadServerConfig(undefined, ['bindaddress 127.0.0.1', `port ${port}`, 'allow 127.0.0.0/8', 'local stratum 1']);
  const w = await startWorkers(config, 2);
  try {
    w.setSystemState(synchronizedState({ leap: Leap.NoWarning, stratum: 4, referenceId: 0x0a000001, referenceTime: realtime(), rootDelay: 0.01, rootDispersion: 0.01, precision: w.precision }));
    // The state message has no answer, but a stats request sent after it on the same channels does,
    // and each worker handles its messages in order: once every worker has answered, each has the state.
    await w.stats();
    // Fresh source ports each time, so both workers are asked (the kernel hashes the 4-tuple).
    for (let i = 0; i < 12; i++) {
      const r = await queryServer(`127.0.0.1:${port}`, { samples: 1, timeoutMs: 10_000 });
      assert.ok(r.estimate, JSON.stringify(r.error));
      assert.equal(r.estimate.header.stratum, 4);
      assert.equal(r.estimate.header.referenceId, 0x0a000001);
    }
  } finally {
    await w.close();
  }
});
