/**
 * refclock SHM against a real writer: Debian's gpsd, fed by gpsfake, writes
 * its time samples into NTP SHM segments as it does for chronyd. gpsfake
 * replays one NMEA log written here (RMC and GGA each second, times starting
 * just ahead of now) as two devices in the same loop, so gpsd fills segment
 * 0 and segment 1 with the same feed, a fixed fraction of a second apart.
 * ntpkit reads segment 0 and chronyd (-x) segment 1, with otherwise the same
 * refclock line: a reader consumes what it reads (it clears `valid`,
 * chrony's protocol), so the two cannot share one segment fairly.
 * ntpshmmon snoops every sample of both (it does not consume them), so the
 * bound the daemons are held to comes from the feed itself.
 *
 * gpsfake paces the log by sleeping between sentences, so the NMEA times
 * drift against the system clock by a few ms per second, with jitter from
 * the scheduler: each segment's offset is a line plus noise. What each
 * daemon estimates now, less its segment's line at that instant, must agree
 * between the two within 3 × the largest residual of the feed's samples
 * about their lines, plus the slope times the time between the two queries,
 * plus 2 ms. The refclock is `noselect`, so neither corrects its clock
 * (chronyd -x cannot; ntpkit's virtual clock then stays on the system
 * clock) and their offsets are comparable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fetchSnapshot } from '../control/commands.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import { type ChronydProcess, type ManagedProcess, requireTool, spawnManaged, spawnNtpkit, startChronyd, toolPath } from '../testing/index.js';
import { until } from '../testing/until.js';
import { runCaptured } from '../cli/run-captured.test-helper.js';
import { nmeaLog, shmSamples, lineFit } from './refclock-gpsd.test-helper.js';

const run = promisify(execFile);
const DEADLINE_MS = 150_000;
const refclock = (unit: number): string => `refclock SHM ${unit} poll 3 noselect refid GPS`;
/** The keys gpsd attaches as root: units 0-7, "NTP0".."NTP7". */
const NTP_KEYS = Array.from({ length: 8 }, (_, i) => 0x4e545030 + i);
/** gpsfake's key for gpsd's own export segment, from its port (gps/fake.py). */
const exportKey = (port: number): number => 0x47700000 + port;

async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Segments of those keys and how many processes have them attached. */
async function segments(keys: readonly number[]): Promise<Map<number, number>> {
  const { stdout } = await run('ipcs', ['-m']);
  const m = new Map<number, number>();
  for (const line of stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0]?.startsWith('0x') !== true) continue;
    const key = Number(f[0]);
    if (keys.includes(key)) m.set(key, Number(f[5]));
  }
  return m;
}

async function chronycCsv(sock: string, report: string): Promise<string[]> {
  const { stdout } = await run(toolPath('chronyc'), ['-h', sock, '-n', '-c', report], { timeout: 5000 });
  return stdout.trim().split(',');
}

