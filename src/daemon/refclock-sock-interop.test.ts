/**
 * refclock SOCK beside chronyd: one writer sends each sample, as gpsd's
 * chrony_send() builds it (struct sock_sample: the system time as a
 * timeval, the reference's offset from it, leap, magic), to chronyd's
 * socket and to ntpkit's. gpsd 3.22 (Debian 12) writes SOCK only from its
 * PPS thread, which needs a serial or USB device with PPS; a gpsfake feed
 * reaches gpsd over TCP or a pty and never gets there, so the writer here
 * is the test's own, byte for byte gpsd's layout. The samples' offsets are
 * known exactly, so both daemons are held to them: their estimates must lie
 * within the written offsets' spread (±50 us) plus 50 us.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { realtime } from '../clock/realtime.js';
import { fetchSnapshot } from '../control/commands.js';
import { runCaptured } from '../cli/run-captured.test-helper.js';
import { instantToUnixNanos } from '../time/instant.js';
import { type ChronydProcess, type ManagedProcess, requireTool, spawnNtpkit, startChronyd, toolPath } from '../testing/index.js';
import { until } from '../testing/until.js';
import { parseSockSample } from './refclock-sock.js';
import { openSender, sockSample } from './refclock-sock.test-helper.js';

const run = promisify(execFile);
const OFFSET = 0.123456;
const JITTER = 50e-6;

test('struct sock_sample decodes as chrony reads it, and what chrony drops is dropped with a reason', () => {
  const ns = 1_796_000_000_123_456_000n;
  const ok = parseSockSample(sockSample(ns, 0.25));
  assert.ok(ok.ok && 'reference' in ok.sample);
  assert.equal(instantToUnixNanos(ok.sample.realtime), ns);
  assert.equal(instantToUnixNanos(ok.sample.reference), ns + 250_000_000n);
  assert.deepEqual(parseSockSample(sockSample(ns, 0, { magic: 1 })), { ok: false, reason: 'magic' });
  assert.deepEqual(parseSockSample(sockSample(ns, 0, { leap: 3 })), { ok: false, reason: 'leap' });
  assert.deepEqual(parseSockSample(sockSample(ns, 0).subarray(0, 36)), { ok: false, reason: 'length' });
  assert.deepEqual(parseSockSample(sockSample(ns, 2 ** 32, { pulse: 1 })), { ok: false, reason: 'time' });
  assert.deepEqual(parseSockSample(sockSample(ns, NaN)), { ok: false, reason: 'time' });
  const ins = parseSockSample(sockSample(ns, 0, { leap: 1 }));
  assert.ok(ins.ok && 'leap' in ins.sample && ins.sample.leap === 'insert');
  // A pulse: its offset is where the system clock was past the pulse; its leap is not read (chronyd's read_sample).
  const pulse = parseSockSample(sockSample(ns, 0.004, { pulse: 1, leap: 3 }));
  assert.ok(pulse.ok && 'pulse' in pulse.sample);
  assert.deepEqual([instantToUnixNanos(pulse.sample.realtime), pulse.sample.pulse], [ns, 0.004]);
});

test('refclock SOCK: the same samples sent to chronyd and ntpkit give both the offset written, within its jitter; bad datagrams are dropped and logged', async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-sock-'));
  const sender = openSender(dir);
  let chronyd: ChronydProcess | undefined;
  let ntpkit: ManagedProcess | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const line = (path: string): string => `refclock SOCK ${path} poll 2 noselect refid SOCK`;
    chronyd = await startChronyd({ name: 'sock-chronyd', config: ['bindcmdaddress {dir}/chronyd.sock', line('{dir}/refclock.sock')] });
    const chronySock = join(chronyd.dir, 'chronyd.sock');
    const theirPath = join(chronyd.dir, 'refclock.sock');
    const ourPath = join(dir, 'refclock.sock');
    const socket = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `${line(ourPath)}\ncontrolsocket ${socket}\nbindcmdaddress /\ncmdport 0\n`);
    ntpkit = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    const nk = ntpkit;
    const diag = (): string => `chronyd:\n${chronyd?.logs() ?? ''}\nntpkit:\n${nk.logs()}`;
    // Both sockets exist once the daemons are up.
    await until('both sockets are bound', 20_000, async () => {
      const ok = await Promise.all([theirPath, ourPath].map((p) => run('test', ['-S', p]).then(() => true, () => false)));
      return ok.every(Boolean) ? true : null;
    }, diag);
    const sendTo = (buf: Buffer, path: string): void => sender.send(buf, path);
    // Garbage first: ntpkit must drop it and go on.
    sendTo(sockSample(instantToUnixNanos(realtime()), 5, { magic: 0x1234 }), ourPath);
    sendTo(Buffer.alloc(12), ourPath);
    let k = 0;
    timer = setInterval(() => {
      // A deterministic ±JITTER pattern around OFFSET.
      const b = sockSample(instantToUnixNanos(realtime()), OFFSET + JITTER * Math.sin(k++));
      sendTo(b, theirPath);
      sendTo(b, ourPath);
    }, 250);

    await until('both daemons have 3 samples', 60_000, async () => {
      const ours = (await fetchSnapshot(socket, { timeoutMs: 2000 }).catch(() => undefined))?.sources.find((s) => s.name === 'SOCK');
      const theirs = await run(toolPath('chronyc'), ['-h', chronySock, '-n', '-c', 'sourcestats']).then((r) => r.stdout.split(','), () => []);
      return (ours?.stats.samples ?? 0) >= 3 && Number(theirs[1] ?? 0) >= 3 ? true : null;
    }, diag, 500);
    const ours = (await fetchSnapshot(socket, { timeoutMs: 2000 })).sources.find((s) => s.name === 'SOCK');
    const theirs = (await run(toolPath('chronyc'), ['-h', chronySock, '-n', '-c', 'sourcestats'])).stdout.trim().split(',');
    assert.ok(ours !== undefined);
    const chronyOffset = -Number(theirs[6]);
    const bound = JITTER + 50e-6;
    t.diagnostic(`ntpkit ${(ours.stats.offset * 1e6).toFixed(1)} us, chronyd ${(chronyOffset * 1e6).toFixed(1)} us, written ${(OFFSET * 1e6).toFixed(1)} ± ${(JITTER * 1e6).toFixed(0)} us`);
    assert.ok(Math.abs(ours.stats.offset - OFFSET) <= bound, `ntpkit ${ours.stats.offset}`);
    assert.ok(Math.abs(chronyOffset - OFFSET) <= bound, `chronyd ${chronyOffset}`);
    assert.match(nk.logs(), /refclock SOCK .*refclock\.sock: datagram dropped: bad magic \(not 0x534f434b\) \(1 so far\)/);
    assert.match(nk.logs(), /datagram dropped: not 40 bytes \(struct sock_sample\) \(1 so far\)/);

    const cli = await runCaptured(['sources', '--socket', socket]);
    const row = cli.out.split('\n').find((l) => l.includes('SOCK'));
    const { stdout: chronycText } = await run(toolPath('chronyc'), ['-h', chronySock, '-n', 'sources']);
    const theirRow = chronycText.split('\n').find((l) => l.includes('SOCK')) ?? '';
    // Mode, state, name, stratum and poll columns as chronyc prints them.
    assert.equal(row?.slice(0, 37), theirRow.slice(0, 37), `${cli.out}\n${chronycText}`);
    assert.match(row ?? '', /^#\? SOCK /);
  } finally {
    if (timer !== undefined) clearInterval(timer);
    sender.close();
    await ntpkit?.stop(3000);
    await chronyd?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
