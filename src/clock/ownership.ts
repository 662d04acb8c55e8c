/**
 * May this process take the system clock? Before the daemon (`--clock
 * system`) or `ntpkit sync` changes CLOCK_REALTIME, it looks for every
 * other owner: time daemons among the running processes (time-daemons.ts),
 * signs in the kernel's adjtimex state that someone disciplines the clock
 * (kernel-status.ts: the only evidence visible from a PID namespace), the
 * PID lock file another ntpkit holds, and a container, whose kernel clock
 * belongs to the host. Each finding says how to resolve it; `--force`
 * turns findings into logged warnings.
 */
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type ContainerInfo, type EnvironmentProbe, detectContainer, hostProbe } from './environment.js';
import { type KernelTimeStatus, kernelDisciplineEvidence, readKernelTimeStatus } from './kernel-status.js';
import { type ProcessProbe, type TimeDaemonProcess, describeTimeDaemon, findTimeDaemons, hostProcessProbe } from './time-daemons.js';

/** Where the daemon on the system clock records its PID (systemd's RuntimeDirectory=ntpkit creates /run/ntpkit). */
export const DEFAULT_CLOCK_LOCK = '/run/ntpkit/ntpkit.pid';

/** The lock file: NTPKIT_LOCK_FILE when set (tests, several roots), else {@link DEFAULT_CLOCK_LOCK}. */
export function clockLockPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const v = env.NTPKIT_LOCK_FILE;
  return v !== undefined && v !== '' ? v : DEFAULT_CLOCK_LOCK;
}

export type OwnershipFinding =
  | { readonly kind: 'process'; readonly daemon: TimeDaemonProcess; readonly message: string }
  | { readonly kind: 'kernel'; readonly message: string }
  | { readonly kind: 'lock'; readonly pid: number; readonly message: string }
  | { readonly kind: 'container'; readonly container: ContainerInfo; readonly message: string };

export interface OwnershipReport {
  /** True when nothing else owns the clock. */
  readonly clear: boolean;
  readonly findings: readonly OwnershipFinding[];
  /** Checks that could not run, and why (e.g. the kernel status without the native addon). */
  readonly skipped: readonly string[];
}

export interface OwnershipDeps {
  readonly processes?: ProcessProbe;
  /** The kernel's NTP state; throws when it cannot be read. */
  readonly kernel?: () => KernelTimeStatus;
  readonly environment?: EnvironmentProbe;
  readonly lockPath?: string;
  /** Whether a PID is alive (default: signal 0). */
  readonly pidAlive?: (pid: number) => boolean;
}

/**
 * The seeds' FAQ: "Never run chronyd or ntpd inside containers. Containers
 * share the host's time", which the host's daemon keeps.
 */
export function containerExplanation(c: ContainerInfo): string {
  return (
    `this is a container (${c.kind ?? 'other'}: ${c.evidence[0] ?? 'detected'}). A container shares the host kernel's clock, ` +
    `which the host's time daemon keeps; a second one in here would fight it over the clock of the host and of every container on it. ` +
    `Leave the system clock to the host; for time inside the container use the virtual clock (ntpkit daemon --clock virtual) or the library's synchronized clock`
  );
}

