/**
 * `ntpkit check` end to end, every exit code, against real peers on
 * loopback: chronyd servers (one under libfaketime +2.5 s, one with no time
 * to give), an address where nothing listens, and ntpkit
 * daemons on the virtual clock polling chronyd.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchSnapshot } from '../control/commands.js';
import {
  type ChronydServer, type LoopbackBlock, type ManagedProcess, requireTool, reserveLoopbackBlock, spawnNtpkit, startChronydServer,
} from '../testing/index.js';
import { assertOffsetNear } from '../testing/bounds.js';
import { runCaptured } from './run-captured.test-helper.js';

let block: LoopbackBlock | undefined;
before(async () => { block = await reserveLoopbackBlock('check-command.test', 7); });
after(() => block?.release());

const cli = runCaptured;


const STATUS = /^NTP (OK|WARNING|CRITICAL|UNKNOWN): [^\n|]+(\|[^\n]*)?\n$/;

/** The offset a status line shows for the +2.5 s chronyd is 2.5 s within half the round trip its perfdata shows (both printed to the ns). */
function assertFarOffset(out: string, line: RegExp): void {
  const m = line.exec(out);
  const d = /delay=(\d+\.\d+)s/.exec(out);
  assert.ok(m && d, out);
  assertOffsetNear(Number(m[1]), 2.5, Number(d[1]) + 1e-9, 'the faked chronyd', { extra: 1e-9 });
}

test('check -H against remote servers: OK, WARNING and CRITICAL offsets, an unsynchronized server, no reply (CRITICAL, -q UNKNOWN)', { timeout: 90_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'libfaketime')) return;
  const [good, far, unsync, dead] = (block as LoopbackBlock).addresses as [string, string, string, string];
  const servers: ChronydServer[] = [];
  try {
    servers.push(await startChronydServer({ address: good }));
    servers.push(await startChronydServer({ address: far, fakeOffsetSeconds: 2.5 }));
    // No `local` line and no sources: it answers, with leap 3 (not synchronized).
    servers.push(await startChronydServer({ address: unsync, stratum: null, waitFor: 'reply' }));

    const ok = await cli(['check', '-H', good]);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(ok.out, STATUS);
    assert.match(ok.out, /^NTP OK: Offset -?0\.\d+ secs, stratum 1, jitter \d\.\d+ secs \(127\.\S+ port 123\)\|offset=-?0\.\d+s;0\.5;1 stratum=1;;;0;16 jitter=\S+s;;;0 delay=\S+s;;;0\n$/);

    // chronyd under libfaketime +2.5 s answers 2.5 s ahead (it converts its kernel receive stamps to
    // its own clock, see src/testing/README.md), which a check measures within half the round trip.
    const crit = await cli(['check', '-H', far, '--samples', '2']);
    assert.equal(crit.code, 2, crit.out + crit.err);
    assertFarOffset(crit.out, /^NTP CRITICAL: Offset (\d+\.\d+) secs \(CRITICAL, threshold 1\)/);
    const warn = await cli(['check', '-H', far, '--samples', '2', '-w', '0.2', '-c', '5']);
    assert.equal(warn.code, 1, warn.out + warn.err);
    assertFarOffset(warn.out, /^NTP WARNING: Offset (\d+\.\d+) secs \(WARNING, threshold 0\.2\)/);
    // Thresholds move the verdict: the same server is OK within 3 s.
    const loose = await cli(['check', '-H', far, '--samples', '2', '-w', '3', '-c', '4']);
    assert.equal(loose.code, 0, loose.out);
    // Stratum thresholds: -W @1 alerts inside 0..1, so stratum 1 warns (and -C 5 does not fire).
    const strat = await cli(['check', '-H', good, '--samples', '2', '-W', '@1', '-C', '5']);
    assert.equal(strat.code, 1, strat.out);
    assert.match(strat.out, /stratum 1 \(WARNING, threshold @1\)/);

    const notSynced = await cli(['check', '-H', unsync, '--samples', '2']);
    assert.equal(notSynced.code, 2, notSynced.out + notSynced.err);
    assert.match(notSynced.out, /^NTP CRITICAL: Not synchronized \(.*leap 3.*\)/i);
    const asWarning = await cli(['check', '-H', unsync, '--samples', '2', '--unsynchronized', 'warning']);
    assert.equal(asWarning.code, 1, asWarning.out);

    const silent = await cli(['check', '-H', dead, '--samples', '2', '-t', '2']);
    assert.equal(silent.code, 2, silent.out + silent.err);
    assert.match(silent.out, /^NTP CRITICAL: No response from NTP server \S+ port 123: /);
    const quiet = await cli(['check', '-H', dead, '--samples', '2', '-t', '2', '-q']);
    assert.equal(quiet.code, 3, quiet.out);
    assert.match(quiet.out, /^NTP UNKNOWN: No response/);

    // --json: the same verdict and exit status, as a document.
    const json = await cli(['check', '-H', far, '--samples', '2', '-w', '0.2', '-c', '5', '--json']);
    assert.equal(json.code, 1);
    const doc = JSON.parse(json.out) as { schema: string; state: string; exitCode: number; metrics: { offset: number; stratum: number; delay: number }; alerts: { metric: string; state: string }[] };
    assert.equal(doc.schema, 'ntpkit.check/1');
    assert.equal(doc.state, 'WARNING');
    assert.equal(doc.exitCode, 1);
    assertOffsetNear(doc.metrics.offset, 2.5, doc.metrics.delay, 'the faked chronyd');
    assert.equal(doc.metrics.stratum, 1);
    assert.deepEqual(doc.alerts.map((a) => [a.metric, a.state]), [['offset', 'WARNING']]);
  } finally {
    for (const s of servers) await s.stop();
  }
});

