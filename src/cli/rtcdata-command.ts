/**
 * `ntpkit rtcdata` (chronyc rtcdata): ntpkit does not track the real-time
 * clock, so the daemon refuses as chronyd without rtcfile does, and this
 * prints chronyc's line for it ("513 RTC driver not running") with exit
 * status 1. With -h it asks another daemon (a chronyd with rtcfile answers
 * with its figures, printed in chronyc's layout).
 */
import type { Command } from 'commander';
import { callDaemon } from '../control/daemon-client.js';
import { CandmStatusError } from '../control/candm/client.js';
import { ControlError } from '../control/errors.js';
import { STT } from '../proto/candm/index.js';
import { controlCommand, type ControlFlags, printCsv, withCsv } from './control-command.js';
import { csvFixed, csvInterval, csvLine, csvTime } from './csv-fields.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { addRemoteOptions, askRemote } from './remote-options.js';
import { fetchRemoteRtc, type RtcReport } from './remote-reports.js';
import { controlExitCode } from './report-command.js';
import { cFixed, cInterval, cUtcTime } from './report-units.js';

export const NO_RTC_TEXT = '513 RTC driver not running';

/** chronyc rtcdata's six lines (client.c process_cmd_rtcreport). */
export function formatRtc(r: RtcReport): string {
  return [
    `RTC ref time (UTC) : ${cUtcTime(r.refTime)}`,
    `Number of samples  : ${r.samples}`,
    `Number of runs     : ${r.runs}`,
    `Sample span period : ${cInterval(r.span)}`,
    `RTC is fast by     : ${cFixed(r.secondsFast, 6, { width: 12 })} seconds`,
    `RTC gains time at  : ${cFixed(r.gainRatePpm, 3, { width: 9 })} ppm`,
  ].join('\n');
}

function noRtc(io: Io, flags: ControlFlags, reason: string): void {
  if (flags.json) io.out(JSON.stringify({ schema: 'ntpkit.rtcdata/1', rtc: null, reason }, null, 2));
  else io.out(NO_RTC_TEXT);
  io.setExitCode(ExitCode.GENERAL_FAILURE);
}

export function rtcdataCommand(io: Io): Command {
  return addRemoteOptions(withCsv(controlCommand('rtcdata', "show the real-time clock's tracking (like chronyc rtcdata; ntpkit does not track it)")))
    .action(async (flags: ControlFlags) => {
      try {
        if (flags.host !== undefined) {
          const r = await askRemote(flags.host, flags.port, fetchRemoteRtc);
          if (flags.json) io.out(JSON.stringify({ schema: 'ntpkit.rtcdata/1', rtc: r }, null, 2));
          else if (flags.csv) printCsv(io, csvLine([csvTime(r.refTime), r.samples, r.runs, csvInterval(r.span), csvFixed(r.secondsFast, 6), csvFixed(r.gainRatePpm, 3)]));
          else io.out(formatRtc(r));
          io.setExitCode(ExitCode.OK);
          return;
        }
        await callDaemon(flags.socket, 'rtcdata', {}, { timeoutMs: flags.timeout * 1000 });
        io.err('ntpkit rtcdata: the daemon sent an RTC report this ntpkit cannot show');
        io.setExitCode(ExitCode.GENERAL_FAILURE);
      } catch (e) {
        if (!(e instanceof ControlError)) throw e;
        if (e.code === 'not-enabled' || (e instanceof CandmStatusError && e.status === STT.NORTC)) {
          noRtc(io, flags, e.message);
          return;
        }
        io.err(`ntpkit rtcdata: ${e.message}`);
        io.setExitCode(controlExitCode(e));
      }
    });
}
