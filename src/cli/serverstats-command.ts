/** `ntpkit serverstats` (chronyc serverstats): the daemon's NTP server counters. */
import type { Command } from 'commander';
import { formatServerStats, type ServerStats } from '../core/server/server-stats.js';
import { controlCommand, type ControlFlags, runControl, withCsv } from './control-command.js';
import { csvLine } from './csv-fields.js';
import type { Io } from './io.js';
import { addRemoteOptions } from './remote-options.js';
import { fetchRemoteServerStats } from './remote-reports.js';

export const SERVERSTATS_JSON_SCHEMA = 'ntpkit.serverstats/1';

/** chronyc -c serverstats: chronyd's eleven counters on one line (ntpkit's extra counters are text and JSON only). */
export function formatServerStatsCsv(s: ServerStats): string {
  return csvLine([
    s.ntpPacketsReceived, s.ntpPacketsDropped, s.commandPacketsReceived, s.commandPacketsDropped, s.clientLogRecordsDropped,
    s.ntsKeConnectionsAccepted, s.ntsKeConnectionsDropped, s.authenticatedNtpPackets, s.interleavedNtpPackets,
    s.ntpTimestampsHeld, Math.floor(s.ntpTimestampSpan),
  ]);
}

export function serverstatsCommand(io: Io): Command {
  return addRemoteOptions(withCsv(controlCommand('serverstats', "show the daemon's NTP server counters (like chronyc serverstats)")))
    .option('-a, --all', 'also list drop reasons and kiss codes with a zero count')
    .action(async (flags: ControlFlags & { all?: boolean }) => {
      await runControl(io, 'serverstats', flags, 'serverstats', {}, {
        schema: SERVERSTATS_JSON_SCHEMA,
        text: (r) => formatServerStats(r as ServerStats, { all: flags.all === true, chronydOnly: flags.host !== undefined }).join('\n'),
        csv: (r) => formatServerStatsCsv(r as ServerStats),
        json: (r) => r as Record<string, unknown>,
        remote: fetchRemoteServerStats,
      });
    });
}
