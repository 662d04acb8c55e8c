/** `ntpkit refresh` (chronyc refresh): every source's name and every pool resolved again now. */
import type { Command } from 'commander';
import { okCommand } from './control-command.js';
import type { Io } from './io.js';

export function refreshCommand(io: Io): Command {
  return okCommand(io, 'refresh', "resolve the sources' names again now (like chronyc refresh)");
}
