/**
 * Exit codes. Stable and documented in README.md: scripts branch on them.
 * When several servers fail for different reasons, the exit code is
 * GENERAL_FAILURE and each reason is printed.
 */
import type { FailureCode } from '../net/query.js';

export const ExitCode = {
  OK: 0,
  GENERAL_FAILURE: 1,
  USAGE: 2,
  TIMEOUT: 3,
  UNREACHABLE: 4,
  DNS_FAILURE: 5,
  KISS_OF_DEATH: 6,
  /** Invalid or unsynchronized reply: leap 3, stratum 16, zero or inconsistent timestamps. */
  UNSYNCHRONIZED: 7,
  ORIGIN_MISMATCH: 8,
  /** The responder does not speak NTP (unparseable reply, wrong mode). */
  NOT_NTP: 9,
  /** The reply was shorter than an NTP header. */
  TRUNCATED: 10,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const FAILURE_EXIT: Readonly<Record<FailureCode, ExitCode>> = {
  'bad-target': ExitCode.USAGE,
  dns: ExitCode.DNS_FAILURE,
  unreachable: ExitCode.UNREACHABLE,
  timeout: ExitCode.TIMEOUT,
  kod: ExitCode.KISS_OF_DEATH,
  unsynchronized: ExitCode.UNSYNCHRONIZED,
  'bogus-timestamps': ExitCode.UNSYNCHRONIZED,
  'origin-mismatch': ExitCode.ORIGIN_MISMATCH,
  'not-ntp': ExitCode.NOT_NTP,
  'wrong-mode': ExitCode.NOT_NTP,
  truncated: ExitCode.TRUNCATED,
};

/** One code for a set of failures: theirs if they agree, GENERAL_FAILURE if not. */
export function exitCodeForFailures(codes: readonly FailureCode[]): ExitCode {
  const exits = new Set(codes.map((c) => FAILURE_EXIT[c]));
  return exits.size === 1 ? ([...exits][0] as ExitCode) : ExitCode.GENERAL_FAILURE;
}
