/**
 * chrony's `user` on the real daemon process: started as root with `user
 * nobody`, it runs as nobody with exactly the capabilities chronyd 4.3 keeps,
 * and still serves NTP (ntpdig), answers its control socket and cleans up
 * after itself. The clock side (CAP_SYS_TIME kept, the clock still
 * disciplined after the drop) is in User-mode Linux: user-uml.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNative } from '../clock/native.js';
import { findTool, type ManagedProcess, pollFor, requireTool, runNtpdig, spawnManaged, spawnNtpkit } from '../testing/index.js';

/** This file's loopback address (port 123). */
const SERVER = '127.0.31.1';

function nobody(): { uid: number; gid: number } {
  const n = loadNative();
  const pw = n.ok ? n.addon.userByName?.('nobody') ?? null : null;
  assert.ok(pw !== null, 'the addon resolves nobody');
  return pw;
}

/** /proc/PID/status's field as its words (Uid: real, effective, saved, fs). */
async function statusField(pid: number, name: string): Promise<string[]> {
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m !== null, `${name} in /proc/${pid}/status`);
  return (m[1] as string).trim().split(/\s+/).filter((w) => w !== '');
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-h15b-'));
  // nobody must reach the directories the daemon creates for it inside.
  await chmod(dir, 0o755);
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function exited(d: ManagedProcess): Promise<{ code: number | null }> {
  return pollFor('the daemon to exit', () => d.exitStatus(), 30_000, () => d.logs());
}

test('user nobody: the daemon started as root runs as nobody with only CAP_NET_BIND_SERVICE, and still serves NTP and its control socket', { timeout: 120_000 }, async (t) => {
  if (process.geteuid?.() !== 0) { t.skip('needs root to drop it'); return; }
  if (!requireTool(t, 'ntpdig')) return;
  await withDir(async (dir) => {
    const socket = join(dir, 'run', 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    // local: served as synchronized, so ntpdig takes the reply.
    await writeFile(conf, [
      'local stratum 10', `bindaddress ${SERVER}`, 'allow 127.0.0.0/8', `controlsocket ${socket}`, 'bindcmdaddress /', 'cmdport 0',
      `logdir ${join(dir, 'log')}`, 'user nobody', '',
    ].join('\n'));
    const d = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual', '--http', 'off']);
    try {
      await pollFor('the drop', () => (/Dropped root privileges/.test(d.logs()) ? true : d.exitStatus() !== undefined ? false : undefined), 30_000, () => d.logs());
      assert.match(d.logs(), /Dropped root privileges: UID \d+ GID \d+ \(nobody\)/);
      const { uid, gid } = nobody();
      assert.deepEqual(await statusField(d.pid, 'Uid'), [uid, uid, uid, uid].map(String), 'real, effective, saved and fs uid');
      assert.deepEqual(await statusField(d.pid, 'Gid'), [gid, gid, gid, gid].map(String));
      assert.deepEqual(await statusField(d.pid, 'Groups'), [], 'no supplementary group left');
      // Port 123 is privileged: CAP_NET_BIND_SERVICE (bit 10) alone, as chronyd -x keeps it (no CAP_SYS_TIME without clock control).
      assert.equal(BigInt(`0x${(await statusField(d.pid, 'CapEff'))[0] as string}`), 1n << 10n);
      assert.equal(BigInt(`0x${(await statusField(d.pid, 'CapPrm'))[0] as string}`), 1n << 10n);
      assert.equal(BigInt(`0x${(await statusField(d.pid, 'CapInh'))[0] as string}`), 0n);

      const r = await runNtpdig({ server: SERVER, timeoutSeconds: 2 });
      assert.ok(r.ok, `ntpdig: ${r.stdout}${r.stderr}\n${d.logs()}`);
      assert.equal(r.stratum, 10);

      const tracking = await spawnNtpkit(['tracking', '--socket', socket]);
      assert.equal((await exited(tracking)).code, 0, tracking.logs());
      assert.match(tracking.logs(), /^Reference ID {4}: .*\n^Stratum {9}: \d+\n/m, 'the tracking report, from the daemon');

      // Made for the user, as chronyd's CNF_CreateDirs makes them.
      for (const sub of ['run', 'log']) assert.equal((await stat(join(dir, sub))).uid, uid, `${sub} owned by nobody`);
    } finally {
      const status = await d.stop();
      assert.equal(status.code, 0, d.logs());
    }
    // Removed by nobody at exit: its directory is the daemon's.
    assert.equal(existsSync(socket), false, d.logs());
  });
});

test('user: a user this machine does not know stops the start at its line; nothing is served', { timeout: 60_000 }, async () => {
  await withDir(async (dir) => {
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `local stratum 10\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\nuser ntpkit-no-such-user\n`);
    const d = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual', '--http', 'off']);
    try {
      assert.notEqual((await exited(d)).code, 0, d.logs());
      assert.match(d.logs(), new RegExp(`${conf.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:5: user ntpkit-no-such-user: no such user on this machine`));
      assert.doesNotMatch(d.logs(), /Started with|Serving NTP/);
    } finally {
      await d.stop();
    }
  });
});

test('user: a drop that fails (no CAP_SETGID) stops the daemon with chronyd\'s message and a failure status', { timeout: 60_000 }, async (t) => {
  if (process.geteuid?.() !== 0) { t.skip('needs root to drop it'); return; }
  if (!requireTool(t, 'setpriv')) return;
  await withDir(async (dir) => {
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `local stratum 10\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\nport 0\nuser nobody\n`);
    // Still uid 0, but without CAP_SETGID and CAP_SETUID after the exec (out of the bounding and inheritable sets).
    const main = new URL('./main.js', import.meta.url).href;
    const code = `import { run } from ${JSON.stringify(main)}; process.exitCode = await run(process.argv.slice(1));`;
    const d = await spawnManaged(findTool('setpriv') as string, [
      '--bounding-set', '-setgid,-setuid', '--inh-caps', '-setgid,-setuid', '--',
      process.execPath, '--input-type=module', '-e', code, 'daemon', '-f', conf, '--clock', 'virtual', '--http', 'off',
    ]);
    try {
      assert.notEqual((await exited(d)).code, 0, d.logs());
      assert.match(d.logs(), /Stopping: setgroups\(\) failed : Operation not permitted/);
      assert.doesNotMatch(d.logs(), /Dropped root privileges/);
    } finally {
      await d.stop();
    }
  });
});
