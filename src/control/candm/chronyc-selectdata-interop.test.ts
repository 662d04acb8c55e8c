/**
 * The real chronyc 4.3's selectdata and authdata against ntpkit's daemon
 * over chrony's command protocol, and against a chronyd -x client in the
 * same situation: three chronyd servers (one with a SHA1 key, one with an
 * AES128 key and `trust`, one plain) and a faketime'd falseticker. The
 * layouts agree line for line, the fixed fields (options, authentication,
 * keys, the falseticker's verdict) are equal, the intervals agree within
 * what two daemons measuring the same servers can differ by, and chronyc
 * prints what `ntpkit selectdata`/`authdata` print from the JSON socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from '../../cli/run-captured.test-helper.js';
import { type ChronydProcess, type ManagedProcess, requireTool, runChronyc, spawnNtpkit, startChronydClient, startChronydServer, type ChronycOut } from '../../testing/index.js';

const [SHA, AES, PLAIN, LIAR] = ['127.0.37.1', '127.0.37.2', '127.0.37.3', '127.0.37.4'];
const KEYS = '1 SHA1 HEX:0102030405060708090A0B0C0D0E0F1011121314\n2 AES128 HEX:000102030405060708090A0B0C0D0E0F\n';
const POLL = 'iburst minpoll 0 maxpoll 2';
const SOURCES: readonly (readonly [string, string])[] = [[SHA, `${POLL} key 1`], [AES, `${POLL} key 2 trust`], [PLAIN, POLL], [LIAR, POLL]];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Out = ChronycOut;
const chronyc = runChronyc;

/**
 * The good sources' state letters: which one is selected, and whether the
 * others are combined (+), too distant (D) or outside the trusted sources'
 * interval (T), is each daemon's own measurement.
 */
const GOOD_STATE = /^[*+DT-]$/;

