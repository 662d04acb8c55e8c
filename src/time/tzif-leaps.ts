/**
 * The leap second records of a TZif file (RFC 8536), which a tz database
 * "right/" zone carries and chrony's `leapsectz` reads through the C
 * library's mktime(). Only the leap records are needed, so only they are
 * read: no time zone library on npm exposes them (they serve local time).
 *
 * Each record is (occurrence, correction): the time_t, counted with the
 * leap seconds before it, at which the total correction becomes
 * `correction`; TAI − UTC is 10 s more (its value at the 1972 start of UTC
 * as it is now). The version 2+ block (64-bit times) is read when present.
 */
import type { LeapTable, LeapTableEntry } from './leap-table.js';

const HEADER = 44;

export type TzifLeapParse = { readonly ok: true; readonly table: LeapTable } | { readonly ok: false; readonly reason: string };

interface Counts { isut: number; isstd: number; leap: number; time: number; type: number; char: number }

function counts(v: DataView, at: number): Counts {
  const n = (i: number): number => v.getUint32(at + 20 + 4 * i);
  return { isut: n(0), isstd: n(1), leap: n(2), time: n(3), type: n(4), char: n(5) };
}

function blockLength(c: Counts, timeSize: number): number {
  return c.time * timeSize + c.time + c.type * 6 + c.char + c.leap * (timeSize + 4) + c.isstd + c.isut;
}

export function parseTzifLeaps(bytes: Uint8Array): TzifLeapParse {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = (at: number): boolean => bytes.length >= at + HEADER && bytes[at] === 0x54 && bytes[at + 1] === 0x5a && bytes[at + 2] === 0x69 && bytes[at + 3] === 0x66;
  if (!magic(0)) return { ok: false, reason: 'not a TZif file' };
  let c = counts(v, 0);
  let at = HEADER;
  let timeSize = 4;
  const v1 = blockLength(c, 4);
  if (bytes[4] !== 0 && magic(HEADER + v1)) {
    at = HEADER + v1 + HEADER;
    c = counts(v, HEADER + v1);
    timeSize = 8;
  }
  if (at + blockLength(c, timeSize) > bytes.length) return { ok: false, reason: 'truncated TZif file' };
  const leapsAt = at + c.time * timeSize + c.time + c.type * 6 + c.char;
  const entries: LeapTableEntry[] = [{ from: 63072000, taiMinusUtc: 10 }];
  let before = 0;
  for (let i = 0; i < c.leap; i++) {
    const r = leapsAt + i * (timeSize + 4);
    const occurrence = timeSize === 8 ? Number(v.getBigInt64(r)) : v.getInt32(r);
    const correction = v.getInt32(r + timeSize);
    // The time_t counts the leap seconds before this one: without them it is the UTC midnight.
    const from = occurrence - before;
    const prev = entries[entries.length - 1] as LeapTableEntry;
    if (from <= prev.from) return { ok: false, reason: 'leap records out of order' };
    // A last record repeating the correction only marks the table's expiry (RFC 8536 §3.2).
    if (correction !== before) entries.push({ from, taiMinusUtc: 10 + correction });
    before = correction;
  }
  if (c.leap === 0) return { ok: true, table: { entries: [] } };
  return { ok: true, table: { entries } };
}
