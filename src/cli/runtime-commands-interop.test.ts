/**
 * The run-time commands chronyc 4.3 has beside its reports (allow, deny,
 * cmdallow, cmddeny, cmdaccheck, dfreq, reselect, reselectdist, onoffline,
 * trimrtc, writertc), sent by the real chronyc to ntpkit's daemon and to a
 * chronyd -x in the same state, and by the `ntpkit` subcommand of the same
 * name: the same answers, and the same effect (an NTP client refused, then
 * served, then refused; a command datagram unanswered until cmdallow; the
 * frequency tracking reports; the sources' activity).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ChronydProcess, freeUdpPort, type ManagedProcess, pollFor, probeNtp, requireTool, runChronyc, spawnNtpkit, startChronydClient,
  startChronydServer, type ChronycOut,
} from '../testing/index.js';
import { fetchSnapshot } from '../control/commands.js';
import { encodeRequest, parseReply, REQ, STT } from '../proto/candm/index.js';
import { runCaptured } from './run-captured.test-helper.js';

const SERVER = '127.0.51.1';
const NTPKIT_NTP = '127.0.51.2';
const CLIENT = '127.0.51.3';
const CHRONYD_NTP = '127.0.51.4';
const NTPKIT_CMD = '127.0.51.5';
const CHRONYD_CMD = '127.0.51.6';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether an NTP request from CLIENT gets a reply (two tries: a lost datagram on a busy machine is not a refusal). */
async function served(address: string, port: number): Promise<boolean> {
  for (let i = 0; i < 2; i++) {
    if (await probeNtp(address, port, { sourceAddress: CLIENT, timeoutMs: 700 }).then(() => true, () => false)) return true;
  }
  return false;
}

/** Whether a chronyc monitoring request (N_SOURCES) from CLIENT to a command port is answered. */
async function commandAnswered(address: string, port: number): Promise<boolean> {
  const s = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(0, CLIENT, () => resolve()); });
    for (let i = 0; i < 2; i++) {
      const seq = 1000 + i;
      const got = new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 700);
        s.on('message', (m) => {
          const r = parseReply(new Uint8Array(m));
          if (r.ok && r.reply.sequence === seq) { clearTimeout(t); resolve(r.reply.status === STT.SUCCESS); }
        });
      });
      s.send(encodeRequest(REQ.N_SOURCES, {}, seq), port, address);
      if (await got) return true;
    }
    return false;
  } finally {
    s.close();
  }
}

/** chronyc tracking's Frequency line as a signed number: fast positive. */
function frequency(text: string): number {
  const m = /^Frequency *: ([\d.]+) ppm (fast|slow)$/m.exec(text) ?? assert.fail(`no Frequency in:\n${text}`);
  return Number(m[1]) * (m[2] === 'fast' ? 1 : -1);
}

