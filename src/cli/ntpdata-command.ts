/** `ntpkit ntpdata [ADDRESS|NAME]` (chronyc ntpdata): each source's last valid reply and packet counters. */
import type { Command } from 'commander';
import { controlCommand, type ControlFlags, runControl, withCsv } from './control-command.js';
import type { Io } from './io.js';
import { formatNtpData, formatNtpDataCsv, type NtpDataRow } from './ntpdata-format.js';
import { addRemoteOptions } from './remote-options.js';
import { fetchRemoteNtpData } from './remote-reports.js';

export const NTPDATA_JSON_SCHEMA = 'ntpkit.ntpdata/1';

export function ntpdataCommand(io: Io): Command {
  return addRemoteOptions(withCsv(controlCommand('ntpdata', "show each source's last NTP reply and counters (like chronyc ntpdata)")))
    .argument('[address]', 'only the source of this address or name')
    .action(async (address: string | undefined, flags: ControlFlags) => {
      await runControl(io, 'ntpdata', flags, 'ntpdata', address !== undefined ? { address } : {}, {
        schema: NTPDATA_JSON_SCHEMA,
        text: (r) => formatNtpData((r as { sources: NtpDataRow[] }).sources, address === undefined),
        csv: (r) => formatNtpDataCsv((r as { sources: NtpDataRow[] }).sources),
        json: (r) => r as Record<string, unknown>,
        remote: (c) => fetchRemoteNtpData(c, address),
      });
    });
}
