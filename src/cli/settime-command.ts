/**
 * `ntpkit settime TIME` (chronyc settime): tell the daemon the true time now,
 * read off a trusted clock. The daemon takes it only with the `manual`
 * directive, and corrects the offset as a clock update (a step if makestep
 * allows, else a slew). The reply is chronyc's line.
 *
 * TIME: `HH:MM[:SS[.fraction]]` (today, local time, as chronyc's getdate
 * reads a bare time), an ISO 8601 date and time, or `@SECONDS` (Unix
 * seconds, with up to 9 decimals, exact).
 */
import type { Command } from 'commander';
import { controlCommand, type ControlFlags, OK_TEXT, runControl, usageError } from './control-command.js';
import type { Io } from './io.js';

export const SETTIME_JSON_SCHEMA = 'ntpkit.settime/1';

/** TIME as Unix seconds in a decimal string, or null when it is none of the accepted forms. `today`: local midnight's Date, for a bare time. */
export function parseSettime(text: string, today: Date = new Date()): string | null {
  const unix = /^@(\d{1,12}(?:\.\d{1,9})?)$/.exec(text);
  if (unix !== null) return unix[1] as string;
  const bare = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/.exec(text);
  if (bare !== null) {
    const [h, m, s] = [Number(bare[1]), Number(bare[2]), Number(bare[3] ?? 0)];
    if (h > 23 || m > 59 || s > 59) return null;
    const d = new Date(today.getFullYear(), today.getMonth(), today.getDate(), h, m, s);
    return `${Math.floor(d.getTime() / 1000)}${bare[4] !== undefined ? `.${bare[4]}` : ''}`;
  }
  // A date and time with a zone (ISO 8601): millisecond precision is what Date.parse keeps.
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text)) return null;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms) || ms < 0) return null;
  return (ms / 1000).toFixed(3);
}

export function settimeCommand(io: Io): Command {
  return controlCommand('settime', 'set the time by hand (like chronyc settime); the daemon needs the manual directive')
    .argument('<time>', 'HH:MM[:SS] (today, local time), an ISO 8601 date and time, or @UNIX-SECONDS')
    .action(async (time: string, flags: ControlFlags) => {
      const unixSeconds = parseSettime(time);
      if (unixSeconds === null) {
        usageError(io, 'settime', `Invalid date/time "${time}": give HH:MM[:SS], an ISO 8601 date and time (2026-12-07T16:30:05Z) or @UNIX-SECONDS`);
        return;
      }
      await runControl(io, 'settime', flags, 'settime', { unixSeconds }, {
        schema: SETTIME_JSON_SCHEMA,
        // chronyc's line (client.c process_cmd_settime); our frequency does not change with one sample.
        text: (r) => {
          const v = r as { fast: number; frequencyPpm: number };
          return `${OK_TEXT}\nClock was ${v.fast.toFixed(2)} seconds fast.  Frequency change = ${(0).toFixed(2)}ppm, new frequency = ${v.frequencyPpm.toFixed(2)}ppm`;
        },
        json: (r) => r as Record<string, unknown>,
      });
    });
}
