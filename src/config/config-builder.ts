/**
 * The mutable state both parsers (chrony.conf, ntp.conf) fill in, and the
 * step that turns it into the deep-frozen Config. Kept apart so the two
 * formats share defaults, file reading (include/confdir/includefile) and
 * the final checks.
 */
import { DISCIPLINE_DEFAULTS, type DisciplineOptions } from '../core/engine/engine-api.js';
import { type SourceOptions } from '../core/engine/source-options.js';
import { PROCESS_DEFAULTS, type ProcessOptions } from './process-options.js';
import { isIP } from 'node:net';
import { ACQUISITION_DEFAULTS, type Config, type ConfigFileAccess, type ConfigFormat, type ConfigOrigin, type ConfigResult, type ConfiguredRefclock, DEFAULT_CONTROLSOCKET, originKey, DEFAULT_CMDPORT, DEFAULT_HTTP_PORT, DEFAULT_LOGBANNER, type HttpAddress } from './config.js';
import { type ConfigDiagnostic } from './diagnostics.js';
import { ConfigLimitError, describeError } from './bounded-read.js';
import { MAX_INCLUDE_DEPTH, MAX_INCLUDED_FILES } from './include.js';
import { type ConfigLine } from './lexer.js';
import { interfaceName, oneArg } from './line-args.js';
import { type AccessRuleConfig, deepFreeze, newServerConfigBuilder, type ServerConfig, type ServerConfigBuilder } from './server-config.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface SourceDraft {
  options: Mutable<SourceOptions>;
  file: string;
  line: number;
  /** The line set minsamples/maxsamples itself (the global directives fill in the others). */
  ownMinsamples: boolean;
  ownMaxsamples: boolean;
}

export interface ConfigBuilder {
  format: ConfigFormat;
  files: string[];
  sources: SourceDraft[];
  refclocks: ConfiguredRefclock[];
  discipline: Mutable<DisciplineOptions>;
  driftfile: string | null;
  server: ServerConfigBuilder;
  controlsocket: string;
  command: { bind: string[]; port: number; access: AccessRuleConfig[] };
  acquisition: { port: number; addresses: string[]; device: string | null };
  logdir: string | null;
  log: string[];
  logbanner: number;
  leapsectz: string | null;
  leapseclist: string | null;
  logfile: string | null;
  keyfile: string | null;
  httpaddress: HttpAddress | null;
  httphosts: string[];
  origins: Record<string, ConfigOrigin>;
  /** chrony `minsamples` / `maxsamples` directives: defaults for sources without their own. */
  minsamples: number | null;
  maxsamples: number | null;
  process: Mutable<ProcessOptions>;
}

export function newConfigBuilder(format: ConfigFormat): ConfigBuilder {
  return {
    format,
    files: [],
    sources: [],
    refclocks: [],
    discipline: { ...DISCIPLINE_DEFAULTS },
    driftfile: null,
    server: newServerConfigBuilder(),
    controlsocket: DEFAULT_CONTROLSOCKET,
    command: { bind: [], port: DEFAULT_CMDPORT, access: [] },
    acquisition: { port: ACQUISITION_DEFAULTS.port, addresses: [], device: ACQUISITION_DEFAULTS.device },
    logdir: null,
    log: [],
    logbanner: DEFAULT_LOGBANNER,
    leapsectz: null,
    leapseclist: null,
    logfile: null,
    keyfile: null,
    httpaddress: null,
    httphosts: [],
    origins: {},
    minsamples: null,
    maxsamples: null,
    process: { ...PROCESS_DEFAULTS },
  };
}

/** What a parser works with: the builder, the diagnostics so far, and file access. */
export interface ParseState {
  readonly b: ConfigBuilder;
  readonly errors: ConfigDiagnostic[];
  readonly warnings: ConfigDiagnostic[];
  readonly access: ConfigFileAccess;
}

export function errorAt(s: ParseState, l: Pick<ConfigLine, 'file' | 'line'>, message: string): void {
  s.errors.push({ file: l.file, line: l.line, message });
}

/** Records that `l` set `what` (a Config field or directive name); for listed directives, its last argument is the value. */
export function recordOrigin(s: ParseState, l: ConfigLine, what: string): void {
  s.b.origins[originKey(what, l.args[l.args.length - 1])] = { file: l.file, line: l.line };
}

/** A directive naming one network interface (binddevice, bindacqdevice): checked, set, and its line kept for the check that it exists. */
export function interfaceSetter(set: (b: ConfigBuilder, iface: string) => void): (s: ParseState, l: ConfigLine) => void {
  return (s, l) => {
    const iface = interfaceName(s, l);
    if (iface === null) return;
    set(s.b, iface);
    recordOrigin(s, l, l.directive);
  };
}

export function warnAt(s: ParseState, l: Pick<ConfigLine, 'file' | 'line'>, message: string): void {
  s.warnings.push({ file: l.file, line: l.line, message });
}

