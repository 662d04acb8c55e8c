/**
 * The options of one `server`, `pool` or `peer` line, with chrony's defaults
 * (chrony.conf(5)). The config layer parses them from chrony.conf and ntp.conf;
 * the engine (core) runs one source per line (pools: up to maxsources). They
 * live in core because core may not import the config layer.
 */

/** `refclock`: a reference clock (refclock-source.ts); its host is its refid. */
export type SourceKind = 'server' | 'pool' | 'peer' | 'refclock';

export interface SourceOptions {
  readonly kind: SourceKind;
  /** Host name, IPv4 or IPv6 address, as written. */
  readonly host: string;
  /** UDP port of the server (chrony `port`, default 123). */
  readonly port: number;
  /** log2 seconds; chrony default 6, range -6..24. */
  readonly minpoll: number;
  /** log2 seconds; chrony default 10. */
  readonly maxpoll: number;
  /** Send a burst of 4-8 requests at start (chrony `iburst`). */
  readonly iburst: boolean;
  /** Send a burst of requests on each poll (chrony `burst`). */
  readonly burst: boolean;
  readonly prefer: boolean;
  readonly noselect: boolean;
  readonly trust: boolean;
  readonly require: boolean;
  /** Seconds: samples with a larger round-trip delay are ignored (chrony default 3). */
  readonly maxdelay: number;
  /** Fewest samples kept in the source's regression (chrony `minsamples`); null = the engine's default. */
  readonly minsamples: number | null;
  /** Most samples kept (chrony `maxsamples`); null = the engine's default. */
  readonly maxsamples: number | null;
  /** Target number of samples in the regression before the poll interval grows (chrony default 8). */
  readonly polltarget: number;
  /** NTP version sent (chrony default 4). */
  readonly version: number;
  /** Ask for interleaved mode (RFC 9769). */
  readonly xleave: boolean;
  /** Pools only: how many addresses to use at once (chrony default 4). */
  readonly maxsources: number;
  /** Symmetric key id (chrony `key`), or null. Used by the security issue. */
  readonly key: number | null;
  /** NTS (chrony `nts`). Used by the security issue. */
  readonly nts: boolean;
  /** chrony `ntsport`: the NTS-KE server's TCP port for an `nts` source (default 4460, RFC 8915 §4). */
  readonly ntsport: number;
  /** chrony `minstratum`: the stratum selection and our own served stratum take for it, at least (0: the server's). */
  readonly minstratum: number;
  /** chrony `offset` (ntpd `bias`): seconds added to every offset measured with the source. */
  readonly offset: number;
  /**
   * chrony `asymmetry`: the share of the extra delay (above the minimum) by
   * which the path to the source is longer than the path back, -0.5..+0.5;
   * each offset is corrected by it. null: not set (no correction).
   */
  readonly asymmetry: number | null;
  /** chrony `filter`: samples combined by a median filter into one before the statistics take it (0: off). */
  readonly filter: number;
  /** chrony `maxdelayratio`: a sample whose delay exceeds this times the minimum fails test B (0: off). */
  readonly maxdelayratio: number;
  /** chrony `maxdelaydevratio`: test C's limit on the delay increase over the offsets' standard deviation (default 10). */
  readonly maxdelaydevratio: number;
  /** chrony `mindelay`: the round trip the path cannot beat, seconds, instead of the minimum measured (0: measured). */
  readonly mindelay: number;
  /** chrony `offline`: the source starts offline (chronyc online starts it). */
  readonly offline: boolean;
  /** chrony `auto_offline`: a request that cannot be sent takes the source offline. */
  readonly autoOffline: boolean;
  /** chrony `presend`: from this poll exponent on, an extra request goes out shortly before each poll (null: never). */
  readonly presend: number | null;
  /** chrony `copy`: serve the source's own reference id and stratum, as if we were it. */
  readonly copy: boolean;
  /** chrony `ipv4`/`ipv6`: only addresses of that family are used for a name. */
  readonly family: 'any' | 'ipv4' | 'ipv6';
}

export const SOURCE_DEFAULTS: Omit<SourceOptions, 'kind' | 'host'> = Object.freeze({
  port: 123,
  minpoll: 6,
  maxpoll: 10,
  iburst: false,
  burst: false,
  prefer: false,
  noselect: false,
  trust: false,
  require: false,
  maxdelay: 3,
  minsamples: null,
  maxsamples: null,
  polltarget: 8,
  version: 4,
  xleave: false,
  maxsources: 4,
  ntsport: 4460,
  key: null,
  nts: false,
  minstratum: 0,
  offset: 0,
  asymmetry: null,
  filter: 0,
  maxdelayratio: 0,
  maxdelaydevratio: 10,
  mindelay: 0,
  offline: false,
  autoOffline: false,
  presend: null,
  copy: false,
  family: 'any',
});

/** chrony's limits on poll exponents. */
export const MIN_POLL = -6;
export const MAX_POLL = 24;

/** One source line completed with defaults. */
export function sourceOptions(kind: SourceKind, host: string, o: Partial<Omit<SourceOptions, 'kind' | 'host'>> = {}): SourceOptions {
  return Object.freeze({ ...SOURCE_DEFAULTS, ...o, kind, host });
}
