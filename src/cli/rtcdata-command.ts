/**
 * `ntpkit rtcdata` (chronyc rtcdata): ntpkit does not track the real-time
 * clock, so the daemon refuses as chronyd without rtcfile does, and this
 * prints chronyc's line for it ("513 RTC driver not running") with exit
 * status 1.
 */
import type { Command } from 'commander';
import { callDaemon } from '../control/daemon-client.js';
import { ControlError } from '../control/errors.js';
import { controlCommand, type ControlFlags, withCsv } from './control-command.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { controlExitCode } from './report-command.js';

export const NO_RTC_TEXT = '513 RTC driver not running';

export function rtcdataCommand(io: Io): Command {
  return withCsv(controlCommand('rtcdata', "show the real-time clock's tracking (like chronyc rtcdata; ntpkit does not track it)"))
    .action(async (flags: ControlFlags) => {
      try {
        await callDaemon(flags.socket, 'rtcdata', {}, { timeoutMs: flags.timeout * 1000 });
        io.err('ntpkit rtcdata: the daemon sent an RTC report this ntpkit cannot show');
        io.setExitCode(ExitCode.GENERAL_FAILURE);
      } catch (e) {
        if (!(e instanceof ControlError)) throw e;
        if (e.code === 'not-enabled') {
          if (flags.json) io.out(JSON.stringify({ schema: 'ntpkit.rtcdata/1', rtc: null, reason: e.message }, null, 2));
          else io.out(NO_RTC_TEXT);
          io.setExitCode(ExitCode.GENERAL_FAILURE);
          return;
        }
        io.err(`ntpkit rtcdata: ${e.message}`);
        io.setExitCode(controlExitCode(e));
      }
    });
}
