/**
 * The fallback real-time clock: process.hrtime.bigint() plus an offset found
 * from Date.now() tick-overs (calibration.ts holds the rules; this file only
 * does the reading). It re-calibrates when a read shows the real-time clock
 * was stepped.
 */
import {
  calibrate, checkHrThenMs, checkMsThenHr, collectBrackets, STEP_TOLERANCE_NS,
  type Calibration, type TickBracket, type TickReaders,
} from './calibration.js';

export interface HrtimeClockOptions {
  /** Monotonic nanoseconds; process.hrtime.bigint by default. */
  readonly hr?: () => bigint;
  /** Real-time milliseconds; Date.now by default. */
  readonly ms?: () => number;
  /** See {@link STEP_TOLERANCE_NS}. */
  readonly toleranceNs?: number;
}

/**
 * Tick-overs per calibration round. Each costs up to 1 ms of spinning; four
 * make a preempted (wide) bracket harmless, as the intersection keeps the
 * tightest.
 */
const BRACKETS_PER_ROUND = 4;
/** A calibration looser than this (every bracket of a round was preempted) gets another round. */
const TARGET_UNCERTAINTY_NS = 2_000n;
const MAX_ROUNDS = 4;

export class HrtimeCalibratedClock {
  readonly #read: TickReaders;
  readonly #tol: number;
  #cal: Calibration | undefined;
  #calibrations = 0;

  constructor(opts: HrtimeClockOptions = {}) {
    this.#read = { hr: opts.hr ?? process.hrtime.bigint, ms: opts.ms ?? Date.now };
    this.#tol = opts.toleranceNs ?? STEP_TOLERANCE_NS;
  }

  /** The current calibration, if one was made yet. */
  get calibration(): Calibration | undefined {
    return this.#cal;
  }

  /** How many times it calibrated (the first time included). */
  get calibrations(): number {
    return this.#calibrations;
  }

  /** Spins on Date.now() (a few ms) and replaces the calibration. */
  recalibrate(): Calibration {
    const brackets: TickBracket[] = [];
    let cal: Calibration | undefined;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      brackets.push(...collectBrackets(this.#read, BRACKETS_PER_ROUND));
      cal = calibrate(brackets);
      if (cal !== undefined && cal.uncertaintyNs <= TARGET_UNCERTAINTY_NS) break;
    }
    if (cal === undefined) throw new Error('Cannot calibrate hrtime: Date.now() did not tick over');
    this.#cal = cal;
    this.#calibrations++;
    return cal;
  }

  /** Real time in Unix nanoseconds. */
  readNs(): bigint {
    const cal = this.#cal ?? this.recalibrate();
    const hr = this.#read.hr();
    let verdict = checkHrThenMs(cal, hr, this.#read.ms(), this.#tol);
    if (verdict === 'confirm') verdict = checkMsThenHr(cal, this.#read.ms(), this.#read.hr(), this.#tol);
    if (verdict === 'consistent') return hr + cal.offsetNs;
    const fresh = this.recalibrate();
    return this.#read.hr() + fresh.offsetNs;
  }
}
