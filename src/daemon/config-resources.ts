/**
 * What a config names outside its own text, loaded and checked the way the
 * daemon needs it: the key file, the NTS server's certificate and key, the
 * trusted certificates of NTS sources, the directories the daemon writes
 * to, the addresses it binds. One function, used at start-up, on every
 * reload and by `ntpkit validate`: validate passes exactly the configs the
 * daemon starts with, and a reload applies only a config whose resources
 * all loaded.
 *
 * It has no side effects: it reads files and asks which addresses this
 * machine has, but binds nothing, creates nothing and writes nothing. Where
 * the daemon's own check is the bind itself (a port in use, a privileged
 * port), it can only be found then.
 */
import { commandEndpoints } from '../config/command-endpoints.js';
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces, userInfo } from 'node:os';
import { createSecureContext } from 'node:tls';
import { dirname, join } from 'node:path';
import { type Config, type ConfigOrigin, type ConfigResult, originOf } from '../config/config.js';
import { describeError, readRegularFile } from '../config/bounded-read.js';
import type { ConfigDiagnostic } from '../config/diagnostics.js';
import type { NtsConfig } from '../config/nts-config.js';
import { loadKeyFile } from '../config/keyfile.js';
import type { SymmetricKey } from '../crypto/symmetric-mac.js';
import type { LeapTable } from '../time/leap-table.js';
import { loadLeapTable } from './leap-table-file.js';
import type { NtsServerCredentials } from './nts-ke-server.js';
import { checkUserAndDevices } from './privilege-checks.js';
import { wantsStatsLogs } from './stats-log.js';

export type KeyTable = ReadonlyMap<number, SymmetricKey>;

/** What the daemon runs a config with, besides the config itself. */
export interface ConfigResources {
  /** The key file's keys (chrony `keyfile`, ntp.conf `keys`), or null without one. */
  readonly keys: KeyTable | null;
  /** The NTS-KE server's certificate chain and key (the first ntsservercert/ntsserverkey pair), or null when it does not run. */
  readonly ntsServer: NtsServerCredentials | null;
  /** The leap second table, read only when a refclock has `tai`; null otherwise. */
  readonly leapTable?: LeapTable | null;
}

export interface ResourcesResult {
  /** Null whenever `errors` is non-empty. */
  readonly resources: ConfigResources | null;
  readonly errors: readonly ConfigDiagnostic[];
  readonly warnings: readonly ConfigDiagnostic[];
}

export interface LoadResourcesOptions {
  /** The daemon serves (NTP when `allow` permits, NTS-KE when configured); false for the library, which never does. Default true. */
  readonly serve?: boolean;
  /** The daemon opens its control socket (the library does not). Default: as `serve`. */
  readonly control?: boolean;
  /** Check `httpaddress` (false when `--http` overrides it, and for the library). Default: as `serve`. */
  readonly http?: boolean;
  /** This machine's addresses (tests); default: os.networkInterfaces(). */
  readonly interfaces?: () => ReturnType<typeof networkInterfaces>;
  /** For certificate validity (tests). */
  readonly now?: () => Date;
}

/** A PEM file is small: a certificate chain is a few KB, the largest CA bundles a few hundred KB. */
export const MAX_PEM_FILE_BYTES = 4 * 1024 * 1024;

/** sockaddr_un's sun_path holds 108 bytes with the terminating NUL (Linux unix(7)). */
const MAX_UNIX_PATH_BYTES = 107;

/**
 * Loads and checks everything `c` names that the daemon needs before it runs.
 * Every problem is reported, each once, at the line that named the file or
 * address where the config says (Config.origins).
 */
