/**
 * `ntpkit tracking|sources|sourcestats|activity -h HOST -p PORT` over chrony's UDP
 * command protocol, against ntpkit's daemon and a real chronyd -x, each
 * compared with the real `chronyc -h HOST -p PORT` on the same port: the
 * same layout line for line, the same references, states and stratum. And a
 * silent port: chronyc's three attempts (1, 2, 4 s) then "506 Cannot talk to
 * daemon".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ChronydProcess, freeUdpPort, type ManagedProcess, pollFor, requireTool, runToCompletion, spawnNtpkit, startChronydClient,
  startChronydServer, toolPath,
} from '../testing/index.js';

const SERVERS = ['127.0.38.1', '127.0.38.2'];
const NTPKIT_UDP = '127.0.38.5';
const CHRONYD_UDP = '127.0.38.6';
const SILENT = '127.0.38.7';
const POLL = 'iburst minpoll 0 maxpoll 2';
const BIN = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));

interface Out { readonly code: number | null; readonly out: string; readonly err: string }

async function run(file: string, args: readonly string[], timeoutMs = 20_000): Promise<Out> {
  const r = await runToCompletion(file, args, { timeoutMs });
  return { code: r.status.code, out: r.stdout, err: r.stderr };
}
const ntpkit = (args: readonly string[]): Promise<Out> => run(process.execPath, [BIN, ...args]);
const chronyc = (args: readonly string[]): Promise<Out> => run(toolPath('chronyc'), args);

/** The text with every number replaced, so that two readings a moment apart compare by layout. */
function layout(text: string): string {
  return text.replace(/[+-]?\d+(\.\d+)?(e[+-]?\d+)?/g, '#').replace(/#(ns|us|ms|s)\b/g, '#u').replace(/ +/g, ' ').replace(/\[ /g, '[')
    .replace(/ (fast|slow)\b/g, ' W')
    // Which of two equal servers is selected and which combined may change between two readings.
    .replace(/^\^[*+-] /gm, '^S ');
}

function field(text: string, label: string): string {
  return new RegExp(`^${label} *: (.*)$`, 'm').exec(text)?.[1] ?? assert.fail(`no "${label}" in:\n${text}`);
}

/** Source address -> state character, from the -c sources lines. */
function states(csv: string): Map<string, string> {
  return new Map(csv.trim().split('\n').filter((l) => l !== '').map((l) => { const f = l.split(','); return [f[2] as string, f[1] as string]; }));
}

test('ntpkit REPORT -h HOST -p PORT prints what chronyc -h prints, from ntpkit and from chronyd', { timeout: 180_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-remote-report-'));
  const procs: (ChronydProcess | ManagedProcess)[] = [];
  try {
    for (const address of SERVERS) procs.push(await startChronydServer({ address, stratum: 1 }));
    const chronydPort = await freeUdpPort(CHRONYD_UDP);
    procs.push(await startChronydClient({
      servers: SERVERS.map((address) => ({ address, options: POLL })),
      extraConfig: [`bindcmdaddress ${CHRONYD_UDP}`, `cmdport ${chronydPort}`],
    }));
    const ourPort = await freeUdpPort(NTPKIT_UDP);
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, [
      ...SERVERS.map((a) => `server ${a} ${POLL}`),
      `controlsocket ${join(dir, 'ntpkit.sock')}`, `bindcmdaddress ${join(dir, 'chronyd.sock')}`, `bindcmdaddress ${NTPKIT_UDP}`, `cmdport ${ourPort}`, '',
    ].join('\n'));
    const daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    procs.push(daemon);

    for (const [host, port] of [[NTPKIT_UDP, ourPort], [CHRONYD_UDP, chronydPort]] as const) {
      const at = ['-h', host, '-p', String(port)];
      // Wait until the daemon has selected a source and can use both, as seen by chronyc.
      await pollFor(`${host} synchronized`, async () => {
        const st = [...states((await chronyc([...at, '-c', '-n', 'sources'])).out).values()];
        return st.includes('*') && st.length === SERVERS.length && st.every((c) => /^[*+-]$/.test(c)) ? true : undefined;
      }, 90_000, () => daemon.logs());

      const [ours, theirs] = [await ntpkit(['tracking', ...at]), await chronyc([...at, '-n', 'tracking'])];
      assert.equal(ours.code, 0, ours.err);
      assert.equal(layout(ours.out), layout(theirs.out), `tracking from ${host}`);
      // Which of the two equal servers is the reference can change between two readings.
      for (const label of ['Stratum', 'Leap status']) assert.equal(field(ours.out, label), field(theirs.out, label), `${label} from ${host}`);
      assert.ok(SERVERS.some((a) => field(ours.out, 'Reference ID').endsWith(`(${a})`)), ours.out);
      // HOST:PORT in one word, as the same target.
      const joined = await ntpkit(['tracking', '--host', `${host}:${port}`]);
      assert.equal(joined.code, 0, joined.err);
      assert.ok(SERVERS.some((a) => field(joined.out, 'Reference ID').endsWith(`(${a})`)), joined.out);

      const [os, ts] = [await ntpkit(['sources', ...at]), await chronyc([...at, '-n', 'sources'])];
      assert.equal(os.code, 0, os.err);
      assert.equal(layout(os.out), layout(ts.out), `sources from ${host}`);
      const [osc, tsc] = [await ntpkit(['sources', '-c', ...at]), await chronyc([...at, '-c', '-n', 'sources'])];
      assert.deepEqual([...states(osc.out).keys()].sort(), [...states(tsc.out).keys()].sort(), `sources -c from ${host}`);
      for (const c of states(osc.out).values()) assert.match(c, /^[*+-]$/, osc.out);
      assert.equal(osc.out.trim().split('\n').length, SERVERS.length);

      const [ost, tst] = [await ntpkit(['sourcestats', ...at]), await chronyc([...at, '-n', 'sourcestats'])];
      assert.equal(ost.code, 0, ost.err);
      assert.equal(layout(ost.out), layout(tst.out), `sourcestats from ${host}`);

      // activity: chronyc's lines; both daemons have their two sources online or in iburst's burst.
      const [oa, ta] = [await ntpkit(['activity', ...at]), await chronyc([...at, 'activity'])];
      assert.equal(oa.code, 0, oa.err);
      assert.equal(layout(oa.out), layout(ta.out), `activity from ${host}`);
      const total = (text: string): number => [...text.matchAll(/^(\d+) sources/gm)].reduce((a, m) => a + Number(m[1]), 0);
      assert.equal(total(oa.out), SERVERS.length, oa.out);
      assert.equal((await ntpkit(['activity', '-c', ...at])).out.trim().split(',').length, 5);

      const json = JSON.parse((await ntpkit(['tracking', '--json', ...at])).out) as { tracking: { stratum: number; leapStatus: string } };
      assert.equal(json.tracking.stratum, 2);
      assert.equal(json.tracking.leapStatus, 'normal');
    }

    // -h is the host here, as with chronyc; --help still prints the help.
    const help = await ntpkit(['tracking', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /-h, --host <host\[:port\]>/);
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('ntpkit tracking -h against a silent port: three attempts, 1, 2 and 4 s apart, then chronyc\'s 506', { timeout: 60_000 }, async () => {
  const sock = createSocket('udp4');
  const seen: { at: number; attempt: number; sequence: number }[] = [];
  sock.on('message', (m) => seen.push({ at: Date.now(), attempt: m.readUInt16BE(6), sequence: m.readUInt32BE(8) }));
  await new Promise<void>((r) => sock.bind(0, SILENT, r));
  try {
    const started = Date.now();
    const r = await ntpkit(['tracking', '-h', SILENT, '-p', String(sock.address().port)]);
    const took = (Date.now() - started) / 1000;
    assert.equal(r.code, 3, `${r.out}${r.err}`);
    assert.match(r.err, /506 Cannot talk to daemon/);
    assert.equal(r.out, '');
    assert.deepEqual(seen.map((s) => s.attempt), [0, 1, 2]);
    assert.equal(new Set(seen.map((s) => s.sequence)).size, 3, 'a fresh sequence per attempt');
    // The waits double: at least 1 s before the second attempt, 2 s before the third, 4 s after it.
    assert.ok(seen[1]!.at - seen[0]!.at >= 950 && seen[2]!.at - seen[1]!.at >= 1950, JSON.stringify(seen));
    assert.ok(took >= 6.9, `gave up after ${took} s`);
  } finally {
    sock.close();
  }
});

test('ntpkit tracking -h against a closed port: the refusals end each attempt at once, as chronyc\'s failed recv does, then 506', { timeout: 60_000 }, async () => {
  const port = await freeUdpPort(SILENT);
  const started = Date.now();
  const r = await ntpkit(['tracking', '-h', SILENT, '-p', String(port)]);
  assert.equal(r.code, 3, `${r.out}${r.err}`);
  assert.match(r.err, /506 Cannot talk to daemon/);
  // Far less than the 7 s of waits a silent port takes.
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
});
