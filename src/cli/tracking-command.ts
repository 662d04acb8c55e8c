/** `ntpkit tracking`: the daemon's sync state in the layout of `chronyc tracking`. */
import type { Command } from 'commander';
import type { Io } from './io.js';
import { reportCommand } from './report-command.js';
import { formatTracking, formatTrackingCsv } from './tracking-format.js';

export const TRACKING_JSON_SCHEMA = 'ntpkit.tracking/1';

export function trackingCommand(io: Io): Command {
  return reportCommand(io, {
    name: 'tracking',
    description: "show the clock's synchronization state (like chronyc tracking)",
    text: formatTracking,
    csv: formatTrackingCsv,
    schema: TRACKING_JSON_SCHEMA,
    remote: true,
    json: (snap) => ({ clock: snap.clock, tracking: snap.tracking }),
  });
}
