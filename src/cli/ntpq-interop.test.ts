/**
 * NTPsec's ntpq (Debian's ntpsec package, unpacked: installing it would
 * remove chrony) and the Nagios plugin check_ntp_peer against ntpkit's daemon
 * over mode 6: a daemon on 127.0.35.10 synchronized to three chronyd servers
 * and a chronyd 2.5 s off (a falseticker). `ntpq -p` must show what
 * `ntpkit peers` shows, row for row; `rv` the system variables in ntpd's
 * units; a sender the access rules do not permit (an address in a network
 * namespace of this test) gets nothing, and is counted, while one in the
 * subnet `cmdallow` names is answered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ChronydServer, findTool, type ManagedProcess, pollFor, requireTool, runToCompletion, spawnNtpkit, startChronydServer,
} from '../testing/index.js';
import { runCaptured } from './run-captured.test-helper.js';

const SERVERS = ['127.0.35.2', '127.0.35.3', '127.0.35.4'];
const LIAR = '127.0.35.5';
const DAEMON = '127.0.35.10';
/** The namespace's end of a veth pair, and the daemon's end in this namespace (a second bindaddress). */
const NETNS = 'nk35q';
const OUTSIDE = '10.35.1.1';
const INSIDE = '10.35.1.2';
/** A second subnet on the same veth, which `cmdallow` permits. */
const OUTSIDE_ALLOWED = '10.35.2.1';
const INSIDE_ALLOWED = '10.35.2.2';

interface Row { tally: string; remote: string; refid: string; st: number; t: string; when: string; poll: string; reach: string; delay: number; offset: number; jitter: number }

/** The rows of an ntpq-style peer list (ntpq's 79 columns or `ntpkit peers`' 78). */
function rows(text: string): Row[] {
  return text.split('\n').slice(2).filter((l) => l.trim() !== '').map((l) => {
    const m = /^(.)(\S+)\s+(\S+)\s+(\d+) (\S)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)$/.exec(l);
    assert.ok(m, `not a peer row: ${JSON.stringify(l)}`);
    return {
      tally: m[1] as string, remote: m[2] as string, refid: m[3] as string, st: Number(m[4]), t: m[5] as string, when: m[6] as string,
      poll: m[7] as string, reach: m[8] as string, delay: Number(m[9]), offset: Number(m[10]), jitter: Number(m[11]),
    };
  });
}

/**
 * Where ntpq's rows differ from ntpkit's beyond what time between the two
 * readings explains: the same sources in the same order with the same tally,
 * refid, stratum, type, poll and reach; "when" within 2 s; delay, offset and
 * jitter (ms, 3 decimals) within the two delays plus the two jitters, the
 * most one poll's sample can move them, plus the rounding.
 */
function differences(ntpq: Row[], ours: Row[]): string[] {
  const out: string[] = [];
  if (ntpq.length !== ours.length) return [`${ntpq.length} rows from ntpq, ${ours.length} from ntpkit peers`];
  ntpq.forEach((a, i) => {
    const b = ours[i] as Row;
    for (const k of ['tally', 'remote', 'refid', 'st', 't', 'poll', 'reach'] as const) if (a[k] !== b[k]) out.push(`row ${i} ${k}: ntpq ${a[k]}, peers ${b[k]}`);
    const when = (w: string): number => (w === '-' ? 0 : Number(w));
    if (Math.abs(when(a.when) - when(b.when)) > 2) out.push(`row ${i} when: ntpq ${a.when}, peers ${b.when}`);
    const tol = a.delay + b.delay + a.jitter + b.jitter + 0.002;
    for (const k of ['delay', 'offset', 'jitter'] as const) {
      if (!(Math.abs(a[k] - b[k]) <= tol)) out.push(`row ${i} ${k}: ntpq ${a[k]}, peers ${b[k]} (tolerance ${tol.toFixed(3)} ms)`);
    }
  });
  return out;
}