export async function loadConfigResources(c: Config, o: LoadResourcesOptions = {}): Promise<ResourcesResult> {
  const serve = o.serve ?? true;
  const errors: ConfigDiagnostic[] = [];
  const warnings: ConfigDiagnostic[] = [];
  const at = (what: string, value?: string): ConfigOrigin => originOf(c, what, value) ?? { file: c.files[0] ?? '(config)', line: 0 };
  const error = (where: ConfigOrigin, message: string): void => { errors.push({ ...where, message }); };
  const warn = (where: ConfigOrigin, message: string): void => { warnings.push({ ...where, message }); };

  sourceCountWarnings(c, warn);
  const keys = await loadKeys(c, at, errors, warnings);
  const nts = c.server.nts;
  const ntsKe = serve && nts.serverCerts.length > 0;
  let ntsServer: NtsServerCredentials | null = null;
  if (ntsKe) {
    const r = loadNtsServerCredentials(nts, at, (o.now ?? (() => new Date()))());
    for (const e of r.errors) errors.push(e);
    for (const w of r.warnings) warnings.push(w);
    ntsServer = r.credentials;
  }
  for (const p of nts.trustedCerts) checkTrustedCerts(p, at('ntstrustedcerts', p), error);
  checkUserAndDevices(c, ntsKe, at, error);

  if (ntsKe && nts.dumpDir !== null) {
    const problem = cannotCreateIn(nts.dumpDir, true);
    if (problem !== null) warn(at('ntsdumpdir'), `ntsdumpdir ${nts.dumpDir}: ${problem}: the NTS cookie keys will not be saved, and clients must key again after a restart`);
  }
  if (c.driftfile !== null) {
    const problem = cannotCreateIn(dirname(c.driftfile), false);
    if (problem !== null) warn(at('driftfile'), `driftfile ${c.driftfile}: ${problem}: the frequency will not be saved`);
  }
  if (c.logdir !== null && wantsStatsLogs(c.logdir, c.log)) {
    const problem = cannotCreateIn(c.logdir, true);
    if (problem !== null) warn(at('logdir'), `logdir ${c.logdir}: ${problem}: the statistics logs will not be written`);
  }
  const socketProblem = (path: string): string | null => (Buffer.byteLength(path) > MAX_UNIX_PATH_BYTES
    ? `longer than the ${MAX_UNIX_PATH_BYTES} bytes a Unix socket path may have`
    : cannotCreateIn(dirname(path), true));
  if ((o.control ?? serve) && c.controlsocket !== '/' && c.controlsocket !== '') {
    const path = c.controlsocket;
    const problem = socketProblem(path);
    if (problem !== null) warn(at('controlsocket'), `control socket ${path}: ${problem}: ntpkit tracking, sources and reload will not reach the daemon`);
  }
  const cmdPath = commandEndpoints(c.command).socketPath;
  if ((o.control ?? serve) && cmdPath !== null) {
    const problem = socketProblem(cmdPath);
    if (problem !== null) warn(at('bindcmdaddress'), `chronyc's command socket ${cmdPath}: ${problem}: chronyc will reach the daemon only over UDP`);
  }

  if (serve) {
    const local = localAddressCheck(o.interfaces ?? networkInterfaces);
    if (servesAnything(c, ntsKe)) {
      for (const a of c.server.bindAddresses) {
        if (!local(a)) error(at('bindaddress', a), `bindaddress ${a}: not an address of this machine (binding it fails with EADDRNOTAVAIL)`);
      }
    }
    if ((o.http ?? serve) && c.httpaddress !== null && !local(c.httpaddress.address)) {
      warn(at('httpaddress'), `httpaddress ${c.httpaddress.address}: not an address of this machine: the daemon will run without its dashboard and metrics`);
    }
  }
  const leapTable = loadLeapTable(c, at, error);
  if (errors.length > 0) return { resources: null, errors, warnings };
  return { resources: { keys, ntsServer, leapTable }, errors, warnings };
}

/** A config as the daemon runs it: parsed, then with its resources loaded. */
export type RunnableConfig =
  | { readonly ok: true; readonly config: Config; readonly resources: ConfigResources; readonly warnings: readonly ConfigDiagnostic[] }
  | { readonly ok: false; readonly errors: readonly ConfigDiagnostic[]; readonly warnings: readonly ConfigDiagnostic[] };

/** Start-up, reload and `ntpkit validate` in one: the parse result's problems, else the resources'. */
export async function loadRunnableConfig(parsed: ConfigResult, o: LoadResourcesOptions = {}): Promise<RunnableConfig> {
  if (parsed.config === null) return { ok: false, errors: parsed.errors, warnings: parsed.warnings };
  const r = await loadConfigResources(parsed.config, o);
  const warnings = parsed.warnings.concat(r.warnings);
  if (r.resources === null) return { ok: false, errors: r.errors, warnings };
  return { ok: true, config: parsed.config, resources: r.resources, warnings };
}

/** A config with no source free-runs; a single source has nothing to be checked against. */
function sourceCountWarnings(c: Config, warn: (where: ConfigOrigin, message: string) => void): void {
  // A pool stands for up to `maxsources` servers.
  const count = c.sources.reduce((n, s) => n + (s.options.kind === 'pool' ? s.options.maxsources : 1), 0);
  if (count === 0) {
    warn({ file: c.files[0] ?? '(config)', line: 0 }, 'no time sources (server, pool or peer): the clock will not be synchronized, only run free');
  } else if (count === 1) {
    const s = c.sources[0] as Config['sources'][number];
    warn(s, `${s.options.kind} ${s.options.host} is the only time source: no fault tolerance. If it fails or serves a wrong time, no other source can take over or outvote it; configure several (at least three lets a wrong one be outvoted)`);
  }
}