test('refclock SHM: gpsd (fed by gpsfake) writes the feed into SHM segments; ntpkit and chronyd reading them report the same offset within the feed\'s own scatter', async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc', 'gpsd', 'gpsfake', 'ntpshmmon', 'ipcrm')) return;
  const busy = [...(await segments(NTP_KEYS)).entries()].filter(([, n]) => n > 0);
  // Another gpsd or ntpd holds the segments: their samples would mix with ours.
  assert.deepEqual(busy, [], 'NTP SHM segments are attached by another process (a gpsd or ntpd running here?)');
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-gpsd-'));
  const procs: ManagedProcess[] = [];
  let port = 0;
  let chronyd: ChronydProcess | undefined;
  try {
    const text = nmeaLog(Math.floor(Date.now() / 1000) + 3, 300);
    const logs = [join(dir, 'a.nmea'), join(dir, 'b.nmea')];
    for (const l of logs) await writeFile(l, text);
    port = await freeTcpPort();
    // -t: TCP feeds (gpsd gives no time to NTP from gpsfake's default ptys); -n: start without a client;
    // -c 0.25: one sentence every 0.25 s in turn to each device, so each gets its RMC and GGA once a second.
    const gpsfake = await spawnManaged(toolPath('gpsfake'), ['-t', '-n', '-1', '-q', '-c', '0.25', '-P', String(port), ...logs]);
    procs.push(gpsfake);
    // ntpshmmon watches only the segments that exist when it starts; gpsd makes them once it has the device.
    await until('gpsd attaches SHM 0 and 1', 30_000, async () => {
      const seg = await segments(NTP_KEYS);
      return (seg.get(NTP_KEYS[0] as number) ?? 0) > 0 && (seg.get(NTP_KEYS[1] as number) ?? 0) > 0 ? true : null;
    }, () => gpsfake.logs());
    // Line-buffered: its stdout is a pipe here, and the samples are read while it runs.
    const monitor = await spawnManaged('stdbuf', ['-oL', toolPath('ntpshmmon'), '-t', '600']);
    procs.push(monitor);
    chronyd = await startChronyd({ name: 'gpsd-chronyd', config: ['bindcmdaddress {dir}/chronyd.sock', refclock(1)] });
    const chronySock = join(chronyd.dir, 'chronyd.sock');
    const socket = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `${refclock(0)}\ncontrolsocket ${socket}\nbindcmdaddress /\ncmdport 0\n`);
    const ntpkit = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    procs.push(ntpkit);
    // What each side last answered, so that a run that never gets there says which side did not.
    let lastOurs = 'not asked yet';
    let lastTheirs = 'not asked yet';
    const diag = (): string => `ntpkit's GPS source: ${lastOurs}\nchronyc sourcestats: ${lastTheirs}\n` +
      `gpsfake:\n${gpsfake.logs()}\nntpshmmon:\n${monitor.logs().slice(-2000)}\nchronyd:\n${chronyd?.logs() ?? ''}\nntpkit:\n${ntpkit.logs()}`;

    // Enough of a line in both: 4 filtered samples (one per 8 s poll).
    let snap: DaemonSnapshot | undefined;
    await until('both daemons have 4 samples of GPS', DEADLINE_MS, async () => {
      snap = await fetchSnapshot(socket, { timeoutMs: 2000 }).catch((e: unknown) => { lastOurs = `snapshot failed: ${String(e)}`; return undefined; });
      const ours = snap?.sources.find((s) => s.name === 'GPS');
      if (snap !== undefined) lastOurs = ours === undefined ? 'no source named GPS' : `${ours.stats.samples} samples, reach ${ours.reach.toString(8)}`;
      const theirs = await chronycCsv(chronySock, 'sourcestats').catch((e: unknown) => { lastTheirs = `chronyc failed: ${String(e)}`; return []; });
      if (theirs.length > 0) lastTheirs = theirs.join(',');
      return (ours?.stats.samples ?? 0) >= 4 && Number(theirs[1] ?? 0) >= 4 ? true : null;
    }, diag, 1000);

    const tOurs = Date.now() / 1000;
    const ours = (await fetchSnapshot(socket, { timeoutMs: 2000 })).sources.find((s) => s.name === 'GPS');
    const tTheirs = Date.now() / 1000;
    const theirs = await chronycCsv(chronySock, 'sourcestats');
    assert.ok(ours !== undefined);
    // chronyc's sign is local − source; the snapshot's is source − local.
    const chronyOffset = -Number(theirs[6]);
    const feeds = [shmSamples(monitor.logs(), 0), shmSamples(monitor.logs(), 1)];
    for (const f of feeds) assert.ok(f.length >= 20, `ntpshmmon saw ${f.length} samples:\n${monitor.logs()}`);
    const [f0, f1] = feeds.map((f) => lineFit(f.slice(-40))) as [ReturnType<typeof lineFit>, ReturnType<typeof lineFit>];
    // Each daemon's estimate against its own segment's line at the instant it was asked.
    const oursErr = ours.stats.offset - f0.at(tOurs);
    const theirsErr = chronyOffset - f1.at(tTheirs);
    const slope = Math.max(Math.abs(f0.slope), Math.abs(f1.slope));
    const bound = 3 * Math.max(f0.maxResidual, f1.maxResidual) + slope * (tTheirs - tOurs + 1) + 0.002;
    const diff = Math.abs(oursErr - theirsErr);
    t.diagnostic(`against the feed's line: ntpkit ${(oursErr * 1e3).toFixed(3)} ms, chronyd ${(theirsErr * 1e3).toFixed(3)} ms; |diff| ${(diff * 1e3).toFixed(3)} ms; ` +
      `feed slope ${(slope * 1e6).toFixed(0)} ppm, max residual ${(Math.max(f0.maxResidual, f1.maxResidual) * 1e3).toFixed(3)} ms, bound ${(bound * 1e3).toFixed(3)} ms`);
    assert.ok(diff <= bound, `ntpkit ${oursErr} s vs chronyd ${theirsErr} s off their feeds' lines: ${diff} s apart, beyond ${bound} s`);

    // What an operator sees: the same row shape in both, mode '#', state '?' (noselect), name = refid.
    const cli = await runCaptured(['sources', '--socket', socket]);
    const row = cli.out.split('\n').find((l) => l.includes('GPS')) ?? '';
    const { stdout: chronycText } = await run(toolPath('chronyc'), ['-h', chronySock, '-n', 'sources']);
    const theirRow = chronycText.split('\n').find((l) => l.includes('GPS')) ?? '';
    // Mode, state, name, stratum and poll columns as chronyc prints them.
    assert.match(row, /^#\? GPS /, cli.out);
    assert.equal(row.slice(0, 37), theirRow.slice(0, 37), `${cli.out}\n${chronycText}`);
  } finally {
    await chronyd?.stop();
    for (const p of procs.reverse()) await p.stop(3000);
    // Segments nobody holds any more: gpsd created them, the test removes them.
    for (const [key, attached] of await segments([...NTP_KEYS, exportKey(port)])) {
      if (attached === 0) await run(toolPath('ipcrm'), ['-M', `0x${key.toString(16)}`]).catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  }
});
