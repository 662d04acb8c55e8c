/**
 * The clock `ntpkit daemon` disciplines: the one asked for (or found
 * permitted), and for the system clock the claim on it (no other time daemon,
 * the PID lock), so two disciplines never fight over one kernel clock.
 */
import type { Clock } from '../clock/clock.js';
import { chooseClockKind, type ClockChoice, type ClockRequest } from '../clock/environment.js';
import { type ClockLock, type OwnershipReport, claimSystemClock } from '../clock/ownership.js';
import { SystemClock } from '../clock/system-clock.js';
import { VirtualClock } from '../clock/virtual-clock.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';

export interface DaemonClockRequest {
  readonly requested: ClockRequest;
  readonly force: boolean;
  /** chrony's `rtcsync` (Config.process.rtcsync): STA_UNSYNC cleared while synchronized. */
  readonly rtcsync: boolean;
  /** --virtual-offset / --virtual-freq, given. */
  readonly virtual?: { readonly offsetSeconds: number; readonly frequencyErrorPpm: number };
  readonly chooseClock?: (requested: ClockRequest) => ClockChoice;
  readonly ownership?: () => OwnershipReport;
  readonly lock?: () => ClockLock;
}

export interface DaemonClock {
  readonly clock: Clock;
  /** Closes the clock and lets go of the system clock's lock, if held. */
  release(): void;
}

/** The clock, or null after saying why not and setting the exit code. */
export function openDaemonClock(io: Io, log: (line: string) => void, r: DaemonClockRequest): DaemonClock | null {
  const choice = (r.chooseClock ?? chooseClockKind)(r.requested);
  if (!choice.ok) {
    io.err(`ntpkit daemon: not started: ${choice.error}`);
    io.setExitCode(ExitCode.GENERAL_FAILURE);
    return null;
  }
  for (const w of choice.warnings) log(`Warning: ${w}`);
  let lock: (ClockLock & { ok: true }) | null = null;
  if (choice.kind === 'system') {
    const claim = claimSystemClock({ force: r.force, log, check: r.ownership, lock: r.lock });
    if (!claim.ok) {
      const hint = r.requested === 'auto' ? '\n(--clock auto chose the system clock; --clock virtual leaves it alone)' : '';
      io.err(`ntpkit daemon: not started: ${claim.message}${hint}`);
      io.setExitCode(ExitCode.GENERAL_FAILURE);
      return null;
    }
    lock = claim.lock;
  }
  let clock: Clock;
  try {
    clock = choice.kind === 'system'
      // chronyd leaves STA_UNSYNC set unless `rtcsync`: while it is clear, Linux copies the time to the RTC every 11 minutes.
      ? new SystemClock({ clearUnsync: r.rtcsync })
      : new VirtualClock({ offsetSeconds: r.virtual?.offsetSeconds ?? 0, frequencyErrorPpm: r.virtual?.frequencyErrorPpm ?? 0, clearUnsync: r.rtcsync });
  } catch (e) {
    io.err(`ntpkit daemon: not started: ${(e as Error).message}`);
    lock?.release();
    io.setExitCode(ExitCode.GENERAL_FAILURE);
    return null;
  }
  const extra = choice.kind === 'virtual' && r.virtual !== undefined ? ` (started ${r.virtual.offsetSeconds} s and ${r.virtual.frequencyErrorPpm} ppm off the system clock)` : '';
  log(`Disciplining the ${choice.kind} clock: ${choice.reason}${extra}`);
  const held = lock;
  return {
    clock,
    release: () => {
      clock.close();
      held?.release();
    },
  };
}
