/**
 * `ntpkit online [ADDRESS|NAME]` and `ntpkit offline [ADDRESS|NAME]`
 * (chronyc online/offline): an offline source gets no requests and keeps
 * its state; online resumes polling at once.
 */
import type { Command } from 'commander';
import { controlCommand, type ControlFlags, OK_TEXT, runControl } from './control-command.js';
import type { Io } from './io.js';

export const ONLINE_JSON_SCHEMA = 'ntpkit.online/1';

function onOff(io: Io, which: 'online' | 'offline', description: string): Command {
  return controlCommand(which, description)
    .argument('[address]', 'only the source of this address or name (default: all)')
    .action(async (address: string | undefined, flags: ControlFlags) => {
      await runControl(io, which, flags, which, address !== undefined ? { address } : {}, {
        schema: ONLINE_JSON_SCHEMA, text: () => OK_TEXT, json: (r) => ({ command: which, ...(r as Record<string, unknown>) }),
      });
    });
}

export function onlineCommand(io: Io): Command {
  return onOff(io, 'online', 'resume polling the sources (like chronyc online)');
}

export function offlineCommand(io: Io): Command {
  return onOff(io, 'offline', 'stop polling the sources; they keep their state (like chronyc offline)');
}
