/**
 * Which other programs steer CLOCK_REALTIME right now, found from running
 * processes (the seeds' `ps -C chronyd,ntpd` step, made exact). Only one
 * program may discipline a clock: two would fight, each undoing the other's
 * corrections.
 *
 * Every read goes through a {@link ProcessProbe}, so tests feed fake /proc
 * trees. The rules name a process only when it controls the system clock:
 * `chronyd -x` and `chronyd -Q` never touch it, ptp4l steers a NIC's clock
 * unless told to use software timestamps (-S), phc2sys only when its target
 * (-c, or -r in automatic mode) is CLOCK_REALTIME, and an `ntpkit daemon` on
 * the virtual clock leaves the system clock alone.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** What the process scan reads. */
export interface ProcessProbe {
  /** PIDs of the running processes (the numeric entries of /proc). */
  pids(): readonly number[];
  /** /proc/PID/comm without its newline (the kernel cuts it to 15 bytes), or undefined. */
  comm(pid: number): string | undefined;
  /** /proc/PID/cmdline split at NULs; empty for kernel threads, undefined when unreadable. */
  cmdline(pid: number): readonly string[] | undefined;
  /** The target of /proc/PID/exe, or undefined (other users' processes are unreadable without privileges). */
  exe(pid: number): string | undefined;
  /** /proc/PID/cgroup text: it names the systemd unit a daemon runs in. */
  cgroup(pid: number): string | undefined;
  /** This process, which is never reported. */
  readonly self: number;
}

function readOr<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** This machine's /proc. */
export function hostProcessProbe(proc = '/proc'): ProcessProbe {
  return {
    pids: () => (readOr(() => readdirSync(proc)) ?? []).filter((n) => /^\d+$/.test(n)).map(Number),
    comm: (pid) => readOr(() => readFileSync(`${proc}/${pid}/comm`, 'utf8').replace(/\n$/, '')),
    cmdline: (pid) => readOr(() => splitCmdline(readFileSync(`${proc}/${pid}/cmdline`, 'utf8'))),
    exe: (pid) => readOr(() => readlinkSync(`${proc}/${pid}/exe`)),
    cgroup: (pid) => readOr(() => readFileSync(`${proc}/${pid}/cgroup`, 'utf8')),
    self: process.pid,
  };
}

/** /proc/PID/cmdline: NUL-separated, NUL-terminated. A process that rewrote its title (openntpd) may use spaces instead. */
export function splitCmdline(raw: string): string[] {
  const parts = raw.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

export type TimeDaemonKind = 'chronyd' | 'ntpd' | 'ntpsec' | 'openntpd' | 'systemd-timesyncd' | 'ptp4l' | 'phc2sys' | 'ntpkit';

export interface TimeDaemonProcess {
  readonly kind: TimeDaemonKind;
  readonly pid: number;
  /** The command line as read (or the comm name), for the message. */
  readonly command: string;
  /** The systemd unit it runs in (from /proc/PID/cgroup), e.g. `chrony.service`; null when not under systemd. */
  readonly unit: string | null;
}

const basename = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** The systemd service a process belongs to: the last `NAME.service` in its cgroup path. */
export function systemdUnit(cgroup: string | undefined): string | null {
  if (cgroup === undefined) return null;
  let unit: string | null = null;
  for (const line of cgroup.split('\n')) {
    const path = line.split(':').slice(2).join(':');
    for (const m of path.matchAll(/([^/]+\.service)(?=\/|$)/g)) unit = m[1] as string;
    if (unit !== null) break;
  }
  return unit;
}

/** An option given as `-x`, or bundled with other single-letter flags (`-dx`). Long options are not bundles. */
function hasShortFlag(args: readonly string[], letter: string): boolean {
  return args.some((a) => /^-[A-Za-z]+$/.test(a) && a.includes(letter));
}

/** The value of a short option given as `-c VALUE` or `-cVALUE`. */
function shortValue(args: readonly string[], letter: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === `-${letter}`) return args[i + 1];
    if (a.startsWith(`-${letter}`) && a.length > 2 && !a.startsWith('--')) return a.slice(2);
  }
  return undefined;
}

/**
 * NTPsec installs its daemon as `ntpd` too. It gives itself away by its paths
 * (Debian's /etc/ntpsec/, /usr/sbin/ntpd from the ntpsec package keeps
 * `ntpsec` in the unit name, RHEL's ntpsec.service) where the command line or
 * the unit shows them; otherwise the classic ntpd is assumed.
 */
function ntpFlavour(text: string, unit: string | null): 'ntpd' | 'ntpsec' | 'openntpd' {
  const all = `${text} ${unit ?? ''}`;
  if (/openntpd|ntp engine|dns engine|\[priv\]/.test(all)) return 'openntpd';
  if (/ntpsec/.test(all)) return 'ntpsec';
  return 'ntpd';
}

