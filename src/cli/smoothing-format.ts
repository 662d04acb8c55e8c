/** `ntpkit smoothing`: the layout of `chronyc smoothing` (chrony 4.3), from a DaemonSnapshot. */
import type { SmoothingReport } from '../core/engine/time-smoothing.js';
import { cFixed } from './report-units.js';
import { csvBool, csvFixed, csvLine } from './csv-fields.js';

/** chronyc's reply when the daemon runs without smoothtime (its status 505). */
export const SMOOTHING_NOT_ENABLED = '505 Facility not enabled in daemon';

/** The protocol carrying chronyd's report has no negative zero: an exact 0 prints as +0. */
const unsignedZero = (x: number): number => (x === 0 ? 0 : x);

/** chronyc smoothing's six lines; "Active" keeps chronyc's space before an empty leap-only note. */
export function formatSmoothing(r: SmoothingReport): string {
  return [
    `Active         : ${r.active ? 'Yes' : 'No'} ${r.leapOnly ? '(leap second only)' : ''}`,
    `Offset         : ${cFixed(unsignedZero(r.offset), 9, { plus: true })} seconds`,
    `Frequency      : ${cFixed(unsignedZero(r.freqPpm), 6, { plus: true })} ppm`,
    `Wander         : ${cFixed(unsignedZero(r.wanderPpm), 6, { plus: true })} ppm per second`,
    `Last update    : ${cFixed(r.lastUpdateAgo, 1)} seconds ago`,
    `Remaining time : ${cFixed(r.remainingTime, 1)} seconds`,
    '',
  ].join('\n');
}

/** `chronyc -c smoothing`: the same fields on one line, without the `+` signs. */
export function formatSmoothingCsv(r: SmoothingReport): string {
  return csvLine([
    csvBool(r.active), r.leapOnly ? '(leap second only)' : '', csvFixed(unsignedZero(r.offset), 9), csvFixed(unsignedZero(r.freqPpm), 6),
    csvFixed(unsignedZero(r.wanderPpm), 6), csvFixed(r.lastUpdateAgo, 1), csvFixed(r.remainingTime, 1),
  ]);
}
