/**
 * `ntpkit dump` (chronyc dump): the daemon saves each source's samples to
 * its dumpdir now, as it does at stop, in chronyd's format; `ntpkit daemon
 * -r` (or `chronyd -r`) loads them at the next start. Without a dumpdir the
 * daemon refuses it (not-enabled).
 */
import type { Command } from 'commander';
import { controlCommand, type ControlFlags, OK_TEXT, runControl } from './control-command.js';
import type { Io } from './io.js';

export const DUMP_JSON_SCHEMA = 'ntpkit.dump/1';

export function dumpCommand(io: Io): Command {
  return controlCommand('dump', "save the sources' samples to the daemon's dumpdir now (like chronyc dump)")
    .action(async (flags: ControlFlags) => {
      await runControl(io, 'dump', flags, 'dump', {}, { schema: DUMP_JSON_SCHEMA, text: () => OK_TEXT, json: (r) => r as Record<string, unknown> });
    });
}
