/**
 * What the engine did to the clock, so it can undo it on paper (chrony's
 * change handlers, local.c). The engine issues every frequency change and
 * step itself, so at any cooked instant t it knows the total correction
 * corr(t) = cooked(t) − raw(t), where raw is the time the clock would show had
 * the engine never touched it. Source filters work on the raw timescale,
 * where the clock is a free-running oscillator: steps and slews do not
 * disturb their estimates, and nothing needs re-fitting after a correction.
 *
 * corr is piecewise linear: its slope is the frequency correction in force.
 * `phase` is the part of corr made of steps and temporary slews (not the base
 * frequency): chronyc's "adjusted offset" subtracts what it changed since a
 * sample.
 */
import { addSeconds, diffSeconds, type Instant } from '../../time/instant.js';

interface Segment {
  /** Cooked instant the segment starts. */
  readonly at: Instant;
  /** corr at `at`, seconds. */
  readonly corr: number;
  /** phase at `at`, seconds. */
  readonly phase: number;
  /** Total frequency correction in force, ppm. */
  readonly ppm: number;
  /** Base frequency (without temporary slew), ppm. */
  readonly basePpm: number;
}

/**
 * Raw seconds within a segment from cooked seconds: the correction applies to
 * the oscillator's own seconds (cooked = raw·(1 + f)), which matters at slew
 * rates of several percent (chrony's default maxslewrate is 8.3%).
 */
function rawElapsed(s: Segment, t: Instant): number {
  return diffSeconds(t, s.at) / (1 + s.ppm * 1e-6);
}

/** Segments kept: enough to convert any exchange still in flight. */
const HISTORY = 32;

export class ClockModel {
  private readonly segments: Segment[];
  /** Bumped at every step (and applied leap second): exchanges spanning one are dropped. */
  stepEpoch = 0;

  constructor(start: Instant, ppm: number) {
    this.segments = [{ at: start, corr: 0, phase: 0, ppm, basePpm: ppm }];
  }

  private last(): Segment {
    return this.segments[this.segments.length - 1] as Segment;
  }

  private segmentAt(t: Instant): Segment {
    for (let i = this.segments.length - 1; i > 0; i--) {
      const s = this.segments[i] as Segment;
      if (t >= s.at) return s;
    }
    return this.segments[0] as Segment;
  }

  /** Frequency correction in force now, ppm. */
  get ppm(): number { return this.last().ppm; }
  /** Base frequency correction (the oscillator estimate, without slew), ppm. */
  get basePpm(): number { return this.last().basePpm; }

  /** corr(t) = cooked − raw at cooked instant t, seconds. */
  corrAt(t: Instant): number {
    const s = this.segmentAt(t);
    return s.corr + s.ppm * 1e-6 * rawElapsed(s, t);
  }

  /** Steps and slews applied up to t, seconds. */
  phaseAt(t: Instant): number {
    const s = this.segmentAt(t);
    return s.phase + (s.ppm - s.basePpm) * 1e-6 * rawElapsed(s, t);
  }

  /** The raw instant of cooked instant t. */
  rawSeconds(t: Instant, origin: Instant): number {
    return diffSeconds(t, origin) - this.corrAt(t);
  }

  /** The frequency correction changes at `now` (the driver applies it now). */
  setFrequency(now: Instant, ppm: number, basePpm: number): void {
    const corr = this.corrAt(now);
    const phase = this.phaseAt(now);
    this.push({ at: now, corr, phase, ppm, basePpm });
  }

  /**
   * The clock was stepped by `seconds` at `now`. Cooked instants after it are
   * shifted; the new segment starts at the stepped time.
   */
  step(now: Instant, seconds: number): void {
    const l = this.last();
    const at = addSeconds(now, seconds);
    const corr = this.corrAt(now) + seconds;
    const phase = this.phaseAt(now) + seconds;
    // Past segments stay indexed by their pre-step instants; a backward step
    // makes cooked instants ambiguous, so drop history (stepEpoch guards in-flight exchanges).
    this.segments.length = 0;
    this.segments.push({ at, corr, phase, ppm: l.ppm, basePpm: l.basePpm });
    this.stepEpoch++;
  }

  private push(s: Segment): void {
    this.segments.push(s);
    if (this.segments.length > HISTORY) this.segments.shift();
  }
}
