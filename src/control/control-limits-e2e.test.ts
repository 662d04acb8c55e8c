/**
 * The read-only control socket (mode 0666: any local user) against clients
 * that misbehave, with the real daemon process:
 * - clients that pipeline `snapshot` requests and never read their replies
 *   must not grow the daemon's memory beyond a bound that follows from
 *   CONTROL_LIMITS, and other clients are answered meanwhile and after;
 * - clients holding every connection slot idle lock nobody out, and are
 *   closed after the idle timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTROL_IDLE_ENV } from '../cli/daemon-command.js';
import { type ManagedProcess, residentBytes, spawnNtpkit } from '../testing/index.js';
import { controlRequest } from './client.js';
import { MAX_REQUEST_BYTES, readOnlySocketPath } from './protocol.js';
import { CONTROL_LIMITS } from './server.js';

const MiB = 1024 * 1024;

/** Sources that never answer (nothing listens there): they only make the snapshot longer. */
const SOURCES = Array.from({ length: 12 }, (_, i) => `server 127.0.13.${200 + i} minpoll 4`);

async function startDaemon(dir: string, env: Record<string, string> = {}): Promise<{ daemon: ManagedProcess; ro: string }> {
  const socket = join(dir, 'run', 'ntpkit.sock');
  const conf = join(dir, 'chrony.conf');
  await writeFile(conf, [...SOURCES, `controlsocket ${socket}\nbindcmdaddress /\ncmdport 0`, ''].join('\n'));
  const daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual'], { env });
  const ro = readOnlySocketPath(socket);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (daemon.exitStatus() !== undefined) assert.fail(`the daemon exited: ${JSON.stringify(daemon.exitStatus())}\n${daemon.logs()}`);
    try {
      await controlRequest(ro, 'snapshot', {}, { timeoutMs: 2000 });
      return { daemon, ro };
    } catch (e) {
      if (Date.now() > deadline) assert.fail(`no answer on ${ro}: ${(e as Error).message}\n${daemon.logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    s.once('connect', () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

/**
 * Sends snapshot requests on `sock` as fast as the daemon takes them, never
 * reading a reply, until `stop()` returns true. Honors its own socket's
 * backpressure, so only the daemon's side can pile anything up.
 */
async function flood(sock: Socket, stop: () => boolean): Promise<number> {
  const line = '{"version":1,"id":1,"command":"snapshot"}\n';
  const batch = line.repeat(256);
  let sent = 0;
  sock.on('error', () => undefined);
  while (!stop() && !sock.destroyed) {
    sent += 256;
    if (!sock.write(batch)) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, 200);
        function done(): void { clearTimeout(t); sock.off('drain', done); sock.off('close', done); resolve(); }
        sock.once('drain', done);
        sock.once('close', done);
      });
    }
  }
  return sent;
}

test('clients that send snapshot requests and never read: the daemon\'s memory stays bounded, others are answered during and after', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-control-limits-'));
  let daemon: ManagedProcess | undefined;
  const floods: Socket[] = [];
  try {
    const started = await startDaemon(dir);
    daemon = started.daemon;
    const { ro } = started;
    const pid = daemon.pid;
    // Warm up what a snapshot costs (code compiled, first objects), then take the baseline.
    for (let i = 0; i < 20; i++) await controlRequest(ro, 'snapshot', {}, { timeoutMs: 5000 });
    const baseline = await residentBytes(pid);

    const FLOODERS = 8;
    // What the limits let the daemon hold: every flooder's read-ahead (a request line being
    // assembled plus one 64 KiB chunk) and all unread replies together (maxBufferedBytes);
    // plus room for the garbage collector's young generation and heap growth, which churn
    // with any traffic (Node 20: 3 semi-spaces of 16 MiB), and as much again for old-space.
    const bound = baseline + FLOODERS * (MAX_REQUEST_BYTES + 64 * 1024) + CONTROL_LIMITS.maxBufferedBytes + 96 * MiB;
    const samples: string[] = [];
    let peak = baseline;

    for (const wave of [1, 2]) {
      const waveEnd = Date.now() + 8000;
      let over = false;
      const stop = (): boolean => over || Date.now() > waveEnd;
      const socks = await Promise.all(Array.from({ length: FLOODERS }, () => connect(ro)));
      floods.push(...socks);
      const sending = Promise.all(socks.map((s) => flood(s, stop)));
      // Another user's requests meanwhile, each within the client's usual timeout.
      let answered = 0;
      const failures: string[] = [];
      const others = (async () => {
        while (!stop()) {
          try {
            const snap = await controlRequest(ro, 'snapshot', {}, { timeoutMs: 5000 }) as { sources: unknown[] };
            assert.equal(snap.sources.length, SOURCES.length);
            answered++;
          } catch (e) {
            failures.push((e as Error).message);
          }
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      while (!stop()) {
        const rss = await residentBytes(pid);
        peak = Math.max(peak, rss);
        samples.push(`wave ${wave}: ${(rss / MiB).toFixed(1)} MiB`);
        if (rss > bound) over = true;
        await new Promise((r) => setTimeout(r, 100));
      }
      await others;
      const sent = await sending;
      assert.ok(peak <= bound, `RSS ${(peak / MiB).toFixed(1)} MiB over the bound ${(bound / MiB).toFixed(1)} MiB (baseline ${(baseline / MiB).toFixed(1)} MiB)\n${samples.join('\n')}`);
      t.diagnostic(`wave ${wave}: baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB, bound ${(bound / MiB).toFixed(1)} MiB; requests sent ${sent.join(', ')}; ${answered} other requests answered`);
      assert.deepEqual(failures, [], 'other clients were answered during the flood');
      assert.ok(answered > 0);
      // The flooders did try: each sent more requests than fit the bounded buffers, reply for reply.
      assert.ok(sent.every((n) => n > 1000), `requests sent per flooder: ${sent.join(', ')}`);
      for (const s of socks) s.destroy();
      // And after: answered, within the client's usual timeout.
      await controlRequest(ro, 'snapshot', {}, { timeoutMs: 5000 });
    }
    // After both waves the memory is back under the bound: what the floods held was let go.
    const after = await residentBytes(pid);
    assert.ok(after <= bound, `RSS after the floods ${(after / MiB).toFixed(1)} MiB over ${(bound / MiB).toFixed(1)} MiB`);
    const status = await daemon.stop(10_000);
    assert.deepEqual(status, { code: 0, signal: null }, daemon.logs());
  } finally {
    for (const s of floods) s.destroy();
    await daemon?.stop(3000);
    await rm(dir, { recursive: true, force: true });
  }
});

test('every connection slot held idle: a new client is still served at once, and the idle ones are closed after the idle timeout', { timeout: 120_000 }, async () => {
  const IDLE_S = 4;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-control-idle-'));
  let daemon: ManagedProcess | undefined;
  const held: Socket[] = [];
  try {
    const started = await startDaemon(dir, { [CONTROL_IDLE_ENV]: String(IDLE_S) });
    daemon = started.daemon;
    const { ro } = started;
    const closedAfter: number[] = [];
    const opened = Date.now();
    for (let i = 0; i < CONTROL_LIMITS.maxConnections; i++) {
      const s = await connect(ro);
      s.on('error', () => undefined);
      s.once('close', () => closedAfter.push(Date.now() - opened));
      held.push(s);
    }
    // Half the idle timeout: served because an idle connection made room, not because one timed out.
    const fresh = 3;
    for (let i = 0; i < fresh; i++) await controlRequest(ro, 'activity', {}, { timeoutMs: (IDLE_S * 1000) / 2 });
    // Every held connection is closed within the idle timeout plus a generous margin for a loaded machine.
    const deadline = Date.now() + IDLE_S * 1000 * 3 + 5000;
    while (closedAfter.length < held.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(closedAfter.length, held.length, `closed: ${closedAfter.length} of ${held.length}`);
    // Only as many as the fresh clients needed went early; the rest waited out the idle timeout.
    const early = closedAfter.filter((ms) => ms < IDLE_S * 1000 - 250);
    assert.ok(early.length <= fresh, `closed before the idle timeout: ${early.length} (${early.join(', ')} ms)`);
    await controlRequest(ro, 'activity', {}, { timeoutMs: 5000 });
    const status = await daemon.stop(10_000);
    assert.deepEqual(status, { code: 0, signal: null }, daemon.logs());
  } finally {
    for (const s of held) s.destroy();
    await daemon?.stop(3000);
    await rm(dir, { recursive: true, force: true });
  }
});
