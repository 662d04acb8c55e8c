/**
 * What a real `ntpkit daemon` process logs when things go wrong, end to end:
 * the only source jumping 10 s ("Virtual clock wrong by X seconds", as
 * chronyd says it), an NTS source whose key exchange is refused (the notice
 * names the NTS-KE failure, not UDP port 123), and a full disk (each
 * statistics log reported once, no torn line, and no "Saved frequency" when
 * the drift file could not be written).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ManagedProcess, mountTinyTmpfs, pollFor, type ScriptedNtpServer, spawnNtpkit, startScriptedNtpServer, type TinyTmpfs, tmpfsSkip,
} from '../testing/index.js';

/** These tests' loopback addresses (127.0.15.0/24 belongs to them); ports are any free ones. */
const JUMP = '127.0.15.3';
const NTS = '127.0.15.4';
const DISK = '127.0.15.5';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Runs `body` with a daemon on `config` (the virtual clock), stopping it whatever happens. */
async function withDaemon(name: string, config: (dir: string) => string, body: (daemon: ManagedProcess, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `ntpkit-${name}-`));
  let daemon: ManagedProcess | undefined;
  try {
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, config(dir));
    daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    await body(daemon, dir);
  } finally {
    await daemon?.stop(3000);
    await rm(dir, { recursive: true, force: true });
  }
}

test('the only source jumps 10 s: the daemon logs "Virtual clock wrong by X seconds", and not again while it slews', { timeout: 60_000 }, async () => {
  const server = await startScriptedNtpServer({ address: JUMP });
  try {
    await withDaemon('jump', (dir) => `server ${JUMP} port ${server.port} iburst minpoll 0 maxpoll 0\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\nlogdir ${dir}/log\nlog measurements\n`, async (d, dir) => {
      const logs = (): string => d.logs();
      await pollFor('the source to be selected', () => (/Selected source/.test(d.logs()) ? true : undefined), 20_000, logs);
      assert.doesNotMatch(d.logs(), /clock wrong by/);
      server.set({ offset: 10 });
      const jumpedAt = server.requests.length;
      await pollFor('the clock-wrong line', () => (/clock wrong by/.test(d.logs()) ? true : undefined), 20_000, logs);
      // Ten more samples while the 10 s are slewed out (at 83333 ppm: 120 s).
      await pollFor('ten more requests', () => (server.requests.length >= jumpedAt + 10 ? true : undefined), 30_000, logs);
      const values = [...d.logs().matchAll(/(?:^|\n)(?:\S+Z )?Virtual clock wrong by (-?\d+\.\d{6}) seconds\n/g)].map((m) => Number(m[1]));
      assert.ok(values.length >= 1, `chronyd's wording and %.6f:\n${logs()}`);
      // A measured offset is off by up to half its round trip, and the clock was off by up to that
      // before the jump: the bound on "10 s" is 10 s plus the largest round trip measured (Peer del.
      // in measurements.log), plus 10 ms.
      const text = await readFile(join(dir, 'log', 'measurements.log'), 'utf8');
      const delays = text.split('\n').filter((l) => /^\d{4}-/.test(l)).map((l) => Number(l.trim().split(/\s+/)[12]));
      assert.ok(delays.length > 0 && delays.every(Number.isFinite), text);
      const bound = 10.01 + Math.max(...delays);
      // The server is 10 s ahead: the clock must go forward; the first update need not see the whole jump.
      assert.ok((values[0] as number) > 1 && (values[0] as number) <= bound, `${values[0]} (bound ${bound})`);
      // Only what goes beyond the correction under way is reported again: 10 s in all, at most.
      assert.ok(values.reduce((a, b) => a + b, 0) <= bound, `reported ${values.join(', ')} (bound ${bound})`);
    });
  } finally {
    await server.close();
  }
});

