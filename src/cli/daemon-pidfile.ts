/**
 * chrony's `pidfile`: the daemon's PID, written before anything is opened and
 * removed at exit, and chronyd's refusal to start while the PID recorded
 * there is a running process, so a second daemon started by mistake (a unit
 * and a shell, two units) exits instead of fighting the first over the
 * sockets and the clock.
 */
import { acquireClockLock } from '../clock/ownership.js';
import type { Config } from '../config/config.js';

export type PidFile =
  | { readonly ok: true; release(): void }
  | { readonly ok: false; readonly message: string };

/** Takes `config.process.pidfile` (nothing to take without one). */
export function takePidFile(config: Config): PidFile {
  const path = config.process.pidfile;
  if (path === null) return { ok: true, release: () => {} };
  // The clock lock's exclusive create is exactly chronyd's check: a dead PID (a crash) is stale and replaced.
  const lock = acquireClockLock(path);
  if (lock.ok) return lock;
  // chronyd's words (main.c check_pidfile).
  if (lock.pid !== null) return { ok: false, message: `Another ntpkit may already be running (pid=${lock.pid}), check ${path}` };
  return { ok: false, message: lock.message.replace('lock file', 'PID file') };
}