/** The text with every number replaced and the good sources' letters merged, so two daemons' reports compare by layout. */
function layout(text: string): string {
  return text.replace(/[+-]?\d+(\.\d+)?(e[+-]?\d+)?/g, '#').replace(/#(ns|us|ms|s)\b/g, '#u').replace(/ +/g, ' ').replace(/^[*+DT-] (?=#)/gm, 'S ');
}

/** `chronyc -c selectdata`'s rows by address. */
function csvRows(csv: string): Map<string, string[]> {
  return new Map(csv.trim().split('\n').filter((l) => l !== '').map((l) => { const f = l.split(','); return [f[1] as string, f]; }));
}

/** The fields of a selectdata CSV row that do not depend on measurement: state (selected and combined merged), name, auth, options, leap. */
function fixed(f: readonly string[]): string {
  return [GOOD_STATE.test(f[0] ?? '') ? 'S' : f[0], ...f.slice(1, 13), f[17]].join(',');
}

test('chronyc 4.3 selectdata [-v] and authdata [-v], with -c and -n, against ntpkit as against chronyd', { timeout: 240_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc', 'libfaketime')) return;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-chronyc-selectdata-'));
  const procs: (ChronydProcess | ManagedProcess)[] = [];
  try {
    for (const address of [SHA, AES, PLAIN]) procs.push(await startChronydServer({ address, stratum: 1, files: { keys: KEYS }, extraConfig: ['keyfile {dir}/keys'] }));
    procs.push(await startChronydServer({ address: LIAR, stratum: 1, fakeOffsetSeconds: 2.5 }));
    const client = await startChronydClient({
      servers: SOURCES.map(([address, options]) => ({ address, options })),
      files: { keys: KEYS }, extraConfig: ['bindcmdaddress {dir}/chronyd.sock', 'keyfile {dir}/keys'],
    });
    procs.push(client);
    const theirSock = join(client.dir, 'chronyd.sock');
    const ourSock = join(dir, 'chronyd.sock');
    const jsonSock = join(dir, 'ntpkit.sock');
    await writeFile(join(dir, 'keys'), KEYS, { mode: 0o600 });
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, [
      ...SOURCES.map(([a, o]) => `server ${a} ${o}`),
      `keyfile ${join(dir, 'keys')}`, `controlsocket ${jsonSock}`, `bindcmdaddress ${ourSock}`, 'cmdport 0', '',
    ].join('\n'));
    const daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    procs.push(daemon);
    const both = async (args: readonly string[]): Promise<[Out, Out]> => [await chronyc(['-h', ourSock, ...args]), await chronyc(['-h', theirSock, ...args])];

    // Both have selected a good source, marked the liar a falseticker and authenticated the keyed servers.
    for (const deadline = Date.now() + 90_000; ; await sleep(500)) {
      const [ours, theirs] = await both(['-c', '-n', 'selectdata']);
      const settled = (o: Out): boolean => {
        const rows = csvRows(o.out);
        return rows.get(LIAR)?.[0] === 'x' && [...rows.values()].some((f) => f[0] === '*') && rows.get(SHA)?.[2] === 'Y' && rows.get(AES)?.[2] === 'Y';
      };
      if (settled(ours) && settled(theirs)) break;
      if (Date.now() > deadline) assert.fail(`not settled within 90 s:\nntpkit:\n${ours.out}\nchronyd:\n${theirs.out}\n${daemon.logs()}`);
    }

    // selectdata, plain, -n and -v: the same lines in the same layout.
    for (const args of [['-n', 'selectdata'], ['selectdata'], ['-n', 'selectdata', '-v']]) {
      const [ours, theirs] = await both(args);
      assert.equal(ours.code, 0, ours.out);
      assert.equal(layout(ours.out), layout(theirs.out), `chronyc ${args.join(' ')}\nntpkit:\n${ours.out}\nchronyd:\n${theirs.out}`);
    }

    // -c: chronyc's 18 fields; the fixed ones equal, the liar's interval around -2.5 s in both (chronyc's sign: local clock against the source).
    const [oc, tc] = await both(['-c', '-n', 'selectdata']);
    const [ours, theirs] = [csvRows(oc.out), csvRows(tc.out)];
    assert.deepEqual([...ours.keys()], [SHA, AES, PLAIN, LIAR], oc.out);
    assert.deepEqual([...theirs.keys()], [SHA, AES, PLAIN, LIAR], tc.out);
    for (const address of ours.keys()) {
      const [o, th] = [ours.get(address) as string[], theirs.get(address) as string[]];
      assert.equal(o.length, 18, oc.out);
      assert.equal(fixed(o), fixed(th), `${address}\nntpkit:\n${oc.out}\nchronyd:\n${tc.out}`);
    }
    // authselectmode mix: the authenticated sources are required and trusted as well, as chronyd has them.
    assert.equal((ours.get(AES) as string[]).slice(3, 13).join(''), '--T----TR-', 'trust configured; trust and require in effect');
    assert.equal((ours.get(SHA) as string[]).slice(3, 13).join(''), '-------TR-');
    assert.equal((ours.get(PLAIN) as string[]).slice(3, 13).join(''), '----------');
    for (const rows of [ours, theirs]) {
      const [lo, hi] = (rows.get(LIAR) as string[]).slice(15, 17).map(Number) as [number, number];
      assert.ok(lo < -2.4 && hi > -2.6 && lo <= hi, `${lo} ${hi}`);
    }

    // authdata: every field here is fixed (symmetric keys, no NTS), so the texts are equal.
    for (const args of [['-n', 'authdata'], ['-n', 'authdata', '-v'], ['-c', '-n', 'authdata'], ['authdata']]) {
      const [o, th] = await both(args);
      assert.equal(o.code, 0, o.out);
      assert.equal(o.out, th.out, `chronyc ${args.join(' ')}`);
    }
    const [oa] = await both(['-c', '-n', 'authdata']);
    assert.deepEqual(oa.out.trim().split('\n').map((l) => l.split(',').slice(0, 5).join(',')), [
      `${SHA},SK,1,2,160`, `${AES},SK,2,13,128`, `${PLAIN},-,0,0,0`, `${LIAR},-,0,0,0`,
    ]);

    // chronyc against ntpkit prints what ntpkit's own commands print from the JSON socket.
    const cli = async (args: readonly string[]): Promise<string> => {
      const r = await runCaptured([...args, '--socket', jsonSock]);
      assert.equal(r.code, 0, r.err);
      return r.out;
    };
    assert.equal((await chronyc(['-h', ourSock, '-c', '-n', 'authdata'])).out, await cli(['authdata', '-c']));
    assert.equal((await chronyc(['-h', ourSock, '-n', 'authdata', '-v'])).out, await cli(['authdata', '-n', '-v']));
    const viaJson = csvRows(await cli(['selectdata', '-c']));
    const viaCandm = csvRows((await chronyc(['-h', ourSock, '-c', '-n', 'selectdata'])).out);
    for (const [address, f] of viaCandm) assert.equal(fixed(f), fixed(viaJson.get(address) ?? []), address);
    assert.equal(layout((await chronyc(['-h', ourSock, '-n', 'selectdata', '-v'])).out), layout(await cli(['selectdata', '-n', '-v'])));
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
