/**
 * The daemon's configuration: one typed, deep-frozen Config, whichever file
 * format it came from (chrony.conf or ntp.conf). Errors and warnings carry
 * `file:line`; a config with any error yields no Config at all, so the daemon
 * never starts half-configured: an operator's typo must not leave the clock
 * disciplined by half of what was meant.
 */
import type { AccessRuleConfig } from './server-config.js';
import { type DisciplineOptions } from '../core/engine/engine-api.js';
import { type RefclockOptions } from '../core/engine/refclock-options.js';
import { type SourceOptions } from '../core/engine/source-options.js';
import { type ConfigDiagnostic } from './diagnostics.js';
import { type ServerConfig } from './server-config.js';
import { type ProcessOptions } from './process-options.js';

export type { ConfigDiagnostic } from './diagnostics.js';
export type { ServerConfig } from './server-config.js';

export type ConfigFormat = 'chrony' | 'ntp';

/** One `server`/`pool`/`peer` line and where it was written. */
export interface ConfiguredSource {
  readonly options: SourceOptions;
  readonly file: string;
  readonly line: number;
}

/** One `refclock` line and where it was written. */
export interface ConfiguredRefclock {
  readonly options: RefclockOptions;
  readonly file: string;
  readonly line: number;
}

/** Everything the daemon needs from its config file(s). */
/**
 * Where the daemon's client socket is bound, one per address family. Port 0
 * and no address: the kernel picks an ephemeral port on every address.
 */
export interface AcquisitionConfig {
  readonly port: number;
  /** At most one IPv4 and one IPv6 address (bindacqaddress, one per family). */
  readonly addresses: readonly string[];
  /** chrony `bindacqdevice`: the interface the client socket is bound to (SO_BINDTODEVICE); null: none. */
  readonly device: string | null;
}

export const ACQUISITION_DEFAULTS: AcquisitionConfig = Object.freeze({ port: 0, addresses: Object.freeze([]), device: null });

export interface Config {
  readonly format: ConfigFormat;
  /** Every file read, in order (the main file, then include/confdir/sourcedir/includefile files as met). */
  readonly files: readonly string[];
  readonly sources: readonly ConfiguredSource[];
  /** `refclock` lines (chrony.conf only), in order. */
  readonly refclocks: readonly ConfiguredRefclock[];
  /** initialFrequencyPpm/initialSkewPpm stay null here: the daemon fills them from the drift file. */
  readonly discipline: DisciplineOptions;
  readonly driftfile: string | null;
  /**
   * The NTP server side, with chrony's meaning: port 123 by default, but
   * nothing is served until an `allow` permits it. ntp.conf's "serve everyone
   * unless restricted" is translated into explicit allow/deny rules.
   */
  readonly server: ServerConfig;
  /**
   * ntpkit `controlsocket`: Unix socket path of ntpkit's own JSON control
   * socket (default '/run/ntpkit/ntpkit.sock'). '/' disables it.
   */
  readonly controlsocket: string;
  /** Where chronyc's command protocol is served: chrony's bindcmdaddress, cmdport, cmdallow/cmddeny and cmdratelimit. */
  readonly command: CommandConfig;
  /** chrony `acquisitionport` and `bindacqaddress`: where the client socket that polls the sources is bound. */
  readonly acquisition: AcquisitionConfig;
  readonly logdir: string | null;
  /** chrony `log measurements statistics tracking ...` (ntp.conf `statistics` mapped to the same names). */
  readonly log: readonly string[];
  /** chrony `logbanner`: the column banner is written before every this many entries of each log file (default 32; 0: never). */
  readonly logbanner: number;
  /** chrony `leapsectz` (a tz database zone such as right/UTC), or null. */
  readonly leapsectz: string | null;
  /** A leap-seconds.list file: chrony 4.5+ `leapseclist`, ntp.conf `leapfile`; or null. */
  readonly leapseclist: string | null;
  /** ntp.conf `logfile`: where ntpd would write its own log; null: stderr (systemd style). */
  readonly logfile: string | null;
  /** chrony `keyfile` / ntp.conf `keys`: symmetric keys for `key N` (used by the security issue), or null. */
  readonly keyfile: string | null;
  /**
   * ntpkit `httpaddress ADDRESS [PORT]` (both formats; chrony has no such
   * directive): where the daemon serves Prometheus metrics (/metrics) and its
   * dashboard (/). Null: not served. Port 0 picks a free port (tests).
   */
  readonly httpaddress: HttpAddress | null;
  /**
   * ntpkit `httphost NAME...` (both formats): names the HTTP server answers
   * to besides its bound address (and `localhost` on loopback), as the
   * Host header carries them: lower case, no port. Other Hosts get 421, so a
   * page on another site cannot read the dashboard through DNS rebinding.
   */
  readonly httphosts: readonly string[];
  /**
   * Where the directives naming files and addresses were written, so that a
   * problem found when the daemon loads them (a missing key file, a bad
   * certificate) points at the line: see originOf().
   */
  readonly origins: Readonly<Record<string, ConfigOrigin>>;
  /** The daemon process: PID file, memory locking, rtcsync, manual, hwtimestamp (process-options.ts). */
  readonly process: ProcessOptions;
}

