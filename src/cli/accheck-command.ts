/** `ntpkit accheck ADDRESS` (chronyc accheck): would the daemon's NTP server answer ADDRESS (its allow/deny rules)? */
import type { Command } from 'commander';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { controlCommand, type ControlFlags, runControl, usageError } from './control-command.js';
import type { Io } from './io.js';

export const ACCHECK_JSON_SCHEMA = 'ntpkit.accheck/1';

/** chronyc's status lines for the two answers. */
export function accheckText(allowed: boolean): string {
  return allowed ? '208 Access allowed' : '209 Access denied';
}

export function accheckCommand(io: Io): Command {
  return controlCommand('accheck', "check whether the NTP server's allow/deny rules let an address in (like chronyc accheck)")
    .argument('<address>', 'an IPv4 or IPv6 address, or a name to resolve')
    .action(async (name: string, flags: ControlFlags) => {
      // As chronyc: a name is resolved here, the daemon is asked about its address.
      const address = isIP(name) !== 0 ? name : await lookup(name).then((r) => r.address, () => null);
      if (address === null) {
        usageError(io, 'accheck', `Could not read address: ${JSON.stringify(name)} is not an address and does not resolve`);
        return;
      }
      await runControl(io, 'accheck', flags, 'accheck', { address }, {
        schema: ACCHECK_JSON_SCHEMA, text: (r) => accheckText((r as { allowed: boolean }).allowed), json: (r) => ({ address, ...(r as Record<string, unknown>) }),
      });
    });
}
