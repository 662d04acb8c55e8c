/** `ntpkit tracking`: the layout of `chronyc tracking` (chrony 4.3), from a DaemonSnapshot. */
import type { DaemonSnapshot, TrackingSnapshot } from '../core/engine/snapshot.js';
import { formatRefIdHex } from '../proto/refid.js';
import { chronycSign, type ReportOptions, selectedSource } from './report-common.js';
import { cFixed, cUtcTime } from './report-units.js';
import { csvFixed, csvLine, csvPpm, csvRefId, csvSeconds, csvTime } from './csv-fields.js';

const LEAP_TEXT: Readonly<Record<TrackingSnapshot['leapStatus'], string>> = {
  normal: 'Normal',
  insert: 'Insert second',
  delete: 'Delete second',
  unsynchronized: 'Not synchronised',
};

/** The name in parentheses after the Reference ID: the selected source's address (-n) or name, else the snapshot's. */
function referenceName(snap: DaemonSnapshot, opts: ReportOptions): string {
  const sel = selectedSource(snap);
  if (sel) return opts.numeric ? sel.address ?? sel.name : sel.name;
  return snap.tracking.referenceName ?? '';
}

/**
 * chronyc tracking's 13 lines. Words follow chronyc: System time is "fast"
 * unless the clock is behind; Frequency is "slow" unless the correction
 * slows the clock down (chronyc prints "0.000 ppm slow" at zero).
 */
export function formatTracking(snap: DaemonSnapshot, opts: ReportOptions = {}): string {
  const t = snap.tracking;
  const sec = (x: number, plus = false): string => `${cFixed(x, 9, { plus })} seconds`;
  return [
    `Reference ID    : ${formatRefIdHex(t.referenceId)} (${referenceName(snap, opts)})`,
    `Stratum         : ${t.stratum}`,
    `Ref time (UTC)  : ${cUtcTime(t.refTime)}`,
    `System time     : ${sec(Math.abs(t.systemTime))} ${t.systemTime < 0 ? 'slow' : 'fast'} of NTP time`,
    `Last offset     : ${sec(chronycSign(t.lastOffset), true)}`,
    `RMS offset      : ${sec(t.rmsOffset)}`,
    `Frequency       : ${cFixed(Math.abs(t.frequencyPpm), 3)} ppm ${t.frequencyPpm < 0 ? 'fast' : 'slow'}`,
    `Residual freq   : ${cFixed(chronycSign(t.residualFreqPpm), 3, { plus: true })} ppm`,
    `Skew            : ${cFixed(t.skewPpm, 3)} ppm`,
    `Root delay      : ${sec(t.rootDelay)}`,
    `Root dispersion : ${sec(t.rootDispersion)}`,
    `Update interval : ${cFixed(t.updateInterval, 1)} seconds`,
    `Leap status     : ${LEAP_TEXT[t.leapStatus]}`,
    '',
  ].join('\n');
}

/**
 * `chronyc -c tracking`: one line, the same fields in the same order. The
 * "fast"/"slow" words become signs: System time is the correction still to
 * apply (negative when the clock is fast), Frequency positive when it runs fast.
 */
export function formatTrackingCsv(snap: DaemonSnapshot): string {
  const t = snap.tracking;
  return csvLine([
    csvRefId(t.referenceId), referenceName(snap, { numeric: true }), t.stratum, csvTime(t.refTime),
    csvSeconds(chronycSign(t.systemTime)), csvSeconds(chronycSign(t.lastOffset)), csvSeconds(t.rmsOffset),
    csvPpm(chronycSign(t.frequencyPpm)), csvPpm(chronycSign(t.residualFreqPpm)), csvPpm(t.skewPpm),
    csvSeconds(t.rootDelay), csvSeconds(t.rootDispersion), csvFixed(t.updateInterval, 1), LEAP_TEXT[t.leapStatus],
  ]);
}
