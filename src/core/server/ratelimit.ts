/**
 * Response rate limiting per client address, with the semantics of chrony's
 * `ratelimit interval N burst N leak N kod N` (chrony.conf(5)):
 *
 * - each address has a token bucket holding up to `burst` responses and
 *   refilled with one response per 2^interval seconds; a response spends one;
 * - a request finding the bucket empty is limited, except that 1 in 2^leak
 *   limited requests is answered anyway (and empties the bucket), so that a
 *   sender spoofing a victim's address cannot cut the victim off entirely;
 * - of the limited requests left, 1 in 2^kod get a RATE kiss-o'-death
 *   instead of silence when `kod` is non-zero (chrony 4.4+; 0, the default,
 *   never sends one: chronyd 4.3 drops silently);
 * - a client that polls more than twice as fast when it gets no replies as
 *   when it gets them is a broken client that limiting only makes worse:
 *   the leak is inverted for it, so most of its requests are answered, as
 *   chrony does ("its rate limiting will be temporarily suspended").
 *
 * The buckets live in the bounded ClientTable. Randomness comes in as a
 * 32-bit value per request.
 */
import { type ClientTable, FLAG_DROPPED } from './client-table.js';

export interface RateLimitConfig {
  /** log2 seconds between responses, -19..12 (default 3: one per 8 s). */
  readonly interval: number;
  /** Responses that may go out back to back, 1..255 (default 8). */
  readonly burst: number;
  /** log2 of 1/rate at which limited requests are answered anyway, 1..4 (default 2: one in four). */
  readonly leak: number;
  /** log2 of 1/rate at which limited requests get a RATE KoD, 0..4 (default 0: never). */
  readonly kod: number;
}

/** chrony's defaults. */
export const DEFAULT_RATE_LIMIT: RateLimitConfig = { interval: 3, burst: 8, leak: 2, kod: 0 };

/** The ranges chrony accepts for each option. */
export const RATE_LIMIT_RANGES: Readonly<Record<keyof RateLimitConfig, readonly [number, number]>> = {
  interval: [-19, 12],
  burst: [1, 255],
  leak: [1, 4],
  kod: [0, 4],
};

/** Why a configuration is out of range ("burst 0 is not an integer from 1 to 255"); null if it is sound. */
export function rateLimitProblem(c: RateLimitConfig): string | null {
  for (const name of ['interval', 'burst', 'leak', 'kod'] as const) {
    const [lo, hi] = RATE_LIMIT_RANGES[name];
    const v = c[name];
    if (!Number.isInteger(v) || v < lo || v > hi) return `${name} ${v} is not an integer from ${lo} to ${hi}`;
  }
  return null;
}

/** What to do with one request: answer it, drop it, or answer with a RATE kiss-o'-death. */
export type RateLimitVerdict = 'pass' | 'drop' | 'kod';

/** How far one faster request raises a rate estimate (log2 units). */
const RATE_RISE = 0.25;
/** How far above the latest sample a rate estimate may stay when the client slows down (log2 units). */
const RATE_MAX_LEAD = 2.5;
/** Intervals shorter than this count as this (log2 of 0 would be -Infinity). */
const MIN_INTERVAL = 2 ** -20;

/**
 * Updates the request-rate estimates of the client in `slot` after
 * ClientTable.touch() counted a request (`elapsed`: what it returned, NaN for
 * a new record). chronyd keeps them for every client whether or not it
 * limits rates: they are chronyc clients' Int and IntL columns. limitRate()
 * calls it; a server that limits nothing calls it alone.
 */
export function noteRequestRate(table: ClientTable, slot: number, elapsed: number): void {
  if (!(elapsed >= 0)) return;
  // chrony keeps two estimates, picked by whether the previous request of
  // this client was answered, to spot clients that speed up when ignored.
  const x = -Math.log2(Math.max(elapsed, MIN_INTERVAL));
  const rates = (table.flags[slot] as number) & FLAG_DROPPED ? table.timeoutRate : table.rate;
  rates[slot] = updateRate(rates[slot] as number, x);
}

/**
 * Judges one request of the client in `slot`, which ClientTable.touch() has
 * just counted: `elapsed` is what it returned (NaN for a new record). Updates
 * the bucket and the client's rate estimates. `random` is a uniformly random
 * unsigned 32-bit value: the leak uses its low `leak` bits, the KoD the next
 * `kod` bits.
 */
export function limitRate(table: ClientTable, slot: number, elapsed: number, cfg: RateLimitConfig, random: number): RateLimitVerdict {
  const interval = clamp(cfg.interval, RATE_LIMIT_RANGES.interval);
  const burst = clamp(cfg.burst, RATE_LIMIT_RANGES.burst);
  const leak = clamp(cfg.leak, RATE_LIMIT_RANGES.leak);
  const kod = clamp(cfg.kod, RATE_LIMIT_RANGES.kod);

  let tokens = table.tokens[slot] as number;
  if (elapsed >= 0) tokens += elapsed / 2 ** interval;
  noteRequestRate(table, slot, elapsed);
  tokens = Math.min(tokens, burst);
  table.flags[slot] = (table.flags[slot] as number) & ~FLAG_DROPPED;

  if (tokens >= 1) {
    table.tokens[slot] = tokens - 1;
    return 'pass';
  }
  let drop = (random & ((1 << leak) - 1)) !== 0;
  if ((table.timeoutRate[slot] as number) > (table.rate[slot] as number) + 1) drop = !drop;
  if (!drop) {
    table.tokens[slot] = 0;
    return 'pass';
  }
  table.tokens[slot] = tokens;
  if (kod > 0 && ((random >>> leak) & ((1 << kod) - 1)) === 0) return 'kod';
  table.flags[slot] = (table.flags[slot] as number) | FLAG_DROPPED;
  table.drops[slot] = (table.drops[slot] as number) + 1;
  return 'drop';
}

/**
 * A rough moving average of a client's log2 request rate, as chronyd keeps
 * it: it rises slowly (one faster request does not make a fast client) and
 * falls fast (halfway to a slower sample, and never more than 2.5 above it).
 */
function updateRate(r: number, x: number): number {
  if (Number.isNaN(r)) return x;
  if (x > r) return Math.min(x, r + RATE_RISE);
  if (r > x + RATE_MAX_LEAD) return x + RATE_MAX_LEAD;
  return (r + x) / 2;
}

function clamp(v: number, [lo, hi]: readonly [number, number]): number {
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, Math.trunc(v))) : lo;
}
