/**
 * A table of leap seconds: from which UTC second on TAI − UTC takes each of
 * its values. It is read from the tz database (chrony's `leapsectz`, a
 * "right/" zone's leap records: tzif-leaps.ts) or from a leap-seconds.list
 * (`leapseclist`, leap-seconds-list.ts), and lets a reference clock that
 * keeps TAI be read as UTC (refclock `tai`).
 */

export interface LeapTableEntry {
  /** Unix seconds (UTC) from which `taiMinusUtc` is in force: the midnight after a leap. */
  readonly from: number;
  /** TAI − UTC, whole seconds. */
  readonly taiMinusUtc: number;
}

export interface LeapTable {
  /** Sorted by `from`; the first entry's value holds from its `from` back to nothing (unknown before). */
  readonly entries: readonly LeapTableEntry[];
}

/** TAI − UTC in force at `unixSeconds` (UTC), or null before the table starts. */
export function taiMinusUtcAt(t: LeapTable, unixSeconds: number): number | null {
  let v: number | null = null;
  for (const e of t.entries) {
    if (e.from > unixSeconds) break;
    v = e.taiMinusUtc;
  }
  return v;
}

/**
 * The TAI − UTC offset to take off a reading whose reference time is
 * `taiSeconds` (Unix-style seconds counted on TAI), or null when the table
 * does not know it. As chronyd's refclock.c (convert_tai_offset): first
 * the offset at the TAI time read as UTC, then the offset at the UTC time
 * that gives, which is right except within a second of a leap.
 */
export function taiOffsetForReading(t: LeapTable, taiSeconds: number): number | null {
  const approx = taiMinusUtcAt(t, taiSeconds);
  if (approx === null) return null;
  const v = taiMinusUtcAt(t, taiSeconds - approx);
  // chronyd takes an offset of 0 for "unknown": TAI has been ahead of UTC since 1972.
  return v === null || v === 0 ? null : v;
}

/**
 * chronyd's check of a leap second zone (reference.c): the table must know
 * the leap at the end of 2012-06-30 (TAI − UTC 34, then 35). A zone without
 * leap seconds (Debian links right/UTC to UTC when tzdata-legacy is absent)
 * fails it.
 */
export function passesLeapCheck(t: LeapTable): boolean {
  return taiMinusUtcAt(t, 1341014400) === 34 && taiMinusUtcAt(t, 1356912000) === 35;
}
