/**
 * The directives `ntpkit server` takes, with chrony's syntax and defaults
 * (chrony.conf(5)): port, bindaddress, allow, deny, local, ratelimit; plus
 * ntpkit's `xleave` switch. Other chrony directives are known and reported
 * as warnings, so a full chrony.conf loads; unknown ones are errors.
 */
import { type ConfigDiagnostic } from './diagnostics.js';
import { type ConfigLine } from './lexer.js';
import { isIP } from 'node:net';
import { parseSubnet } from '../core/server/access.js';
import { DEFAULT_RATE_LIMIT, RATE_LIMIT_RANGES, type RateLimitConfig } from '../core/server/ratelimit.js';
import { applyNtsDirective, newNtsConfigBuilder, NTS_DIRECTIVES, type NtsConfig, type NtsConfigBuilder, ntsConfigProblem } from './nts-config.js';

export interface AccessRuleConfig {
  readonly allow: boolean;
  /** `allow all` / `deny all`: also overrides earlier rules for subnets inside this one. */
  readonly all: boolean;
  /** The subnet as written (validated with core/server/access.ts parseSubnet); null: every address of both families. */
  readonly subnet: string | null;
  readonly file: string;
  readonly line: number;
}

export interface LocalConfig {
  readonly stratum: number;
  readonly orphan: boolean;
  readonly distance: number;
}

export interface ServerConfig {
  /** UDP port to serve on; 0 disables serving (chrony's meaning). */
  readonly port: number;
  /** Addresses to bind; empty means every address (0.0.0.0 and ::). */
  readonly bindAddresses: readonly string[];
  readonly access: readonly AccessRuleConfig[];
  readonly local: LocalConfig | null;
  readonly rateLimit: RateLimitConfig | null;
  /** Answer interleaved-mode requests (RFC 9769); chronyd always does. */
  readonly xleave: boolean;
  /** Send denied clients a DENY kiss-o'-death (rate limited) instead of ignoring them as chronyd does. */
  readonly denyKod: boolean;
  /**
   * `ntpkit server`'s chrony `keyfile` (symmetric keys to sign replies with),
   * or null. The daemon's key file is Config.keyfile, which it loads and hands
   * to the server itself; this one stays null there.
   */
  readonly keyfile: string | null;
  /** chrony's NTS directives: the NTS-KE server's certificate, keys and limits, and the trust settings of NTS sources. */
  readonly nts: NtsConfig;
}

export type { RateLimitConfig };

export const LOCAL_DEFAULTS: LocalConfig = { stratum: 10, orphan: false, distance: 1 };

/**
 * Every other chrony.conf directive (chrony 4.3 to 4.6): valid, but not used
 * by `ntpkit server`. The config still loads (so a chrony.conf works
 * unchanged) with a warning that names each one.
 */
export const OTHER_CHRONY_DIRECTIVES: ReadonlySet<string> = new Set([
  'acquisitionport', 'authselectmode', 'bindacqaddress', 'bindacqdevice', 'bindcmdaddress', 'bindcmddevice', 'binddevice', 'broadcast',
  'clientloglimit', 'clockprecision', 'cmdallow', 'cmddeny', 'cmdport', 'cmdratelimit', 'combinelimit', 'confdir',
  'corrtimeratio', 'driftfile', 'dscp', 'dumpdir', 'fallbackdrift', 'hwclockfile', 'hwtimestamp', 'hwtstimeout',
  'include', 'initstepslew', 'keyfile', 'leapsecmode', 'leapsectz', 'leapseclist', 'lock_all', 'log', 'logbanner',
  'logchange', 'logdir', 'mailonchange', 'makestep', 'manual', 'maxchange', 'maxclockerror', 'maxdistance', 'maxdrift',
  'maxjitter', 'maxsamples', 'maxslewrate', 'maxupdateskew', 'minsamples', 'minsources',
  'noclientlog', 'ntsaeads', 'ptpdomain', 'ntpsigndsocket', 'ntsprocesses',
  'ntsratelimit', 'ntsrefresh', 'peer', 'pidfile',
  'pool', 'ptpport', 'refclock', 'refresh', 'reselectdist', 'rtcautotrim', 'rtcdevice', 'rtcfile', 'rtconutc', 'rtcsync',
  'sched_priority', 'server', 'smoothtime', 'sourcedir', 'stratumweight', 'tempcomp', 'user',
]);

/** A ServerConfig under construction (mutable arrays). */
export type ServerConfigBuilder = {
  -readonly [K in keyof Omit<ServerConfig, 'nts'>]: ServerConfig[K] extends readonly (infer T)[] ? T[] : ServerConfig[K];
} & { nts: NtsConfigBuilder };

export interface ServerConfigResult {
  /** Null when there are errors: nothing half-configured ever comes out. */
  readonly config: ServerConfig | null;
  readonly errors: readonly ConfigDiagnostic[];
  readonly warnings: readonly ConfigDiagnostic[];
}

/** chrony's defaults: port 123, every address, nothing allowed, no local reference, no rate limit. */
export function newServerConfigBuilder(): ServerConfigBuilder {
  return { port: 123, bindAddresses: [], access: [], local: null, rateLimit: null, xleave: true, denyKod: false, keyfile: null, nts: newNtsConfigBuilder() };
}

/** The directives applyServerDirective() handles. */
export const SERVER_DIRECTIVES: ReadonlySet<string> = new Set(['port', 'bindaddress', 'allow', 'deny', 'local', 'ratelimit', 'xleave', 'denykod', ...NTS_DIRECTIVES]);

