/**
 * The real chronyc 4.3 against ntpkit's daemon and against a chronyd -x
 * client in the same situation: three chronyd servers and a faketime'd
 * falseticker on loopback, both daemons polling all four. Every monitoring
 * command is run against both over their Unix sockets and compared (the
 * same layout line for line, the same verdicts, values within what two
 * daemons measuring the same servers can differ by); the changing commands
 * work on the Unix socket and are refused over UDP as chronyd refuses them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ChronydProcess, freeUdpPort, type ManagedProcess, requireTool, runChronyc, spawnNtpkit, startChronydClient, startChronydServer, type ChronycOut,
} from '../../testing/index.js';
import { callDaemon } from '../commands.js';

const GOOD = ['127.0.33.1', '127.0.33.2', '127.0.33.3'];
const LIAR = '127.0.33.4';
const NTPKIT_UDP = '127.0.33.5';
const CHRONYD_UDP = '127.0.33.6';
const POLL = 'iburst minpoll 0 maxpoll 2';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Out = ChronycOut;
const chronyc = runChronyc;

/** The text with every number replaced, so that two daemons' reports compare by layout. */
function layout(text: string): string {
  return text.replace(/[+-]?\d+(\.\d+)?(e[+-]?\d+)?/g, '#').replace(/#(ns|us|ms|s)\b/g, '#u').replace(/ +/g, ' ').replace(/\[ /g, '[');
}

function field(text: string, label: string): string {
  return new RegExp(`^${label} *: (.*)$`, 'm').exec(text)?.[1] ?? assert.fail(`no "${label}" in:\n${text}`);
}

/** Source name -> state character, from `chronyc -c sources`. */
function states(csv: string): Map<string, string> {
  return new Map(csv.trim().split('\n').filter((l) => l !== '').map((l) => { const f = l.split(','); return [f[2] as string, f[1] as string]; }));
}

test('chronyc 4.3 against ntpkit and chronyd in the same situation: every monitoring report, -c, -n, -m; changes on the Unix socket only', { timeout: 240_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc', 'libfaketime')) return;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-chronyc-interop-'));
  const procs: (ChronydProcess | ManagedProcess)[] = [];
  try {
    procs.push(await startChronydServer({ address: GOOD[0], stratum: 1 }));
    procs.push(await startChronydServer({ address: GOOD[1], stratum: 1 }));
    procs.push(await startChronydServer({ address: GOOD[2], stratum: 2 }));
    procs.push(await startChronydServer({ address: LIAR, stratum: 1, fakeOffsetSeconds: 2.5 }));
    const chronydPort = await freeUdpPort(CHRONYD_UDP);
    const client = await startChronydClient({
      servers: [...GOOD, LIAR].map((address) => ({ address, options: POLL })),
      extraConfig: ['bindcmdaddress {dir}/chronyd.sock', `bindcmdaddress ${CHRONYD_UDP}`, `cmdport ${chronydPort}`, 'cmdallow 192.0.2.0/24'],
    });
    procs.push(client);
    const theirSock = join(client.dir, 'chronyd.sock');
    const ourSock = join(dir, 'run', 'chronyd.sock');
    const ourPort = await freeUdpPort(NTPKIT_UDP);
    let ntpPort = await freeUdpPort(NTPKIT_UDP);
    while (ntpPort === ourPort) ntpPort = await freeUdpPort(NTPKIT_UDP);
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, [
      ...[...GOOD, LIAR].map((a) => `server ${a} ${POLL}`),
      `controlsocket ${join(dir, 'ntpkit.sock')}`, `bindcmdaddress ${ourSock}`, `bindcmdaddress ${NTPKIT_UDP}`, `cmdport ${ourPort}`, 'cmdallow 192.0.2.0/24',
      // Serving NTP, so that serverstats has its counters (the command packets among them).
      `bindaddress ${NTPKIT_UDP}`, `port ${ntpPort}`, `allow ${NTPKIT_UDP}`, '',
    ].join('\n'));
    const daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    procs.push(daemon);
    const both = async (args: readonly string[]): Promise<[Out, Out]> => [await chronyc(['-h', ourSock, ...args]), await chronyc(['-h', theirSock, ...args])];

    // Both have selected a good source and marked the liar a falseticker.
    for (const deadline = Date.now() + 90_000; ; await sleep(500)) {
      const [ours, theirs] = await both(['-c', '-n', 'sources']);
      const settled = (o: Out): boolean => states(o.out).get(LIAR) === 'x' && [...states(o.out).values()].includes('*');
      if (settled(ours) && settled(theirs)) break;
      if (Date.now() > deadline) assert.fail(`not settled within 90 s:\nntpkit:\n${ours.out}\nchronyd:\n${theirs.out}\n${daemon.logs()}`);
    }

    // sources, with and without -n and -v: the same rows, states and layout.
    for (const args of [['-n', 'sources'], ['sources'], ['-n', 'sources', '-v']]) {
      const [ours, theirs] = await both(args);
      assert.equal(ours.code, 0, ours.out);
      // Which good source is selected and which combined is each daemon's own choice.
      const rows = (o: Out): string => layout(o.out).replace(/^\^[*+-] /gm, '^S ');
      assert.equal(rows(ours), rows(theirs), `chronyc ${args.join(' ')}`);
    }
    const [oc, tc] = await both(['-c', '-n', 'sources']);
    assert.deepEqual([...states(oc.out).keys()].sort(), [...states(tc.out).keys()].sort());
    assert.equal(states(oc.out).get(LIAR), 'x');
    for (const a of GOOD) assert.match(states(oc.out).get(a) ?? '', /^[*+-]$/, `${a} is selectable in ${oc.out}`);
    for (const row of oc.out.trim().split('\n')) assert.equal(row.split(',').length, 10, row);

    // tracking: the same lines; both synchronized to one of the good servers, offsets of the same (loopback) size.
    const [ot, tt] = await both(['-n', 'tracking']);
    assert.equal(layout(ot.out).replace(/\(127\.\S+\)/, '(A)').replace(/ (fast|slow)\b/g, ' W'), layout(tt.out).replace(/\(127\.\S+\)/, '(A)').replace(/ (fast|slow)\b/g, ' W'));
    assert.ok(GOOD.some((a) => field(ot.out, 'Reference ID').endsWith(`(${a})`)), ot.out);
    assert.equal(field(ot.out, 'Leap status'), 'Normal');
    for (const out of [ot.out, tt.out]) assert.ok(Math.abs(Number(field(out, 'Last offset').split(' ')[0])) < 0.01, out);
    const [ocsv] = await both(['-c', 'tracking']);
    assert.equal(ocsv.out.trim().split(',').length, 14, ocsv.out);

    // sourcestats: the same sources, the liar's offset 2.5 s in both, with chronyc's sign.
    const [os, ts] = await both(['-n', 'sourcestats']);
    assert.equal(layout(os.out).split('\n').length, layout(ts.out).split('\n').length);
    assert.equal(layout(os.out).split('\n').slice(0, 2).join('\n'), layout(ts.out).split('\n').slice(0, 2).join('\n'));
    const liarOffset = (text: string): number => {
      const row = text.split('\n').find((l) => l.startsWith(LIAR)) ?? assert.fail(text);
      const m = /([+-]\d+)(ns|us|ms|s)\s+\d+\S*$/.exec(row.trim()) ?? assert.fail(row);
      return Number(m[1]) * ({ ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1 } as Record<string, number>)[m[2] as string]!;
    };
    assert.ok(Math.abs(liarOffset(os.out) - liarOffset(ts.out)) < 0.1, `${os.out}\n${ts.out}`);

    // ntpdata of the liar: same labels, its offset the same size and sign.
    const [on, tn] = await both(['-n', 'ntpdata', LIAR]);
    assert.equal(layout(on.out).split('\n').map((l) => l.split(':')[0]).join('\n'), layout(tn.out).split('\n').map((l) => l.split(':')[0]).join('\n'));
    assert.equal(field(on.out, 'Remote address'), field(tn.out, 'Remote address'));
    assert.equal(field(on.out, 'Stratum'), field(tn.out, 'Stratum'));
    assert.ok(Math.abs(parseFloat(field(on.out, 'Offset')) - parseFloat(field(tn.out, 'Offset'))) < 0.1, `${on.out}\n${tn.out}`);

    // The reports with no measurements in them: the same text.
    // activity: the same lines and the same total (a source may still be in its iburst in one daemon and online in the other).
    const [oact, tact] = await both(['activity']);
    const total = (text: string): number => [...text.matchAll(/^(\d+) sources/gm)].reduce((a, m) => a + Number(m[1]), 0);
    assert.equal(layout(oact.out), layout(tact.out));
    assert.equal(total(oact.out), total(tact.out));
    for (const args of [['rtcdata'], ['smoothing'], ['manual', 'list'], ['cmdaccheck', '127.0.0.1'], ['cmdaccheck', '192.0.2.7'], ['cmdaccheck', '198.51.100.1']]) {
      const [o, th] = await both(args);
      assert.equal(o.out, th.out, `chronyc ${args.join(' ')}`);
    }
    assert.equal((await chronyc(['-h', ourSock, 'cmdaccheck', '192.0.2.7'])).out, '208 Access allowed\n', 'cmdallow 192.0.2.0/24');
    // The JSON socket's cmdaccheck gives the same verdicts.
    assert.deepEqual(await callDaemon(join(dir, 'ntpkit.sock'), 'cmdaccheck', { address: '192.0.2.7' }), { allowed: true });
    assert.deepEqual(await callDaemon(join(dir, 'ntpkit.sock'), 'cmdaccheck', { address: '127.0.0.1' }), { allowed: false });
    const [ocl, tcl] = await both(['-n', 'clients']);
    assert.equal(layout(ocl.out), layout(tcl.out), 'chronyc clients');
    const [oss, tss] = await both(['serverstats']);
    assert.equal(layout(oss.out), layout(tss.out));
    // Every chronyc request so far was a command packet: dozens by now.
    assert.ok(Number(field(oss.out, 'Command packets received')) >= 20, oss.out);
    // -m: several commands in one run.
    const [om, tm] = await both(['-m', 'rtcdata', 'smoothing']);
    assert.equal(om.out, tm.out);

    // Over UDP: monitoring answers, a change is refused with chronyd 4.3's words.
    const udp = async (host: string, port: number, args: readonly string[]): Promise<Out> => chronyc(['-h', host, '-p', String(port), ...args]);
    assert.equal(layout((await udp(NTPKIT_UDP, ourPort, ['activity'])).out), layout((await udp(CHRONYD_UDP, chronydPort, ['activity'])).out));
    for (const args of [['burst', '2/4'], ['offline'], ['makestep'], ['delete', LIAR], ['serverstats']]) {
      const [o, th] = [await udp(NTPKIT_UDP, ourPort, args), await udp(CHRONYD_UDP, chronydPort, args)];
      assert.equal(o.out, th.out, `chronyc -h UDP ${args.join(' ')}`);
      assert.match(o.out, /^501 Not authorised/);
    }

    // The changes, on the Unix socket: the same answers, and their effect.
    const activity = async (): Promise<string> => (await chronyc(['-h', ourSock, 'activity'])).out;
    // chronyd -x cannot step its clock (500 Failure); ntpkit steps its virtual clock.
    assert.equal((await chronyc(['-h', ourSock, 'makestep'])).out, '200 OK\n');
    for (const args of [['offline'], ['online'], ['burst', '2/4'], ['offline', LIAR]]) {
      const [o, th] = await both(args);
      assert.equal(o.out, th.out, `chronyc ${args.join(' ')}`);
      assert.equal(o.out, '200 OK\n');
    }
    // The liar is offline (or goes offline when the burst just asked for ends), the others online.
    const off = (text: string): number => Number(/^(\d+) sources offline$/m.exec(text)?.[1]) + Number(/^(\d+) sources doing burst \(return to offline\)$/m.exec(text)?.[1]);
    assert.equal(off(await activity()), 1);
    assert.equal((await both(['online', LIAR]))[0].out, '200 OK\n');
    assert.equal(off(await activity()), 0);
    const [od, td] = await both(['delete', LIAR]);
    assert.equal(od.out, td.out);
    assert.equal(od.out, '200 OK\n');
    assert.equal(states((await chronyc(['-h', ourSock, '-c', '-n', 'sources'])).out).has(LIAR), false);
    const [oa, ta] = await both(['add', 'server', LIAR, 'iburst', 'minpoll', '0', 'maxpoll', '2']);
    assert.equal(oa.out, ta.out);
    assert.equal(oa.out, '200 OK\n');
    assert.equal(states((await chronyc(['-h', ourSock, '-c', '-n', 'sources'])).out).has(LIAR), true);
    const [ou, tu] = await both(['delete', '192.0.2.99']);
    assert.equal(ou.out, tu.out, 'deleting an unknown source');
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