test('an NTS source whose key exchange is refused: the notice names the NTS-KE failure (host, port, error), not UDP port 123', { timeout: 90_000 }, async () => {
  // Nothing listens on TCP 127.0.15.4:4460: the connection is refused at once.
  await withDaemon('nts-ke', () => `server ${NTS} nts iburst minpoll 0 maxpoll 2\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\n`, async (d) => {
    const line = await pollFor('the reachability notice', () => d.logs().split('\n').find((l) => l.includes('None of the 1 source can be reached')), 60_000, () => d.logs());
    assert.match(line, new RegExp(`the NTS key exchange \\(TCP\\) failed for ${escape(NTS)}, so no NTS request could be sent`));
    assert.match(line, new RegExp(`Still trying: ${escape(NTS)}: NTS-KE with ${escape(NTS)}:4460 failed: connect ECONNREFUSED ${escape(NTS)}:4460$`));
    assert.doesNotMatch(line, /UDP port 123/);
    // The failure itself is logged without repeating "NTS-KE with ...".
    assert.match(d.logs(), new RegExp(`NTS-KE with ${escape(NTS)}:4460 failed: connect ECONNREFUSED ${escape(NTS)}:4460; retrying at the next poll`));
  });
});

test('a full disk: each statistics log is reported once and holds no torn line; the drift file is not said to be saved', { timeout: 90_000 }, async (t) => {
  const why = tmpfsSkip();
  if (why !== null) { t.skip(why); return; }
  let fs: TinyTmpfs | undefined;
  let server: ScriptedNtpServer | undefined;
  try {
    fs = await mountTinyTmpfs('ntpkit-full-disk', 64 * 1024);
    const disk = fs;
    server = await startScriptedNtpServer({ address: DISK });
    const srv = server;
    const logdir = join(disk.dir, 'log');
    const drift = join(disk.dir, 'drift');
    const files = ['measurements', 'statistics', 'tracking'].map((n) => join(logdir, `${n}.log`));
    await withDaemon('full-disk', () => [
      `server ${DISK} port ${srv.port} iburst minpoll -2 maxpoll -2`, 'makestep 0.1 3', `driftfile ${drift}`,
      `logdir ${logdir}`, 'log measurements statistics tracking', 'controlsocket /\nbindcmdaddress /\ncmdport 0', '',
    ].join('\n'), async (d) => {
      const logs = (): string => d.logs();
      const lines = async (p: string): Promise<number> => (await readFile(p, 'utf8').catch(() => '')).split('\n').filter((l) => /^\d{4}-/.test(l)).length;
      await pollFor('a line in each log', async () => ((await Promise.all(files.map(lines))).every((n) => n > 0) ? true : undefined), 30_000, logs);
      await disk.fill();
      const cannot = (p: string): number => d.logs().split('\n').filter((l) => l.includes(`Cannot write ${p}: ENOSPC`)).length;
      await pollFor('every log reported', () => (files.every((p) => cannot(p) > 0) ? true : undefined), 30_000, logs);
      // Many more lines come (4 requests a second); each file is still reported once for this episode.
      const n = srv.requests.length;
      await pollFor('twenty more requests', () => (srv.requests.length >= n + 20 ? true : undefined), 30_000, logs);
      for (const p of files) assert.equal(cannot(p), 1, `${p}\n${logs()}`);
      const status = await d.stop(10_000);
      assert.deepEqual(status, { code: 0, signal: null }, logs());
      // Read only once the daemon has stopped: a write under way lands part of a line in the last
      // page's free bytes before ENOSPC, and the cut back follows it, so a read in between may see
      // the part. What is guaranteed is the file at rest.
      for (const p of files) {
        const text = await readFile(p, 'utf8');
        assert.ok(text.endsWith('\n'), `${p} ends in a torn line: ${JSON.stringify(text.slice(-40))}`);
      }
      assert.match(d.logs(), new RegExp(`Cannot write drift file ${escape(drift)}: ENOSPC`));
      assert.match(d.logs(), /The frequency \S+ \+\/- \S+ ppm was not saved/);
      assert.doesNotMatch(d.logs(), /Saved frequency/);
    });
  } finally {
    await server?.close();
    await fs?.unmount();
  }
});