export function integerArg(text: string | undefined, lo: number, hi: number): number | null {
  if (text === undefined || !/^[-+]?\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= lo && n <= hi ? n : null;
}

/**
 * Applies one server directive (one of SERVER_DIRECTIVES) to `b`, reporting
 * problems into `errors`/`warnings`. Returns false, touching nothing, for
 * any other directive. Shared by `ntpkit server` and the daemon's config.
 */
export function applyServerDirective(b: ServerConfigBuilder, l: ConfigLine, errors: ConfigDiagnostic[], warnings: ConfigDiagnostic[]): boolean {
  const err = (message: string): void => { errors.push({ file: l.file, line: l.line, message: `${l.directive}: ${message}` }); };
  const a = l.args;
  switch (l.directive) {
    case 'port': {
      const n = a.length === 1 ? integerArg(a[0], 0, 65535) : null;
      if (n === null) err(`expected a port number from 0 to 65535, got "${a.join(' ')}"`);
      else b.port = n;
      return true;
    }
    case 'bindaddress': {
      if (a.length !== 1 || isIP(a[0] as string) === 0) {
        err(`expected one IPv4 or IPv6 address, got "${a.join(' ')}"`);
      } else {
        b.bindAddresses.push(a[0] as string);
      }
      return true;
    }
    case 'allow':
    case 'deny': {
      let rest = a;
      const all = rest[0] === 'all';
      if (all) rest = rest.slice(1);
      if (rest.length > 1) { err(`expected at most one subnet, got "${rest.join(' ')}"`); return true; }
      let subnet: string | null = null;
      if (rest.length === 1) {
        subnet = rest[0] as string;
        if (!parseSubnet(subnet)) {
          err(`"${subnet}" is not an address or subnet (host names are not accepted here: give an address or subnet)`);
          return true;
        }
      }
      b.access.push({ allow: l.directive === 'allow', all, subnet, file: l.file, line: l.line });
      return true;
    }
    case 'local': {
      const local = { ...LOCAL_DEFAULTS };
      let ok = true;
      for (let i = 0; i < a.length && ok; i++) {
        const key = a[i];
        if (key === 'orphan') { local.orphan = true; continue; }
        if (key === 'waitsynced' || key === 'waitunsynced') {
          // chrony 4.4+: both take a value (seconds).
          warnings.push({ file: l.file, line: l.line, message: `local: option ${key} is not implemented by ntpkit and is ignored` });
          i++;
          continue;
        }
        const value = a[i + 1];
        i++;
        if (key === 'stratum') {
          const n = integerArg(value, 1, 15);
          if (n === null) { err(`stratum must be an integer from 1 to 15, got "${value ?? ''}"`); ok = false; } else local.stratum = n;
        } else if (key === 'distance') {
          const n = Number(value);
          if (value === undefined || value.trim() === '' || !Number.isFinite(n) || n < 0) { err(`distance must be a number of seconds >= 0, got "${value ?? ''}"`); ok = false; } else local.distance = n;
        } else {
          err(`unknown option "${key}" (expected stratum, orphan, distance, waitsynced or waitunsynced)`);
          ok = false;
        }
      }
      if (ok) b.local = local;
      return true;
    }
    case 'ratelimit': {
      const rl: Record<string, number> = { ...DEFAULT_RATE_LIMIT };
      for (let i = 0; i < a.length; i += 2) {
        const key = a[i] as string;
        const range = Object.hasOwn(RATE_LIMIT_RANGES, key) ? RATE_LIMIT_RANGES[key as keyof RateLimitConfig] : undefined;
        if (!range) { err(`unknown option "${key}" (expected interval, burst, leak or kod)`); return true; }
        const n = integerArg(a[i + 1], range[0], range[1]);
        if (n === null) { err(`${key} must be an integer from ${range[0]} to ${range[1]}, got "${a[i + 1] ?? ''}"`); return true; }
        rl[key] = n;
      }
      b.rateLimit = rl as unknown as RateLimitConfig;
      return true;
    }
    case 'xleave':
    case 'denykod': {
      // Not chrony.conf directives but ntpkit's switches: chronyd always serves
      // interleaved mode (xleave, default on) and always ignores denied
      // clients (denykod, default off). A bare directive means on.
      if (a.length > 1 || (a.length === 1 && a[0] !== 'on' && a[0] !== 'off')) err(`expected "on" or "off", got "${a.join(' ')}"`);
      else if (l.directive === 'xleave') b.xleave = a[0] !== 'off';
      else b.denyKod = a[0] !== 'off';
      return true;
    }
    default:
      return applyNtsDirective(b.nts, l, errors, warnings);
  }
}

/** Builds the server config from lexed lines (files first, then command-line flags, so later lines win). */
export function parseServerConfig(lines: readonly ConfigLine[]): ServerConfigResult {
  const errors: ConfigDiagnostic[] = [];
  const warnings: ConfigDiagnostic[] = [];
  const b = newServerConfigBuilder();
  for (const l of lines) {
    if (applyServerDirective(b, l, errors, warnings)) continue;
    if (l.directive === 'keyfile') {
      if (l.args.length === 1) b.keyfile = l.args[0] as string;
      else errors.push({ file: l.file, line: l.line, message: `keyfile: expected one file name, got "${l.args.join(' ')}"` });
    } else if (OTHER_CHRONY_DIRECTIVES.has(l.directive)) {
      warnings.push({ file: l.file, line: l.line, message: `${l.directive}: not used by ntpkit server, ignored` });
    } else {
      errors.push({ file: l.file, line: l.line, message: `unknown directive "${l.directive}"` });
    }
  }
  const nts = ntsConfigProblem(b.nts);
  const last = lines[lines.length - 1];
  if (nts !== null) errors.push({ file: last?.file ?? '(config)', line: last?.line ?? 0, message: nts });
  if (errors.length > 0) return { config: null, errors, warnings };
  return { config: deepFreeze(b as ServerConfig), errors, warnings };
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !(o instanceof Uint8Array) && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
