/**
 * The 32-bit NTP short format of RFC 5905 §6: unsigned 16.16 fixed-point
 * seconds, used for root delay and root dispersion. Its resolution is about
 * 15 us and it saturates just under 65536 s.
 */

/** A raw 32-bit short-format value, as an unsigned integer. */
export type NtpShort = number;

/** Largest representable raw value. */
export const NTP_SHORT_MAX = 0xffff_ffff;

/** Seconds from a raw short-format value. Exact: the result is a dyadic float. */
export function shortToSeconds(raw: NtpShort): number {
  return (raw >>> 0) / 65536;
}

/**
 * Raw short-format value from seconds, rounded to nearest and clamped to the
 * format's range (negative values become 0, as they cannot be represented).
 */
export function secondsToShort(s: number): NtpShort {
  if (!(s > 0)) return 0;
  const raw = Math.round(s * 65536);
  return raw > NTP_SHORT_MAX ? NTP_SHORT_MAX : raw;
}

/** Seconds from a signed log2 exponent (poll, precision): 2^exp. */
export function log2ToSeconds(exp: number): number {
  return 2 ** exp;
}
