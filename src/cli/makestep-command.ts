/**
 * `ntpkit makestep [THRESHOLD LIMIT]` (chronyc makestep): without arguments,
 * step the clock now by the correction still being slewed out; with them,
 * change the makestep setting (step beyond THRESHOLD seconds during the next
 * LIMIT clock updates; a negative LIMIT: always).
 */
import type { Command } from 'commander';
import { controlCommand, type ControlFlags, OK_TEXT, runControl, usageError } from './control-command.js';
import type { Io } from './io.js';

export const MAKESTEP_JSON_SCHEMA = 'ntpkit.makestep/1';

export function makestepCommand(io: Io): Command {
  return controlCommand('makestep', 'step the clock now by the remaining correction, or set makestep THRESHOLD LIMIT (like chronyc makestep)')
    .argument('[threshold]', 'step when the offset exceeds this many seconds ...')
    .argument('[limit]', '... during this many next clock updates (-1: always)')
    .action(async (threshold: string | undefined, limit: string | undefined, flags: ControlFlags) => {
      const args: Record<string, unknown> = {};
      if (threshold !== undefined || limit !== undefined) {
        const t = Number(threshold);
        const l = Number(limit);
        if (limit === undefined || threshold === undefined || threshold.trim() === '' || !Number.isFinite(t) || t < 0 || !/^-?\d+$/.test(limit) || !Number.isSafeInteger(l)) {
          usageError(io, 'makestep', `Bad syntax: give no arguments, or THRESHOLD (seconds >= 0) and LIMIT (an integer), got ${[threshold, limit].filter((x) => x !== undefined).join(' ')}`);
          return;
        }
        args.threshold = t;
        args.limit = l;
      }
      await runControl(io, 'makestep', flags, 'makestep', args, { schema: MAKESTEP_JSON_SCHEMA, text: () => OK_TEXT, json: (r) => r as Record<string, unknown> });
    });
}
