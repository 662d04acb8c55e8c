/**
 * A software clock on top of CLOCK_REALTIME that never touches it: what the
 * daemon disciplines when unprivileged or in a container, and what the
 * library's createSyncedClock() runs on (chrony's sys_null.c plays the same
 * part for `chronyd -x`, minus the time it keeps).
 *
 * virtual(r) = anchorVirtual + (r - anchorReal) * (1 + rate), with r a
 * realtime() reading and rate = intrinsic error + correction. Both are kept
 * as integers of 1e-9 ppm (1e-15 relative), and instants as exact bigints of
 * 2^-32 s; every setFrequency() and step() re-anchors at the current instant,
 * so a long run at one rate is one multiplication, and a change of rate never
 * re-rounds the past.
 *
 * Leap seconds follow the kernel's state machine (kernel/time/ntp.c,
 * second_overflow): with leap 'insert' pending, 23:59:60 repeats 23:59:59 at
 * the next UTC midnight (the clock steps back 1 s at 00:00:00); with 'delete',
 * the clock jumps from 23:59:59 to 00:00:00. Afterwards the leap state waits
 * (TIME_WAIT) until the status is set back to 'none'; clearing the leap
 * before midnight cancels it.
 */
import { type Instant, TICKS_PER_SECOND, addSeconds } from '../time/instant.js';
import { type Clock, type ClockStatus } from './clock.js';
import { realtime } from './realtime.js';
import { STATUS_FLAGS } from './kernel-status.js';
import { type StatusWord, statusWord } from './status-word.js';

export interface VirtualClockOptions {
  /** Where the clock starts relative to CLOCK_REALTIME, seconds (`--virtual-offset`). Default 0. */
  readonly offsetSeconds?: number;
  /**
   * The clock's own frequency error, ppm (`--virtual-freq`): it gains this
   * much on CLOCK_REALTIME until a correction cancels it. Invisible to
   * frequencyPpm(), like a crystal's error. Default 0.
   */
  readonly frequencyErrorPpm?: number;
  /** Largest |correction| setFrequency() applies, ppm. Default 100000 (10%, the kernel's ADJ_TICK range). */
  readonly maxFrequencyPpm?: number;
  /** The underlying time source (default realtime()); tests inject one. */
  readonly realtime?: () => Instant;
  /**
   * chrony's rtcsync: the status word kept (statusWord()) clears STA_UNSYNC
   * while synchronized, as SystemClock writes it to the kernel. Default false.
   */
  readonly clearUnsync?: boolean;
}

/** The kernel's leap states (adjtimex(2) return values) that the virtual clock goes through. */
export type VirtualLeapState = 'TIME_OK' | 'TIME_INS' | 'TIME_DEL' | 'TIME_WAIT';

/** 1e-9 ppm units per unit of rate: rate = units / 1e15. */
const RATE_DENOM = 1_000_000_000_000_000n;
const UNITS_PER_PPM = 1e9;
const SECONDS_PER_DAY = 86_400n;
const DAY_TICKS = SECONDS_PER_DAY * TICKS_PER_SECOND;

export const DEFAULT_MAX_FREQUENCY_PPM = 100_000;

/** n / d rounded half up, d > 0, for either sign of n. */
function roundDiv(n: bigint, d: bigint): bigint {
  const twice = 2n * n + d;
  const q = twice / (2n * d);
  return twice % (2n * d) !== 0n && twice < 0n ? q - 1n : q;
}

function ppmToUnits(ppm: number, what: string): bigint {
  if (!Number.isFinite(ppm)) throw new RangeError(`Cannot set the virtual clock's ${what}: current value is ${ppm}, expected a finite ppm`);
  return BigInt(Math.round(ppm * UNITS_PER_PPM));
}

/** The first UTC midnight strictly after `t`: a multiple of a day, as 1900-01-01 (the Instant epoch) is a UTC midnight. */
function nextMidnight(t: Instant): Instant {
  const q = t / DAY_TICKS; // t > 0 for any realistic date
  return (q + 1n) * DAY_TICKS;
}

export class VirtualClock implements Clock {
  readonly kind = 'virtual' as const;
  readonly #read: () => Instant;
  readonly #maxUnits: bigint;
  readonly #intrinsicUnits: bigint;
  #correctionUnits = 0n;
  #anchorReal: Instant;
  #anchorVirtual: Instant;
  #status: ClockStatus = { synchronized: false, leap: 'none', estError: 16, maxError: 16 };
  /** The virtual instant at which the pending leap happens, or null. */
  #leapAt: Instant | null = null;
  /** +1 s (delete) or -1 s (insert) applied from #leapAt on, in ticks. */
  #leapStep = 0n;
  /** A leap already happened and the status still asks for one (TIME_WAIT). */
  #leapDone = false;
  #closed = false;
  readonly #clearUnsync: boolean;
  #word: StatusWord = { status: STATUS_FLAGS.STA_UNSYNC, maxerror: 16e6, esterror: 16e6 };

