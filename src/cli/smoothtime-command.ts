/** `ntpkit smoothtime reset|activate` (chronyc smoothtime): forget the offset being smoothed, or start smoothing now. */
import type { Command } from 'commander';
import { controlCommand, type ControlFlags, OK_TEXT, runControl, usageError } from './control-command.js';
import type { Io } from './io.js';

export function smoothtimeCommand(io: Io): Command {
  return controlCommand('smoothtime', 'reset the smoothing of the served time, or activate it now (like chronyc smoothtime)')
    .argument('<action>', '"reset" or "activate"')
    .action(async (action: string, flags: ControlFlags) => {
      if (action !== 'reset' && action !== 'activate') {
        usageError(io, 'smoothtime', `Invalid syntax for smoothtime command: expected "reset" or "activate", got ${JSON.stringify(action)}`);
        return;
      }
      await runControl(io, 'smoothtime', flags, 'smoothtime', { action }, { schema: 'ntpkit.smoothtime/1', text: () => OK_TEXT });
    });
}