/**
 * chronyd's command endpoints, with chrony's meaning: the Unix datagram
 * socket (every command) and the UDP port (monitoring, from the addresses
 * cmdallow permits). commandEndpoints() turns `bind` into what to open.
 */
export interface CommandConfig {
  /** chrony `bindcmdaddress`, each value as written: Unix socket paths (`/` disables) and IP addresses; the last of each kind counts, as in chronyd. */
  readonly bind: readonly string[];
  /** chrony `cmdport` (default 323); 0 closes the UDP command port (the Unix socket stays). */
  readonly port: number;
  /** chrony `cmdallow` / `cmddeny`, in order: which other hosts may use the UDP port (127.0.0.1 and ::1 always may). */
  readonly access: readonly AccessRuleConfig[];
}

export interface ConfigOrigin {
  readonly file: string;
  readonly line: number;
}

/**
 * Directives that may be given several times, each naming one file or
 * address: their origin is kept per value.
 */
const LISTED = new Set(['ntsservercert', 'ntsserverkey', 'ntstrustedcerts', 'bindaddress']);

/** The key under which `origins` holds where `what` (a Config field or chrony directive name) was written, with `value` for listed ones. */
export function originKey(what: string, value: string | undefined): string {
  return LISTED.has(what) ? `${what} ${value ?? ''}` : what;
}

/** Where `what` (with `value`, for directives given several times) was written, or null. */
export function originOf(c: Config, what: string, value?: string): ConfigOrigin | null {
  return c.origins[originKey(what, value)] ?? null;
}

export interface HttpAddress {
  readonly address: string;
  readonly port: number;
}

/** The port of `httpaddress` when the directive gives none. */
export const DEFAULT_HTTP_PORT = 9473;

export interface ConfigResult {
  /** Null whenever `errors` is non-empty. */
  readonly config: Config | null;
  readonly errors: readonly ConfigDiagnostic[];
  readonly warnings: readonly ConfigDiagnostic[];
}

/** chrony's default `logbanner`. */
export const DEFAULT_LOGBANNER = 32;

/** ntpkit's own JSON control socket, unless `controlsocket` names another. */
export const DEFAULT_CONTROLSOCKET = '/run/ntpkit/ntpkit.sock';
/** chronyd's command socket (Debian's build), where chronyc looks unless told otherwise. */
export const DEFAULT_CHRONY_CMD_SOCKET = '/run/chrony/chronyd.sock';
/** chronyd's UDP command addresses when no bindcmdaddress names one. */
export const DEFAULT_CMD_ADDRESSES: readonly string[] = ['127.0.0.1', '::1'];
export const DEFAULT_CMDPORT = 323;

/** File access for include/confdir/includefile, injected so parsing stays testable without a disk. */
export interface ConfigFileAccess {
  /** Reads a file as UTF-8; throws (an errno-style error) if it cannot. */
  readonly readFile?: (path: string) => string;
  /** Lists a directory's entry names; throws if it cannot. */
  readonly listDir?: (path: string) => string[];
}

export interface ParseConfigOptions extends ConfigFileAccess {
  readonly format?: ConfigFormat;
}
