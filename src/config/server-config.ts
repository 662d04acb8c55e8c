/**
 * The NTP server side's settings, as the daemon and `ntpkit server` both
 * hold them, with chrony's defaults (chrony.conf(5)). The directives that
 * fill them are declared in directives/serving.ts and directives/nts.ts.
 */
import { type ConfigDiagnostic } from './diagnostics.js';
import { type RateLimitConfig } from '../core/server/ratelimit.js';
import { newNtsConfigBuilder, type NtsConfig, type NtsConfigBuilder } from './nts-config.js';

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
  /** chrony `binddevice`: the interface the NTP server's sockets are bound to (SO_BINDTODEVICE); null: none. */
  readonly bindDevice: string | null;
  readonly access: readonly AccessRuleConfig[];
  /**
   * Who may send mode 6 queries (ntpq), beyond loopback, which always may
   * unless a rule here denies it: chrony's cmdallow/cmddeny, or ntp.conf's
   * restrict entries, allowed unless `noquery` or `ignore`. Applied after
   * the built-in loopback rules.
   */
  readonly queryAccess: readonly AccessRuleConfig[];
  readonly local: LocalConfig | null;
  readonly rateLimit: RateLimitConfig | null;
  /** Answer interleaved-mode requests (RFC 9769); chronyd always does. */
  readonly xleave: boolean;
  /** Send denied clients a DENY kiss-o'-death (rate limited) instead of ignoring them as chronyd does. */
  readonly denyKod: boolean;
  /** chrony `clientloglimit`: bytes for the client table, sized as chronyd sizes its own; null: ntpkit's default size. */
  readonly clientLogLimit: number | null;
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
  return { port: 123, bindAddresses: [], bindDevice: null, access: [], queryAccess: [], local: null, rateLimit: null, xleave: true, denyKod: false, clientLogLimit: null, keyfile: null, nts: newNtsConfigBuilder() };
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !(o instanceof Uint8Array) && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
