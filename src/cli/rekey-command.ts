/** `ntpkit rekey` (chronyc rekey): the daemon reads its key file again; sources with a key use the new one. */
import type { Command } from 'commander';
import { okCommand } from './control-command.js';
import type { Io } from './io.js';

export function rekeyCommand(io: Io): Command {
  return okCommand(io, 'rekey', 'read the key file again (like chronyc rekey)');
}
