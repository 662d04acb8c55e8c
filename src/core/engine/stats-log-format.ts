/**
 * The lines of chrony's statistics logs (chrony.conf(5), `log`):
 * measurements.log, statistics.log and tracking.log, with chronyd 4.3's
 * column headers and printf layouts, so scripts written for chrony's files
 * read ours. The writer is src/daemon/stats-log.ts.
 */
import { instantToUnixNanos, type Instant } from '../../time/instant.js';
import type { ClockUpdateEvent, MeasurementEvent, StampSource } from './engine-api.js';

export const MEASUREMENTS_HEADER =
  '   Date (UTC) Time     IP Address   L St 123 567 ABCD  LP RP Score    Offset  Peer del. Peer disp.  Root del. Root disp. Refid     MTxRx';
export const STATISTICS_HEADER =
  "   Date (UTC) Time     IP Address    Std dev'n Est offset  Offset sd  Diff freq   Est skew  Stress  Ns  Bs  Nr  Asym";
export const TRACKING_HEADER =
  '   Date (UTC) Time     IP Address   St   Freq ppm   Skew ppm     Offset L Co  Offset sd Rem. corr. Root delay Root disp. Max. error';

/** The banner chronyd writes before every `logbanner` entries: the header between two rules of its length. */
export function logBanner(header: string): string {
  const rule = '='.repeat(header.length);
  return `${rule}\n${header}\n${rule}\n`;
}

/** chrony's "Date (UTC) Time" columns: `YYYY-MM-DD HH:MM:SS`, whole seconds (truncated, as chronyd's). */
export function logTime(at: Instant): string {
  const ns = instantToUnixNanos(at);
  const sec = ns >= 0n ? ns / 1_000_000_000n : (ns - 999_999_999n) / 1_000_000_000n;
  return new Date(Number(sec) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/** chronyd's letters for who read a timestamp: D (daemon, user space) or K (kernel). */
const STAMP_LETTER: Readonly<Record<StampSource, string>> = { daemon: 'D', kernel: 'K' };

/** A measurements.log line: chronyd's `%s %-15s %1c %2d %1d%1d%1d %1d%1d%1d %1d%1d%1d%1d  %2d %2d %4.2f %10.3e ... %08X %1d%1c %1c %1c`; the last two say who read this sample's T1 and T4. */
export function formatMeasurement(m: MeasurementEvent): string {
  // Tests 1-3 and 5-7 are the packet tests: a measurement event exists only when they passed.
  const abcd = m.tests.map((t) => (t ? '1' : '0')).join('');
  return [
    logTime(m.at), m.address.padEnd(15), leapChar(m.leap), int(m.stratum, 2), '111', '111', `${abcd} `,
    int(m.localPoll, 2), int(m.remotePoll, 2), fixed(m.score, 4, 2),
    sci(m.offset, 10, 3), sci(m.delay, 10, 3), sci(m.dispersion, 10, 3), sci(m.rootDelay, 10, 3), sci(m.rootDispersion, 10, 3),
    hex8(m.referenceId), `${m.mode}${m.interleaved ? 'I' : 'B'}`, STAMP_LETTER[m.txStamp], STAMP_LETTER[m.rxStamp],
  ].join(' ');
}

/** A statistics.log line (`%s %-15s %10.3e x5 %7.1e %3d %3d %3d %5.2f`), or null when the sample changed no statistics. */
export function formatStatistics(m: MeasurementEvent): string | null {
  const s = m.stats;
  if (s === null) return null;
  return [
    logTime(m.at), m.address.padEnd(15),
    sci(s.stdDev, 10, 3), sci(s.offset, 10, 3), sci(s.offsetSd, 10, 3), sci(s.freq, 10, 3), sci(s.skew, 10, 3), sci(s.stress, 7, 1),
    // Bs: a restart of our filter is not a pruning from an index, so none is reported.
    int(s.samples, 3), int(0, 3), int(s.runs, 3), fixed(s.asymmetry, 5, 2),
  ].join(' ');
}

/** A tracking.log line (`%s %-15s %2d %10.3f %10.3f %10.3e %1c %2d %10.3e x5`). */
export function formatTracking(u: ClockUpdateEvent): string {
  const leap = u.leap === 'insert' ? '+' : u.leap === 'delete' ? '-' : 'N';
  return [
    logTime(u.at), u.address.padEnd(15), int(u.stratum, 2), fixed(u.frequencyPpm, 10, 3), fixed(u.skewPpm, 10, 3), sci(u.offset, 10, 3),
    leap, int(u.combined, 2), sci(u.offsetSd, 10, 3), sci(u.remainingCorrection, 10, 3), sci(u.rootDelay, 10, 3),
    sci(u.rootDispersion, 10, 3), sci(u.maxError, 10, 3),
  ].join(' ');
}

/** RFC 5905 leap indicator as chrony prints it. */
function leapChar(leap: number): string {
  return leap === 0 ? 'N' : leap === 1 ? '+' : leap === 2 ? '-' : '?';
}

function int(n: number, width: number): string {
  return String(Math.trunc(n)).padStart(width);
}

function nonFinite(x: number, width: number): string | null {
  if (Number.isNaN(x)) return 'nan'.padStart(width);
  if (!Number.isFinite(x)) return (x < 0 ? '-inf' : 'inf').padStart(width);
  return null;
}

/** C's `%W.Pf`, keeping the sign of -0 as glibc does. */
function fixed(x: number, width: number, digits: number): string {
  const nf = nonFinite(x, width);
  if (nf !== null) return nf;
  const t = Math.abs(x).toFixed(digits);
  return `${x < 0 || Object.is(x, -0) ? '-' : ''}${t}`.padStart(width);
}

/** C's `%W.Pe`: at least two exponent digits (JavaScript writes 1e-5, C 1e-05). */
function sci(x: number, width: number, digits: number): string {
  const nf = nonFinite(x, width);
  if (nf !== null) return nf;
  const [mant, exp] = Math.abs(x).toExponential(digits).split('e') as [string, string];
  const e = Number(exp);
  const t = `${x < 0 || Object.is(x, -0) ? '-' : ''}${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  return t.padStart(width);
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
}
