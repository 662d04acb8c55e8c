/**
 * chrony's NTS directives (chrony.conf(5)), for both sides:
 * - the NTS-KE server: ntsservercert, ntsserverkey, ntsport, ntsrotate,
 *   ntsdumpdir, ntsntpserver, maxntsconnections (the KE server runs when at
 *   least one certificate and key are given);
 * - NTS clients (`server HOST nts`): ntstrustedcerts, nosystemcert,
 *   nocerttimecheck.
 * Ranges and defaults are chronyd's.
 */
import { type ConfigDiagnostic } from './diagnostics.js';
import { type ConfigLine } from './lexer.js';

export interface NtsConfig {
  /** ntsservercert files, in order; paired with serverKeys by position. */
  readonly serverCerts: readonly string[];
  readonly serverKeys: readonly string[];
  /** ntsport: the NTS-KE TCP port (default 4460). */
  readonly port: number;
  /** ntsrotate: seconds of operating time between master key rotations (default 604800; 0: never, keys managed outside). */
  readonly rotate: number;
  /** ntsdumpdir: where the server keeps `ntskeys` (and chrony's client its cookies); null: keys are not saved. */
  readonly dumpDir: string | null;
  /** ntsntpserver: the NTP server named in NTS-KE responses; null: the KE server's own address. */
  readonly ntpServer: string | null;
  /** maxntsconnections (default 100). */
  readonly maxConnections: number;
  /** ntstrustedcerts files or directories of the default set (set-ID 0), added to the system CAs. */
  readonly trustedCerts: readonly string[];
  /** nosystemcert: trust only ntstrustedcerts. */
  readonly noSystemCert: boolean;
  /** nocerttimecheck: clock updates during which certificate validity times are not checked (default 0: always checked). */
  readonly noCertTimeCheck: number;
}

export const NTS_DEFAULTS: NtsConfig = {
  serverCerts: [], serverKeys: [], port: 4460, rotate: 604800, dumpDir: null, ntpServer: null, maxConnections: 100,
  trustedCerts: [], noSystemCert: false, noCertTimeCheck: 0,
};

export type NtsConfigBuilder = { -readonly [K in keyof NtsConfig]: NtsConfig[K] extends readonly (infer T)[] ? T[] : NtsConfig[K] };

export function newNtsConfigBuilder(): NtsConfigBuilder {
  return { ...NTS_DEFAULTS, serverCerts: [], serverKeys: [], trustedCerts: [] };
}

export const NTS_DIRECTIVES: ReadonlySet<string> = new Set([
  'ntsservercert', 'ntsserverkey', 'ntsport', 'ntsrotate', 'ntsdumpdir', 'ntsntpserver', 'maxntsconnections',
  'ntstrustedcerts', 'nosystemcert', 'nocerttimecheck',
]);

function integer(text: string | undefined, lo: number, hi: number): number | null {
  if (text === undefined || !/^[-+]?\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= lo && n <= hi ? n : null;
}

/** Applies one of NTS_DIRECTIVES; false (touching nothing) for any other directive. */
export function applyNtsDirective(b: NtsConfigBuilder, l: ConfigLine, errors: ConfigDiagnostic[], warnings: ConfigDiagnostic[]): boolean {
  const err = (message: string): void => { errors.push({ file: l.file, line: l.line, message: `${l.directive}: ${message}` }); };
  const a = l.args;
  const one = (what: string): string | null => {
    if (a.length !== 1) { err(`expected ${what}, got "${a.join(' ')}"`); return null; }
    return a[0] as string;
  };
  const int = (lo: number, hi: number, what: string): number | null => {
    const n = a.length === 1 ? integer(a[0], lo, hi) : null;
    if (n === null) err(`expected ${what} from ${lo} to ${hi}, got "${a.join(' ')}"`);
    return n;
  };
  switch (l.directive) {
    case 'ntsservercert': { const f = one('one certificate file'); if (f !== null) b.serverCerts.push(f); return true; }
    case 'ntsserverkey': { const f = one('one key file'); if (f !== null) b.serverKeys.push(f); return true; }
    case 'ntsport': { const n = int(1, 65535, 'a TCP port'); if (n !== null) b.port = n; return true; }
    case 'ntsrotate': { const n = int(0, 0x7fffffff, 'a number of seconds'); if (n !== null) b.rotate = n; return true; }
    case 'ntsdumpdir': { const f = one('one directory'); if (f !== null) b.dumpDir = f; return true; }
    case 'ntsntpserver': { const h = one('one host name or address'); if (h !== null) b.ntpServer = h; return true; }
    case 'maxntsconnections': { const n = int(1, 0x7fffffff, 'a number of connections'); if (n !== null) b.maxConnections = n; return true; }
    case 'nocerttimecheck': { const n = int(0, 0x7fffffff, 'a number of clock updates'); if (n !== null) b.noCertTimeCheck = n; return true; }
    case 'nosystemcert':
      if (a.length !== 0) err(`expected no arguments, got "${a.join(' ')}"`);
      else b.noSystemCert = true;
      return true;
    case 'ntstrustedcerts': {
      if (a.length === 1) { b.trustedCerts.push(a[0] as string); return true; }
      const set = a.length === 2 ? integer(a[0], 0, 0xffffffff) : null;
      if (set === null) { err(`expected [SET-ID] FILE|DIRECTORY, got "${a.join(' ')}"`); return true; }
      // Sets other than 0 are for the `certset` source option, which ntpkit does not implement.
      if (set === 0) b.trustedCerts.push(a[1] as string);
      else warnings.push({ file: l.file, line: l.line, message: `ntstrustedcerts: certificate set ${set} is not supported by ntpkit (no certset option), ignored` });
      return true;
    }
    default:
      return false;
  }
}

/** Whole-config checks chronyd makes at start: certificates and keys pair up. */
export function ntsConfigProblem(n: NtsConfig): string | null {
  if (n.serverCerts.length !== n.serverKeys.length) {
    return `ntsservercert and ntsserverkey must be given the same number of times (${n.serverCerts.length} certificates, ${n.serverKeys.length} keys)`;
  }
  return null;
}
