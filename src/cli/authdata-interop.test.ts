/**
 * authdata against chronyc 4.3 live: chronyd -x polling one server with a
 * SHA1 key, one with an AES128 key, one without, and an address where
 * nothing listens. chronyc -c authdata's values fed to our formatter print
 * chronyc's text (plain and -v) byte for byte; ntpkit's daemon with the same
 * config and key file prints chronyc's CSV exactly (every field is fixed for
 * symmetric keys).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchSnapshot } from '../control/commands.js';
import type { AuthDataReport } from '../core/engine/engine-api.js';
import { type ChronydProcess, pollFor, requireTool, spawnNtpkit, startChronydClient, startChronydServer, toolPath } from '../testing/index.js';
import { formatAuthdata, formatAuthdataCsv } from './authdata-format.js';
import { runCaptured } from './run-captured.test-helper.js';

const [SHA, AES, PLAIN, SILENT] = ['127.0.34.22', '127.0.34.23', '127.0.34.24', '127.0.34.29'];
const KEYS = '1 SHA1 HEX:0102030405060708090A0B0C0D0E0F1011121314\n2 AES128 HEX:000102030405060708090A0B0C0D0E0F\n';

function chronyc(sock: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(toolPath('chronyc'), ['-h', sock, '-n', ...args], { timeout: 10_000 }, (e, out) => (e ? reject(e) : resolve(out)));
  });
}

const MODE: Readonly<Record<string, AuthDataReport['mode']>> = { '-': 'none', SK: 'symmetric', NTS: 'nts' };

function authdataFromCsv(csv: string): AuthDataReport[] {
  return csv.split('\n').filter(Boolean).map((line, i) => {
    const f = line.split(',').map((x, j) => (j < 2 ? x : Number(x)));
    return {
      sourceId: i + 1, name: f[0] as string, address: f[0] as string, mode: MODE[f[1] as string] ?? assert.fail(line),
      keyId: f[2] as number, keyType: f[3] as number, keyLengthBits: f[4] as number, lastKeAgo: f[5] === 4294967295 ? null : f[5] as number,
      keAttempts: f[6] as number, naks: f[7] as number, cookies: f[8] as number, cookieLength: f[9] as number,
    };
  });
}

test('authdata [-v] and -c: chronyc\'s layout byte for byte, and ntpkit\'s daemon prints the CSV chronyc prints against chronyd', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  const procs: ChronydProcess[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-authdata-'));
  try {
    for (const address of [SHA, AES, PLAIN]) procs.push(await startChronydServer({ address, stratum: 1, files: { keys: KEYS }, extraConfig: ['keyfile {dir}/keys'] }));
    const lines = [`server ${SHA} iburst key 1`, `server ${AES} iburst key 2`, `server ${PLAIN} iburst`, `server ${SILENT} iburst`];
    const client = await startChronydClient({
      servers: [{ address: SHA, options: 'iburst key 1' }, { address: AES, options: 'iburst key 2' }, { address: PLAIN, options: 'iburst' }, { address: SILENT, options: 'iburst' }],
      files: { keys: KEYS }, extraConfig: ['bindcmdaddress {dir}/chronyd.sock', 'keyfile {dir}/keys'],
    });
    procs.push(client);
    const sock = join(client.dir, 'chronyd.sock');
    const csv = await pollFor('chronyc authdata', () => chronyc(sock, '-c', 'authdata').catch(() => undefined), 20_000, () => client.logs());
    const rows = authdataFromCsv(csv);
    assert.equal(rows.length, 4);
    assert.equal(formatAuthdataCsv(rows), csv);
    assert.equal(formatAuthdata(rows, { numeric: true }), await chronyc(sock, 'authdata'));
    assert.equal(formatAuthdata(rows, { numeric: true, verbose: true }), await chronyc(sock, 'authdata', '-v'));

    const socket = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    await writeFile(join(dir, 'keys'), KEYS, { mode: 0o600 });
    await writeFile(conf, `${lines.join('\n')}\nkeyfile ${dir}/keys\ncontrolsocket ${socket}\nbindcmdaddress /\ncmdport 0\n`);
    const d = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    try {
      await pollFor('the control socket', async () => (await fetchSnapshot(socket).then(() => true, () => undefined)), 30_000, () => d.logs());
      const r = await runCaptured(['authdata', '-c', '--socket', socket]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, csv);
    } finally {
      await d.stop();
    }
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
