/**
 * `ntpkit trimrtc` and `ntpkit writertc` (chronyc's): ntpkit does not track
 * the real-time clock, so the daemon refuses them as chronyd without
 * rtcfile does, and these print chronyc's line for it ("513 RTC driver not
 * running") with exit status 1.
 */
import type { Command } from 'commander';
import { callDaemon } from '../control/commands.js';
import { ControlError } from '../control/errors.js';
import { controlCommand, type ControlFlags, OK_TEXT } from './control-command.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { controlExitCode } from './report-command.js';
import { NO_RTC_TEXT } from './rtcdata-command.js';

function noRtcCommand(io: Io, name: 'trimrtc' | 'writertc', description: string): Command {
  return controlCommand(name, description)
    .action(async (flags: ControlFlags) => {
      try {
        await callDaemon(flags.socket, name, {}, { timeoutMs: flags.timeout * 1000 });
        io.out(flags.json ? JSON.stringify({ schema: `ntpkit.${name}/1`, rtc: true }, null, 2) : OK_TEXT);
        io.setExitCode(ExitCode.OK);
      } catch (e) {
        if (!(e instanceof ControlError)) throw e;
        if (e.code === 'not-enabled') {
          io.out(flags.json ? JSON.stringify({ schema: `ntpkit.${name}/1`, rtc: null, reason: e.message }, null, 2) : NO_RTC_TEXT);
          io.setExitCode(ExitCode.GENERAL_FAILURE);
          return;
        }
        io.err(`ntpkit ${name}: ${e.message}`);
        io.setExitCode(controlExitCode(e));
      }
    });
}

export function trimrtcCommand(io: Io): Command {
  return noRtcCommand(io, 'trimrtc', 'step the real-time clock to the system clock (like chronyc trimrtc; ntpkit does not track the RTC)');
}

export function writertcCommand(io: Io): Command {
  return noRtcCommand(io, 'writertc', "save the real-time clock's error and drift to the rtcfile (like chronyc writertc; ntpkit does not track the RTC)");
}