/** "name=value" pairs of ntpq's rv output. */
function variables(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/([a-z_]+)=("[^"]*"|[^,\s]+(?: [0-9T:.Z-]+)?)/g)) out.set(m[1] as string, m[2] as string);
  return out;
}

async function sh(file: string, args: readonly string[], timeoutMs = 20_000): Promise<{ code: number | null; out: string; err: string }> {
  const r = await runToCompletion(file, args, { timeoutMs });
  return { code: r.status.code, out: r.stdout, err: r.stderr };
}

async function ip(...args: string[]): Promise<void> {
  const r = await sh('ip', args);
  assert.equal(r.code, 0, `ip ${args.join(' ')}: ${r.err}`);
}

test('ntpq and check_ntp_peer against the daemon: peers as ntpkit peers, rv in ntpd\'s units, as; only permitted senders answered', { timeout: 180_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'libfaketime', 'ntpdig', 'ntpq', 'check_ntp_peer')) return;
  const ntpq = findTool('ntpq') as string;
  const checkNtpPeer = findTool('check_ntp_peer') as string;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-ntpq-'));
  const servers: ChronydServer[] = [];
  let daemon: ManagedProcess | undefined;
  let netns = false;
  try {
    for (const address of SERVERS) servers.push(await startChronydServer({ address }));
    servers.push(await startChronydServer({ address: LIAR, fakeOffsetSeconds: 2.5 }));
    // A namespace of ours, on a veth whose other end (in this namespace) the daemon also serves.
    await ip('netns', 'add', NETNS);
    netns = true;
    await ip('link', 'add', 'nk35h', 'type', 'veth', 'peer', 'name', 'nk35n');
    await ip('link', 'set', 'nk35n', 'netns', NETNS);
    await ip('addr', 'add', `${OUTSIDE}/24`, 'dev', 'nk35h');
    await ip('addr', 'add', `${OUTSIDE_ALLOWED}/24`, 'dev', 'nk35h');
    await ip('link', 'set', 'nk35h', 'up');
    await ip('netns', 'exec', NETNS, 'ip', 'addr', 'add', `${INSIDE}/24`, 'dev', 'nk35n');
    await ip('netns', 'exec', NETNS, 'ip', 'addr', 'add', `${INSIDE_ALLOWED}/24`, 'dev', 'nk35n');
    await ip('netns', 'exec', NETNS, 'ip', 'link', 'set', 'nk35n', 'up');
    await ip('netns', 'exec', NETNS, 'ip', 'link', 'set', 'lo', 'up');

    const socket = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, [
      ...[...SERVERS, LIAR].map((a) => `server ${a} iburst minpoll 0 maxpoll 0`),
      'allow all', `bindaddress ${DAEMON}`, `bindaddress ${OUTSIDE}`, `bindaddress ${OUTSIDE_ALLOWED}`, `cmdallow ${INSIDE_ALLOWED.replace(/\.2$/, '.0')}/24`,
      `controlsocket ${socket}`, 'bindcmdaddress /', 'cmdport 0', '',
    ].join('\n'));
    daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    const S = ['--socket', socket];
    // Settled: synchronized, the liar found out, every register full.
    await pollFor('the daemon settled (a sys.peer, the falseticker marked, reach 377)', async () => {
      const r = await runCaptured(['peers', '-n', ...S]);
      if (r.code !== 0) return undefined;
      const rs = rows(r.out);
      return rs.length === 4 && rs.some((x) => x.tally === '*') && rs[3]?.tally === 'x' && rs.every((x) => x.reach === '377') ? true : undefined;
    }, 90_000, () => daemon?.logs() ?? '');

    // ntpq -p and -pn row for row against ntpkit peers (a row may change between the two readings: read both again).
    for (const [ntpqArgs, ours] of [[['-p'], ['peers']], [['-pn'], ['peers', '-n']], [['-c', 'pe'], ['peers']], [['-c', 'lpeers'], ['peers']]] as const) {
      let last: string[] = [];
      await pollFor(`ntpq ${ntpqArgs.join(' ')} agreeing with ntpkit ${ours.join(' ')}`, async () => {
        const a = await sh(ntpq, [...ntpqArgs, DAEMON]);
        const b = await runCaptured([...ours, ...S]);
        assert.equal(a.code, 0, a.err);
        assert.equal(a.err, '');
        assert.match(a.out, /^ {5}remote {11}refid {6}st t when poll reach {3}delay {3}offset {3}jitter\n={79}\n/);
        last = differences(rows(a.out), rows(b.out));
        return last.length === 0 ? true : undefined;
      }, 30_000, () => last.join('\n'));
    }

    // rv: the system variables, with the same figures as tracking, in ntpd's units.
    const rv = await sh(ntpq, ['-c', 'rv', DAEMON]);
    assert.equal(rv.code, 0, rv.err);
    assert.match(rv.out, /^associd=0 status=0600 leap_none, sync_ntp, no events, unspecified,\n/);
    const sys = variables(rv.out);
    const { tracking } = JSON.parse((await runCaptured(['tracking', '--json', ...S])).out) as { tracking: { stratum: number; rootDelay: number; frequencyPpm: number; skewPpm: number } };
    assert.match(sys.get('version') ?? '', /^"ntpkit \d/);
    assert.equal(sys.get('leap'), '00');
    assert.equal(Number(sys.get('stratum')), tracking.stratum);
    assert.ok(SERVERS.includes(sys.get('refid') ?? ''), `refid ${sys.get('refid')} is one of the servers`);
    // Milliseconds: the root delay is one loopback round trip, so ms and s differ by 1000x however loaded the machine.
    const rootdelay = Number(sys.get('rootdelay'));
    assert.ok(rootdelay > tracking.rootDelay * 1e3 / 30 && rootdelay < tracking.rootDelay * 1e3 * 30, `rootdelay ${rootdelay} ms against ${tracking.rootDelay} s`);
    assert.ok(Math.abs(Number(sys.get('frequency')) - tracking.frequencyPpm) <= 10 * tracking.skewPpm + 0.01, `frequency ${sys.get('frequency')} ppm against ${tracking.frequencyPpm}`);
    for (const ts of ['reftime', 'clock']) {
      const when = Date.parse(/\d{4}-\S+Z/.exec(sys.get(ts) ?? '')?.[0] ?? '');
      assert.ok(Math.abs(when - Date.now()) < 30_000, `${ts} ${sys.get(ts)} is today's time`);
    }

    // rv 0 with names: those, in that order.
    const two = await sh(ntpq, ['-c', 'rv 0 offset,sys_jitter', DAEMON]);
    assert.equal(two.code, 0, two.err);
    // ntpq prints what it parsed as Python does: below 1e-4 ms that is exponent notation (-9.8e-05).
    assert.match(two.out, /^offset=-?\d+(\.\d+)?(e[+-]\d+)?, sys_jitter=\d+(\.\d+)?(e[+-]\d+)?\n$/);
    // Every system variable, asked for twice: a response of some 900 octets, so two fragments ntpq must put together.
    const names = [...sys.keys()].filter((n) => n !== 'associd' && n !== 'status');
    const many = await sh(ntpq, ['-c', `rv 0 ${[...names, ...names].join(',')}`, DAEMON]);
    assert.equal(many.code, 0, many.err);
    assert.equal(many.err, '');
    assert.deepEqual([...variables(many.out).keys()], names);
    // An unknown name: ntpq reports the server's error.
    const unknown = await sh(ntpq, ['-c', 'rv 0 nosuchvariable', DAEMON]);
    assert.match(unknown.err + unknown.out, /Server error code UNKNOWNVAR|unknown variable/i);

    // rv &1: the first association's peer variables.
    const peer = await sh(ntpq, ['-c', 'rv &1', DAEMON]);
    assert.equal(peer.code, 0, peer.err);
    assert.match(peer.out, /^associd=1 status=9[46]00 conf, reach, sel_(sys\.peer|candidate), no events,\n/);
    assert.equal(variables(peer.out).get('srcadr'), SERVERS[0]);
    assert.equal(variables(peer.out).get('reach'), '377');

    // as: four associations, configured and reachable; the liar a falseticker.
    const as = await sh(ntpq, ['-c', 'as', DAEMON]);
    assert.equal(as.code, 0, as.err);
    const assoc = as.out.split('\n').filter((l) => /^\s+\d+ /.test(l)).map((l) => l.trim().split(/\s+/));
    assert.equal(assoc.length, 4, as.out);
    for (const a of assoc) assert.deepEqual([a[3], a[4], a[5]], ['yes', 'yes', 'none'], as.out);
    assert.equal(assoc.filter((a) => a[6] === 'sys.peer').length, 1, as.out);
    assert.equal(assoc[3]?.[6], 'falsetick', as.out);

    // check_ntp_peer: OK within its offset thresholds; WARNING and CRITICAL by the sys.peer's stratum (1).
    const ok = await sh(checkNtpPeer, ['-H', DAEMON, '-w', '0.5', '-c', '1']);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /^NTP OK: Offset -?[0-9.e-]+ secs\|offset=/);
    const offsetSeconds = Number(/offset=(-?[0-9.e-]+)s/.exec(ok.out)?.[1]);
    assert.ok(Math.abs(offsetSeconds) < 0.01, `the sys.peer's offset ${offsetSeconds} s is a loopback offset, in seconds`);
    const warn = await sh(checkNtpPeer, ['-H', DAEMON, '-W', '0', '-C', '5']);
    assert.equal(warn.code, 1, warn.out);
    assert.match(warn.out, /^NTP WARNING: .*stratum=1/);
    const crit = await sh(checkNtpPeer, ['-H', DAEMON, '-W', '0', '-C', '0']);
    assert.equal(crit.code, 2, crit.out);
    assert.match(crit.out, /^NTP CRITICAL: /);

    // From the namespace: no answer to ntpq (only loopback may query), while NTP is served there; counted.
    const stats = async (): Promise<Record<string, unknown>> => JSON.parse((await runCaptured(['serverstats', '--json', ...S])).out) as Record<string, unknown>;
    const before = (await stats()).queries as { droppedByReason: Record<string, number> };
    const denied = await sh('ip', ['netns', 'exec', NETNS, ntpq, '-c', 'rv', OUTSIDE], 60_000);
    assert.match(denied.err + denied.out, /Request timed out/);
    const time = await sh('ip', ['netns', 'exec', NETNS, findTool('ntpdig') as string, OUTSIDE], 30_000);
    assert.equal(time.code, 0, `ntpdig from the namespace: ${time.out}${time.err}`);
    const after = (await stats()).queries as { droppedByReason: Record<string, number>; received: number; answered: number };
    // ntpq sends its request twice (once more after the timeout).
    assert.equal((after.droppedByReason.denied ?? 0) - (before.droppedByReason.denied ?? 0), 2);
    assert.ok(after.answered > 10, `${after.answered} queries answered`);
    // From the subnet cmdallow names, the same ntpq is answered.
    const allowed = await sh('ip', ['netns', 'exec', NETNS, ntpq, '-c', 'rv 0 stratum', OUTSIDE_ALLOWED], 60_000);
    assert.equal(allowed.out, `stratum=${tracking.stratum}\n`, allowed.err);
    const text = (await runCaptured(['serverstats', ...S])).out;
    assert.match(text, /^Mode 6 drop denied {9}: \d+$/m);
  } finally {
    await daemon?.stop();
    for (const s of servers) await s.stop();
    if (netns) {
      await sh('ip', ['link', 'del', 'nk35h']);
      await sh('ip', ['netns', 'del', NETNS]);
    }
    await rm(dir, { recursive: true, force: true });
  }
});
