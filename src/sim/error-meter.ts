/**
 * The client's true error (its reading minus true UTC), sampled at a
 * regular interval: the accuracy figures a run is judged by, and the series
 * for plots.
 */
import type { Instant } from '../time/instant.js';
import type { Scenario } from './scenario.js';
import type { SimClock } from './sim-clock.js';
import type { SimMetrics, SimSample } from './simulator.js';

/** Seconds within which two clocks applying the same leap second count as simultaneous. */
const LEAP_GRACE = 1;

export class ErrorMeter {
  readonly interval: number;
  readonly series: SimSample[] = [];
  private readonly convergedAfter: number;
  private readonly seriesInterval: number;
  private readonly duration: number;
  private nextSeries = 0;
  private samples = 0;
  private sumSq = 0;
  private sum = 0;
  private counted = 0;
  private maxAbs = 0;
  private maxAbsOverall = 0;
  private finalError = 0;
  private lastAbove1ms: number | null = null;
  private lastAbove100us: number | null = null;

  constructor(scenario: Scenario, private readonly clock: SimClock, private readonly truth: SimClock) {
    this.interval = scenario.sampleInterval ?? 1;
    this.convergedAfter = scenario.convergedAfter ?? scenario.duration / 4;
    this.seriesInterval = scenario.seriesInterval ?? (scenario.duration > 20_000 ? scenario.duration / 10_000 : this.interval);
    this.duration = scenario.duration;
  }

  /** One sample at true instant `now`, `t` seconds into the run. */
  measure(now: Instant, t: number): void {
    const err = this.utcError(now);
    const abs = Math.abs(err);
    this.samples++;
    this.finalError = err;
    this.maxAbsOverall = Math.max(this.maxAbsOverall, abs);
    if (t >= this.convergedAfter) {
      this.counted++;
      this.sum += err;
      this.sumSq += err * err;
      this.maxAbs = Math.max(this.maxAbs, abs);
    }
    if (abs > 1e-3) this.lastAbove1ms = t;
    if (abs > 100e-6) this.lastAbove100us = t;
    if (t >= this.nextSeries) {
      this.series.push({ t, error: err, frequencyPpm: this.clock.frequencyPpm() });
      this.nextSeries += this.seriesInterval;
    }
  }

  /** The error figures of SimMetrics. */
  figures(): Pick<SimMetrics, 'samples' | 'rmsError' | 'meanError' | 'maxAbsError' | 'maxAbsErrorOverall' | 'finalError' | 'timeWithin1ms' | 'timeWithin100us'> {
    const n = this.counted;
    return {
      samples: this.samples,
      rmsError: n > 0 ? Math.sqrt(this.sumSq / n) : NaN,
      meanError: n > 0 ? this.sum / n : NaN,
      maxAbsError: this.maxAbs,
      maxAbsErrorOverall: this.maxAbsOverall,
      finalError: this.finalError,
      timeWithin1ms: this.within(this.lastAbove1ms),
      timeWithin100us: this.within(this.lastAbove100us),
    };
  }

  /**
   * Around a leap second UTC is ambiguous: a clock 1 us behind inserts its
   * leap 1 us after true UTC does, as the kernel should. When one of the two
   * has applied the leap and the other will within LEAP_GRACE, they are
   * compared as if both had; a missed leap still shows as a 1 s error.
   */
  private utcError(now: Instant): number {
    let err = this.clock.errorAt(now, this.truth.readingAt(now));
    const diff = this.clock.leapShift() - this.truth.leapShift();
    if (diff !== 0) {
      const lagging = diff > 0 ? this.clock : this.truth;
      const edge = lagging.leapEdgeIn();
      if (edge !== null && edge <= LEAP_GRACE) err -= diff;
    }
    return err;
  }

  /** The time from which the error stayed within bounds to the end, given the last sample above them; null if it did not. */
  private within(last: number | null): number | null {
    if (last === null) return 0;
    const t = last + this.interval;
    return t > this.duration ? null : t;
  }
}
