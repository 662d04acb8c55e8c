/** `ntpkit reset sources` (chronyc reset sources): every source's samples dropped, as after a step; polling goes on. */
import type { Command } from 'commander';
import { controlCommand, type ControlFlags, OK_TEXT, runControl, usageError } from './control-command.js';
import type { Io } from './io.js';

export const RESET_JSON_SCHEMA = 'ntpkit.reset/1';

export function resetCommand(io: Io): Command {
  return controlCommand('reset', "drop every source's samples (like chronyc reset sources)")
    .argument('<what>', '"sources"')
    .action(async (what: string, flags: ControlFlags) => {
      if (what !== 'sources') {
        usageError(io, 'reset', `Invalid syntax for reset command: expected "reset sources", got ${JSON.stringify(what)}`);
        return;
      }
      await runControl(io, 'reset', flags, 'reset-sources', {}, {
        schema: RESET_JSON_SCHEMA, text: () => OK_TEXT, json: (r) => r as Record<string, unknown>,
      });
    });
}
