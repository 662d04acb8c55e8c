/** `ntpkit activity` (chronyc activity): how many sources are online, offline, in a burst, or unresolved. */
import type { Command } from 'commander';
import type { ActivityReport } from '../core/engine/engine-api.js';
import { controlCommand, type ControlFlags, OK_TEXT, runControl, withCsv } from './control-command.js';
import { csvLine } from './csv-fields.js';
import type { Io } from './io.js';
import { addRemoteOptions } from './remote-options.js';
import { fetchRemoteActivity } from './remote-snapshot.js';

export const ACTIVITY_JSON_SCHEMA = 'ntpkit.activity/1';

/** chronyc 4.3's lines, "sources" even for one. */
export function formatActivity(a: ActivityReport): string {
  return [
    OK_TEXT,
    `${a.online} sources online`,
    `${a.offline} sources offline`,
    `${a.burstOnline} sources doing burst (return to online)`,
    `${a.burstOffline} sources doing burst (return to offline)`,
    `${a.unresolved} sources with unknown address`,
  ].join('\n');
}

/** chronyc -c activity: the five counts on one line, without "200 OK". */
export function formatActivityCsv(a: ActivityReport): string {
  return csvLine([a.online, a.offline, a.burstOnline, a.burstOffline, a.unresolved]);
}

export function activityCommand(io: Io): Command {
  return addRemoteOptions(withCsv(controlCommand('activity', 'count the sources online, offline and in a burst (like chronyc activity)')))
    .action(async (flags: ControlFlags) => {
      await runControl(io, 'activity', flags, 'activity', {}, {
        schema: ACTIVITY_JSON_SCHEMA, text: (r) => formatActivity(r as ActivityReport), csv: (r) => formatActivityCsv(r as ActivityReport), json: (r) => r as Record<string, unknown>,
        remote: fetchRemoteActivity,
      });
    });
}
