/**
 * The statistics logs end to end: the daemon (in process, on the virtual
 * clock started 50 ms off) synchronizes to two loopback chronyd servers with
 * `log measurements statistics tracking`; all three files fill with
 * plausible values; a rename plus a reload (SyncDaemon.reconfigure(), the
 * path of SIGHUP and `reload`) starts new files; a reload with another
 * `logdir` and `log` moves the logging there.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../clock/virtual-clock.js';
import type { Config } from '../config/config.js';
import { parseConfigText } from '../config/parse-config.js';
import { type ChronydServer, type LoopbackBlock, requireTool, reserveLoopbackBlock, startChronydServer } from '../testing/index.js';
import { startSyncDaemon, type SyncDaemon } from './sync-daemon.js';

let block: LoopbackBlock | undefined;
before(async () => { block = await reserveLoopbackBlock('stats-log-e2e.test', 2); });
after(() => block?.release());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function dataLines(path: string): Promise<string[][]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => /^\d{4}-\d\d-\d\d /.test(l)).map((l) => l.trim().split(/\s+/));
}

async function until(what: string, f: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function config(text: string): Config {
  const r = parseConfigText(text, 'test.conf');
  assert.deepEqual(r.errors, []);
  return r.config as Config;
}

test('a daemon synchronizing to chronyd writes measurements, statistics and tracking logs; reload rotates and reconfigures them', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const [a, b] = (block as LoopbackBlock).addresses as [string, string];
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-stats-log-e2e-'));
  const servers: ChronydServer[] = [];
  let daemon: SyncDaemon | undefined;
  const logs: string[] = [];
  try {
    for (const address of [a, b]) servers.push(await startChronydServer({ address }));
    const text = (logdir: string, log: string): string => [
      ...[a, b].map((s) => `server ${s} minpoll 0 maxpoll 0 iburst`),
      'makestep 0.01 3', `logdir ${logdir}`, `log ${log}`, 'logbanner 8', 'controlsocket /\nbindcmdaddress /\ncmdport 0', '',
    ].join('\n');
    const logdir = join(dir, 'logs');
    const first = config(text(logdir, 'measurements statistics tracking'));
    daemon = await startSyncDaemon({ config: first, clock: new VirtualClock({ offsetSeconds: 0.05 }), log: (l) => logs.push(l), serve: false });
    const m = join(logdir, 'measurements.log');
    const s = join(logdir, 'statistics.log');
    const tr = join(logdir, 'tracking.log');
    await until('three clock updates and six measurements', async () => (await dataLines(tr)).length >= 3 && (await dataLines(m)).length >= 6);

    const meas = await dataLines(m);
    assert.ok(meas.length >= 6, `${meas.length} measurements`);
    for (const f of meas) {
      // Date Time Address L St 123 567 ABCD LP RP Score Offset Delay Disp RootDelay RootDisp Refid Mode Tx Rx
      assert.equal(f.length, 20, f.join(' '));
      assert.ok([a, b].includes(f[2] as string), f[2]);
      assert.deepEqual([f[3], f[4], f[5], f[6]], ['N', '1', '111', '111']);
      assert.match(f[7] as string, /^[01]{4}$/);
      assert.equal(f[8], '0', 'local poll: minpoll 0 maxpoll 0');
      const delay = Number(f[12]);
      assert.ok(delay > 0 && delay < 0.01, `loopback delay ${delay}`);
      assert.equal(f[16], '7F7F0101', 'a chronyd `local stratum 1` sends refid 7F7F0101');
      assert.equal(f[17], '4B');
    }
    // The first samples carry the 50 ms error, until makestep removes it.
    assert.ok(Math.abs(Number(meas[0]?.[11]) + 0.05) < 0.005, `first offset ${meas[0]?.[11]}, expected about -0.05`);

    const stats = await dataLines(s);
    assert.ok(stats.length >= 3, `${stats.length} statistics lines`);
    for (const f of stats) {
      assert.equal(f.length, 13, f.join(' '));
      assert.ok(Number(f[9]) >= 1, `samples ${f[9]}`);
    }
    const track = await dataLines(tr);
    const last = track.at(-1) as string[];
    assert.equal(last.length, 14, last.join(' '));
    assert.ok([a, b].includes(last[2] as string));
    assert.equal(last[3], '2', 'stratum of a client of a stratum-1 server');
    assert.equal(last[7], 'N');
    assert.ok(Math.abs(Number(last[6])) < 0.005, `offset at the last update ${last[6]}, after the step`);
    const banners = (await readFile(tr, 'utf8')).split('\n').filter((l) => l.startsWith('   Date (UTC)')).length;
    assert.equal(banners, Math.ceil(track.length / 8), 'logbanner 8');

    // Rotation, as logrotate does it: rename, then reload.
    await rename(m, `${m}.1`);
    const before = (await dataLines(`${m}.1`)).length;
    await daemon.reconfigure(first);
    await until('a new measurements.log', async () => (await dataLines(m)).length >= 2);
    assert.ok((await readFile(m, 'utf8')).startsWith('='), 'the new file starts with a banner');
    await sleep(1500);
    assert.equal((await dataLines(`${m}.1`)).length, before, 'nothing more is written to the renamed file');

    // Another logdir and only `log tracking` take effect on reload.
    const logdir2 = join(dir, 'logs2');
    await daemon.reconfigure(config(text(logdir2, 'tracking')));
    const oldCount = (await dataLines(m)).length;
    await until('tracking.log in the new logdir', async () => (await dataLines(join(logdir2, 'tracking.log'))).length >= 1);
    await assert.rejects(stat(join(logdir2, 'measurements.log')), { code: 'ENOENT' });
    assert.equal((await dataLines(m)).length, oldCount, 'the old logdir gets no more lines');
    assert.ok(!logs.some((l) => /measurement|clock-update/.test(l)), 'the daemon\'s own log is not flooded');
  } catch (e) {
    t.diagnostic(logs.join('\n'));
    throw e;
  } finally {
    await daemon?.stop();
    for (const s of servers) await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
