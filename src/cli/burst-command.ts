/**
 * `ntpkit burst GOOD/MAX [ADDRESS|NAME]` (chronyc burst): up to MAX requests
 * 2 s apart to every source (or the one named), ending after GOOD good
 * replies; then the regular schedule resumes (an offline source returns to
 * offline).
 */
import type { Command } from 'commander';
import { controlCommand, type ControlFlags, OK_TEXT, runControl, usageError } from './control-command.js';
import type { Io } from './io.js';

export const BURST_JSON_SCHEMA = 'ntpkit.burst/1';

export function burstCommand(io: Io): Command {
  return controlCommand('burst', 'send a burst of requests to the sources (like chronyc burst)')
    .argument('<good/max>', 'end after GOOD good replies or MAX requests, e.g. 4/8')
    .argument('[address]', 'only the source of this address or name')
    .action(async (spec: string, address: string | undefined, flags: ControlFlags) => {
      const m = /^(\d{1,4})\/(\d{1,4})$/.exec(spec);
      const good = m ? Number(m[1]) : NaN;
      const max = m ? Number(m[2]) : NaN;
      if (!m || good < 1 || max < good || max > 2048) {
        usageError(io, 'burst', `Invalid syntax: expected GOOD/MAX with 1 <= GOOD <= MAX <= 2048, got ${JSON.stringify(spec)}`);
        return;
      }
      await runControl(io, 'burst', flags, 'burst', { good, max, ...(address !== undefined ? { address } : {}) }, {
        schema: BURST_JSON_SCHEMA, text: () => OK_TEXT, json: (r) => r as Record<string, unknown>,
      });
    });
}
