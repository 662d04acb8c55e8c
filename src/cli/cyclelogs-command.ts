/** `ntpkit cyclelogs` (chronyc cyclelogs): the daemon closes and reopens its log files, after logrotate moved them. */
import type { Command } from 'commander';
import { okCommand } from './control-command.js';
import type { Io } from './io.js';

export function cyclelogsCommand(io: Io): Command {
  return okCommand(io, 'cyclelogs', 'reopen the log files (like chronyc cyclelogs)');
}
