/**
 * `ntpkit reload`: the daemon re-reads its config file, as on SIGHUP. A bad
 * config is refused with its file:line errors and the running one stays.
 * chronyc's `reload sources` re-reads only sourcedir files; this reloads
 * everything the daemon can (see docs/control.md).
 */
import type { Command } from 'commander';
import { controlCommand, type ControlFlags, OK_TEXT, runControl } from './control-command.js';
import type { Io } from './io.js';

export const RELOAD_JSON_SCHEMA = 'ntpkit.reload/1';

export function reloadCommand(io: Io): Command {
  return controlCommand('reload', "re-read the daemon's config file, as SIGHUP does (chronyc reload sources, and more)")
    .argument('[what]', 'accepted for chronyc habits: "sources" (everything is reloaded anyway)')
    .action(async (what: string | undefined, flags: ControlFlags) => {
      if (what !== undefined && what !== 'sources') {
        io.err(`ntpkit reload: Invalid syntax: expected "reload" or "reload sources", got "${what}"`);
        io.setExitCode(2);
        return;
      }
      await runControl(io, 'reload', flags, 'reload', {}, { schema: RELOAD_JSON_SCHEMA, text: () => OK_TEXT, json: (r) => r as Record<string, unknown> });
    });
}
