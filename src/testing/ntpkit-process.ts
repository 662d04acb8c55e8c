/**
 * The ntpkit CLI of this build tree as a child process, and what /proc tells
 * about such a process: its resident memory and the TCP ports it listens on.
 */
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchSnapshot } from '../control/commands.js';
import { type ManagedProcess, pollFor, type SpawnOptions, spawnManaged } from './process.js';

/**
 * `ntpkit ARGS` from this build tree (bin/ntpkit.js would run dist/, which
 * may be another build), stopped by PID like any managed process.
 */
export function spawnNtpkit(args: readonly string[], opts: SpawnOptions = {}): Promise<ManagedProcess> {
  const main = new URL('../cli/main.js', import.meta.url).href;
  const code = `import { run } from ${JSON.stringify(main)}; process.exitCode = await run(process.argv.slice(1));`;
  return spawnManaged(process.execPath, ['--input-type=module', '-e', code, ...args], { cwd: fileURLToPath(new URL('.', import.meta.url)), ...opts });
}

/**
 * The config lines that give a test daemon its JSON control socket at
 * `socket` and nothing of chronyc's (no command socket, no command port),
 * so that tests never reach for the system's /run/chrony or port 323.
 */
export function controlOnlyConfig(socket: string): string {
  return `controlsocket ${socket}\nbindcmdaddress /\ncmdport 0\n`;
}

/**
 * `ntpkit daemon --clock virtual` with the config `lines` (given the temp
 * dir, for files in it) and a control socket DIR/ntpkit.sock, for the time
 * `fn` runs: started, waited for until its socket answers, stopped by PID,
 * its dir removed.
 */
export async function withNtpkitDaemon(
  lines: string | ((dir: string) => string | Promise<string>),
  fn: (socket: string, dir: string, daemon: ManagedProcess) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-daemon-'));
  try {
    const socket = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `${typeof lines === 'string' ? lines : await lines(dir)}\n${controlOnlyConfig(socket)}`);
    const d = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    try {
      await pollFor('the control socket', async () => (await fetchSnapshot(socket).then(() => true, () => undefined)), 30_000, () => d.logs());
      await fn(socket, dir, d);
    } finally {
      await d.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** How far a running daemon's clock (its snapshot's time) is ahead of this process's realtime, seconds: the effect of a step or slew on a virtual clock. */
export async function daemonClockAhead(socket: string): Promise<number> {
  const before = Date.now();
  const snap = await fetchSnapshot(socket);
  const after = Date.now();
  // snapshot.time: the daemon's clock, Unix seconds.
  return (Number(snap.time) * 1000 - (before + after) / 2) / 1000;
}

/** VmRSS of a process, in bytes, from /proc/PID/status. */
export async function residentBytes(pid: number): Promise<number> {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS in /proc/${pid}/status (a zombie?)`);
  return Number(m[1]) * 1024;
}

/** Socket inodes of a process's open descriptors (`socket:[INODE]` links in /proc/PID/fd). */
async function socketInodes(pid: number): Promise<Set<string>> {
  const out = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m !== null) out.add(m[1] as string);
  }
  return out;
}

/** TCP state LISTEN in /proc/net/tcp{,6} (include/net/tcp_states.h). */
const TCP_LISTEN = '0A';

/**
 * The TCP sockets a process listens on, IPv4 and IPv6, as `ADDRESS:PORT`
 * with the address in /proc's hex (e.g. `0100007F:2501`), matched by inode
 * between /proc/PID/net/tcp{,6} and the process's descriptors.
 */
export async function listeningTcpSockets(pid: number): Promise<string[]> {
  const inodes = await socketInodes(pid);
  const out: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[3] === TCP_LISTEN && inodes.has(f[9] as string)) out.push(`${table} ${f[1] as string}`);
    }
  }
  return out;
}
