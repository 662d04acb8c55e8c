/** `ntpkit smoothing`: the layout of `chronyc smoothing` (chrony 4.3), from a DaemonSnapshot. */
import type { SmoothingReport } from '../core/engine/time-smoothing.js';
import { cFixed } from './report-units.js';

/** chronyc's reply when the daemon runs without smoothtime (its status 505). */
export const SMOOTHING_NOT_ENABLED = '505 Facility not enabled in daemon';

/** chronyc smoothing's six lines; "Active" keeps chronyc's space before an empty leap-only note. */
export function formatSmoothing(r: SmoothingReport): string {
  return [
    `Active         : ${r.active ? 'Yes' : 'No'} ${r.leapOnly ? '(leap second only)' : ''}`,
    `Offset         : ${cFixed(r.offset, 9, { plus: true })} seconds`,
    `Frequency      : ${cFixed(r.freqPpm, 6, { plus: true })} ppm`,
    `Wander         : ${cFixed(r.wanderPpm, 6, { plus: true })} ppm per second`,
    `Last update    : ${cFixed(r.lastUpdateAgo, 1)} seconds ago`,
    `Remaining time : ${cFixed(r.remainingTime, 1)} seconds`,
    '',
  ].join('\n');
}
