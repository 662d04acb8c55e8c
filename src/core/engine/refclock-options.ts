/**
 * The options of one `refclock` line, with chrony 4.3's defaults
 * (chrony.conf(5), conf.c parse_refclock). The config layer parses them;
 * the engine runs one source per line, and the daemon runs the driver that
 * reads the clock. They live in core because core may not import config.
 */

export type RefclockDriver = 'SHM' | 'SOCK' | 'PHC';

export interface RefclockOptions {
  readonly driver: RefclockDriver;
  /** SHM: the unit number; SOCK: the socket path; PHC: the device path (driver options after ':' are in `driverOptions`). */
  readonly parameter: string;
  /** Driver options written after the parameter as `:name` or `:name=value` (SHM `perm`, PHC `nocrossts`). */
  readonly driverOptions: Readonly<Record<string, string | true>>;
  /** Up to 4 characters; chrony's default is the driver's first 3 letters and the line's index. */
  readonly refid: string;
  /** log2 seconds between the filtered samples given to selection (default 4). */
  readonly poll: number;
  /** log2 seconds between readings of the driver (default 0); SOCK is read as its samples arrive. */
  readonly dpoll: number;
  /** Length of the median filter (default 64, at most 2^(poll − dpoll) for polled drivers). */
  readonly filter: number;
  /** Added to every sample, seconds. */
  readonly offset: number;
  /** Assumed round-trip delay, seconds (default 1e-9): it widens the source's correctness interval. */
  readonly delay: number;
  /** The clock's precision, seconds; at least the system clock's (0: the system clock's). */
  readonly precision: number;
  /** Filtered samples with a larger dispersion are dropped, seconds (0: no limit). */
  readonly maxdispersion: number;
  readonly stratum: number;
  readonly prefer: boolean;
  readonly noselect: boolean;
  readonly trust: boolean;
  readonly require: boolean;
  /** The clock keeps TAI: samples are moved to UTC by the TAI-UTC offset in force. */
  readonly tai: boolean;
  /** Every sample is a pulse: only its offset within 1/rate s counts (chrony's `pps`). */
  readonly pps: boolean;
  /** Pulses per second of a pulse source (chrony's `rate`, at least 1). */
  readonly rate: number;
  /** The refid of the refclock whose samples give a pulse its whole seconds, or null: the synchronized system clock does. */
  readonly lock: string | null;
  /** Pulse width, seconds (0: not checked); a pulse whose offset says it was the wrong edge is dropped. */
  readonly width: number;
  /** A locked pulse needs a sample of the locked refclock no older than this many pulses (default 2). */
  readonly maxlockage: number;
  /** chrony `minsamples` / `maxsamples` of the source's statistics; null = the engine's default. */
  readonly minsamples: number | null;
  readonly maxsamples: number | null;
}

export const REFCLOCK_DEFAULTS: Omit<RefclockOptions, 'driver' | 'parameter' | 'driverOptions' | 'refid'> = Object.freeze({
  poll: 4,
  dpoll: 0,
  filter: 64,
  offset: 0,
  delay: 1e-9,
  precision: 0,
  maxdispersion: 0,
  stratum: 0,
  prefer: false,
  noselect: false,
  trust: false,
  require: false,
  tai: false,
  pps: false,
  rate: 1,
  lock: null,
  width: 0,
  maxlockage: 2,
  minsamples: null,
  maxsamples: null,
});

/**
 * chrony's default refid: the driver's name cut to 3 characters and the
 * line's index among the refclocks (from 0; two digits from 10).
 */
export function defaultRefid(driver: string, index: number): string {
  const r = driver.slice(0, 3).padStart(3, ' ').split('');
  r[3] = String(index % 10);
  if (index >= 10) r[2] = String(Math.floor(index / 10) % 10);
  return r.join('');
}

/**
 * The filter's length as chrony runs it: a polled driver cannot give more
 * readings per poll than 2^(poll − dpoll), so a longer filter would never
 * fill (refclock.c). SOCK is not polled.
 */
export function effectiveFilter(o: RefclockOptions): number {
  if (o.driver === 'SOCK') return o.filter;
  return Math.min(o.filter, 2 ** (o.poll - Math.min(o.dpoll, o.poll)));
}

/** The refid as the 32-bit reference id chrony gives the source (ASCII, NUL-padded). */
export function refidToNumber(refid: string): number {
  let v = 0;
  for (let i = 0; i < 4; i++) v = v * 256 + (i < refid.length ? refid.charCodeAt(i) & 0xff : 0);
  return v >>> 0;
}
