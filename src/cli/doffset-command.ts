/** `ntpkit doffset OFFSET` (chronyc doffset): slew the clock by -OFFSET seconds (OFFSET positive: the clock is ahead). */
import type { Command } from 'commander';
import { controlCommand, type ControlFlags, OK_TEXT, runControl, usageError } from './control-command.js';
import type { Io } from './io.js';

export const DOFFSET_JSON_SCHEMA = 'ntpkit.doffset/1';

export function doffsetCommand(io: Io): Command {
  return controlCommand('doffset', 'slew the clock by an offset (like chronyc doffset; positive: the clock is ahead and is slowed)')
    .argument('<offset>', 'seconds')
    .action(async (text: string, flags: ControlFlags) => {
      const offset = Number(text);
      if (text.trim() === '' || !Number.isFinite(offset)) {
        usageError(io, 'doffset', `Invalid syntax for doffset command: expected seconds, got ${JSON.stringify(text)}`);
        return;
      }
      await runControl(io, 'doffset', flags, 'doffset', { offset }, {
        schema: DOFFSET_JSON_SCHEMA, text: () => OK_TEXT, json: (r) => r as Record<string, unknown>,
      });
    });
}
