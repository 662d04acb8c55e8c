/**
 * `ntpkit local [stratum N] [orphan] [distance D]` and `ntpkit local off`
 * (chronyc local): serve as a local reference of stratum N while not
 * synchronised, or stop; the options as chrony.conf's `local` directive.
 */
import type { Command } from 'commander';
import { controlCommand, type ControlFlags, OK_TEXT, runControl, usageError } from './control-command.js';
import type { Io } from './io.js';

export const LOCAL_JSON_SCHEMA = 'ntpkit.local/1';

/** The request's arguments, or a usage error's text. */
export function parseLocalArgs(words: readonly string[]): Record<string, unknown> | string {
  if (words.length === 1 && words[0] === 'off') return { enable: false };
  const args: Record<string, unknown> = { enable: true };
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === 'orphan') { args.orphan = true; continue; }
    const v = words[++i];
    if (w === 'stratum' && v !== undefined && /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 15) args.stratum = Number(v);
    else if (w === 'distance' && v !== undefined && v.trim() !== '' && Number.isFinite(Number(v)) && Number(v) >= 0) args.distance = Number(v);
    else return `Invalid syntax for local command: expected "off" or [stratum 1-15] [orphan] [distance SECONDS], got ${JSON.stringify(words.join(' '))}`;
  }
  return args;
}

export function localCommand(io: Io): Command {
  return controlCommand('local', 'serve as a local reference while unsynchronised, or stop (like chronyc local)')
    .argument('[options...]', '"off", or [stratum N] [orphan] [distance SECONDS]')
    .action(async (words: string[], flags: ControlFlags) => {
      const args = parseLocalArgs(words);
      if (typeof args === 'string') {
        usageError(io, 'local', args);
        return;
      }
      await runControl(io, 'local', flags, 'local', args, {
        schema: LOCAL_JSON_SCHEMA, text: () => OK_TEXT, json: (r) => r as Record<string, unknown>,
      });
    });
}
