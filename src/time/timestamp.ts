/**
 * The 64-bit NTP timestamp of RFC 5905 §6: 32 bits of seconds and 32 bits of
 * fraction, wrapping every 2^32 s (eras). The first wrap is 2036-02-07T06:28:16Z.
 */
import { type Instant, TICKS_PER_SECOND } from './instant.js';

/** A 64-bit on-the-wire NTP timestamp, as an unsigned bigint in [0, 2^64). */
export type NtpTimestamp = bigint;

const ERA_TICKS = 1n << 64n;
const HALF_ERA_TICKS = 1n << 63n;

/** The wire timestamp of an instant: its offset within its era. */
export function toNtpTimestamp(i: Instant): NtpTimestamp {
  const r = i % ERA_TICKS;
  return r < 0n ? r + ERA_TICKS : r;
}

/**
 * The instant a wire timestamp denotes, taking the era that puts it nearest to
 * `pivot` (normally the local clock), as RFC 5905 §6 prescribes: a timestamp
 * is unambiguous within 68 years of the pivot.
 */
export function fromNtpTimestamp(ts: NtpTimestamp, pivot: Instant): Instant {
  let d = (ts - toNtpTimestamp(pivot)) % ERA_TICKS;
  if (d < 0n) d += ERA_TICKS;
  if (d >= HALF_ERA_TICKS) d -= ERA_TICKS;
  return pivot + d;
}

/** The era number of an instant (0 until 2036-02-07, then 1, ...; negative before 1900). */
export function eraOf(i: Instant): bigint {
  const q = i / ERA_TICKS;
  return i < 0n && i % ERA_TICKS !== 0n ? q - 1n : q;
}

/** Builds a wire timestamp from its two 32-bit halves. */
export function ntpTimestampFromParts(seconds: number, fraction: number): NtpTimestamp {
  return (BigInt(seconds >>> 0) << 32n) | BigInt(fraction >>> 0);
}

/** The seconds field (upper 32 bits). */
export function ntpTimestampSeconds(ts: NtpTimestamp): number {
  return Number(ts >> 32n);
}

/** The fraction field (lower 32 bits). */
export function ntpTimestampFraction(ts: NtpTimestamp): number {
  return Number(ts & 0xffff_ffffn);
}

/** Whether this is the all-zero timestamp, which RFC 5905 uses for "unknown". */
export function isZeroTimestamp(ts: NtpTimestamp): boolean {
  return ts === 0n;
}

/** Seconds per tick, for callers that turn Instant differences into floats. */
export const SECONDS_PER_TICK = 1 / Number(TICKS_PER_SECOND);