export function defaultPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The PID recorded in a lock file, or null when there is none or it is not a PID. */
export function readLockPid(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const n = Number(text.trim());
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** Looks for every other owner of the system clock. Reads only: takes no lock. */
export function checkClockOwnership(deps: OwnershipDeps = {}): OwnershipReport {
  const findings: OwnershipFinding[] = [];
  const skipped: string[] = [];
  const container = detectContainer(deps.environment ?? hostProbe());
  if (container.inContainer) findings.push({ kind: 'container', container, message: containerExplanation(container) });

  const daemons = findTimeDaemons(deps.processes ?? hostProcessProbe());
  for (const d of daemons) findings.push({ kind: 'process', daemon: d, message: describeTimeDaemon(d) });

  const lockPath = deps.lockPath ?? clockLockPath();
  const holder = readLockPid(lockPath);
  const self = (deps.processes ?? hostProcessProbe()).self;
  if (holder !== null && holder !== self && (deps.pidAlive ?? defaultPidAlive)(holder) && !daemons.some((d) => d.pid === holder)) {
    findings.push({ kind: 'lock', pid: holder, message: `another ntpkit (PID ${holder}) holds ${lockPath}: it controls the system clock; stop it first (systemctl stop ntpkit, or kill ${holder})` });
  }

  let status: KernelTimeStatus | undefined;
  try {
    status = (deps.kernel ?? readKernelTimeStatus)();
  } catch (e) {
    skipped.push(`the kernel's adjtimex state was not checked: ${(e as Error).message}`);
  }
  // A daemon already named explains the kernel's state; say it once.
  if (status !== undefined && daemons.length === 0) {
    for (const m of kernelDisciplineEvidence(status)) {
      findings.push({ kind: 'kernel', message: `${m}. If you stopped that daemon, disable it too; if none runs, --force overrides` });
    }
  }
  return { clear: findings.length === 0, findings, skipped };
}

/** The refusal text: every finding on its own line, then the way out. */
export function ownershipRefusal(what: string, report: OwnershipReport): string {
  const lines = [`Refusing to ${what}: another program controls the system clock, or this is not the place to control it.`];
  for (const f of report.findings) lines.push(`  - ${f.message}`);
  lines.push('Only one program may discipline a clock. Use --force to override (at your own risk).');
  return lines.join('\n');
}

/** The warning `--force` logs: what it overrode. */
export function ownershipOverride(report: OwnershipReport): string {
  return `--force: overriding ${report.findings.length} finding${report.findings.length === 1 ? '' : 's'}: ${report.findings.map((f) => f.message).join('; ')}`;
}

export type ClockLock =
  | { readonly ok: true; readonly path: string; release(): void }
  /** Held by a live process. */
  | { readonly ok: false; readonly path: string; readonly pid: number; readonly message: string }
  /** Could not be taken for another reason (no /run/ntpkit, permissions): the caller decides. */
  | { readonly ok: false; readonly path: string; readonly pid: null; readonly message: string };

/**
 * Takes the PID lock file: created exclusively (link(2)), so two ntpkits on one clock
 * cannot both get it. A lock left by a dead process (a crash, SIGKILL) is
 * removed and taken. release() removes it only while it still holds our PID.
 */
export function acquireClockLock(path: string = clockLockPath(), pidAlive: (pid: number) => boolean = defaultPidAlive, pid: number = process.pid): ClockLock {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  } catch (e) {
    return { ok: false, path, pid: null, message: `Cannot create ${dirname(path)} for the lock file: ${(e as Error).message}` };
  }
  // The PID is written to a private file first and linked into place: link()
  // fails with EEXIST like O_EXCL, and a reader never sees a half-written lock.
  const tmp = `${path}.${pid}.tmp`;
  try {
    // The name is guessable and a pidfile may sit in a directory others can write: a symlink
    // planted there must be removed, never followed (O_EXCL), or root would write through it.
    try { unlinkSync(tmp); } catch { /* none left over */ }
    writeFileSync(tmp, `${pid}\n`, { mode: 0o644, flag: 'wx' });
  } catch (e) {
    return { ok: false, path, pid: null, message: `Cannot create the lock file ${path}: ${(e as Error).message}` };
  }
  let taken = false;
  try {
    for (let attempt = 0; attempt < 3 && !taken; attempt++) {
      try {
        linkSync(tmp, path);
        taken = true;
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code !== 'EEXIST') return { ok: false, path, pid: null, message: `Cannot create the lock file ${path}: ${err.message}` };
        const holder = readLockPid(path);
        if (holder !== null && holder !== pid && pidAlive(holder)) {
          return { ok: false, path, pid: holder, message: `another ntpkit (PID ${holder}) holds ${path}: it controls the system clock` };
        }
        // Stale (a dead PID, or garbage): remove it and try again.
        try {
          unlinkSync(path);
        } catch (u) {
          if ((u as NodeJS.ErrnoException).code !== 'ENOENT') return { ok: false, path, pid: null, message: `Cannot remove the stale lock file ${path}: ${(u as Error).message}` };
        }
      }
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Nothing to clean up.
    }
  }
  if (!taken) return { ok: false, path, pid: null, message: `Cannot take the lock file ${path}: it keeps reappearing` };
  let held = true;
  return {
    ok: true,
    path,
    release: () => {
      if (!held) return;
      held = false;
      if (readLockPid(path) === pid) {
        try {
          unlinkSync(path);
        } catch {
          // Already gone: nothing to release.
        }
      }
    },
  };
}

export interface ClaimOptions {
  /** --force: findings become a logged warning. */
  readonly force: boolean;
  readonly log: (line: string) => void;
  readonly check?: () => OwnershipReport;
  readonly lock?: () => ClockLock;
}

export type Claim =
  | { readonly ok: true; readonly lock: (ClockLock & { readonly ok: true }) | null }
  | { readonly ok: false; readonly message: string };

/**
 * What the daemon does before it takes the system clock: look for other
 * owners (refuse, or with force log what is overridden), then hold the PID
 * lock for as long as it runs. A lock that cannot be created (no
 * /run/ntpkit, no permission) is logged and the daemon goes on: the process
 * scan still finds another ntpkit.
 */
export function claimSystemClock(opts: ClaimOptions): Claim {
  const report = (opts.check ?? (() => checkClockOwnership()))();
  for (const s of report.skipped) opts.log(`Note: ${s}`);
  if (!report.clear) {
    if (!opts.force) return { ok: false, message: ownershipRefusal('discipline the system clock', report) };
    opts.log(`Warning: ${ownershipOverride(report)}`);
  }
  const lock = (opts.lock ?? (() => acquireClockLock()))();
  if (lock.ok) return { ok: true, lock };
  if (lock.pid !== null && !opts.force) return { ok: false, message: `${lock.message}; stop it first (or --force)` };
  opts.log(`Warning: ${lock.message}; running without the lock file`);
  return { ok: true, lock: null };
}
