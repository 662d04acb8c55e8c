/** `ntpkit cmdaccheck ADDRESS` (chronyc cmdaccheck): would the daemon's command port let ADDRESS in (its cmdallow/cmddeny rules)? */
import type { Command } from 'commander';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { accheckText } from './accheck-command.js';
import { controlCommand, type ControlFlags, runControl, usageError } from './control-command.js';
import type { Io } from './io.js';

export const CMDACCHECK_JSON_SCHEMA = 'ntpkit.cmdaccheck/1';

export function cmdaccheckCommand(io: Io): Command {
  return controlCommand('cmdaccheck', "check whether the command port's cmdallow/cmddeny rules let an address in (like chronyc cmdaccheck)")
    .argument('<address>', 'an IPv4 or IPv6 address, or a name to resolve')
    .action(async (name: string, flags: ControlFlags) => {
      // As chronyc: a name is resolved here, the daemon is asked about its address.
      const address = isIP(name) !== 0 ? name : await lookup(name).then((r) => r.address, () => null);
      if (address === null) {
        usageError(io, 'cmdaccheck', `Could not read address: ${JSON.stringify(name)} is not an address and does not resolve`);
        return;
      }
      await runControl(io, 'cmdaccheck', flags, 'cmdaccheck', { address }, {
        schema: CMDACCHECK_JSON_SCHEMA, text: (r) => accheckText((r as { allowed: boolean }).allowed), json: (r) => ({ address, ...(r as Record<string, unknown>) }),
      });
    });
}
