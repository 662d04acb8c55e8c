/**
 * `ntpkit add server|pool HOST [options]` and `ntpkit delete ADDRESS|NAME`
 * (chronyc add/delete). The options are those of a chrony.conf source line,
 * parsed by the config parser in the daemon. Run-time changes last until the
 * next reload.
 */
import type { Command } from 'commander';
import { controlCommand, type ControlFlags, OK_TEXT, runControl, usageError } from './control-command.js';
import type { Io } from './io.js';

export const ADD_JSON_SCHEMA = 'ntpkit.add/1';
export const DELETE_JSON_SCHEMA = 'ntpkit.delete/1';

export function addCommand(io: Io): Command {
  return controlCommand('add', 'add a source, with chrony.conf source options (like chronyc add server|pool)')
    .argument('<type>', 'server or pool')
    .argument('<host>', 'address or name')
    .argument('[options...]', 'chrony.conf source options, e.g. iburst minpoll 4')
    .allowUnknownOption()
    .action(async (type: string, host: string, options: string[], flags: ControlFlags) => {
      if (type !== 'server' && type !== 'pool') {
        usageError(io, 'add', `Invalid syntax: expected "add server HOST [options]" or "add pool HOST [options]", got "${type}"`);
        return;
      }
      await runControl(io, 'add', flags, 'add', { line: [type, host, ...options].join(' ') }, {
        schema: ADD_JSON_SCHEMA, text: () => OK_TEXT, json: (r) => r as Record<string, unknown>,
      });
    });
}

export function deleteCommand(io: Io): Command {
  return controlCommand('delete', 'remove a source, or every member of a pool (like chronyc delete)')
    .argument('<address>', 'the address or name of the source')
    .action(async (address: string, flags: ControlFlags) => {
      await runControl(io, 'delete', flags, 'delete', { address }, {
        schema: DELETE_JSON_SCHEMA, text: () => OK_TEXT, json: (r) => r as Record<string, unknown>,
      });
    });
}