test('check against the local daemon: OK once synchronized, WARNING and CRITICAL by threshold, CRITICAL unsynchronized, UNKNOWN without a daemon', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const [a, b, c, , , , dead] = (block as LoopbackBlock).addresses as string[] as [string, string, string, string, string, string, string];
  const servers: ChronydServer[] = [];
  const daemons: ManagedProcess[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-check-'));
  try {
    for (const address of [a, b, c]) servers.push(await startChronydServer({ address }));
    const sock = join(dir, 'ntpkit.sock');
    await writeFile(join(dir, 'chrony.conf'), `${[a, b, c].map((s) => `server ${s} minpoll 0 maxpoll 2 iburst`).join('\n')}\ncontrolsocket ${sock}\nbindcmdaddress /\ncmdport 0\n`);
    const lostSock = join(dir, 'lost.sock');
    await writeFile(join(dir, 'lost.conf'), `server ${dead} minpoll 0 maxpoll 0\ncontrolsocket ${lostSock}\nbindcmdaddress /\ncmdport 0\n`);
    daemons.push(await spawnNtpkit(['daemon', '-f', join(dir, 'chrony.conf'), '--clock', 'virtual']));
    daemons.push(await spawnNtpkit(['daemon', '-f', join(dir, 'lost.conf'), '--clock', 'virtual']));

    const started = Date.now();
    let last = await cli(['check', '-s', sock]);
    while (last.code !== 0 && Date.now() - started < 60_000) {
      for (const d of daemons) if (d.exitStatus() !== undefined) assert.fail(`a daemon exited: ${d.logs()}`);
      await new Promise((r) => setTimeout(r, 500));
      last = await cli(['check', '-s', sock]);
    }
    assert.equal(last.code, 0, `not OK within 60 s: ${last.out}${last.err}\n${daemons[0]?.logs() ?? ''}`);
    assert.match(last.out, STATUS);
    assert.match(last.out, /^NTP OK: Offset -?\d\.\d+ secs, stratum 2, jitter \S+ secs, 3 sources selectable, reach \d\/8 \(daemon at \S+, virtual clock\)\|offset=\S+s;0\.5;1 stratum=2;;;0;16 jitter=\S+;;;0 sources=3;;;0 reach=\d;;;0;8\n$/);

    const warn = await cli(['check', '-s', sock, '-W', '1']);
    assert.equal(warn.code, 1, warn.out);
    assert.match(warn.out, /^NTP WARNING: .*stratum 2 \(WARNING, threshold 1\)/);
    const critSources = await cli(['check', '-s', sock, '--min-sources', '4']);
    assert.equal(critSources.code, 2, critSources.out);
    assert.match(critSources.out, /3 sources selectable \(CRITICAL, threshold 4:\)/);
    const json = await cli(['check', '-s', sock, '-m', '4:', '--json']);
    assert.equal(json.code, 1, json.out);
    assert.equal((JSON.parse(json.out) as { state: string }).state, 'WARNING');

    // The daemon whose only source never answers: running, but not synchronized.
    await waitForSocket(lostSock);
    const lost = await cli(['check', '-s', lostSock]);
    assert.equal(lost.code, 2, lost.out + lost.err);
    assert.match(lost.out, /^NTP CRITICAL: Not synchronized \(no selectable source among 1, 1 never reached\), 0 sources selectable, reach 0\/8 /);

    // No daemon at all: its clock's state is unknown.
    const none = await cli(['check', '-s', join(dir, 'nobody.sock')]);
    assert.equal(none.code, 3, none.out);
    assert.match(none.out, /^NTP UNKNOWN: Cannot ask the daemon: /);
    // Bad arguments are UNKNOWN too (a plugin that cannot run says nothing about the clock).
    assert.equal((await cli(['check', '-s', sock, '-w', 'soon'])).code, 3);
    assert.equal((await cli(['check', '-H', a, '--min-sources', '2'])).code, 3);
  } finally {
    for (const d of daemons) await d.stop(3000);
    for (const s of servers) await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

async function waitForSocket(path: string): Promise<void> {
  const until = Date.now() + 15_000;
  for (;;) {
    try {
      await fetchSnapshot(path, { timeoutMs: 1000 });
      return;
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