async function loadKeys(c: Config, at: (what: string) => ConfigOrigin, errors: ConfigDiagnostic[], warnings: ConfigDiagnostic[]): Promise<KeyTable | null> {
  let keys: KeyTable | null = null;
  if (c.keyfile !== null) {
    const r = await loadKeyFile(c.keyfile, c.format === 'ntp' ? 'ntp' : 'chrony');
    // A loop, not push(...): a key file of many short keys has a warning per line.
    for (const w of r.warnings) warnings.push(w);
    // A problem with the file as a whole is the keyfile line's; one with a key line, that line's.
    for (const e of r.errors) errors.push(e.line > 0 ? e : { ...at('keyfile'), message: `${c.keyfile}: ${e.message}` });
    keys = r.keys;
  }
  for (const s of c.sources) {
    const id = s.options.key;
    if (id !== null && keys?.get(id) === undefined && (c.keyfile === null || keys !== null)) {
      warnings.push({ file: s.file, line: s.line, message: `${s.options.host}: key ${id} is not in ${c.keyfile === null ? 'a key file (no keyfile directive)' : c.keyfile}; the source will not be polled` });
    }
  }
  return keys;
}

/**
 * Reads a PEM file a config names; null after an error at `where`.
 */
function readPem(path: string, directive: string, where: ConfigOrigin, error: (where: ConfigOrigin, message: string) => void): string | null {
  try {
    const r = readRegularFile(path, MAX_PEM_FILE_BYTES);
    if (r.truncated) { error(where, `${directive} ${path}: larger than ${MAX_PEM_FILE_BYTES} bytes, not a PEM file`); return null; }
    return r.data.toString('utf8');
  } catch (e) {
    error(where, `${directive} ${path}: cannot read: ${describeError(e)}`);
    return null;
  }
}

/** OpenSSL's reason without its numeric prefix (`error:0480006C:PEM routines::no start line` → `PEM routines: no start line`). */
function opensslReason(e: unknown): string {
  const m = (e as Error).message;
  return m.replace(/^error:[0-9A-F]+:/, '').replace(/::/, ': ');
}

export interface NtsCredentialsResult {
  /** The first pair, the one served; null when there are errors. */
  readonly credentials: NtsServerCredentials | null;
  readonly errors: readonly ConfigDiagnostic[];
  readonly warnings: readonly ConfigDiagnostic[];
}

/**
 * Each ntsservercert/ntsserverkey pair of `nts`, parsed as node:tls will use
 * it: the certificate, the key, and that they belong together. `at` says
 * where a directive with a value was written.
 */
