/** `ntpkit selectdata [-v] [-c]` (chronyc selectdata): how the selection sees each source. */
import type { Command } from 'commander';
import type { SelectDataReport } from '../core/engine/engine-api.js';
import { controlCommand, type ControlFlags, runControl, withCsv } from './control-command.js';
import type { Io } from './io.js';
import { addRemoteOptions, remoteNames } from './remote-options.js';
import { fetchRemoteSelectData } from './remote-reports.js';
import { formatSelectdata, formatSelectdataCsv } from './selectdata-format.js';

export const SELECTDATA_JSON_SCHEMA = 'ntpkit.selectdata/1';

export function selectdataCommand(io: Io): Command {
  return addRemoteOptions(withCsv(controlCommand('selectdata', "show each source's selection state, options, score and interval (like chronyc selectdata)")), { names: true, all: true })
    .option('-v, --verbose', "print chronyc's legend above the table")
    .option('-n, --numeric', 'show addresses, not configured names (chronyc -n)')
    .action(async (flags: ControlFlags & { verbose?: boolean; numeric?: boolean; sourceNames?: boolean; all?: boolean }) => {
      await runControl(io, 'selectdata', flags, 'selectdata', {}, {
        schema: SELECTDATA_JSON_SCHEMA,
        text: (r) => formatSelectdata((r as { sources: SelectDataReport[] }).sources, { verbose: flags.verbose === true, numeric: flags.numeric === true }),
        csv: (r) => formatSelectdataCsv((r as { sources: SelectDataReport[] }).sources),
        json: (r) => r as Record<string, unknown>,
        remote: (c) => fetchRemoteSelectData(c, remoteNames(flags)),
      });
    });
}
