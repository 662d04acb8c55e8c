/**
 * `-c` against chronyc -c live: chronyd -x and ntpkit's daemon (virtual
 * clock) in the same situation (the same two chronyd servers, each serving
 * NTP on an address of its own and asked once by the same client), and every
 * report's CSV compared field by field: the same lines and fields, each
 * number with chronyc's decimals, the same words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchSnapshot } from '../control/commands.js';
import { type ChronydProcess, pollFor, probeNtp, requireTool, spawnNtpkit, startChronydClient, startChronydServer, toolPath } from '../testing/index.js';
import { runCaptured } from './run-captured.test-helper.js';

const [A, B, CHRONYD, NTPKIT, CLIENT] = ['127.0.34.52', '127.0.34.53', '127.0.34.50', '127.0.34.51', '127.0.34.56'];
const OPT = 'iburst minpoll 0 maxpoll 0';
const REPORTS = ['tracking', 'sources', 'sourcestats', 'ntpdata', 'serverstats', 'activity', 'clients'] as const;

function chronyc(sock: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(toolPath('chronyc'), ['-h', sock, '-c', ...args], { timeout: 10_000 }, (e, out) => (e ? reject(e) : resolve(out)));
  });
}

/** What a field must share with chronyc's: decimals of a number, the kind of an address or id, else the word itself. */
function shape(field: string): string {
  if (/^-?\d+$/.test(field)) return 'int';
  const dec = /^-?\d+\.(\d+)$/.exec(field);
  if (dec) return `dec${dec[1]?.length}`;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(field)) return 'ipv4';
  if (/^[0-9A-F]{8}$/.test(field)) return 'hex8';
  // How the kernel or the daemon stamped: a property of each program's sockets, not of the report.
  if (field === 'Kernel' || field === 'Daemon') return 'stamping';
  // Which of two equal servers is selected, combined or left out is a coin toss, in chronyd too.
  if (field === '*' || field === '+' || field === '-') return 'agreeing';
  return field;
}
const shapes = (csv: string): string[][] => csv.split('\n').filter(Boolean).map((l) => l.split(',').map(shape));

test('every report\'s -c has the fields of chronyc -c, with chronyc\'s precision and words', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  const procs: ChronydProcess[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-csv-'));
  try {
    for (const address of [A, B]) procs.push(await startChronydServer({ address, stratum: 1 }));
    const client = await startChronydClient({
      servers: [{ address: A, options: OPT }, { address: B, options: OPT }],
      extraConfig: ['port 123', `bindaddress ${CHRONYD}`, 'allow 127.0.34.0/24', 'bindcmdaddress {dir}/chronyd.sock'],
    });
    procs.push(client);
    const sock = join(client.dir, 'chronyd.sock');
    const socket = join(dir, 'ntpkit.sock');
    await writeFile(join(dir, 'chrony.conf'), `server ${A} ${OPT}\nserver ${B} ${OPT}\nbindaddress ${NTPKIT}\nallow 127.0.34.0/24\ncontrolsocket ${socket}\nbindcmdaddress /\ncmdport 0\n`);
    const d = await spawnNtpkit(['daemon', '-f', join(dir, 'chrony.conf'), '--clock', 'virtual']);
    try {
      await pollFor('chronyd selecting', async () => ((await chronyc(sock, 'sources').catch(() => '')).includes('^,*') ? true : undefined), 30_000, () => client.logs());
      await pollFor('ntpkit selecting', async () => ((await fetchSnapshot(socket).catch(() => null))?.sources.some((s) => s.verdict === 'selected') ? true : undefined), 60_000, () => d.logs());
      for (const server of [CHRONYD, NTPKIT]) await probeNtp(server, 123, { sourceAddress: CLIENT, timeoutMs: 3000 });
      for (const report of REPORTS) {
        const theirs = await chronyc(sock, report);
        const ours = await runCaptured([report, '-c', '--socket', socket]);
        assert.equal(ours.code, 0, `${report}: ${ours.err}`);
        assert.deepEqual(shapes(ours.out), shapes(theirs), `${report}\nntpkit:\n${ours.out}chronyc:\n${theirs}`);
      }
    } finally {
      await d.stop();
    }
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
