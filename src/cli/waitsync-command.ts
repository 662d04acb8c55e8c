/**
 * `ntpkit waitsync [MAX-TRIES [MAX-CORRECTION [MAX-SKEW [INTERVAL]]]]`
 * (chronyc waitsync), for boot scripts that must not go on before the clock
 * is synchronised: reads the daemon's tracking every INTERVAL seconds (10,
 * at least 0.1) until it follows a source with the correction still to apply
 * within MAX-CORRECTION seconds and the skew within MAX-SKEW ppm (0: no
 * limit), or MAX-TRIES reads were made (0: no limit). Each try prints
 * chronyc's line; the exit status is 0 once synchronised, 1 otherwise.
 */
import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { defaultClientSocketPath } from '../config/default-config.js';
import { fetchSnapshot } from '../control/daemon-client.js';
import { ControlError } from '../control/errors.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import { usageError } from './control-command.js';
import { csvFixed, csvLine, csvRefId } from './csv-fields.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { positiveNumber } from './option-parsers.js';
import { selectedSource } from './report-common.js';

/** chronyd's refid of its own `local` reference (127.127.1.1): serving, not synchronised. */
const LOCAL_REFID = 0x7f7f0101;

export interface WaitsyncLimits {
  readonly maxTries: number;
  readonly maxCorrection: number;
  readonly maxSkewPpm: number;
  readonly interval: number;
}

/**
 * chronyc's arguments, read as its sscanf("%d %lf %lf %lf") does: the
 * leading ones that parse count, the rest keep their defaults; null when one
 * is given that is not a number.
 */
export function parseWaitsyncArgs(args: readonly string[]): WaitsyncLimits | null {
  const nums = args.map(Number);
  if (nums.some((n) => !Number.isFinite(n)) || (args[0] !== undefined && !/^[-+]?\d+$/.test(args[0]))) return null;
  return {
    maxTries: nums[0] ?? 0,
    maxCorrection: nums[1] ?? 0,
    maxSkewPpm: nums[2] ?? 0,
    // Shorter than 0.1 s would only load the daemon.
    interval: Math.max(nums[3] ?? 10, 0.1),
  };
}

/** The try's verdict, as chronyc decides it: a real reference (a source, or a refclock's refid, not `local`), within the limits. */
export function waitsyncDone(snap: DaemonSnapshot, l: WaitsyncLimits): boolean {
  const t = snap.tracking;
  const refid = t.referenceId >>> 0;
  const real = selectedSource(snap) !== undefined || (refid !== 0 && refid !== LOCAL_REFID);
  return real && (l.maxCorrection === 0 || Math.abs(t.systemTime) <= l.maxCorrection) && (l.maxSkewPpm === 0 || t.skewPpm <= l.maxSkewPpm);
}

export function formatWaitsyncTry(i: number, snap: DaemonSnapshot, csv: boolean): string {
  const t = snap.tracking;
  const correction = csvFixed(Math.abs(t.systemTime), 9);
  if (csv) return csvLine([i, csvRefId(t.referenceId), correction, csvFixed(t.skewPpm, 3)]);
  return `try: ${i}, refid: ${csvRefId(t.referenceId)}, correction: ${correction}, skew: ${csvFixed(t.skewPpm, 3)}\n`;
}

interface WaitsyncFlags { socket: string; csv?: boolean; timeout: number }

export function waitsyncCommand(io: Io): Command {
  return new Command('waitsync')
    .description('wait until the clock is synchronised (like chronyc waitsync), for boot scripts')
    .argument('[args...]', 'MAX-TRIES (0: no limit) MAX-CORRECTION (seconds) MAX-SKEW (ppm) INTERVAL (seconds, default 10)')
    .addOption(new Option('--socket <path>', "the daemon's control socket (default: /run/ntpkit/ntpkit.sock when it exists, else where this user's daemon without -f listens)").default(defaultClientSocketPath(existsSync)))
    .option('-c, --csv', "print each try as chronyc -c does")
    .addOption(new Option('-t, --timeout <seconds>', 'give up waiting for one reply after this long').default(5).argParser(positiveNumber('--timeout', 3600)))
    .addHelpText('after', `
Exit status: 0 once synchronised within the limits, 1 when MAX-TRIES tries
  were made without that, 2 usage error.`)
    .action(async (args: string[], flags: WaitsyncFlags) => {
      const limits = args.length > 4 ? null : parseWaitsyncArgs(args);
      if (limits === null) {
        usageError(io, 'waitsync', `Invalid syntax: expected [MAX-TRIES [MAX-CORRECTION [MAX-SKEW [INTERVAL]]]], got ${JSON.stringify(args.join(' '))}`);
        return;
      }
      for (let i = 1; ; i++) {
        try {
          const snap = await fetchSnapshot(flags.socket, { timeoutMs: flags.timeout * 1000 });
          io.out(formatWaitsyncTry(i, snap, flags.csv === true));
          if (waitsyncDone(snap, limits)) {
            io.setExitCode(ExitCode.OK);
            return;
          }
        } catch (e) {
          // As chronyc: a try the daemon does not answer is a failed try, and waiting goes on.
          if (!(e instanceof ControlError)) throw e;
          io.err(`ntpkit waitsync: ${e.message}`);
        }
        if (limits.maxTries !== 0 && i >= limits.maxTries) break;
        await new Promise((r) => setTimeout(r, limits.interval * 1000));
      }
      io.setExitCode(ExitCode.GENERAL_FAILURE);
    });
}
