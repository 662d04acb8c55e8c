/**
 * The leap second table a config names, read when a refclock needs it
 * (`tai`): chrony's `leapseclist FILE` when given (chronyd 4.5+ prefers it
 * too), else `leapsectz ZONE`, a tz database zone found as the C library
 * finds TZ (an absolute path, or under TZDIR, /usr/share/zoneinfo by
 * default). A table that fails chronyd's check (it must know the leap of
 * 2012-06-30) is refused: chronyd ignores such a zone with a warning and
 * then drops every TAI sample, a refclock that can never be selected.
 */
import { join } from 'node:path';
import type { Config, ConfigOrigin } from '../config/config.js';
import { describeError, readRegularFile } from '../config/bounded-read.js';
import { type LeapTable, passesLeapCheck } from '../time/leap-table.js';
import { parseLeapSecondsList } from '../time/leap-seconds-list.js';
import { parseTzifLeaps } from '../time/tzif-leaps.js';

/** tzdata's right/UTC is about 1 KB and leap-seconds.list about 5 KB; a table is never large. */
const MAX_LEAP_FILE_BYTES = 1024 * 1024;

/** Where the C library looks for a TZ zone name. */
export function zoneFile(zone: string, tzdir = process.env.TZDIR ?? '/usr/share/zoneinfo'): string {
  const name = zone.startsWith(':') ? zone.slice(1) : zone;
  return name.startsWith('/') ? name : join(tzdir, name);
}

/**
 * The table `c` names, when one of its refclocks has `tai`; null when none
 * does (the table is then not read at all). Problems go to `error` at the
 * directive's line.
 */
export function loadLeapTable(c: Config, at: (what: string) => ConfigOrigin, error: (where: ConfigOrigin, message: string) => void): LeapTable | null {
  if (!c.refclocks.some((r) => r.options.tai)) return null;
  const list = c.leapseclist;
  const zone = c.leapsectz;
  // The parser has already refused `tai` without either directive.
  if (list === null && zone === null) return null;
  const what = list !== null ? 'leapseclist' : 'leapsectz';
  const path = list ?? zoneFile(zone ?? '');
  const named = list !== null ? `leapseclist ${list}` : `leapsectz ${zone ?? ''} (${path})`;
  let data: Buffer;
  try {
    const r = readRegularFile(path, MAX_LEAP_FILE_BYTES);
    if (r.truncated) { error(at(what), `${named}: larger than ${MAX_LEAP_FILE_BYTES} bytes, not a leap second table`); return null; }
    data = r.data;
  } catch (e) {
    error(at(what), `${named}: cannot read it: ${describeError(e)}`);
    return null;
  }
  const p = list !== null ? parseLeapSecondsList(data.toString('utf8')) : parseTzifLeaps(data);
  if (!p.ok) {
    const line = 'line' in p && typeof p.line === 'number' && p.line > 0 ? `line ${p.line}: ` : '';
    error(at(what), `${named}: ${line}${p.reason}`);
    return null;
  }
  if (!passesLeapCheck(p.table)) {
    error(at(what), `${named}: no leap seconds in it (it does not know the leap of 2012-06-30, as chronyd checks), so refclock tai cannot be converted to UTC`);
    return null;
  }
  return p.table;
}
