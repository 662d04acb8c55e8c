/** `ntpkit sourcestats [-v]`: each source's regression figures in the layout of `chronyc sourcestats`. */
import type { Command } from 'commander';
import type { Io } from './io.js';
import { reportCommand } from './report-command.js';
import { formatSourcestats, formatSourcestatsCsv } from './sourcestats-format.js';

export const SOURCESTATS_JSON_SCHEMA = 'ntpkit.sourcestats/1';

export function sourcestatsCommand(io: Io): Command {
  return reportCommand(io, {
    name: 'sourcestats',
    description: "show each source's drift and offset estimates (like chronyc sourcestats)",
    verbose: true,
    text: formatSourcestats,
    csv: formatSourcestatsCsv,
    schema: SOURCESTATS_JSON_SCHEMA,
    remote: 'sources',
    json: (snap) => ({
      sources: snap.sources.map((s) => ({ id: s.id, name: s.name, address: s.address, port: s.port, verdict: s.verdict, stats: s.stats })),
    }),
  });
}
