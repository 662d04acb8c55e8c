import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChronydClient, startChronydServer } from './chronyd.js';
import { freeUdpPort, type LoopbackBlock, reserveLoopbackBlock } from './loopback.js';
import { probeNtp } from './ntp-probe.js';
import { pidAlive, pollFor } from './process.js';
import { interopSkip, requireTool } from './tools.js';
import { startUdpRelay } from './udp-relay.js';

// Reserved only where chronyd can run: every test below starts with requireTool.
let block: LoopbackBlock | undefined;
before(async () => {
  if (interopSkip('chronyd') === false) block = await reserveLoopbackBlock('testing/chronyd.test', 3);
});
after(() => block?.release());

const addr = (i: number): string => block?.addresses[i] as string;

/** chronyd's refid in `local` reference mode: 127.127.1.1. */
const REFID_LOCAL = 0x7f7f0101;

test('chronyd starts with -x, serves stratum 1 from `local`, and stop() kills it by PID', async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const s = await startChronydServer({ address: addr(0) });
  try {
    assert.equal(s.port, 123);
    assert.equal(s.readiness.reply?.synchronized, true);
    const argv = readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').split('\0');
    assert.ok(argv.includes('-x'), `chronyd runs without -x: ${argv.join(' ')}`);
    assert.match(s.configText, /^cmdport 0$/m);
    assert.match(s.configText, new RegExp(`^bindaddress ${addr(0).replaceAll('.', '\\.')}$`, 'm'));
    assert.equal(Number(readFileSync(join(s.dir, 'chronyd.pid'), 'utf8')), s.pid);

    const r = await probeNtp(s.address, 123);
    assert.equal(r.synchronized, true);
    assert.deepEqual([r.header.mode, r.header.stratum, r.header.leap, r.header.referenceId], [4, 1, 0, REFID_LOCAL]);
    // One machine, one clock: the true offset is 0, and a measured offset can
    // be wrong by at most half the round trip (RFC 5905 §8), which on a loaded
    // CI machine includes the probe's own scheduling delays. 1 ms covers the
    // probe's clock (performance.timeOrigin + now()) against CLOCK_REALTIME.
    assert.ok(Math.abs(r.offset) <= r.delay / 2 + 0.001, `offset ${r.offset} s, delay ${r.delay} s`);
  } finally {
    await s.stop();
  }
  assert.equal(pidAlive(s.pid), false, `chronyd ${s.pid} still running`);
  assert.equal(existsSync(s.dir), false, 'temp dir removed');
  await s.stop(); // idempotent
});

test('`local stratum N` is what the readiness wait insists on', async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const s = await startChronydServer({ address: addr(1), stratum: 3 });
  try {
    assert.equal(s.readiness.reply?.header.stratum, 3);
    assert.equal((await probeNtp(s.address, 123)).header.stratum, 3);
  } finally {
    await s.stop();
  }
});

test('fakeOffsetSeconds: chronyd under libfaketime serves time 2.5 s ahead', async (t) => {
  if (!requireTool(t, 'chronyd', 'libfaketime')) return;
  const s = await startChronydServer({ address: addr(2), fakeOffsetSeconds: 2.5 });
  try {
    for (let i = 0; i < 3; i++) {
      const r = await probeNtp(s.address, 123);
      // Off by no more than half the round trip (see the first test).
      assert.ok(Math.abs(r.offset - 2.5) <= r.delay / 2 + 0.001, `offset ${r.offset} s, delay ${r.delay} s`);
    }
    const argv = readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').split('\0');
    assert.ok(argv.includes('-x'));
  } finally {
    await s.stop();
  }
  assert.equal(pidAlive(s.pid), false);
});

test('without an address, one is reserved and released by stop()', async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const s = await startChronydServer();
  const lockDir = process.env.NTPKIT_LOOPBACK_LOCK_DIR ?? '/tmp/ntpkit-loopback';
  try {
    assert.match(s.address, /^127\.0\.\d+\.\d+$/);
    assert.ok(!block?.addresses.includes(s.address));
    assert.ok(existsSync(join(lockDir, `${s.address}.lock`)));
  } finally {
    await s.stop();
  }
  assert.equal(existsSync(join(lockDir, `${s.address}.lock`)), false);
});

test('a config chronyd rejects fails fast, with chronyd\'s own complaint, and leaves nothing behind', async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const t0 = Date.now();
  await assert.rejects(
    startChronydServer({ address: addr(0), extraConfig: ['this-is-not-a-directive 1'] }),
    (e: Error) => /exited/.test(e.message) && /Invalid directive/.test(e.message),
  );
  assert.ok(Date.now() - t0 < 5000);
});

test('chronyd as a client (startChronydClient) polls a chronyd server through the relay', async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const s = await startChronydServer({ address: addr(0) });
  const relay = await startUdpRelay({ listen: { address: addr(1) }, target: { address: s.address, port: s.port } });
  const c = await startChronydClient({ servers: [{ address: relay.address, port: relay.port, options: 'iburst minpoll 0 maxpoll 0' }] });
  try {
    // Right after spawn, /proc may still show the parent's argv: wait for chronyd's own (the exec).
    const argv = await pollFor('chronyd exec', () => {
      const a = readFileSync(`/proc/${c.pid}/cmdline`, 'utf8').split('\0');
      return /chronyd$/.test(a[0] ?? '') ? a : undefined;
    }, 10_000);
    assert.ok(argv.includes('-x'), 'the client must not touch the clock either');
    const reply = await relay.waitFor((r) => r.direction === 'to-client', 10_000);
    assert.equal((reply.bytes[0] as number) & 7, 4);
    const req = relay.records().find((r) => r.direction === 'to-server');
    assert.equal((req?.bytes[0] as number) & 7, 3);
  } finally {
    await c.stop();
    await relay.stop();
    await s.stop();
  }
  assert.equal(pidAlive(c.pid), false);
  assert.equal(pidAlive(s.pid), false);
});

test('IPv6: chronyd on ::1 with a port of its own (::1 is one address, so port 123 cannot be shared)', async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  let port: number;
  try {
    port = await freeUdpPort('::1');
  } catch {
    t.skip('no IPv6 loopback on this machine');
    return;
  }
  const s = await startChronydServer({ address: '::1', port });
  try {
    assert.match(s.configText, /^allow ::1$/m);
    const r = await probeNtp('::1', port);
    assert.deepEqual([r.header.mode, r.header.stratum], [4, 1]);
  } finally {
    await s.stop();
  }
  assert.equal(pidAlive(s.pid), false);
});
