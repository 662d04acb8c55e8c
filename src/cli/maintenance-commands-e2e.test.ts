/**
 * rekey, cyclelogs, smoothtime and sourcename against the live daemon
 * (virtual clock), each by its effect: a key changed on disk is used after
 * rekey and not before; a log renamed away is written anew after cyclelogs;
 * smoothing starts at smoothtime activate as chronyd's does; sourcename
 * answers as chronyc sourcename does against chronyd.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchSnapshot } from '../control/commands.js';
import { pollFor, requireTool, startChronydClient, startChronydServer, toolPath, withNtpkitDaemon } from '../testing/index.js';
import { runCaptured } from './run-captured.test-helper.js';

const SERVER = '127.0.34.32';
/** Nothing listens here. */
const SILENT = '127.0.34.39';
const OLD_KEY = '1 SHA1 HEX:1111111111111111111111111111111111111111\n';
const NEW_KEY = '1 SHA1 HEX:2222222222222222222222222222222222222222\n';

function chronyc(sock: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(toolPath('chronyc'), ['-h', sock, ...args], { timeout: 10_000 }, (e, out) => resolve({ code: e === null ? 0 : Number((e as { code?: unknown }).code), out }));
  });
}

const reach = async (socket: string): Promise<number> => (await fetchSnapshot(socket)).sources[0]?.reach ?? 0;

test('rekey: the key file changed on disk is used from rekey on (the server drops requests under the old key)', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const server = await startChronydServer({ address: SERVER, stratum: 1, files: { keys: NEW_KEY }, extraConfig: ['keyfile {dir}/keys'] });
  try {
    const config = async (dir: string): Promise<string> => {
      await writeFile(join(dir, 'keys'), OLD_KEY, { mode: 0o600 });
      return `server ${SERVER} iburst key 1 minpoll 0 maxpoll 0\nkeyfile ${dir}/keys`;
    };
    await withNtpkitDaemon(config, async (socket, dir) => {
      // Four polls at least, none answered: chronyd drops a request whose MAC does not verify.
      await pollFor('4 requests sent', async () => (Number((await runCaptured(['ntpdata', '-c', '--socket', socket])).out.split(',')[30]) >= 4 ? true : undefined), 30_000);
      assert.equal(await reach(socket), 0);
      await writeFile(join(dir, 'keys'), NEW_KEY, { mode: 0o600 });
      assert.deepEqual(await runCaptured(['rekey', '--socket', socket]), { code: 0, out: '200 OK\n', err: '' });
      await pollFor('a reply under the new key', async () => ((await reach(socket)) !== 0 ? true : undefined), 30_000);
    });
  } finally {
    await server.stop();
  }
});

test('cyclelogs: after the log is renamed away, the next lines go to a new file of the old name', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const server = await startChronydServer({ address: SERVER, stratum: 1 });
  try {
    const config = async (dir: string): Promise<string> => {
      await mkdir(join(dir, 'log'));
      return `server ${SERVER} iburst minpoll 0 maxpoll 0\nlogdir ${dir}/log\nlog measurements`;
    };
    await withNtpkitDaemon(config, async (socket, dir) => {
      const file = join(dir, 'log', 'measurements.log');
      await pollFor('measurements.log', () => (existsSync(file) ? true : undefined), 30_000);
      await rename(file, `${file}.1`);
      await new Promise((r) => setTimeout(r, 2500));
      // Without cyclelogs the daemon goes on writing the renamed file.
      assert.equal(existsSync(file), false);
      assert.deepEqual(await runCaptured(['cyclelogs', '--socket', socket]), { code: 0, out: '200 OK\n', err: '' });
      await pollFor('a new measurements.log', async () => (existsSync(file) && (await readFile(file, 'utf8')).includes(SERVER) ? true : undefined), 30_000);
    });
  } finally {
    await server.stop();
  }
});

test('smoothtime activate starts smoothing at once, as chronyc smoothtime activate does on chronyd; sourcename as chronyc\'s', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  const ours: string[] = [];
  await withNtpkitDaemon(`server ${SILENT} iburst\nsmoothtime 400 0.001`, async (socket) => {
    ours.push((await runCaptured(['smoothing', '-c', '--socket', socket])).out.split(',')[0] as string);
    assert.equal((await runCaptured(['smoothtime', 'activate', '--socket', socket])).out, '200 OK\n');
    ours.push((await runCaptured(['smoothing', '-c', '--socket', socket])).out.split(',')[0] as string);
    assert.equal((await runCaptured(['smoothtime', 'reset', '--socket', socket])).out, '200 OK\n');
    assert.equal((await runCaptured(['smoothtime', 'later', '--socket', socket])).code, 2);
    ours.push((await runCaptured(['sourcename', '--socket', socket, SILENT])).out);
    const none = await runCaptured(['sourcename', '--socket', socket, '127.0.34.38']);
    assert.equal(none.code, 1);
    ours.push(none.out);
  });
  assert.match(await withDaemonRefusal(), /Facility not enabled in daemon/);
  const chronyd = await startChronydClient({ servers: [{ address: SILENT, options: 'iburst' }], extraConfig: ['bindcmdaddress {dir}/chronyd.sock', 'smoothtime 400 0.001'] });
  try {
    const sock = join(chronyd.dir, 'chronyd.sock');
    await pollFor('chronyd\'s command socket', async () => ((await chronyc(sock, 'tracking')).code === 0 ? true : undefined), 20_000, () => chronyd.logs());
    const theirs: string[] = [];
    theirs.push((await chronyc(sock, '-c', 'smoothing')).out.split(',')[0] as string);
    assert.equal((await chronyc(sock, 'smoothtime', 'activate')).out, '200 OK\n');
    theirs.push((await chronyc(sock, '-c', 'smoothing')).out.split(',')[0] as string);
    theirs.push((await chronyc(sock, 'sourcename', SILENT)).out);
    theirs.push((await chronyc(sock, 'sourcename', '127.0.34.38')).out);
    assert.deepEqual(ours, theirs);
    assert.deepEqual(ours.slice(0, 2), ['No', 'Yes']);
  } finally {
    await chronyd.stop();
  }
});

/** smoothtime without the directive: refused as chronyd refuses it. */
async function withDaemonRefusal(): Promise<string> {
  let err = '';
  await withNtpkitDaemon(`server ${SILENT} iburst`, async (socket) => {
    const r = await runCaptured(['smoothtime', 'reset', '--socket', socket]);
    assert.equal(r.code, 1);
    err = r.err;
  });
  return err;
}