test('chronyc 4.3 and ntpkit against ntpkit and chronyd: allow/deny/cmdallow/cmddeny take effect at run time, dfreq, reselect, reselectdist, onoffline, trimrtc, writertc answer alike', { timeout: 180_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-runtime-commands-'));
  const procs: (ChronydProcess | ManagedProcess)[] = [];
  try {
    const server = await startChronydServer({ address: SERVER, port: await freeUdpPort(SERVER), stratum: 1 });
    procs.push(server);
    // Offline at the start, so that onoffline has something to do and dfreq's frequency stays put until then.
    const source = `server ${SERVER} port ${server.port} iburst minpoll 0 maxpoll 2 offline`;
    const [chronydNtp, chronydCmd, ntpkitNtp, ntpkitCmd] = [await freeUdpPort(CHRONYD_NTP), await freeUdpPort(CHRONYD_CMD), await freeUdpPort(NTPKIT_NTP), await freeUdpPort(NTPKIT_CMD)];
    const client = await startChronydClient({
      servers: [],
      extraConfig: [source, 'bindcmdaddress {dir}/chronyd.sock', `bindcmdaddress ${CHRONYD_CMD}`, `cmdport ${chronydCmd}`, `bindaddress ${CHRONYD_NTP}`, `port ${chronydNtp}`],
    });
    procs.push(client);
    const theirSock = join(client.dir, 'chronyd.sock');
    const ourSock = join(dir, 'run', 'chronyd.sock');
    const json = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    // Serving nothing at the start: no allow line, as the chronyd.
    await writeFile(conf, [
      source, `controlsocket ${json}`, `bindcmdaddress ${ourSock}`, `bindcmdaddress ${NTPKIT_CMD}`, `cmdport ${ntpkitCmd}`,
      `bindaddress ${NTPKIT_NTP}`, `port ${ntpkitNtp}`, '',
    ].join('\n'));
    const daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    procs.push(daemon);
    await pollFor('the control socket', async () => (await fetchSnapshot(json).then(() => true, () => undefined)), 30_000, () => daemon.logs());
    await pollFor("chronyd's command socket", async () => ((await runChronyc(['-h', theirSock, 'activity'])).code === 0 ? true : undefined), 30_000, () => client.logs());

    const both = async (args: readonly string[]): Promise<[ChronycOut, ChronycOut]> => [await runChronyc(['-h', ourSock, ...args]), await runChronyc(['-h', theirSock, ...args])];
    /**
     * chronyc's line and exit status from both daemons, and the ntpkit
     * subcommand's against ntpkit: ntpkit gets the command twice, which
     * changes nothing for any of these but dfreq.
     */
    const alike = async (args: readonly string[], expected: string, code = 0): Promise<void> => {
      const [ours, theirs] = await both(args);
      assert.deepEqual(ours, theirs, `chronyc ${args.join(' ')}`);
      assert.deepEqual(ours, { code, out: `${expected}\n` }, `chronyc ${args.join(' ')}`);
      const cli = await runCaptured([...args, '--socket', json]);
      assert.deepEqual({ code: cli.code, out: cli.out }, { code, out: `${expected}\n` }, `ntpkit ${args.join(' ')}: ${cli.err}`);
    };
    const ntp = async (): Promise<[boolean, boolean]> => [await served(NTPKIT_NTP, ntpkitNtp), await served(CHRONYD_NTP, chronydNtp)];

    // allow/deny: refused, served after allow, refused again after deny; accheck agrees each time.
    assert.deepEqual(await ntp(), [false, false], 'nothing is served before any allow');
    assert.deepEqual(await both(['accheck', CLIENT]).then((r) => r.map((o) => o.out)), ['209 Access denied\n', '209 Access denied\n']);
    assert.deepEqual(await both(['allow', CLIENT]).then((r) => r.map((o) => o.out)), ['200 OK\n', '200 OK\n']);
    assert.deepEqual(await ntp(), [true, true], `served after allow ${CLIENT}\n${daemon.logs()}`);
    await alike(['deny', CLIENT], '200 OK');
    assert.deepEqual(await ntp(), [false, false], `refused after deny ${CLIENT}`);
    // allow all drops the deny inside its subnet; a plain allow of a wider subnet would not.
    await alike(['allow', '127.0.51.0/24'], '200 OK');
    assert.deepEqual(await ntp(), [false, false], 'the more specific deny still refuses');
    await alike(['allow', 'all', '127.0.51.0/28'], '200 OK');
    assert.deepEqual(await ntp(), [true, true], 'allow all dropped the deny');
    // A reload re-reads the file; the rules given at run time stay, as chronyd keeps them until it stops.
    assert.equal((await runCaptured(['reload', '--socket', json])).code, 0);
    assert.equal(await served(NTPKIT_NTP, ntpkitNtp), true, 'still served after a reload');
    for (const [args, expected] of [[['deny', '10'], '200 OK'], [['allow', '1.2.3.4/40'], '507 Bad subnet'], [['deny', '::1/129'], '507 Bad subnet']] as const) {
      await alike(args, expected, expected === '200 OK' ? 0 : 1);
    }
    for (const a of [CLIENT, '127.0.51.20', '127.0.51.200', '10.1.2.3', '192.0.2.1', '::1']) {
      const [o, th] = await both(['accheck', a]);
      assert.equal(o.out, th.out, `accheck ${a}`);
      assert.equal((await runCaptured(['accheck', a, '--socket', json])).out, th.out, `ntpkit accheck ${a}`);
    }

    // cmdallow/cmddeny: a monitoring request from CLIENT to the command port is ignored, answered after cmdallow, ignored after cmddeny.
    const cmd = async (): Promise<[boolean, boolean]> => [await commandAnswered(NTPKIT_CMD, ntpkitCmd), await commandAnswered(CHRONYD_CMD, chronydCmd)];
    assert.deepEqual(await cmd(), [false, false], 'only localhost may use the command port at first');
    await alike(['cmdaccheck', CLIENT], '209 Access denied');
    await alike(['cmdallow', '127.0.51.0/24'], '200 OK');
    assert.deepEqual(await cmd(), [true, true], 'answered after cmdallow');
    await alike(['cmdaccheck', CLIENT], '208 Access allowed');
    await alike(['cmddeny', CLIENT], '200 OK');
    assert.deepEqual(await cmd(), [false, false], 'ignored after cmddeny');
    await alike(['cmdaccheck', CLIENT], '209 Access denied');
    await alike(['cmdaccheck', '127.0.51.9'], '208 Access allowed');
    // Changing requests only on the Unix socket, as chronyd 4.3.
    for (const args of [['allow', CLIENT], ['dfreq', '1'], ['reselect']]) {
      const [o, th] = [await runChronyc(['-h', NTPKIT_CMD, '-p', String(ntpkitCmd), ...args]), await runChronyc(['-h', CHRONYD_CMD, '-p', String(chronydCmd), ...args])];
      assert.deepEqual(o, th, `chronyc -h UDP ${args.join(' ')}`);
      assert.match(o.out, /^501 Not authorised/);
    }

    // dfreq: tracking's Frequency moves by the same amount, in the same direction, on both (no source is online yet).
    const freqs = async (): Promise<[number, number]> => {
      const [o, th] = await both(['tracking']);
      return [frequency(o.out), frequency(th.out)];
    };
    const f0 = await freqs();
    assert.deepEqual(await both(['dfreq', '10']).then((r) => r.map((o) => o.out)), ['200 OK\n', '200 OK\n']);
    const f1 = await freqs();
    assert.ok(Math.abs(f1[0] - f0[0] - 10) < 0.002 && Math.abs(f1[1] - f0[1] - 10) < 0.002, `dfreq 10: ntpkit ${f0[0]} -> ${f1[0]}, chronyd ${f0[1]} -> ${f1[1]}`);
    // ntpkit gets it twice in alike() (chronyc, then ntpkit dfreq): chronyd too.
    assert.equal((await runChronyc(['-h', theirSock, 'dfreq', '-2.5'])).out, '200 OK\n');
    await alike(['dfreq', '-2.5'], '200 OK');
    const f2 = await freqs();
    assert.ok(Math.abs(f2[0] - f1[0] + 5) < 0.002 && Math.abs(f2[1] - f1[1] + 5) < 0.002, `2 x dfreq -2.5: ntpkit ${f1[0]} -> ${f2[0]}, chronyd ${f1[1]} -> ${f2[1]}`);
    const [bad, badTheirs] = await both(['dfreq', 'x']);
    assert.deepEqual(bad, badTheirs);
    assert.deepEqual(bad, { code: 1, out: 'Invalid value\n' });

    // reselect, reselectdist, the RTC commands.
    for (const [args, expected, code] of [
      [['reselect'], '200 OK', 0], [['reselectdist', '0.001'], '200 OK', 0], [['trimrtc'], '513 RTC driver not running', 1], [['writertc'], '513 RTC driver not running', 1],
    ] as const) {
      await alike(args, expected, code);
    }

    // onoffline: the offline source has a route (loopback), so it goes online on both.
    const activity = async (sock: string): Promise<number> => {
      const out = (await runChronyc(['-h', sock, 'activity'])).out;
      return Number(/^(\d+) sources online$/m.exec(out)?.[1]) + Number(/^(\d+) sources doing burst \(return to online\)$/m.exec(out)?.[1]);
    };
    assert.deepEqual([await activity(ourSock), await activity(theirSock)], [0, 0]);
    await alike(['onoffline'], '200 OK');
    assert.deepEqual([await activity(ourSock), await activity(theirSock)], [1, 1]);
    // And the source answers: both select it.
    await pollFor('a selected source on both', async () => {
      const [o, th] = await both(['-c', 'sources']);
      return o.out.startsWith('^,*') && th.out.startsWith('^,*') ? true : undefined;
    }, 60_000, () => daemon.logs());
    await alike(['reselect'], '200 OK');
    await sleep(100);
    assert.match((await runChronyc(['-h', ourSock, '-c', 'sources'])).out, /^\^,[*+],/, 'the one source is selected again after reselect');
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
