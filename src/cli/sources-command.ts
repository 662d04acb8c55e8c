/** `ntpkit sources [-v]`: the daemon's sources in the layout of `chronyc sources`. */
import type { Command } from 'commander';
import type { Io } from './io.js';
import { reportCommand } from './report-command.js';
import { formatSources, formatSourcesCsv } from './sources-format.js';

export const SOURCES_JSON_SCHEMA = 'ntpkit.sources/1';

export function sourcesCommand(io: Io): Command {
  return reportCommand(io, {
    name: 'sources',
    description: 'show the sources, their state and last sample (like chronyc sources)',
    verbose: true,
    text: formatSources,
    csv: formatSourcesCsv,
    schema: SOURCES_JSON_SCHEMA,
    remote: 'sources',
    json: (snap) => ({ sources: snap.sources }),
  });
}
