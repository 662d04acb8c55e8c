/**
 * A simulated oscillator and the kernel-like clock built on it, driven by the
 * simulation's true time. It has:
 * - an initial offset and a frequency error;
 * - random-walk wander as clknetsim defines it (`nodeX_freq = (sum (* W
 *   (normal)))`, evaluated once per simulated second): every second of true
 *   time the frequency moves by W * N(0, 1), so "10 ppb/s" is W = 1e-8;
 * - the corrections an engine applies: an absolute frequency correction
 *   (the rate becomes (1 + oscillator error) * (1 + correction), as the
 *   kernel scales its tick) and steps;
 * - leap seconds as Linux applies them (kernel/time/ntp.c, and clknetsim's
 *   model of it): with STA_INS set, the clock goes back one second when its
 *   UTC reading reaches midnight (23:59:59 is repeated); with STA_DEL it
 *   skips 23:59:59. A leap fires once; the kernel then waits until the
 *   status is cleared before it can arm again.
 *
 * Readings are exact Instants: the clock is piecewise linear in true time,
 * re-anchored (with its sub-tick remainder kept) whenever its rate changes,
 * so the error at any true instant is exact within the model.
 */
import type { Clock, ClockStatus } from '../clock/clock.js';
import { TICKS_PER_SECOND, type Instant } from '../time/instant.js';
import type { Random } from './random.js';

export interface OscillatorSpec {
  /** Initial error, seconds: reading minus true time (positive: the clock is ahead). */
  readonly offset?: number;
  /** Frequency error of the oscillator, ppm (positive: it runs fast). */
  readonly freqPpm?: number;
  /** Random-walk frequency wander, ppb/s (clknetsim: W * 1e9 with `(sum (* W (normal)))`). */
  readonly wanderPpbPerS?: number;
  /** Largest frequency correction accepted, ppm (Linux: 500 ppm of frequency plus 10% of tick, about 100000). */
  readonly maxCorrectionPpm?: number;
}

/** Something that knows the simulation's true time. */
export interface TrueTime {
  now(): Instant;
}

const TICKS = Number(TICKS_PER_SECOND);
/** One UTC day in Instant ticks: the NTP epoch is a midnight, so midnights are multiples of this. */
export const DAY_TICKS = 86_400n * TICKS_PER_SECOND;

type KernelLeapState = 'ok' | 'ins' | 'del' | 'wait';

/** A leap second the clock applied. */
export interface AppliedLeap {
  readonly kind: 'insert' | 'delete';
  /** True time when it happened. */
  readonly at: Instant;
}

export class SimClock implements Clock {
  readonly kind = 'sim' as const;

  #anchorT: Instant;
  #anchorC: Instant;
  /** Reading at the anchor beyond #anchorC, in ticks (kept so per-second re-anchoring does not round away time). */
  #anchorFrac = 0;
  #oscFreq: number;
  #corrPpm = 0;
  #nextWanderT: Instant;
  readonly #wander: number;
  readonly #maxCorr: number;
  readonly #time: TrueTime;
  readonly #random: Random | null;
  #status: ClockStatus = { synchronized: false, leap: 'none', estError: 16, maxError: 16 };
  #leapState: KernelLeapState = 'ok';
  readonly leaps: AppliedLeap[] = [];
  /** Steps applied: true time and size. */
  readonly steps: { readonly at: Instant; readonly seconds: number }[] = [];

