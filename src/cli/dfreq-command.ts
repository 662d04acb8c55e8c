/**
 * `ntpkit dfreq PPM` (chronyc dfreq): PPM added to the clock's frequency as
 * tracking reports it (positive: towards "fast", so the clock is slowed).
 */
import type { Command } from 'commander';
import { controlCommand, type ControlFlags, OK_TEXT, runControl, usageError } from './control-command.js';
import type { Io } from './io.js';

export const DFREQ_JSON_SCHEMA = 'ntpkit.dfreq/1';

/** chronyc reads the value with sscanf("%lf"): a leading number, whatever follows it. */
export function scanDouble(text: string): number | null {
  const m = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(text);
  return m === null ? null : Number(m[0]);
}

export function dfreqCommand(io: Io): Command {
  return controlCommand('dfreq', "add to the clock's frequency as tracking shows it (like chronyc dfreq; positive: towards fast, the clock is slowed)")
    .argument('<ppm>', 'parts per million')
    .action(async (text: string, flags: ControlFlags) => {
      const ppm = scanDouble(text);
      if (ppm === null || !Number.isFinite(ppm)) {
        usageError(io, 'dfreq', `Invalid value: expected ppm, got ${JSON.stringify(text)}`);
        return;
      }
      await runControl(io, 'dfreq', flags, 'dfreq', { ppm }, {
        schema: DFREQ_JSON_SCHEMA, text: () => OK_TEXT, json: (r) => r as Record<string, unknown>,
      });
    });
}