/** One process judged; null when it does not control the system clock. */
export function classifyProcess(p: { pid: number; comm: string | undefined; cmdline: readonly string[] | undefined; exe: string | undefined; cgroup?: string | undefined }): TimeDaemonProcess | null {
  const args = p.cmdline ?? [];
  const argv0 = args[0] !== undefined ? basename(args[0].split(' ')[0] as string) : '';
  const names = new Set([p.comm ?? '', argv0, p.exe !== undefined ? basename(p.exe.replace(/ \(deleted\)$/, '')) : ''].filter((n) => n !== ''));
  const rest = args.slice(1);
  const text = args.length > 0 ? args.join(' ') : (p.comm ?? '');
  const unit = systemdUnit(p.cgroup);
  const found = (kind: TimeDaemonKind): TimeDaemonProcess => ({ kind, pid: p.pid, command: text, unit });

  if (names.has('chronyd')) {
    // -x: never touches the clock; -Q: prints the offset and exits.
    return hasShortFlag(rest, 'x') || hasShortFlag(rest, 'Q') ? null : found('chronyd');
  }
  if (names.has('ntpd') || names.has('ntpsec')) {
    return found(ntpFlavour(text, unit));
  }
  if (names.has('openntpd')) return found('openntpd');
  // comm is cut to 15 bytes: "systemd-timesyn".
  if (names.has('systemd-timesyncd') || names.has('systemd-timesyn')) return found('systemd-timesyncd');
  if (names.has('ptp4l')) {
    // With hardware timestamps ptp4l steers the NIC's PHC; -S (software timestamping) makes it steer CLOCK_REALTIME.
    return hasShortFlag(rest, 'S') ? found('ptp4l') : null;
  }
  if (names.has('phc2sys')) {
    const target = shortValue(rest, 'c');
    if (target !== undefined) return target === 'CLOCK_REALTIME' ? found('phc2sys') : null;
    // -a: automatic configuration, which includes the system clock only with -r; otherwise -c defaults to CLOCK_REALTIME.
    if (hasShortFlag(rest, 'a')) return hasShortFlag(rest, 'r') ? found('phc2sys') : null;
    return found('phc2sys');
  }
  if (isNtpkitClockOwner(args)) return found('ntpkit');
  return null;
}

/**
 * `ntpkit daemon` not on the virtual clock (auto may pick the system clock),
 * or `ntpkit sync` that is not a dry run. ntpkit runs as `node .../ntpkit ...`
 * or as the `ntpkit` shim itself.
 */
function isNtpkitClockOwner(args: readonly string[]): boolean {
  const at = args.findIndex((a) => basename(a) === 'ntpkit' || basename(a) === 'ntpkit.js');
  if (at < 0) return false;
  const rest = args.slice(at + 1);
  const command = rest.find((a) => !a.startsWith('-'));
  if (command === 'daemon') {
    const virtual = rest.some((a, i) => a === '--clock=virtual' || (a === '--clock' && rest[i + 1] === 'virtual')) ||
      rest.some((a) => a.startsWith('--virtual-offset') || a.startsWith('--virtual-freq'));
    return !virtual;
  }
  if (command === 'sync') return !rest.includes('--dry-run');
  return false;
}

/**
 * The running processes that control the system clock, ourselves excluded.
 * OpenNTPD's unprivileged engine processes are folded into their parent's
 * finding (one daemon, one line).
 */
export function findTimeDaemons(probe: ProcessProbe = hostProcessProbe()): TimeDaemonProcess[] {
  const out: TimeDaemonProcess[] = [];
  for (const pid of [...probe.pids()].sort((a, b) => a - b)) {
    if (pid === probe.self) continue;
    const cmdline = probe.cmdline(pid);
    if (cmdline !== undefined && cmdline.length === 0) continue; // kernel thread
    const hit = classifyProcess({ pid, comm: probe.comm(pid), cmdline, exe: probe.exe(pid), cgroup: probe.cgroup(pid) });
    if (hit === null) continue;
    if (hit.kind === 'openntpd' && /ntp engine|dns engine|constraint/.test(hit.command) && out.some((o) => o.kind === 'openntpd')) continue;
    out.push(hit);
  }
  return out;
}

/** The unit each daemon's packages install, for when the process is not under systemd (or /proc hides its cgroup). */
const DEFAULT_UNITS: Readonly<Record<TimeDaemonKind, string>> = {
  chronyd: 'chrony',
  ntpd: 'ntp',
  ntpsec: 'ntpsec',
  openntpd: 'openntpd',
  'systemd-timesyncd': 'systemd-timesyncd',
  ptp4l: 'ptp4l',
  phc2sys: 'phc2sys',
  ntpkit: 'ntpkit',
};

const DISPLAY: Readonly<Record<TimeDaemonKind, string>> = {
  chronyd: 'chronyd',
  ntpd: 'ntpd (classic NTP)',
  ntpsec: 'ntpd (NTPsec)',
  openntpd: 'OpenNTPD',
  'systemd-timesyncd': 'systemd-timesyncd',
  ptp4l: 'ptp4l (with software timestamping, -S)',
  phc2sys: 'phc2sys (steering CLOCK_REALTIME)',
  ntpkit: 'another ntpkit',
};

/** How to stop the daemon now and keep it from starting at boot. */
export function howToStop(d: Pick<TimeDaemonProcess, 'kind' | 'pid' | 'unit'>): string {
  if (d.kind === 'systemd-timesyncd') return 'timedatectl set-ntp false (or: systemctl disable --now systemd-timesyncd)';
  if (d.unit !== null) return `systemctl disable --now ${d.unit.replace(/\.service$/, '')}`;
  switch (d.kind) {
    case 'chronyd':
      return 'systemctl disable --now chrony (Debian/Ubuntu) or chronyd (RHEL/Fedora)';
    case 'ntpd':
      return 'systemctl disable --now ntp (Debian/Ubuntu) or ntpd (RHEL/CentOS)';
    case 'ntpkit':
      return `systemctl disable --now ntpkit, or stop PID ${d.pid} (kill ${d.pid})`;
    default:
      return `systemctl disable --now ${DEFAULT_UNITS[d.kind]}`;
  }
}

/** One line for a refusal: what runs, which PID, and how to stop it. */
export function describeTimeDaemon(d: TimeDaemonProcess): string {
  const unit = d.unit !== null ? `, unit ${d.unit}` : '';
  return `${DISPLAY[d.kind]} is running (PID ${d.pid}${unit}: ${d.command.length > 100 ? `${d.command.slice(0, 97)}...` : d.command}); stop and disable it with: ${howToStop(d)}`;
}
