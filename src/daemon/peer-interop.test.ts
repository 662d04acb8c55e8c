/**
 * Symmetric mode (`peer`) on loopback, against real chronyd 4.3 and between
 * two ntpkit daemons, each daemon a child process of this build's CLI on a
 * virtual clock started 50 ms off the system clock (all processes share one
 * clock, so what remains of those 50 ms is pure error):
 * - ntpkit `peer 127.0.26.2` and chronyd -x `peer 127.0.26.1` (chronyd with
 *   `local stratum 5`): each side sees the other's mode 1 packets as its
 *   peer's (chronyc ntpdata: Mode "Symmetric active", tests 1-3 passed, and
 *   chronyd's test D fails as it should: ntpkit is synchronized to it);
 *   both `sources` show the other with `=`; ntpkit converges to chronyd;
 *   with `key N` on both sides the packets are authenticated both ways;
 * - chronyd `peer` to an ntpkit that has no peer line: answered in passive
 *   mode (mode 2) when `allow` permits chronyd's address, as chronyd does,
 *   and not answered when it does not;
 * - ntpkit `peer` to ntpkit `peer`, one with `local stratum 5`.
 * Addresses: 127.0.26.1-3, port 123.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ChronydProcess, interopSkip, type ManagedProcess, probeNtp, runToCompletion, spawnNtpkit, startChronyd, toolPath,
} from '../testing/index.js';
import { until } from '../testing/until.js';

const NTPKIT = '127.0.26.1';
const CHRONYD = '127.0.26.2';
const NTPKIT_B = '127.0.26.3';
const KEY = '1 SHA256 HEX:8F1B7C2D4E5A69780A1B2C3D4E5F60718293A4B5C6D7E8F90112233445566778\n';
/** Both sides poll every second: a minute of test time is 60 exchanges. */
const POLL = 'minpoll 0 maxpoll 0';
const DEADLINE_MS = 45_000;
/** The virtual clocks start this far off. */
const START_OFFSET = 0.05;

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'ntpkit-peer-interop-')); });
after(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

async function cli(args: readonly string[]): Promise<string> {
  const main = new URL('../cli/main.js', import.meta.url).href;
  const code = `import { run } from ${JSON.stringify(main)}; process.exitCode = await run(process.argv.slice(1));`;
  const r = await runToCompletion(process.execPath, ['--input-type=module', '-e', code, ...args], { timeoutMs: 10_000 });
  if (r.status.code !== 0) throw new Error(`ntpkit ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function chronyc(c: ChronydProcess, ...args: string[]): Promise<string> {
  const r = await runToCompletion(toolPath('chronyc'), ['-n', '-h', join(c.dir, 'chronyd.sock'), ...args], { timeoutMs: 10_000 });
  if (r.status.code !== 0) throw new Error(`chronyc ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** `Name : value` lines of an ntpdata report. */
function field(report: string, name: string): string | undefined {
  const line = report.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}:`));
  return line?.slice(line.indexOf(':') + 1).trim();
}

/** The row of `address` in a sources table: mode, state, stratum and reach (octal). */
function row(sources: string, address: string): { mode: string; state: string; stratum: number; reach: number } | null {
  const line = sources.split('\n').find((l) => l.slice(3).trim().split(/\s+/)[0] === address);
  if (line === undefined) return null;
  const f = line.slice(3).trim().split(/\s+/);
  return { mode: line[0] as string, state: line[1] as string, stratum: Number(f[1]), reach: parseInt(f[3] as string, 8) };
}

async function startNtpkit(name: string, lines: readonly string[], offset = START_OFFSET): Promise<{ proc: ManagedProcess; socket: string }> {
  const socket = join(dir, `${name}.sock`);
  const conf = join(dir, `${name}.conf`);
  // The probes of converged() come from 127.0.0.1.
  await writeFile(conf, [`controlsocket ${socket}\nbindcmdaddress /\ncmdport 0`, 'allow 127.0.0.1', ...lines, ''].join('\n'));
  const proc = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual', '--virtual-offset', String(offset)]);
  return { proc, socket };
}

/**
 * What remains of the virtual clock's start offset, probed through its NTP
 * server, once it is at most `bound` plus the probe's own delay (the probe
 * cannot tell apart more finely); null before.
 */
async function converged(address: string, bound: number): Promise<{ offset: number; delay: number } | null> {
  const p = await probeNtp(address, 123, { timeoutMs: 1000 });
  return p.synchronized && Math.abs(p.offset) < bound + p.delay ? { offset: p.offset, delay: p.delay } : null;
}

/** The clock really left its start: what remains is below the start offset by more than the probe's delay. */
function assertMoved(r: { offset: number; delay: number }): void {
  assert.ok(Math.abs(r.offset) + r.delay < START_OFFSET, `${r.offset} s left of ${START_OFFSET} s (probe delay ${r.delay} s)`);
}

function diag(...procs: (ManagedProcess | ChronydProcess | undefined)[]): () => string {
  return () => procs.map((p) => p?.logs() ?? '').join('\n---\n');
}

describe('symmetric peers on loopback (chronyd 4.3 and ntpkit)', { skip: interopSkip('chronyd', 'chronyc') }, () => {
  for (const keyed of [false, true]) {
    test(`ntpkit peer <-> chronyd peer${keyed ? ' with key 1 on both sides' : ''}: symmetric active both ways; ntpkit converges`, { timeout: 90_000 }, async () => {
      let chronyd: ChronydProcess | undefined;
      let ntpkit: { proc: ManagedProcess; socket: string } | undefined;
      const key = keyed ? ' key 1' : '';
      try {
        const keyfile = join(dir, 'ntpkit.keys');
        await writeFile(keyfile, KEY);
        await chmod(keyfile, 0o600);
        chronyd = await startChronyd({
          name: 'peer-chronyd',
          files: { keys: KEY },
          config: [
            `bindaddress ${CHRONYD}`, 'bindcmdaddress {dir}/chronyd.sock', 'keyfile {dir}/keys', 'local stratum 5', `allow ${NTPKIT}`,
            `peer ${NTPKIT} ${POLL}${key}`,
          ],
        });
        ntpkit = await startNtpkit(`ntpkit-${keyed}`, [`bindaddress ${NTPKIT}`, `keyfile ${keyfile}`, `allow ${CHRONYD}`, `peer ${CHRONYD} ${POLL}${key}`]);
        const d = diag(ntpkit.proc, chronyd);
        const nk = ntpkit;
        const c = chronyd;
        // ntpkit: the peer selected, '=' in sources, chronyd's mode 1 in ntpdata.
        const mine = await until('ntpkit selecting its peer chronyd (=*, stratum 5)', DEADLINE_MS, async () => {
          const r = row(await cli(['sources', '--socket', nk.socket, '-n']), CHRONYD);
          return r !== null && r.mode === '=' && r.state === '*' && r.stratum === 5 ? r : null;
        }, d);
        assert.equal(mine.mode, '=');
        const ours = await cli(['ntpdata', '--socket', nk.socket, CHRONYD]);
        assert.equal(field(ours, 'Mode'), 'Symmetric active', ours);
        assert.equal(field(ours, 'Authenticated'), keyed ? 'Yes' : 'No', ours);
        // Within 2 ms plus the probe's delay: under load a probe's round trip alone can exceed 2 ms.
        assertMoved(await until('ntpkit within 2 ms of the true time', DEADLINE_MS, () => converged(NTPKIT, 0.002), d));
        // chronyd: ntpkit's mode 1 packets are its peer's (tests 1-3 and 5 pass; test D fails, as
        // it should: ntpkit is synchronized to chronyd), and ntpkit's timestamps in them, measured
        // against chronyd's own clock, are right to within half the path's delay and 2 ms.
        const seconds = (r: string, name: string): number => Number((field(r, name) ?? '').split(' ')[0]);
        const theirs = await until('chronyd measuring ntpkit, its peer, as converged', DEADLINE_MS, async () => {
          const r = await chronyc(c, 'ntpdata', NTPKIT);
          return field(r, 'NTP tests') === '111 111 1110' && Math.abs(seconds(r, 'Offset')) <= seconds(r, 'Peer delay') / 2 + 0.002 ? r : null;
        }, d);
        assert.equal(field(theirs, 'Mode'), 'Symmetric active', theirs);
        assert.equal(field(theirs, 'Authenticated'), keyed ? 'Yes' : 'No', theirs);
        const peerRow = row(await chronyc(c, 'sources'), NTPKIT);
        assert.ok(peerRow !== null && peerRow.mode === '=' && peerRow.reach !== 0, JSON.stringify(peerRow));
      } finally {
        await ntpkit?.proc.stop(5000);
        await chronyd?.stop();
      }
    });
  }

  test('chronyd peer to an ntpkit without a peer line: a passive (mode 2) answer only when allow permits it', { timeout: 90_000 }, async () => {
    for (const allowed of [true, false]) {
      let chronyd: ChronydProcess | undefined;
      let ntpkit: { proc: ManagedProcess; socket: string } | undefined;
      try {
        ntpkit = await startNtpkit(`passive-${allowed}`, [`bindaddress ${NTPKIT}`, 'local stratum 3', `allow ${allowed ? CHRONYD : NTPKIT_B}`]);
        chronyd = await startChronyd({ name: 'peer-chronyd', config: [`bindaddress ${CHRONYD}`, 'bindcmdaddress {dir}/chronyd.sock', `peer ${NTPKIT} ${POLL}`] });
        const c = chronyd;
        const d = diag(ntpkit.proc, chronyd);
        if (allowed) {
          const r = await until('chronyd getting passive answers from ntpkit', DEADLINE_MS, async () => {
            const rep = await chronyc(c, 'ntpdata', NTPKIT);
            return field(rep, 'Mode') === 'Symmetric passive' && field(rep, 'Stratum') === '3' ? rep : null;
          }, d);
          assert.match(field(r, 'NTP tests') ?? '', /^111 111/, r);
        } else {
          const r = await until('chronyd sending 5 packets', DEADLINE_MS, async () => {
            const rep = await chronyc(c, 'ntpdata', NTPKIT);
            return Number(field(rep, 'Total TX')) >= 5 ? rep : null;
          }, d);
          assert.equal(field(r, 'Total RX'), '0', r);
        }
      } finally {
        await chronyd?.stop();
        await ntpkit?.proc.stop(5000);
      }
    }
  });

  test('ntpkit peer <-> ntpkit peer: the one without a reference converges to the one with `local stratum 5`', { timeout: 90_000 }, async () => {
    let a: { proc: ManagedProcess; socket: string } | undefined;
    let b: { proc: ManagedProcess; socket: string } | undefined;
    try {
      // a serves the true time: only b starts off.
      a = await startNtpkit('a', [`bindaddress ${NTPKIT}`, 'local stratum 5', `peer ${NTPKIT_B} ${POLL}`], 0);
      b = await startNtpkit('b', [`bindaddress ${NTPKIT_B}`, `allow ${NTPKIT}`, `peer ${NTPKIT} ${POLL}`]);
      const d = diag(a.proc, b.proc);
      const sb = b.socket;
      const sa = a.socket;
      await until('b selecting its peer a (=*, stratum 5)', DEADLINE_MS, async () => {
        const r = row(await cli(['sources', '--socket', sb, '-n']), NTPKIT);
        return r !== null && r.mode === '=' && r.state === '*' && r.stratum === 5 ? r : null;
      }, d);
      assertMoved(await until('b within 2 ms of the true time', DEADLINE_MS, () => converged(NTPKIT_B, 0.002), d));
      // a hears b as its peer (mode 1, reach), and does not take b's time: b is synchronized to a (stratum 6).
      const ra = row(await cli(['sources', '--socket', sa, '-n']), NTPKIT_B);
      assert.ok(ra !== null && ra.mode === '=' && ra.reach !== 0 && ra.state !== '*', JSON.stringify(ra));
      const rep = await cli(['ntpdata', '--socket', sa, NTPKIT_B]);
      assert.equal(field(rep, 'Mode'), 'Symmetric active', rep);
      assert.equal(field(rep, 'Stratum'), '6', rep);
    } finally {
      await b?.proc.stop(5000);
      await a?.proc.stop(5000);
    }
  });
});
