/**
 * `ntpkit reselect` (chronyc reselect): the current source choice
 * forgotten and the best source selected again; `ntpkit reselectdist DIST`
 * (chronyc reselectdist): the reselectdist directive's distance from now on.
 */
import type { Command } from 'commander';
import { controlCommand, type ControlFlags, OK_TEXT, okCommand, runControl, usageError } from './control-command.js';
import { scanDouble } from './dfreq-command.js';
import type { Io } from './io.js';

export function reselectCommand(io: Io): Command {
  return okCommand(io, 'reselect', 'select the best source again, forgetting the current choice (like chronyc reselect)');
}

export function reselectdistCommand(io: Io): Command {
  return controlCommand('reselectdist', 'set the distance a new source must be better by to be selected (like chronyc reselectdist)')
    .argument('<distance>', 'seconds (the reselectdist directive)')
    .action(async (text: string, flags: ControlFlags) => {
      const distance = scanDouble(text);
      if (distance === null || !Number.isFinite(distance)) {
        usageError(io, 'reselectdist', `Invalid syntax for reselectdist command: expected seconds, got ${JSON.stringify(text)}`);
        return;
      }
      await runControl(io, 'reselectdist', flags, 'reselectdist', { distance }, {
        schema: 'ntpkit.reselectdist/1', text: () => OK_TEXT, json: (r) => r as Record<string, unknown>,
      });
    });
}
