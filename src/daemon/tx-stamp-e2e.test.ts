/**
 * Kernel packet timestamps end to end: a real `ntpkit daemon` process on the
 * virtual clock polls three real chronyd servers on loopback, all with
 * `minpoll 0 maxpoll 0`, so the sources' poll timers fire close together.
 * Every sample must have taken T1 from the kernel's transmit timestamp and
 * T4 from its receive timestamp, as chronyd's do: a poll timer of another
 * source that fires before the event loop reads the error queue must not
 * leave a request with its user-space T1 (the driver once flushed it for
 * good there). ntpdata's counts and measurements.log's TxRx columns say so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callDaemon } from '../control/commands.js';
import type { NtpDataReport } from '../core/engine/engine-api.js';
import { loadNativeUdp } from '../net/native-udp.js';
import { type ChronydServer, type ManagedProcess, pollFor, requireTool, spawnNtpkit, startChronydServer } from '../testing/index.js';

/** This file's loopback addresses (127.0.41.0/24 belongs to these tests and bench/client-noise, which uses .1-.3). */
const SERVERS = ['127.0.41.20', '127.0.41.21', '127.0.41.22'];
/** Samples per source before judging: enough that coinciding timers have certainly happened. */
const SAMPLES = 20;

test('every sample of a run takes T1 and T4 from the kernel timestamps', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const native = loadNativeUdp();
  if (!native.ok) {
    if (process.env.NTPKIT_REQUIRE_NATIVE === '1') assert.fail(native.reason);
    t.skip(native.reason);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-tx-stamp-e2e-'));
  const servers: ChronydServer[] = [];
  let daemon: ManagedProcess | undefined;
  try {
    for (const address of SERVERS) servers.push(await startChronydServer({ address }));
    const socket = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, [
      ...SERVERS.map((s) => `server ${s} minpoll 0 maxpoll 0`),
      `controlsocket ${socket}\nbindcmdaddress /\ncmdport 0`,
      `logdir ${dir}`,
      'log measurements',
      '',
    ].join('\n'));
    daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    const d = daemon;
    const ntpdata = async (): Promise<NtpDataReport[] | undefined> =>
      ((await callDaemon(socket, 'ntpdata', {}, { timeoutMs: 2000 }).catch(() => undefined)) as { sources: NtpDataReport[] } | undefined)?.sources;
    const sources = await pollFor(`${SAMPLES} samples from each source`, async () => {
      const r = await ntpdata();
      return r !== undefined && r.length === SERVERS.length && r.every((s) => s.stamps.txKernel + s.stamps.txDaemon >= SAMPLES) ? r : undefined;
    }, 90_000, () => `ntpdata: ${JSON.stringify(ntpdata)}\ndaemon log:\n${d.logs()}`);

    for (const s of sources) {
      assert.equal(s.stamps.txDaemon, 0, `${s.remoteAddress}: samples with a user-space T1: ${JSON.stringify(s.stamps)}`);
      assert.equal(s.stamps.rxDaemon, 0, `${s.remoteAddress}: samples with a user-space T4: ${JSON.stringify(s.stamps)}`);
      assert.equal(s.stamps.lastTx, 'kernel');
    }
    // chronyc ntpdata's lines say the same.
    const text = await callDaemon(socket, 'ntpdata', { address: SERVERS[0] }, { timeoutMs: 2000 }) as { sources: { txTimestamping: string; rxTimestamping: string }[] };
    assert.deepEqual(text.sources.map((s) => [s.txTimestamping, s.rxTimestamping]), [['kernel', 'kernel']]);
    // measurements.log names, per sample, who read T1 and T4: K and K on every line.
    const log = await pollFor('measurements.log', async () => {
      const l = await readFile(join(dir, 'measurements.log'), 'utf8').catch(() => '');
      return l.split('\n').filter((x) => /^\d{4}-/.test(x)).length >= SAMPLES ? l : undefined;
    }, 20_000);
    const lines = log.split('\n').filter((x) => /^\d{4}-/.test(x));
    const notKernel = lines.filter((x) => !/ K K$/.test(x));
    assert.deepEqual(notKernel, [], `${notKernel.length} of ${lines.length} samples not stamped by the kernel`);
  } finally {
    await daemon?.stop(3000);
    for (const s of servers) await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