  constructor(opts: VirtualClockOptions = {}) {
    this.#read = opts.realtime ?? realtime;
    this.#clearUnsync = opts.clearUnsync ?? false;
    const max = opts.maxFrequencyPpm ?? DEFAULT_MAX_FREQUENCY_PPM;
    if (!(max > 0) || !Number.isFinite(max)) throw new RangeError(`Cannot create a virtual clock: maxFrequencyPpm is ${max}, expected a positive number`);
    this.#maxUnits = ppmToUnits(max, 'frequency limit');
    this.#intrinsicUnits = ppmToUnits(opts.frequencyErrorPpm ?? 0, 'frequency error');
    const offset = opts.offsetSeconds ?? 0;
    if (!Number.isFinite(offset)) throw new RangeError(`Cannot create a virtual clock: offsetSeconds is ${offset}, expected a finite number`);
    this.#anchorReal = this.#read();
    this.#anchorVirtual = addSeconds(this.#anchorReal, offset);
  }

  /** The linear mapping of the current segment, before any leap second. */
  #linear(r: Instant): Instant {
    const dt = r - this.#anchorReal;
    return this.#anchorVirtual + dt + roundDiv(dt * (this.#intrinsicUnits + this.#correctionUnits), RATE_DENOM);
  }

  #map(r: Instant): Instant {
    const v = this.#linear(r);
    return this.#leapAt !== null && v >= this.#leapAt ? v + this.#leapStep : v;
  }

  /**
   * Starts a new segment at realtime `r` with the time it shows now, folding
   * in a leap second that has happened.
   */
  #reanchor(r: Instant): void {
    const v = this.#map(r);
    if (this.#leapAt !== null && this.#linear(r) >= this.#leapAt) {
      this.#leapAt = null;
      this.#leapStep = 0n;
      this.#leapDone = true;
    }
    this.#anchorReal = r;
    this.#anchorVirtual = v;
  }

  now(): Instant {
    return this.#map(this.#read());
  }

  /** The virtual time at realtime `t`, with the rate and offset in force now. */
  fromRealtime(t: Instant): Instant {
    return this.#map(t);
  }

  frequencyPpm(): number {
    return Number(this.#correctionUnits) / UNITS_PER_PPM;
  }

  /** Clamped to +-maxFrequencyPpm, rounded to 1e-9 ppm; returns the correction in force. */
  setFrequency(ppm: number): number {
    this.#assertOpen();
    let units = ppmToUnits(ppm, 'frequency');
    if (units > this.#maxUnits) units = this.#maxUnits;
    if (units < -this.#maxUnits) units = -this.#maxUnits;
    this.#reanchor(this.#read());
    this.#correctionUnits = units;
    return this.frequencyPpm();
  }

  step(seconds: number): void {
    this.#assertOpen();
    if (!Number.isFinite(seconds)) throw new RangeError(`Cannot step the virtual clock: current value is ${seconds}, expected finite seconds`);
    this.#reanchor(this.#read());
    this.#anchorVirtual = addSeconds(this.#anchorVirtual, seconds);
  }

  setStatus(status: ClockStatus): void {
    this.#assertOpen();
    const r = this.#read();
    this.#reanchor(r);
    this.#status = Object.freeze({ ...status });
    this.#word = statusWord(this.#word.status, status, this.#clearUnsync);
    if (status.leap === 'none') {
      // Before midnight this cancels the leap; after it, TIME_WAIT ends.
      this.#leapAt = null;
      this.#leapStep = 0n;
      this.#leapDone = false;
      return;
    }
    if (this.#leapDone) return; // TIME_WAIT: one leap per request, as the kernel does
    const v = this.#anchorVirtual;
    const midnight = nextMidnight(v);
    if (status.leap === 'insert') {
      this.#leapAt = midnight;
      this.#leapStep = -TICKS_PER_SECOND;
    } else {
      // The deleted second is 23:59:59: from its start the clock shows 00:00:00.
      const at = midnight - TICKS_PER_SECOND;
      this.#leapAt = at > v ? at : midnight + DAY_TICKS - TICKS_PER_SECOND;
      this.#leapStep = TICKS_PER_SECOND;
    }
  }

  /** The last status set (the virtual clock keeps it for reports). */
  status(): ClockStatus {
    return this.#status;
  }

  /** The adjtimex status word and error bounds a SystemClock would have written for the last status. */
  statusWord(): StatusWord {
    return this.#word;
  }

  /** The leap state as adjtimex(2) would name it. */
  leapState(): VirtualLeapState {
    if (this.#leapDone || (this.#leapAt !== null && this.#linear(this.#read()) >= this.#leapAt)) return 'TIME_WAIT';
    if (this.#leapAt === null) return 'TIME_OK';
    return this.#leapStep < 0n ? 'TIME_INS' : 'TIME_DEL';
  }

  /** The intrinsic frequency error this clock was created with, ppm. */
  frequencyErrorPpm(): number {
    return Number(this.#intrinsicUnits) / UNITS_PER_PPM;
  }

  close(): void {
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('Cannot adjust the virtual clock: it was closed');
  }
}

/** The first UTC midnight after `t`; exported for tests that place leap seconds. */
export function utcMidnightAfter(t: Instant): Instant {
  return nextMidnight(t);
}
