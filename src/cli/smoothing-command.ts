/** `ntpkit smoothing`: the smoothing of the served time (smoothtime) in the layout of `chronyc smoothing`. */
import type { Command } from 'commander';
import type { Io } from './io.js';
import { reportCommand } from './report-command.js';
import { remoteSmoothingSnapshot } from './remote-reports.js';
import { formatSmoothing, formatSmoothingCsv, SMOOTHING_NOT_ENABLED } from './smoothing-format.js';

export const SMOOTHING_JSON_SCHEMA = 'ntpkit.smoothing/1';

export function smoothingCommand(io: Io): Command {
  return reportCommand(io, {
    name: 'smoothing',
    description: 'show how the served time is smoothed (smoothtime; like chronyc smoothing)',
    text: (snap) => formatSmoothing(snap.smoothing as NonNullable<typeof snap.smoothing>),
    unavailable: (snap) => (snap.smoothing === undefined ? SMOOTHING_NOT_ENABLED : null),
    csv: (snap) => formatSmoothingCsv(snap.smoothing as NonNullable<typeof snap.smoothing>),
    schema: SMOOTHING_JSON_SCHEMA,
    remote: true,
    remoteSnapshot: remoteSmoothingSnapshot,
    json: (snap) => ({ smoothing: snap.smoothing ?? null }),
  });
}
