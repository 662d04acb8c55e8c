/** `ntpkit authdata [-v] [-c]` (chronyc authdata): how each NTP source's packets are authenticated. */
import type { Command } from 'commander';
import type { AuthDataReport } from '../core/engine/engine-api.js';
import { formatAuthdata, formatAuthdataCsv } from './authdata-format.js';
import { controlCommand, type ControlFlags, runControl, withCsv } from './control-command.js';
import type { Io } from './io.js';
import { addRemoteOptions, remoteNames } from './remote-options.js';
import { fetchRemoteAuthData } from './remote-reports.js';

export const AUTHDATA_JSON_SCHEMA = 'ntpkit.authdata/1';

export function authdataCommand(io: Io): Command {
  return addRemoteOptions(withCsv(controlCommand('authdata', "show how each source's packets are authenticated: key, NTS cookies, NAKs (like chronyc authdata)")), { names: true, all: true })
    .option('-v, --verbose', "print chronyc's legend above the table")
    .option('-n, --numeric', 'show addresses, not configured names (chronyc -n)')
    .action(async (flags: ControlFlags & { verbose?: boolean; numeric?: boolean; sourceNames?: boolean; all?: boolean }) => {
      await runControl(io, 'authdata', flags, 'authdata', {}, {
        schema: AUTHDATA_JSON_SCHEMA,
        text: (r) => formatAuthdata((r as { sources: AuthDataReport[] }).sources, { verbose: flags.verbose === true, numeric: flags.numeric === true }),
        csv: (r) => formatAuthdataCsv((r as { sources: AuthDataReport[] }).sources),
        json: (r) => r as Record<string, unknown>,
        remote: (c) => fetchRemoteAuthData(c, remoteNames(flags)),
      });
    });
}
