/** `ntpkit clients [-p N]` (chronyc clients): who the daemon's NTP server has answered. */
import type { Command } from 'commander';
import type { ClientReport } from '../core/server/client-report.js';
import { formatClients, formatClientsCsv } from './clients-format.js';
import { controlCommand, type ControlFlags, runControl, usageError, withCsv } from './control-command.js';
import type { Io } from './io.js';
import { addRemoteOptions, remoteNames } from './remote-options.js';
import { fetchRemoteClients } from './remote-reports.js';

export const CLIENTS_JSON_SCHEMA = 'ntpkit.clients/1';

export function clientsCommand(io: Io): Command {
  return addRemoteOptions(withCsv(controlCommand('clients', "list the NTP server's clients (like chronyc clients)")), { portLong: true })
    .option('-n, --numeric', 'with --host: addresses, not their reverse lookup (chronyc -n)')
    .option('-p, --packets <n>', 'only clients that sent at least this many requests')
    .action(async (flags: ControlFlags & { packets?: string; numeric?: boolean }) => {
      let minPackets = 0;
      if (flags.packets !== undefined) {
        if (!/^\d+$/.test(flags.packets)) {
          usageError(io, 'clients', `Invalid -p ${JSON.stringify(flags.packets)}: expected a whole number of packets`);
          return;
        }
        minPackets = Number(flags.packets);
      }
      await runControl(io, 'clients', flags, 'clients', minPackets > 0 ? { minPackets } : {}, {
        schema: CLIENTS_JSON_SCHEMA,
        text: (r) => formatClients((r as { clients: ClientReport[] }).clients),
        csv: (r) => formatClientsCsv((r as { clients: ClientReport[] }).clients),
        json: (r) => r as Record<string, unknown>,
        remote: (c) => fetchRemoteClients(c, minPackets, remoteNames(flags)),
      });
    });
}
