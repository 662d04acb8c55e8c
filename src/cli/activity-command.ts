/** `ntpkit activity` (chronyc activity): how many sources are online, offline, in a burst, or unresolved. */
import type { Command } from 'commander';
import type { ActivityReport } from '../core/engine/engine-api.js';
import { controlCommand, type ControlFlags, OK_TEXT, runControl } from './control-command.js';
import type { Io } from './io.js';

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

export function activityCommand(io: Io): Command {
  return controlCommand('activity', 'count the sources online, offline and in a burst (like chronyc activity)')
    .action(async (flags: ControlFlags) => {
      await runControl(io, 'activity', flags, 'activity', {}, {
        schema: ACTIVITY_JSON_SCHEMA, text: (r) => formatActivity(r as ActivityReport), json: (r) => r as Record<string, unknown>,
      });
    });
}
