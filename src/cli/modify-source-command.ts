/**
 * `ntpkit minpoll|maxpoll|maxdelay|maxdelayratio|maxdelaydevratio|polltarget|minstratum|maxupdateskew ADDRESS VALUE`
 * (chronyc's commands of those names): one option of a source changed at
 * run time, in force until the next reload. maxupdateskew is the clock's,
 * whatever source is named, as in chronyd.
 */
import type { Command } from 'commander';
import type { ModifiableField } from '../core/engine/engine-api.js';
import { controlCommand, type ControlFlags, OK_TEXT, runControl, usageError } from './control-command.js';
import type { Io } from './io.js';

export const MODIFY_SOURCE_JSON_SCHEMA = 'ntpkit.modify-source/1';

const WHAT: Readonly<Record<ModifiableField, { readonly integer: boolean; readonly text: string }>> = {
  minpoll: { integer: true, text: 'the shortest poll interval, log2 seconds' },
  maxpoll: { integer: true, text: 'the longest poll interval, log2 seconds' },
  maxdelay: { integer: false, text: 'the longest round trip a sample may have, seconds' },
  maxdelayratio: { integer: false, text: 'the largest ratio of a sample\'s delay to the minimum delay' },
  maxdelaydevratio: { integer: false, text: 'the largest delay increase over the standard deviation' },
  polltarget: { integer: true, text: 'the samples the poll adaptation aims for' },
  minstratum: { integer: true, text: 'the lowest stratum the source counts with' },
  maxupdateskew: { integer: false, text: 'the largest skew (ppm) of an estimate that may change the frequency' },
};

/** VALUE as chronyc reads it (%d or %lf), or null. */
export function parseModifyValue(field: ModifiableField, text: string): number | null {
  const ok = WHAT[field].integer ? /^[-+]?\d+$/.test(text) : /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text);
  return ok ? Number(text) : null;
}

export function modifySourceCommand(io: Io, field: ModifiableField): Command {
  return controlCommand(field, `change a source's ${field}: ${WHAT[field].text} (like chronyc ${field})`)
    .argument('<address>', 'the address or name of the source')
    .argument('<value>', WHAT[field].integer ? 'an integer' : 'a number')
    .action(async (address: string, text: string, flags: ControlFlags) => {
      const value = parseModifyValue(field, text);
      if (value === null) {
        usageError(io, field, `Invalid syntax for ${field} command: expected ${WHAT[field].integer ? 'an integer' : 'a number'}, got ${JSON.stringify(text)}`);
        return;
      }
      await runControl(io, field, flags, 'modify-source', { address, field, value }, {
        schema: MODIFY_SOURCE_JSON_SCHEMA, text: () => OK_TEXT, json: (r) => ({ field, value, ...(r as Record<string, unknown>) }),
      });
    });
}