  /**
   * @param spec the oscillator
   * @param time the simulation's true time (must never go backwards)
   * @param random the wander's stream (needed only when wander > 0)
   */
  constructor(spec: OscillatorSpec, time: TrueTime, random: Random | null = null) {
    this.#time = time;
    this.#random = random;
    this.#anchorT = time.now();
    this.#anchorC = this.#anchorT + secondsToTicks(spec.offset ?? 0);
    this.#oscFreq = (spec.freqPpm ?? 0) * 1e-6;
    this.#wander = (spec.wanderPpbPerS ?? 0) * 1e-9;
    this.#maxCorr = spec.maxCorrectionPpm ?? 100_000;
    this.#nextWanderT = this.#anchorT + TICKS_PER_SECOND;
    if (this.#wander > 0 && !random) throw new RangeError('Cannot simulate wander without a random stream');
  }

  now(): Instant {
    return this.readingAt(this.#time.now());
  }

  /** The reading at true time `t` (>= every instant asked before). */
  readingAt(t: Instant): Instant {
    this.#advance(t);
    const dt = t - this.#anchorT;
    const dev = Number(dt) * (this.#rate() - 1) + this.#anchorFrac;
    return this.#anchorC + dt + BigInt(Math.round(dev));
  }

  /** Reading minus `reference` at true time `t`, seconds (reference defaults to `t` itself). */
  errorAt(t: Instant, reference: Instant = t): number {
    return Number(this.readingAt(t) - reference) / TICKS;
  }

  /** The true instant at which this clock will read `reading`, if its rate stays as it is now. */
  trueTimeOf(reading: Instant): Instant {
    const now = this.#time.now();
    const c = this.readingAt(now);
    if (reading <= c) return now;
    return now + BigInt(Math.ceil(Number(reading - c) / this.#rate()));
  }

  fromRealtime(t: Instant): Instant {
    return t;
  }

  frequencyPpm(): number {
    return this.#corrPpm;
  }

  setFrequency(ppm: number): number {
    this.#reanchor(this.#time.now());
    const p = Number.isFinite(ppm) ? Math.max(-this.#maxCorr, Math.min(this.#maxCorr, ppm)) : 0;
    this.#corrPpm = p;
    return p;
  }

  step(seconds: number): void {
    const t = this.#time.now();
    this.#reanchor(t);
    this.#anchorC += secondsToTicks(seconds);
    this.steps.push({ at: t, seconds });
  }

  setStatus(status: ClockStatus): void {
    this.#advance(this.#time.now());
    this.#status = status;
    // Linux's second_overflow() state machine, reduced to what a status write changes.
    if (this.#leapState === 'wait') {
      if (status.leap === 'none') this.#leapState = 'ok';
    } else if (status.leap === 'insert') this.#leapState = 'ins';
    else if (status.leap === 'delete') this.#leapState = 'del';
    else this.#leapState = 'ok';
  }

  status(): ClockStatus {
    return this.#status;
  }

  /** Seconds of reading until an armed leap second fires, or null when none is armed. */
  leapEdgeIn(): number | null {
    const pending = this.pendingLeap();
    if (pending === null) return null;
    const c = this.now();
    const back = pending === 'delete' ? TICKS_PER_SECOND : 0n;
    const edge = ((c + back) / DAY_TICKS + 1n) * DAY_TICKS - back;
    return Number(edge - c) / TICKS;
  }

  /** How far applied leap seconds have moved the reading, seconds (-1 per insert, +1 per delete). */
  leapShift(): number {
    return this.leaps.reduce((x, l) => x + (l.kind === 'insert' ? -1 : 1), 0);
  }

  /** The leap second the kernel is armed for, if any. */
  pendingLeap(): 'insert' | 'delete' | null {
    this.#advance(this.#time.now());
    return this.#leapState === 'ins' ? 'insert' : this.#leapState === 'del' ? 'delete' : null;
  }

  close(): void {}

  /** The oscillator's own frequency error now, ppm (what a perfect discipline would cancel). */
  oscillatorPpm(): number {
    this.#advance(this.#time.now());
    return this.#oscFreq * 1e6;
  }

  /** The correction that would make the clock run at exactly the true rate now, ppm. */
  idealCorrectionPpm(): number {
    return (1 / (1 + this.oscillatorPpm() * 1e-6) - 1) * 1e6;
  }

  #rate(): number {
    return (1 + this.#oscFreq) * (1 + this.#corrPpm * 1e-6);
  }

  #advance(t: Instant): void {
    if (t < this.#anchorT) throw new RangeError(`Cannot read a simulated clock in the past: ${t} < ${this.#anchorT}`);
    if (this.#wander > 0) {
      while (this.#nextWanderT <= t) {
        this.#reanchor(this.#nextWanderT);
        this.#oscFreq += this.#wander * (this.#random as Random).normal();
        this.#nextWanderT += TICKS_PER_SECOND;
      }
    }
    this.#reanchor(t);
  }

  /** Moves the anchor to `t` at the current rate, applying a leap second on the way. */
  #reanchor(t: Instant): void {
    if (t <= this.#anchorT) return;
    if (this.#leapState === 'ins' || this.#leapState === 'del') {
      const ins = this.#leapState === 'ins';
      // The reading at which the kernel acts: midnight (insert) or 23:59:59 (delete).
      const from = this.#anchorC;
      const edge = ((from + (ins ? 0n : TICKS_PER_SECOND)) / DAY_TICKS + 1n) * DAY_TICKS - (ins ? 0n : TICKS_PER_SECOND);
      const endReading = this.#anchorC + (t - this.#anchorT) + BigInt(Math.round(Number(t - this.#anchorT) * (this.#rate() - 1) + this.#anchorFrac));
      if (endReading >= edge) {
        const dt = Math.max(0, Math.ceil((Number(edge - from) - this.#anchorFrac) / this.#rate()));
        const at = this.#anchorT + BigInt(dt);
        this.#moveAnchor(at);
        this.#addToAnchor(ins ? -TICKS : TICKS);
        this.#leapState = 'wait';
        this.leaps.push({ kind: ins ? 'insert' : 'delete', at });
      }
    }
    this.#moveAnchor(t);
  }

  #moveAnchor(t: Instant): void {
    if (t <= this.#anchorT) return;
    const dt = t - this.#anchorT;
    const dev = Number(dt) * (this.#rate() - 1) + this.#anchorFrac;
    const whole = Math.round(dev);
    this.#anchorC += dt + BigInt(whole);
    this.#anchorFrac = dev - whole;
    this.#anchorT = t;
  }

  #addToAnchor(ticks: number): void {
    const total = ticks + this.#anchorFrac;
    const whole = Math.round(total);
    this.#anchorC += BigInt(whole);
    this.#anchorFrac = total - whole;
  }
}

/** Seconds to Instant ticks, rounded. */
export function secondsToTicks(s: number): bigint {
  const whole = Math.trunc(s);
  return BigInt(whole) * TICKS_PER_SECOND + BigInt(Math.round((s - whole) * TICKS));
}
