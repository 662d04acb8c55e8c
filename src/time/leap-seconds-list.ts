/**
 * The IERS/NIST `leap-seconds.list` format (tzdata ships one as
 * /usr/share/zoneinfo/leap-seconds.list): one line per change of TAI − UTC,
 * "NTP-SECONDS OFFSET # comment", where NTP-SECONDS counts from 1900 to the
 * UTC midnight the offset takes effect. Lines starting with '#' are
 * comments ("#@" the expiry and "#h" the hash are not needed to read the
 * offsets).
 */
import type { LeapTable, LeapTableEntry } from './leap-table.js';

const NTP_TO_UNIX = 2_208_988_800;

export type LeapListParse = { readonly ok: true; readonly table: LeapTable } | { readonly ok: false; readonly line: number; readonly reason: string };

export function parseLeapSecondsList(text: string): LeapListParse {
  const entries: LeapTableEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const body = (lines[i] as string).replace(/#.*/, '').trim();
    if (body === '') continue;
    const m = /^(\d{1,12})\s+(-?\d{1,4})$/.exec(body);
    if (m === null) return { ok: false, line: i + 1, reason: `expected "NTP-SECONDS TAI-UTC", got "${body}"` };
    const from = Number(m[1]) - NTP_TO_UNIX;
    const prev = entries[entries.length - 1];
    if (prev !== undefined && from <= prev.from) return { ok: false, line: i + 1, reason: 'the times are not in increasing order' };
    entries.push({ from, taiMinusUtc: Number(m[2]) });
  }
  if (entries.length === 0) return { ok: false, line: 0, reason: 'no leap second entries' };
  return { ok: true, table: { entries } };
}
