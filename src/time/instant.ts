/**
 * Absolute instants.
 *
 * An {@link Instant} counts units of 2^-32 s since the NTP prime epoch,
 * 1900-01-01T00:00:00Z, without wrapping: it is the "NTP date" of RFC 5905 §6
 * (era number, era offset and fraction folded into one signed integer).
 * That keeps every wire timestamp exact (a float64 of Unix seconds holds only
 * about 0.2 us today) and is finer than a nanosecond, so Unix nanoseconds
 * convert in and back without loss.
 */
export type Instant = bigint;

/** 2^32: units per second of an Instant and of the 64-bit NTP timestamp. */
export const TICKS_PER_SECOND = 1n << 32n;
/** Seconds from the NTP prime epoch (1900) to the Unix epoch (1970). */
export const UNIX_EPOCH_NTP_SECONDS = 2_208_988_800n;

const NS_PER_SECOND = 1_000_000_000n;
const UNIX_EPOCH_TICKS = UNIX_EPOCH_NTP_SECONDS * TICKS_PER_SECOND;
const TICKS_PER_SECOND_NUM = 2 ** 32;

/** Floor division, also for negative numerators (BigInt `/` truncates toward zero). */
function floorDiv(n: bigint, d: bigint): bigint {
  const q = n / d;
  return (n % d !== 0n && (n < 0n) !== (d < 0n)) ? q - 1n : q;
}

/** Division rounded to nearest, ties away from minus infinity (d > 0). */
function roundDiv(n: bigint, d: bigint): bigint {
  return floorDiv(2n * n + d, 2n * d);
}

/** The instant of a Unix time given in nanoseconds (rounded to the nearest 2^-32 s). */
export function instantFromUnixNanos(ns: bigint): Instant {
  return roundDiv(ns * TICKS_PER_SECOND, NS_PER_SECOND) + UNIX_EPOCH_TICKS;
}

/** Unix time in nanoseconds, rounded to the nearest nanosecond. */
export function instantToUnixNanos(i: Instant): bigint {
  return roundDiv((i - UNIX_EPOCH_TICKS) * NS_PER_SECOND, TICKS_PER_SECOND);
}

/** The instant of a Unix time in (float) seconds; as exact as the float allows. */
export function instantFromUnixSeconds(s: number): Instant {
  const whole = Math.floor(s);
  const frac = Math.round((s - whole) * TICKS_PER_SECOND_NUM);
  return BigInt(whole) * TICKS_PER_SECOND + BigInt(frac) + UNIX_EPOCH_TICKS;
}

/** Unix time in float seconds (loses precision below ~0.2 us at today's dates). */
export function instantToUnixSeconds(i: Instant): number {
  const rel = i - UNIX_EPOCH_TICKS;
  const whole = floorDiv(rel, TICKS_PER_SECOND);
  return Number(whole) + Number(rel - whole * TICKS_PER_SECOND) / TICKS_PER_SECOND_NUM;
}

/** The instant of a millisecond Unix time (such as `Date.now()`). */
export function instantFromUnixMillis(ms: number): Instant {
  return instantFromUnixNanos(BigInt(Math.round(ms)) * 1_000_000n);
}

/** A JavaScript Date (millisecond resolution, rounded down). */
export function instantToDate(i: Instant): Date {
  return new Date(Number(floorDiv(instantToUnixNanos(i), 1_000_000n)));
}

/** ISO 8601 with nanoseconds, e.g. `2026-11-23T09:41:00.123456789Z`. */
export function formatInstant(i: Instant): string {
  const ns = instantToUnixNanos(i);
  const ms = floorDiv(ns, 1_000_000n);
  const subMs = ns - ms * 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // ...SSS.sssZ
  return `${iso.slice(0, -1)}${subMs.toString().padStart(6, '0')}Z`;
}

/** `a - b` in float seconds. Exact to ~1e-16 relative: fine for offsets and delays. */
export function diffSeconds(a: Instant, b: Instant): number {
  return Number(a - b) / TICKS_PER_SECOND_NUM;
}

/** `i + s` seconds, rounded to the nearest 2^-32 s. */
export function addSeconds(i: Instant, s: number): Instant {
  const whole = Math.trunc(s);
  const frac = Math.round((s - whole) * TICKS_PER_SECOND_NUM);
  return i + BigInt(whole) * TICKS_PER_SECOND + BigInt(frac);
}
