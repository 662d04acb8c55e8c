/**
 * chrony's NTS directives (chrony.conf(5)), for both sides:
 * - the NTS-KE server: ntsservercert, ntsserverkey, ntsport, ntsrotate,
 *   ntsdumpdir, ntsntpserver, maxntsconnections (the KE server runs when at
 *   least one certificate and key are given);
 * - NTS clients (`server HOST nts`): ntstrustedcerts, nosystemcert,
 *   nocerttimecheck.
 * Ranges and defaults are chronyd's; the directives are declared in
 * directives/nts.ts.
 */

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
  /** ntsrefresh: an `nts` source runs NTS-KE again once its keys are this many seconds old, even with cookies left (default 2419200, four weeks). */
  readonly refresh: number;
}

export const NTS_DEFAULTS: NtsConfig = {
  serverCerts: [], serverKeys: [], port: 4460, rotate: 604800, dumpDir: null, ntpServer: null, maxConnections: 100,
  trustedCerts: [], noSystemCert: false, noCertTimeCheck: 0, refresh: 2419200,
};

export type NtsConfigBuilder = { -readonly [K in keyof NtsConfig]: NtsConfig[K] extends readonly (infer T)[] ? T[] : NtsConfig[K] };

export function newNtsConfigBuilder(): NtsConfigBuilder {
  return { ...NTS_DEFAULTS, serverCerts: [], serverKeys: [], trustedCerts: [] };
}

/** Whole-config checks chronyd makes at start: certificates and keys pair up. */
export function ntsConfigProblem(n: NtsConfig): string | null {
  if (n.serverCerts.length !== n.serverKeys.length) {
    return `ntsservercert and ntsserverkey must be given the same number of times (${n.serverCerts.length} certificates, ${n.serverKeys.length} keys)`;
  }
  return null;
}
