/** `ntpkit shutdown` (chronyc shutdown): the daemon stops as on SIGTERM, after replying. */
import type { Command } from 'commander';
import { controlCommand, type ControlFlags, OK_TEXT, runControl } from './control-command.js';
import type { Io } from './io.js';

export const SHUTDOWN_JSON_SCHEMA = 'ntpkit.shutdown/1';

export function shutdownCommand(io: Io): Command {
  return controlCommand('shutdown', 'stop the daemon (like chronyc shutdown)')
    .action(async (flags: ControlFlags) => {
      await runControl(io, 'shutdown', flags, 'shutdown', {}, { schema: SHUTDOWN_JSON_SCHEMA, text: () => OK_TEXT });
    });
}
