/** `ntpkit onoffline` (chronyc onoffline): each source with an address set online when a route to it exists, offline otherwise. */
import type { Command } from 'commander';
import { okCommand } from './control-command.js';
import type { Io } from './io.js';

export function onofflineCommand(io: Io): Command {
  return okCommand(io, 'onoffline', 'set each source online or offline by whether a route to it exists (like chronyc onoffline)');
}
