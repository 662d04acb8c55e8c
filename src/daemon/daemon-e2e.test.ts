/**
 * The daemon end to end on the virtual clock against real servers: the
 * daemon, as a child process of the CLI from this build tree, on the
 * virtual clock started +0.3 s and +40 ppm off, polls 3 chronyd servers
 * (`local stratum 1`) and 1 chronyd under libfaketime +2.5 s, all with
 * `minpoll 0 maxpoll 2 iburst`, and serves NTP on its own 127.0.0.x:123.
 *
 * Every process shares this machine's clock, so what ntpdig measures against
 * the daemon's server is the daemon's true error. Within 60 s `ntpkit
 * sources` must mark the faketime server `x`, and ntpdig must see
 * |offset| < 200 us, both in the same round.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchSnapshot } from '../control/commands.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import {
  type ChronydServer, type LoopbackBlock, type ManagedProcess, requireTool, reserveLoopbackBlock, runNtpdig, spawnNtpkit, startChronydServer,
} from '../testing/index.js';
import { runCaptured } from '../cli/run-captured.test-helper.js';

const DEADLINE_MS = 60_000;
const MAX_OFFSET = 200e-6;

let block: LoopbackBlock | undefined;
before(async () => { block = await reserveLoopbackBlock('daemon-e2e.test', 5); });
after(() => block?.release());

/** Runs an ntpkit command in-process and returns its stdout. */
const cli = runCaptured;

test('virtual clock against real servers: the falseticker is marked x and the served time is within 200 us', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'libfaketime', 'ntpdig')) return;
  const [a, b, c, liar, self] = (block as LoopbackBlock).addresses as [string, string, string, string, string];
  const servers: ChronydServer[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-daemon-e2e-'));
  let daemon: ManagedProcess | undefined;
  try {
    for (const address of [a, b, c]) servers.push(await startChronydServer({ address }));
    servers.push(await startChronydServer({ address: liar, fakeOffsetSeconds: 2.5 }));
    const socket = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, [
      ...[a, b, c, liar].map((s) => `server ${s} minpoll 0 maxpoll 2 iburst`),
      'allow 127.0.0.0/8',
      `bindaddress ${self}`,
      `controlsocket ${socket}\nbindcmdaddress /\ncmdport 0`,
      `driftfile ${join(dir, 'drift')}`,
      '',
    ].join('\n'));
    daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual', '--virtual-offset', '0.3', '--virtual-freq', '40']);

    const started = Date.now();
    const rounds: string[] = [];
    let snap: DaemonSnapshot | undefined;
    let done = false;
    while (!done && Date.now() - started < DEADLINE_MS) {
      await new Promise((r) => setTimeout(r, 1000));
      if (daemon.exitStatus() !== undefined) assert.fail(`the daemon exited: ${JSON.stringify(daemon.exitStatus())}\n${daemon.logs()}`);
      try {
        snap = await fetchSnapshot(socket, { timeoutMs: 2000 });
      } catch (e) {
        rounds.push(`${Date.now() - started} ms: no snapshot (${(e as Error).message})`);
        continue;
      }
      const marked = snap.sources.find((s) => s.address === liar)?.verdict === 'falseticker';
      const dig = await runNtpdig({ server: self, timeoutSeconds: 1 });
      const offset = dig.ok ? (dig.offset as number) : NaN;
      rounds.push(`${Date.now() - started} ms: ${snap.sources.map((s) => `${s.name} ${s.verdict}`).join(', ')}; synchronized ${snap.tracking.synchronized}; ntpdig ${dig.ok ? `offset ${offset} stratum ${dig.stratum}` : dig.stderr.trim()}`);
      done = marked && Math.abs(offset) < MAX_OFFSET;
    }
    assert.ok(done, `not converged within ${DEADLINE_MS / 1000} s:\n${rounds.join('\n')}\ndaemon log:\n${daemon.logs()}`);

    // What an operator sees: `ntpkit sources` marks the faketime server `x`.
    const sources = await cli(['sources', '--socket', socket]);
    assert.equal(sources.code, 0, sources.err);
    const line = sources.out.split('\n').find((l) => l.includes(liar));
    assert.match(line ?? '', /^\^x /, sources.out);

    // SIGTERM: the drift file is saved and the daemon exits 0.
    const status = await daemon.stop(10_000);
    assert.deepEqual(status, { code: 0, signal: null }, daemon.logs());
    assert.match(await readFile(join(dir, 'drift'), 'utf8'), /^ +-?\d+\.\d{6} +\d+\.\d{6}\n$/);
  } finally {
    await daemon?.stop(3000);
    for (const s of servers) await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
