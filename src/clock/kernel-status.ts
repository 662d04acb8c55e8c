/**
 * The kernel's NTP state (adjtimex(2)/clock_adjtime(2) queried with
 * modes = 0, which changes nothing), decoded into plain units. Later work uses
 * it to tell whether another daemon is disciplining the clock, and to report
 * what a SystemClock sees.
 */
import { requireNative, type RawTimex } from './native.js';

/** Return values of adjtimex(2): the leap-second state machine (RFC 5905 leaves this to the kernel, see timex.h). */
export const CLOCK_STATES = ['TIME_OK', 'TIME_INS', 'TIME_DEL', 'TIME_OOP', 'TIME_WAIT', 'TIME_ERROR'] as const;
export type ClockState = (typeof CLOCK_STATES)[number];

/** The `status` bits of struct timex (linux/timex.h), by name. */
export const STATUS_FLAGS = {
  STA_PLL: 0x0001,
  STA_PPSFREQ: 0x0002,
  STA_PPSTIME: 0x0004,
  STA_FLL: 0x0008,
  STA_INS: 0x0010,
  STA_DEL: 0x0020,
  STA_UNSYNC: 0x0040,
  STA_FREQHOLD: 0x0080,
  STA_PPSSIGNAL: 0x0100,
  STA_PPSJITTER: 0x0200,
  STA_PPSWANDER: 0x0400,
  STA_PPSERROR: 0x0800,
  STA_CLOCKERR: 0x1000,
  STA_NANO: 0x2000,
  STA_MODE: 0x4000,
  STA_CLK: 0x8000,
} as const;
export type StatusFlag = keyof typeof STATUS_FLAGS;

export interface KernelTimeStatus {
  /** The leap-second state; unknown numbers are kept as `unknown(n)`. */
  readonly state: ClockState | `unknown(${number})`;
  /** The set `status` bits, by name. */
  readonly flags: readonly StatusFlag[];
  /** STA_UNSYNC clear and state is not TIME_ERROR: something told the kernel it is synchronized. */
  readonly synchronized: boolean;
  /** Remaining phase adjustment, seconds. */
  readonly offsetSeconds: number;
  /** Frequency correction, ppm (positive: the clock is sped up). */
  readonly frequencyPpm: number;
  readonly maxErrorSeconds: number;
  readonly estErrorSeconds: number;
  /** PLL time constant (log2-ish, see adjtimex(2)). */
  readonly timeConstant: number;
  readonly precisionSeconds: number;
  /** Maximum frequency error the kernel allows, ppm. */
  readonly tolerancePpm: number;
  /** Microseconds added per clock tick (nominally 1e6 / USER_HZ). */
  readonly tickMicros: number;
  /** TAI − UTC in seconds, as set by a daemon (0 when none did). */
  readonly taiOffsetSeconds: number;
  /** What the kernel returned, unconverted. */
  readonly raw: RawTimex;
}

/** 2^16: `freq`, `tolerance` and friends are ppm in 16.16 fixed point. */
const SCALED_PPM = 65536;

/** Converts a raw struct timex to plain units. Pure. */
export function decodeTimex(raw: RawTimex): KernelTimeStatus {
  const flags = (Object.keys(STATUS_FLAGS) as StatusFlag[]).filter((f) => (raw.status & STATUS_FLAGS[f]) !== 0);
  const state = CLOCK_STATES[raw.state] ?? (`unknown(${raw.state})` as const);
  const nano = (raw.status & STATUS_FLAGS.STA_NANO) !== 0;
  return {
    state,
    flags,
    synchronized: (raw.status & STATUS_FLAGS.STA_UNSYNC) === 0 && state !== 'TIME_ERROR',
    offsetSeconds: raw.offset / (nano ? 1e9 : 1e6),
    frequencyPpm: raw.freq / SCALED_PPM,
    maxErrorSeconds: raw.maxerror / 1e6,
    estErrorSeconds: raw.esterror / 1e6,
    timeConstant: raw.constant,
    precisionSeconds: raw.precision / 1e6,
    tolerancePpm: raw.tolerance / SCALED_PPM,
    tickMicros: raw.tick,
    taiOffsetSeconds: raw.tai,
    raw,
  };
}

/**
 * Reads the kernel's NTP state. Read-only: the addon only ever passes
 * modes = 0. Throws when the native addon is unavailable.
 */
export function readKernelTimeStatus(): KernelTimeStatus {
  return decodeTimex(requireNative().adjtimexStatus());
}
