/**
 * Name resolution of `pool` lines and of `server` lines given by name
 * (chrony.conf(5)): a pool name stands for up to `maxsources` servers; the
 * engine asks the driver to resolve it, uses fresh addresses, and replaces a
 * member that stays unreachable or keeps being a falseticker (or was denied
 * by KoD) with an address it has not used yet, resolving the name again when
 * it has none left. Failed resolutions are retried at growing intervals;
 * successful ones are refreshed every `resolveInterval` (chrony's `refresh`).
 */
import { addSeconds, diffSeconds, type Instant } from '../../time/instant.js';
import { parseIPv4, parseIPv6 } from '../../proto/ip-address.js';

/** Polls without a reply after which a pool member counts as unreachable (the reach register's width). */
export const UNREACHABLE_POLLS = 8;
/** Falseticker verdicts in a row (on the member's own samples) that get a pool member replaced. */
export const FALSETICKER_SAMPLES = 8;
/** First retry of a failed resolution, seconds; doubles up to RESOLVE_RETRY_MAX. */
export const RESOLVE_RETRY_MIN = 8;
export const RESOLVE_RETRY_MAX = 3600;
/** chrony's default refresh of names, seconds (two weeks). */
export const DEFAULT_RESOLVE_INTERVAL = 1_209_600;

/** A canonical key for an address as the driver spells it, so "::1" and "0:0::1" match. */
export function addressKey(address: string): string {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const v4 = parseIPv4(bare);
  if (v4 !== null) return v4.join('.');
  const v6 = parseIPv6(bare);
  if (v6 !== null) {
    // IPv4-mapped IPv6 (a dual-stack socket's view of an IPv4 peer) is that IPv4 address.
    if (v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff) return [...v6.subarray(12)].join('.');
    return [...v6].map((b) => b.toString(16).padStart(2, '0')).join('');
  }
  return bare.toLowerCase();
}

/** Whether `host` is an address literal (no resolution needed). */
export function isAddressLiteral(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return parseIPv4(bare) !== null || parseIPv6(bare) !== null;
}

/** The resolution state of one name. */
export class Resolver {
  readonly host: string;
  private readonly refresh: number;
  /** Addresses from the last successful resolution. */
  addresses: readonly string[] = [];
  /** Addresses given up on (replaced); skipped until a fresh resolution no longer lists them... or lists only them. */
  private readonly retired = new Set<string>();
  inFlight = false;
  nextAt: Instant | null = null;
  private failures = 0;
  lastError: string | null = null;
  /** When the last resolution finished, or null. */
  private lastDoneAt: Instant | null = null;
  /** Shortest wait before an early (urgent) resolution; doubles at each one. */
  private urgentWait = RESOLVE_RETRY_MIN;

  constructor(host: string, refresh: number) {
    this.host = host;
    this.refresh = refresh;
  }

  /**
   * Asks for a resolution at `now` unless one is running or, with addresses
   * known, the refresh is not due. `urgent` (a member must be replaced and no
   * address is fresh) resolves early, at doubling intervals from
   * RESOLVE_RETRY_MIN up to RESOLVE_RETRY_MAX, so a name with too few
   * addresses is not hammered; a scheduled refresh resets the interval.
   */
  request(now: Instant, urgent = false): boolean {
    if (this.inFlight) return false;
    if (this.nextAt !== null && this.nextAt > now && this.addresses.length > 0) {
      if (!urgent || (this.lastDoneAt !== null && diffSeconds(now, this.lastDoneAt) < this.urgentWait)) return false;
      this.urgentWait = Math.min(RESOLVE_RETRY_MAX, this.urgentWait * 2);
    } else if (this.addresses.length > 0) {
      this.urgentWait = RESOLVE_RETRY_MIN;
    }
    this.inFlight = true;
    this.nextAt = null;
    return true;
  }

  /** chronyc refresh: resolve now, whatever the schedule, unless a resolution is running. */
  requestNow(now: Instant): boolean {
    if (this.inFlight) return false;
    this.nextAt = null;
    return this.request(now);
  }

  /** Due for a refresh or a retry. */
  due(now: Instant): boolean {
    return !this.inFlight && this.nextAt !== null && now >= this.nextAt;
  }

  resolved(result: { readonly addresses: readonly string[] } | { readonly error: string }, now: Instant): void {
    this.inFlight = false;
    this.lastDoneAt = now;
    if ('error' in result || result.addresses.length === 0) {
      this.lastError = 'error' in result ? result.error : 'no addresses';
      const wait = Math.min(RESOLVE_RETRY_MAX, RESOLVE_RETRY_MIN * 2 ** this.failures);
      this.failures++;
      this.nextAt = addSeconds(now, wait);
      return;
    }
    this.failures = 0;
    this.lastError = null;
    this.addresses = [...result.addresses];
    this.nextAt = addSeconds(now, this.refresh);
  }

  retire(address: string): void {
    this.retired.add(addressKey(address));
  }

  /** An address neither in use nor retired, or null. */
  fresh(inUse: ReadonlySet<string>): string | null {
    for (const a of this.addresses) {
      const k = addressKey(a);
      if (!inUse.has(k) && !this.retired.has(k)) return a;
    }
    return null;
  }

  /** After a fresh resolution with nothing new, retired addresses may be tried again. */
  forgetRetired(): void {
    this.retired.clear();
  }
}
