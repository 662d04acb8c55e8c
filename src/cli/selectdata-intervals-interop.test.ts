/**
 * selectdata's correctness intervals against chronyd 4.3's, live: three
 * chronyd servers on loopback, polled every second by a chronyd -x client
 * and by ntpkit's daemon at once. Both reckon a source's interval as
 * chronyd's selection does (sourcestats.c): the tightest bound of one
 * sample, half its root delay plus its root dispersion plus the skew times
 * its age. So ntpkit's half-width can be no wider than the bound its own
 * last sample gives (ntpdata's figures), and it is of chronyd's size for
 * the same servers, not the RFC 5905 floor of 5 ms (MINDISP / 2) it once was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchSnapshot } from '../control/commands.js';
import { type ChronydProcess, type ManagedProcess, pollFor, requireTool, runChronyc, spawnNtpkit, startChronydClient, startChronydServer } from '../testing/index.js';
import { runCaptured } from './run-captured.test-helper.js';

const SERVERS = ['127.0.50.1', '127.0.50.2', '127.0.50.3'];
const OPT = 'iburst minpoll 0 maxpoll 0';
/** Samples each daemon has of every source before the intervals are compared: chronyd's regression needs some to bound its skew. */
const SAMPLES = 8;

interface Interval { readonly state: string; readonly lo: number; readonly hi: number }

function intervals(csv: string): Map<string, Interval> {
  return new Map(csv.trim().split('\n').filter((l) => l !== '').map((l) => {
    const f = l.split(',');
    return [f[1] as string, { state: f[0] as string, lo: Number(f[15]), hi: Number(f[16]) }];
  }));
}

const half = (i: Interval): number => (i.hi - i.lo) / 2;

test('selectdata intervals: ntpkit reckons them as chronyd does, within its own samples\' bound and of chronyd\'s size', { timeout: 180_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  const procs: (ChronydProcess | ManagedProcess)[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-selectdata-intervals-'));
  try {
    for (const address of SERVERS) procs.push(await startChronydServer({ address, stratum: 1 }));
    const client = await startChronydClient({ servers: SERVERS.map((address) => ({ address, options: OPT })), extraConfig: ['bindcmdaddress {dir}/chronyd.sock'] });
    procs.push(client);
    const theirSock = join(client.dir, 'chronyd.sock');
    const socket = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `${SERVERS.map((a) => `server ${a} ${OPT}`).join('\n')}\ncontrolsocket ${socket}\nbindcmdaddress /\ncmdport 0\n`);
    const d = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    procs.push(d);
    const cli = async (args: readonly string[]): Promise<string> => {
      const r = await runCaptured([...args, '--socket', socket]);
      assert.equal(r.code, 0, r.err);
      return r.out;
    };
    // Both have SAMPLES samples of every source (sourcestats' NP) and a selected source.
    await pollFor('both daemons with samples and a selection', async () => {
      const theirs = await runChronyc(['-h', theirSock, '-c', '-n', 'sourcestats']);
      const ours = await fetchSnapshot(socket).catch(() => null);
      const theirNp = theirs.out.trim().split('\n').map((l) => Number(l.split(',')[1]));
      const enough = theirNp.length === SERVERS.length && theirNp.every((n) => n >= SAMPLES) &&
        ours !== null && ours.sources.every((s) => (s.stats?.samples ?? 0) >= SAMPLES) && ours.sources.some((s) => s.verdict === 'selected');
      return enough ? true : undefined;
    }, 90_000, () => d.logs());

    // Read where every source's last reply passed chronyd's tests, so the statistics took it: its bound holds then.
    type NtpData = { remoteAddress: string; rootDelay: number; rootDispersion: number; peerDelay: number; peerDispersion: number; tests: string };
    const { theirs, ours, ntpdata } = await pollFor('a reading after samples every test passed', async () => {
      const th = intervals((await runChronyc(['-h', theirSock, '-c', '-n', 'selectdata'])).out);
      const before = (JSON.parse(await cli(['ntpdata', '--json'])) as { sources: NtpData[] }).sources;
      const o = intervals(await cli(['selectdata', '-c']));
      const after = (JSON.parse(await cli(['ntpdata', '--json'])) as { sources: NtpData[] }).sources;
      const same = JSON.stringify(before) === JSON.stringify(after) && after.every((x) => x.tests.endsWith('1111'));
      return same ? { theirs: th, ours: o, ntpdata: after } : undefined;
    }, 30_000);
    const report = `ntpkit ${JSON.stringify([...ours])}\nchronyd ${JSON.stringify([...theirs])}`;
    t.diagnostic(report);
    for (const address of SERVERS) {
      const o = ours.get(address);
      const th = theirs.get(address);
      assert.ok(o !== undefined && th !== undefined, report);
      const n = ntpdata.find((x) => x.remoteAddress === address);
      assert.ok(n !== undefined, JSON.stringify(ntpdata));
      // The last sample's own bound, a poll (1 s) old at most, at the skew's loosest (the initial 500 ppm).
      const lastBound = n.rootDelay / 2 + n.rootDispersion + n.peerDelay / 2 + n.peerDispersion + 500e-6 * 2;
      assert.ok(half(o) > 0 && half(o) <= lastBound, `${address}: half-width ${half(o)} against the last sample's ${lastBound}\n${report}`);
      // Of chronyd's size: both rest on the same server's root dispersion and loopback delays of microseconds.
      assert.ok(half(o) < 10 * half(th) && half(th) < 10 * half(o), `${address}\n${report}`);
      // The intervals overlap: both daemons measure the same clock.
      assert.ok(o.lo <= th.hi && th.lo <= o.hi, `${address}\n${report}`);
    }
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