/** Checks that need the whole file (chrony reports them too), then freezes. */
export function finish(s: ParseState): ConfigResult {
  const { b } = s;
  for (const src of b.sources) {
    const o = src.options;
    if (!src.ownMinsamples && b.minsamples !== null) o.minsamples = b.minsamples;
    if (!src.ownMaxsamples && b.maxsamples !== null) o.maxsamples = b.maxsamples;
    if (o.maxpoll < o.minpoll) {
      // chronyd silently raises maxpoll to minpoll; say so instead.
      s.warnings.push({ file: src.file, line: src.line, message: `${o.kind} ${o.host}: maxpoll ${o.maxpoll} is below minpoll ${o.minpoll}; using maxpoll ${o.minpoll} (as chronyd does)` });
      o.maxpoll = o.minpoll;
    }
  }
  const acq = b.origins['acquisitionport'];
  if (acq !== undefined && b.acquisition.port !== 0 && b.acquisition.port === b.server.port && b.server.access.some((a) => a.allow)) {
    // chronyd would send from its server socket then; two sockets cannot share the port without splitting the replies between them.
    s.errors.push({ ...acq, message: `acquisitionport ${b.acquisition.port}: the same port as the NTP server's; use another port, or 0` });
  }
  if (s.errors.length > 0) return Object.freeze({ config: null, errors: Object.freeze([...s.errors]), warnings: Object.freeze([...s.warnings]) });
  const config: Config = {
    format: b.format,
    files: b.files,
    sources: b.sources.map((d) => ({ options: d.options, file: d.file, line: d.line })),
    refclocks: b.refclocks,
    discipline: b.discipline,
    driftfile: b.driftfile,
    server: b.server as ServerConfig,
    controlsocket: b.controlsocket,
    command: b.command,
    acquisition: b.acquisition,
    logdir: b.logdir,
    log: b.log,
    logbanner: b.logbanner,
    leapsectz: b.leapsectz,
    leapseclist: b.leapseclist,
    logfile: b.logfile,
    keyfile: b.keyfile,
    httpaddress: b.httpaddress,
    httphosts: b.httphosts,
    origins: b.origins,
    process: b.process,
  };
  return Object.freeze({ config: deepFreeze(config), errors: Object.freeze([...s.errors]), warnings: Object.freeze([...s.warnings]) });
}

/** A directive taking one value, which `set` stores: the handler of most file and name directives. */
export function oneValue(what: string, set: (s: ParseState, value: string, l: ConfigLine) => void): (s: ParseState, l: ConfigLine) => void {
  return (s, l) => {
    const v = oneArg(s, l, what);
    if (v !== null) set(s, v, l);
  };
}

/**
 * `httpaddress ADDRESS [PORT]`, the same in both formats: an IP literal only,
 * since resolving a name would need DNS at load time.
 */
export function parseHttpAddress(s: ParseState, l: ConfigLine): void {
  const [address, port, ...rest] = l.args;
  const err = (m: string): void => errorAt(s, l, `${l.directive}: ${m}`);
  if (address === undefined || rest.length > 0) { err(`expected an IP address and an optional port, got "${l.args.join(' ')}"`); return; }
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIP(bare) === 0) { err(`expected an IP address such as 127.0.0.1 or ::1, got "${address}"`); return; }
  let n = DEFAULT_HTTP_PORT;
  if (port !== undefined) {
    const p = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
    if (!(p >= 0 && p <= 65535)) { err(`expected a port number from 0 to 65535, got "${port}"`); return; }
    n = p;
  }
  s.b.httpaddress = { address: bare, port: n } satisfies HttpAddress;
}

/** A host name, an IPv4 address or an IPv6 address (with an optional %scope). */
export function isHostOrAddress(text: string): boolean {
  if (isIP(text.replace(/%[\w.-]+$/, '')) !== 0) return true;
  // Letters, digits, hyphens and underscores in dot-separated labels (RFC 1123, plus the
  // underscore some internal names carry). A dotted all-numeric string must be a valid address.
  if (!/^(?=.{1,253}\.?$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/.test(text)) return false;
  return !/^[\d.]+$/.test(text);
}

/**
 * One name the dashboard answers to besides its bound address (`httphost`,
 * `--http-host`), as the Host header will carry it: lower case, no trailing
 * dot, an IPv6 literal without brackets. Null when it is neither a host name
 * nor an IP address (a port is not part of it: any port is accepted).
 */
export function normalizeHttpHost(text: string): string | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (bare !== text && isIP(bare) !== 6) return null;
  if (bare.includes('%') || !isHostOrAddress(bare)) return null;
  return bare.toLowerCase().replace(/\.$/, '');
}

/** `httphost NAME...`: repeatable, the names add up (ntpkit only, both formats). */
export function parseHttpHost(s: ParseState, l: ConfigLine): void {
  if (l.args.length === 0) { errorAt(s, l, `${l.directive}: expected one or more host names`); return; }
  for (const a of l.args) {
    const name = normalizeHttpHost(a);
    if (name === null) { errorAt(s, l, `${l.directive}: expected a host name or an IP address (without a port), got "${a}"`); return; }
    if (!s.b.httphosts.includes(name)) s.b.httphosts.push(name);
  }
}

/**
 * Reads included files in place (chrony's include/confdir/sourcedir, ntpd's
 * includefile): each file read is recorded and its text handed to `parse`.
 * `depth` counts the include levels above `l`.
 */
export function includeFiles(s: ParseState, l: ConfigLine, paths: readonly string[], depth: number, parse: (text: string, file: string) => void): void {
  const readFile = s.access.readFile;
  if (!readFile) { errorAt(s, l, `${l.directive}: cannot read other files here (no file access given)`); return; }
  if (depth >= MAX_INCLUDE_DEPTH) { errorAt(s, l, `${l.directive}: files included more than ${MAX_INCLUDE_DEPTH} levels deep (an include loop?)`); return; }
  for (const p of paths) {
    // b.files holds the main file too.
    if (s.b.files.length > MAX_INCLUDED_FILES) {
      errorAt(s, l, `${l.directive}: more than ${MAX_INCLUDED_FILES} files included in all (an include loop?); not reading ${p}`);
      return;
    }
    let text: string;
    try {
      text = readFile(p);
    } catch (e) {
      if (e instanceof ConfigLimitError) s.errors.push({ file: e.file, line: e.line, message: `${e.message} (included from ${l.file}:${l.line})` });
      else errorAt(s, l, `${l.directive}: cannot read ${p}: ${describeError(e)}`);
      continue;
    }
    s.b.files.push(p);
    parse(text, p);
  }
}
