/**
 * Every read-only report over chrony's command protocol, ntpkit against the
 * real chronyc 4.3 on the same endpoint, from ntpkit's daemon and from a
 * real chronyd -x: over UDP (where chronyd serves only its open requests and
 * answers the others "501 Not authorised") and over the Unix command socket
 * given as -h PATH (where it serves them all). Also chronyc's naming of
 * sources (-n, -N, reverse lookup, ID#... of an unresolved source with -a),
 * a comma-separated -h that falls over to the next host, and -m.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ChronydProcess, freeUdpPort, type ManagedProcess, pollFor, requireTool, runToCompletion, spawnNtpkit, startChronydClient,
  startChronydServer, toolPath,
} from '../testing/index.js';

const SERVERS = ['127.0.52.1', '127.0.52.2'];
const NTPKIT_UDP = '127.0.52.5';
const CHRONYD_UDP = '127.0.52.6';
const CLOSED = '127.0.52.7';
const UNRESOLVABLE = 'ntpkit-remote-test.invalid';
const POLL = 'iburst minpoll 0 maxpoll 2';
const BIN = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));

interface Out { readonly code: number | null; readonly out: string; readonly err: string }

async function run(file: string, args: readonly string[], timeoutMs = 30_000): Promise<Out> {
  const r = await runToCompletion(file, args, { timeoutMs });
  return { code: r.status.code, out: r.stdout, err: r.stderr };
}
const ntpkit = (args: readonly string[]): Promise<Out> => run(process.execPath, [BIN, ...args]);
const chronyc = (args: readonly string[]): Promise<Out> => run(toolPath('chronyc'), args);

/** The text with every number replaced, so that two readings a moment apart compare by layout. */
function layout(text: string): string {
  return text.replace(/ID#\d+/g, 'ID#').replace(/[+-]?\d+(\.\d+)?(e[+-]?\d+)?/g, '#').replace(/#(ns|us|ms|s)\b/g, '#u').replace(/ +/g, ' ').replace(/\[ /g, '[')
    .replace(/ (fast|slow)\b/g, ' W')
    // Which of two equal servers is selected and which combined may change between two readings.
    .replace(/^\^[*+-] /gm, '^S ')
    .replace(/^[*+-] (\S+ +)/gm, 'S $1')
    .trimEnd();
}

/** Source address -> state character, from the -c sources lines. */
function states(csv: string): Map<string, string> {
  return new Map(csv.trim().split('\n').filter((l) => l !== '').map((l) => { const f = l.split(','); return [f[2] as string, f[1] as string]; }));
}

/** Both print the same layout (numbers aside) and exit alike. */
async function same(what: string, ours: readonly string[], theirs: readonly string[]): Promise<Out> {
  const [o, t] = [await ntpkit(ours), await chronyc(theirs)];
  assert.equal(o.code, t.code, `${what}: exit ${o.code} vs chronyc's ${t.code}\n${o.out}${o.err}\n---\n${t.out}${t.err}`);
  assert.equal(layout(o.out), layout(t.out), `${what}\n--- ntpkit:\n${o.out}${o.err}\n--- chronyc:\n${t.out}`);
  return o;
}

/** A refusal: chronyc prints the status line (after any header) and exits 1; ntpkit says the same line and exits 1. */
async function refused(what: string, ours: readonly string[], theirs: readonly string[], line: string): Promise<void> {
  const [o, t] = [await ntpkit(ours), await chronyc(theirs)];
  assert.equal(t.code, 1, `${what}: chronyc ${t.out}${t.err}`);
  assert.ok(t.out.trimEnd().endsWith(line), `${what}: chronyc printed\n${t.out}`);
  assert.equal(o.code, 1, `${what}: ${o.out}${o.err}`);
  assert.ok(`${o.out}${o.err}`.includes(line), `${what}: ntpkit printed\n${o.out}${o.err}`);
}

test('every read-only report over -h (UDP and Unix socket) as chronyc -h shows it, from ntpkit and from chronyd', { timeout: 300_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-remote-reports-'));
  const procs: (ChronydProcess | ManagedProcess)[] = [];
  try {
    for (const address of SERVERS) procs.push(await startChronydServer({ address, stratum: 1 }));
    const chronydPort = await freeUdpPort(CHRONYD_UDP);
    const chronyd = await startChronydClient({
      servers: [...SERVERS.map((address) => ({ address, options: POLL })), { address: UNRESOLVABLE, options: POLL }],
      extraConfig: [`bindcmdaddress ${CHRONYD_UDP}`, 'bindcmdaddress {dir}/chronyd.sock', `cmdport ${chronydPort}`],
    });
    procs.push(chronyd);
    const ourPort = await freeUdpPort(NTPKIT_UDP);
    const conf = join(dir, 'chrony.conf');
    const ourSocket = join(dir, 'chronyd.sock');
    await writeFile(conf, [
      ...SERVERS.map((a) => `server ${a} ${POLL}`), `server ${UNRESOLVABLE} ${POLL}`,
      `controlsocket ${join(dir, 'ntpkit.sock')}`, `bindcmdaddress ${ourSocket}`, `bindcmdaddress ${NTPKIT_UDP}`, `cmdport ${ourPort}`, '',
    ].join('\n'));
    const daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    procs.push(daemon);

    const targets = [
      { who: 'ntpkit', host: NTPKIT_UDP, port: ourPort, socket: ourSocket },
      { who: 'chronyd', host: CHRONYD_UDP, port: chronydPort, socket: join(chronyd.dir, 'chronyd.sock') },
    ];
    for (const { who, host, port, socket } of targets) {
      const at = ['-h', host, '-p', String(port)];
      const un = ['-h', socket];
      await pollFor(`${who} synchronized`, async () => {
        const st = [...states((await chronyc([...at, '-c', '-n', 'sources'])).out).values()];
        return st.includes('*') && st.length === SERVERS.length && st.every((c) => /^[*+-]$/.test(c)) ? true : undefined;
      }, 90_000, () => daemon.logs() + chronyd.logs());

      // The open reports, over UDP and the socket alike.
      for (const via of [at, un]) {
        const v = via[1] === socket ? `${who} via socket` : `${who} via UDP`;
        await same(`sources ${v}`, ['sources', ...via], [...via, 'sources']);
        const all = await same(`sources -a ${v}`, ['sources', '-a', ...via], [...via, 'sources', '-a']);
        assert.match(all.out, /^\^\? ID#\d{10} /m, all.out);
        const named = await same(`sources -N -a ${v}`, ['sources', '-N', '-a', ...via], [...via, '-N', 'sources', '-a']);
        assert.ok(named.out.includes(UNRESOLVABLE), named.out);
        await same(`sources -n ${v}`, ['sources', '-n', ...via], [...via, '-n', 'sources']);
        await same(`sourcestats -a ${v}`, ['sourcestats', '-a', ...via], [...via, 'sourcestats', '-a']);
        await same(`smoothing ${v}`, ['smoothing', ...via], [...via, 'smoothing']);
        await same(`rtcdata ${v}`, ['rtcdata', ...via], [...via, 'rtcdata']);
        await same(`manual list ${v}`, ['manual', 'list', ...via], [...via, 'manual', 'list']);
        await same(`sourcename ${v}`, ['sourcename', SERVERS[0] as string, ...via], [...via, 'sourcename', SERVERS[0] as string]);
        await same(`sourcename of no source ${v}`, ['sourcename', '192.0.2.1', ...via], [...via, 'sourcename', '192.0.2.1']);
      }

      // chronyd 4.3 serves these only on its Unix socket; over UDP both daemons refuse them. (chronyc's own command line here.)
      for (const cmd of [['ntpdata'], ['serverstats'], ['clients'], ['selectdata'], ['authdata']]) {
        await refused(`${cmd[0]} via UDP from ${who}`, [...at, ...cmd], [...at, ...cmd], '501 Not authorised');
      }
      const clientsAt = ['--host', host, '--port', String(port)];
      await refused(`clients --port from ${who}`, ['clients', ...clientsAt], [...at, 'clients'], '501 Not authorised');

      // Over the socket they are served: the same layouts.
      await same(`ntpdata via socket from ${who}`, ['ntpdata', ...un], [...un, 'ntpdata']);
      await same(`ntpdata ADDRESS via socket from ${who}`, ['ntpdata', SERVERS[1] as string, ...un], [...un, 'ntpdata', SERVERS[1] as string]);
      await same(`selectdata -a via socket from ${who}`, ['selectdata', '-a', ...un], [...un, 'selectdata', '-a']);
      await same(`authdata -a via socket from ${who}`, ['authdata', '-a', ...un], [...un, 'authdata', '-a']);
      await same(`clients via socket from ${who}`, ['clients', ...un], [...un, 'clients']);
      await same(`serverstats via socket from ${who}`, ['serverstats', ...un], [...un, 'serverstats']);

      // -h a,b: the closed port refuses, the next host answers; -m runs each word as a command.
      const multi = ['-h', `${CLOSED},${host}`, '-p', String(port), '-n', '-m', 'tracking', 'sources -a', 'activity'];
      const [om, tm] = [await ntpkit(multi), await chronyc(multi)];
      assert.equal(om.code, 0, om.err);
      assert.equal(tm.code, 0, tm.err);
      assert.equal(layout(om.out), layout(tm.out), `-m from ${who}\n${om.out}\n---\n${tm.out}`);
      // The first failure ends -m, as chronyc's process_args.
      const stop = await ntpkit([...at, '-m', 'ntpdata', 'tracking']);
      assert.equal(stop.code, 1);
      assert.doesNotMatch(stop.out, /Reference ID/);
    }
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
