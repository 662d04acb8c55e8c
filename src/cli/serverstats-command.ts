/** `ntpkit serverstats` (chronyc serverstats): the daemon's NTP server counters. */
import type { Command } from 'commander';
import { formatServerStats, type ServerStats } from '../core/server/server-stats.js';
import { controlCommand, type ControlFlags, runControl } from './control-command.js';
import type { Io } from './io.js';

export const SERVERSTATS_JSON_SCHEMA = 'ntpkit.serverstats/1';

export function serverstatsCommand(io: Io): Command {
  return controlCommand('serverstats', "show the daemon's NTP server counters (like chronyc serverstats)")
    .option('-a, --all', 'also list drop reasons and kiss codes with a zero count')
    .action(async (flags: ControlFlags & { all?: boolean }) => {
      await runControl(io, 'serverstats', flags, 'serverstats', {}, {
        schema: SERVERSTATS_JSON_SCHEMA,
        text: (r) => formatServerStats(r as ServerStats, { all: flags.all === true }).join('\n'),
        json: (r) => r as Record<string, unknown>,
      });
    });
}