export function loadNtsServerCredentials(nts: NtsConfig, at: (what: string, value: string) => ConfigOrigin, now: Date = new Date()): NtsCredentialsResult {
  const errors: ConfigDiagnostic[] = [];
  const warnings: ConfigDiagnostic[] = [];
  const error = (where: ConfigOrigin, message: string): void => { errors.push({ ...where, message }); };
  const warn = (where: ConfigOrigin, message: string): void => { warnings.push({ ...where, message }); };
  let first: NtsServerCredentials | null = null;
  nts.serverCerts.forEach((certPath, i) => {
    const keyPath = nts.serverKeys[i] as string;
    const certAt = at('ntsservercert', certPath);
    const keyAt = at('ntsserverkey', keyPath);
    const certPem = readPem(certPath, 'ntsservercert', certAt, error);
    const keyPem = readPem(keyPath, 'ntsserverkey', keyAt, error);
    let cert: X509Certificate | null = null;
    let key: KeyObject | null = null;
    if (certPem !== null) {
      try {
        cert = new X509Certificate(certPem);
      } catch (e) {
        error(certAt, `ntsservercert ${certPath}: not a PEM certificate (${opensslReason(e)})`);
      }
    }
    if (keyPem !== null) {
      try {
        key = createPrivateKey(keyPem);
      } catch (e) {
        error(keyAt, `ntsserverkey ${keyPath}: not a PEM private key without a passphrase (${opensslReason(e)})`);
      }
    }
    if (cert === null || key === null || certPem === null || keyPem === null) return;
    if (!cert.checkPrivateKey(key)) {
      error(keyAt, `ntsserverkey ${keyPath}: not the key of the certificate in ${certPath}`);
      return;
    }
    try {
      // What the KE server will build: a chain it cannot use fails here, not at the first client.
      createSecureContext({ cert: certPem, key: keyPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    } catch (e) {
      error(certAt, `ntsservercert ${certPath}: cannot serve TLS with it and ${keyPath} (${opensslReason(e)})`);
      return;
    }
    const t = now.getTime();
    if (t > Date.parse(cert.validTo)) warn(certAt, `ntsservercert ${certPath}: expired on ${cert.validTo}: NTS clients will refuse it`);
    else if (t < Date.parse(cert.validFrom)) warn(certAt, `ntsservercert ${certPath}: not valid before ${cert.validFrom}: NTS clients will refuse it until then`);
    first ??= { cert: certPem, key: keyPem };
  });
  if (nts.serverCerts.length > 1) {
    // node:tls serves one certificate per listener; chronyd's several pairs are for SNI, which ntpkit does not do.
    warn(at('ntsservercert', nts.serverCerts[1] as string), `ntsservercert: ${nts.serverCerts.length} certificates configured; only the first is served`);
  }
  return { credentials: errors.length > 0 ? null : first, errors, warnings };
}

/**
 * ntstrustedcerts: a PEM file of certificates, or a directory whose regular
 * files are (as chrony and the NTS-KE client read it).
 */
function checkTrustedCerts(path: string, where: ConfigOrigin, error: (where: ConfigOrigin, message: string) => void): void {
  let files: string[];
  try {
    files = statSync(path).isDirectory() ? readdirSync(path).sort().map((f) => join(path, f)).filter((f) => isRegularFile(f)) : [path];
  } catch (e) {
    error(where, `ntstrustedcerts ${path}: cannot read: ${describeError(e)}`);
    return;
  }
  for (const f of files) {
    const text = readPem(f, 'ntstrustedcerts', where, error);
    if (text === null) continue;
    const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (pems.length === 0 && f === path) { error(where, `ntstrustedcerts ${f}: no PEM certificate in it`); continue; }
    for (const pem of pems) {
      try {
        new X509Certificate(pem);
      } catch (e) {
        error(where, `ntstrustedcerts ${f}: a certificate in it does not parse (${opensslReason(e)})`);
        break;
      }
    }
  }
}

function isRegularFile(path: string): boolean {
  try { return statSync(path).isFile(); } catch { return false; }
}

/** Who the checks ran as, for permission problems: the daemon may run as another user. */
function asUser(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (code !== 'EACCES' && code !== 'EPERM') return '';
  let name = '';
  try { name = userInfo().username; } catch { /* no passwd entry */ }
  return ` as ${name === '' ? '' : `${name}, `}uid ${process.getuid?.() ?? '?'}`;
}

/**
 * Why the daemon could not write a file in `dir` (null: it can): the
 * directory exists and is writable, or `mkdir` is allowed to create it
 * (the daemon creates it) when `creatable`.
 */
function cannotCreateIn(dir: string, creatable: boolean): string | null {
  let d = dir;
  for (;;) {
    let st;
    try {
      st = statSync(d);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      // mkdir -p would need every missing level: the nearest one that exists decides.
      if ((code === 'ENOENT' || code === 'ENOTDIR') && creatable && dirname(d) !== d) { d = dirname(d); continue; }
      return `directory ${d}: ${describeError(e)}`;
    }
    if (!st.isDirectory()) return `${d} is not a directory`;
    try {
      accessSync(d, constants.W_OK | constants.X_OK);
      return null;
    } catch (e) {
      return `directory ${d} is not writable${asUser(e)}: ${describeError(e)}`;
    }
  }
}

/** The daemon binds an address when it serves NTP (an `allow` permits) or runs NTS-KE. */
function servesAnything(c: Config, ntsKe: boolean): boolean {
  return ntsKe || (c.server.port !== 0 && c.server.access.some((r) => r.allow));
}

/**
 * Whether an address can be bound on this machine without a bind: the
 * wildcard, an address of one of its interfaces, any address of a loopback
 * interface's IPv4 subnet (Linux routes all of 127.0.0.0/8 locally), or
 * anything at all when the ip_nonlocal_bind sysctl allows it.
 */
function localAddressCheck(interfaces: () => ReturnType<typeof networkInterfaces>): (address: string) => boolean {
  const list = new BlockList();
  for (const entries of Object.values(interfaces())) {
    for (const e of entries ?? []) {
      const family = e.family === 'IPv4' ? 'ipv4' : 'ipv6';
      list.addAddress(e.address, family);
      if (e.internal && family === 'ipv4') list.addSubnet(e.address, Number(e.cidr?.split('/')[1] ?? 32), 'ipv4');
    }
  }
  const nonlocal = (family: 4 | 6): boolean => {
    try { return readFileSync(`/proc/sys/net/ipv${family}/ip_nonlocal_bind`, 'utf8').trim() === '1'; } catch { return false; }
  };
  return (address) => {
    const bare = address.replace(/%.*$/, '');
    const family = isIP(bare);
    if (family === 0) return false;
    if (bare === '0.0.0.0' || bare === '::' || nonlocal(family as 4 | 6)) return true;
    return list.check(bare, family === 4 ? 'ipv4' : 'ipv6');
  };
}
