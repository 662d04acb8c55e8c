/**
 * chrony's `user`: a daemon started as root gives root up once everything
 * privileged is done (sockets bound, clock taken, memory locked), keeping
 * only the capabilities chronyd 4.3 keeps (sys_linux.c SYS_Linux_DropRoot),
 * so a flaw in packet handling cannot be turned into root on the host.
 */
import { commandEndpoints } from '../config/command-endpoints.js';
import { chownSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, resolve } from 'node:path';
import { loadNative } from '../clock/native.js';
import type { Config } from '../config/config.js';

/** linux/capability.h's numbers of the three capabilities chronyd may keep. */
export const CAPABILITY = Object.freeze({ NET_BIND_SERVICE: 10, NET_RAW: 13, SYS_TIME: 25 } as const);

export interface TargetUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/**
 * The user to drop to, or null when nothing is to be dropped: no `user`,
 * not running as root, or a user whose uid and gid are both 0 (chronyd's
 * test in main.c). Throws when the user cannot be looked up.
 */
export function userToDropTo(config: Config): TargetUser | null {
  const name = config.process.user;
  if (name === null || process.geteuid?.() !== 0) return null;
  const n = loadNative();
  const lookup = n.ok ? n.addon.userByName : undefined;
  if (!n.ok || lookup === undefined) throw new Error(`Could not get user/group ID of ${name}: ${n.ok ? 'the native addon has no userByName() (stale build?)' : n.reason}`);
  const pw = lookup.call(n.addon, name);
  // chronyd's words (main.c).
  if (pw === null) throw new Error(`Could not get user/group ID of ${name}`);
  return pw.uid === 0 && pw.gid === 0 ? null : { name, uid: pw.uid, gid: pw.gid };
}

/** Whether `kernel` (os.release()) is at least major.minor. */
function kernelAtLeast(kernel: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(kernel);
  if (m === null) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

/**
 * What chronyd 4.3 keeps: CAP_NET_BIND_SERVICE while the NTP port is
 * privileged (a reload may bind it again), CAP_NET_RAW with a bound device
 * before Linux 5.7 (SO_BINDTODEVICE needed it then), CAP_SYS_TIME when it
 * controls the system clock.
 */
export function keptCapabilities(config: Config, clockControl: boolean, kernel: string = release()): number[] {
  const caps: number[] = [];
  const port = config.server.port;
  if (port > 0 && port < 1024) caps.push(CAPABILITY.NET_BIND_SERVICE);
  if ((config.server.bindDevice !== null || config.acquisition.device !== null) && !kernelAtLeast(kernel, 5, 7)) caps.push(CAPABILITY.NET_RAW);
  if (clockControl) caps.push(CAPABILITY.SYS_TIME);
  return caps;
}

/**
 * chronyd's CNF_CreateDirs: the directories the daemon writes to after the
 * drop (the control sockets', logdir, ntsdumpdir, dumpdir) are made when missing,
 * the last level owned by the user and its parents by root (0755), so the
 * daemon can still create and remove its files there. A directory that
 * exists is left as it is, as chronyd leaves it.
 */
export function createDirsFor(config: Config, user: TargetUser, log: (line: string) => void): void {
  const dirs: { readonly path: string; readonly mode: number }[] = [];
  if (config.controlsocket.startsWith('/')) dirs.push({ path: dirname(config.controlsocket), mode: 0o770 });
  const chronyc = commandEndpoints(config.command).socketPath;
  if (chronyc !== null) dirs.push({ path: dirname(chronyc), mode: 0o770 });
  if (config.logdir !== null) dirs.push({ path: config.logdir, mode: 0o750 });
  if (config.server.nts.dumpDir !== null) dirs.push({ path: config.server.nts.dumpDir, mode: 0o750 });
  if (config.process.dumpdir !== null) dirs.push({ path: config.process.dumpdir, mode: 0o750 });
  for (const { path, mode } of dirs) createOwnedDir(resolve(path), mode, user, log);
}

function createOwnedDir(path: string, mode: number, user: TargetUser, log: (line: string) => void): void {
  try {
    if (statSync(path).isDirectory()) return;
    log(`${path} is not directory`);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') { log(`Could not access ${path} : ${(e as Error).message}`); return; }
  }
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    mkdirSync(path, { mode });
  } catch (e) {
    log(`Could not create directory ${path} : ${(e as Error).message}`);
    return;
  }
  try {
    chownSync(path, user.uid, user.gid);
  } catch (e) {
    log(`Could not change ownership of ${path} : ${(e as Error).message}`);
    // As chronyd: not left behind with the wrong owner.
    try { rmdirSync(path); } catch { /* nothing more to undo */ }
  }
}

export type DropOutcome = { readonly ok: true } | { readonly ok: false; readonly message: string };

/** setgroups, setgid, setuid to `user`, keeping exactly keptCapabilities(); chronyd's fatal messages on failure. */
export function dropRoot(config: Config, user: TargetUser, clockControl: boolean, log: (line: string) => void): DropOutcome {
  const n = loadNative();
  const drop = n.ok ? n.addon.dropRoot : undefined;
  if (!n.ok || drop === undefined) return { ok: false, message: `Cannot drop root privileges: ${n.ok ? 'the native addon has no dropRoot() (stale build?)' : n.reason}` };
  const r = drop.call(n.addon, user.uid, user.gid, keptCapabilities(config, clockControl));
  if (!r.ok) {
    const what = r.step === 'setgid' ? `setgid(${user.gid})` : r.step === 'setuid' ? `setuid(${user.uid})` : `${r.step}()`;
    return { ok: false, message: `${what} failed : ${r.error}` };
  }
  log(`Dropped root privileges: UID ${user.uid} GID ${user.gid} (${user.name})`);
  return { ok: true };
}
