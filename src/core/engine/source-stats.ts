/**
 * Per-source statistics (the figures of `chronyc sourcestats`): a window of
 * samples and an estimate of the source's offset and frequency against the
 * raw oscillator (see clock-model.ts).
 *
 * Noise model. The error of one NTP sample is half the asymmetry of the two
 * path delays. Queueing only ever adds delay, so a sample whose round trip is
 * close to the smallest seen can only be a little asymmetric: if the extra
 * delay x = δ − δmin is split at random between the two directions the error
 * is spread over ±x/2, with variance x²/12. A sample's variance is taken as
 * that plus a floor for what the minimum itself hides (a fraction of the
 * typical extra delay, and the timestamps' precision). This is what makes
 * min-delay samples count for much more than the others (RFC 5905 §10's
 * clock filter keeps only the minimum-delay one; chrony weights its regression
 * by delay); a Kalman filter with these variances uses every sample for what
 * it is worth. Samples far above the minimum are delay outliers and are
 * dropped outright (chrony's maxdelayratio-style test), as are samples whose
 * offset is inconsistent with the estimate (a step of the source's time:
 * after a few consistent ones the filter restarts on the new time).
 */
import { FilterBank, Q_GRID } from './kalman.js';
import { fitWeightedLine } from './weighted-line.js';
import { AsymmetryTracker, residualStdDev } from './residual-stddev.js';

/** One sample as the statistics keep it: on the raw timescale. */
export interface StoredSample {
  /** Raw seconds since the engine's origin, at the exchange's midpoint. */
  readonly t: number;
  /** Source − raw clock, seconds. */
  readonly rawOffset: number;
  /** Offset as measured on the cooked clock, seconds. */
  readonly measuredOffset: number;
  /** Round-trip delay on the raw timescale, seconds. */
  readonly delay: number;
  /** The sample's own dispersion (precisions + PHI·round trip), seconds. */
  readonly dispersion: number;
  /** The source's root delay and dispersion as its reply stated them (the server's own, not our path), seconds; absent: zero. */
  readonly rootDelay?: number;
  readonly rootDispersion?: number;
}

export interface StatsOptions {
  /** Most samples kept. */
  readonly maxSamples: number;
  /** Our clock's reading precision, seconds. */
  readonly precision: number;
  /** Floor on a sample's error, as a fraction of the typical extra delay. */
  readonly floorFraction: number;
  /** Delays of accepted samples kept for the minimum and the typical extra delay (longer than the window: the minimum of more samples sits closer to the path's true minimum). */
  readonly delayHistory: number;
  /** Delay outliers in a row after which the path is taken to have changed (the delay history restarts). */
  readonly delayRestartAfter: number;
  /** Samples whose extra delay exceeds this many typical extra delays are dropped. */
  readonly delayOutlier: number;
  /** Innovations beyond this many standard deviations are outliers. */
  readonly offsetOutlier: number;
  /** Consecutive offset outliers that restart the filter. */
  readonly restartAfter: number;
  /** Wander intensities the filter bank tries, (s/s)²/s. */
  readonly qGrid: readonly number[];
  /** chrony's `mindelay`: the path's minimum round trip, seconds, instead of the measured one (0: measured). */
  readonly fixedMinDelay: number;
  /** chrony's `maxclockerror`, s/s: how fast the correctness interval of a source whose samples stopped widens (default 1 ppm). */
  readonly maxClockError?: number;
}

/** chrony's default window (sourcestats.c: 64 samples at most). */
export const STATS_DEFAULTS: StatsOptions = Object.freeze({
  maxSamples: 64,
  precision: 2 ** -24,
  floorFraction: 0.07,
  delayHistory: 256,
  delayRestartAfter: 8,
  delayOutlier: 12,
  offsetOutlier: 6,
  restartAfter: 3,
  qGrid: Q_GRID,
  fixedMinDelay: 0,
});

export type AddResult =
  | { readonly accepted: true; readonly residual: number; readonly variance: number; readonly restarted: boolean }
  | { readonly accepted: false; readonly reason: 'delay-outlier' | 'offset-outlier' };

export interface StatsFigures {
  readonly samples: number;
  readonly runs: number;
  readonly span: number;
  /** chronyc sourcestats' Std Dev, computed as chronyd computes it (residual-stddev.ts), seconds. */
  readonly stdDev: number;
  /** RMS residual of the last few samples about the filter's estimate (ntpq's jitter). */
  readonly jitter: number;
  /** chronyd's asymmetry correction in force for Std Dev (statistics.log's Asym), or 0. */
  readonly asymmetry: number;
}

const JITTER_SAMPLES = 8;
/** Error floor of windowVariances(), as a fraction of the typical extra delay. */
const POLL_FLOOR_FRACTION = 0.1;
/** Samples in the window before the filter bank weighs its wander models. */
const LEARN_AFTER = 8;
/** Samples before their own frequency is compared with the prior's (the regression's scatter then has 4 degrees of freedom). */
const PRIOR_CHECK_SAMPLES = 6;
/** Standard deviations apart at which the samples refute the prior (a t of 6 on 4 degrees of freedom: p < 0.005). */
const PRIOR_REFUTED_SIGMAS = 6;


export class SourceStats {
  readonly window: StoredSample[] = [];
  readonly filter: FilterBank;
  /** chronyd's jitter asymmetry over the window, for the reported Std Dev. */
  readonly asymmetry = new AsymmetryTracker();
  private readonly o: StatsOptions;
  get options(): StatsOptions { return this.o; }
  private outliers: StoredSample[] = [];
  /** Round-trip delays of the last accepted samples, oldest first (at most delayHistory). */
  private readonly delays: number[] = [];
  private delayMin = Infinity;
  private delaySum = 0;
  private delayOutliers = 0;
  /** Prior for the frequency when the filter (re)starts: value and variance (widened once the samples refute it). */
  private freqPrior: { readonly value: number; readonly variance: number };
  /** Whether the samples were found at odds with the prior (checked until then). */
  private priorRefuted = false;
  /** figures() until the window or the filter changes: selection asks for every source's at each sample of any. */
  private cachedFigures: StatsFigures | null = null;

  constructor(o: StatsOptions, freqPrior: { value: number; variance: number }) {
    this.o = o;
    this.filter = new FilterBank(o.qGrid);
    this.freqPrior = freqPrior;
  }

  get count(): number { return this.window.length; }

  last(): StoredSample | null { return this.window[this.window.length - 1] ?? null; }

  /** Smallest delay in the delay history, or Infinity. */
  minDelay(): number {
    return this.o.fixedMinDelay > 0 ? this.o.fixedMinDelay : this.delayMin;
  }

  /** Mean delay above dmin (the scale of queueing), or null with too few samples. */
  private typicalExcess(dmin: number): number | null {
    const n = this.delays.length;
    if (n < 2) return null;
    return this.delaySum / n - dmin;
  }

  private pushDelay(d: number): void {
    this.delays.push(d);
    this.delaySum += d;
    if (d < this.delayMin) this.delayMin = d;
    if (this.delays.length > this.o.delayHistory) {
      const old = this.delays.shift() as number;
      this.delaySum -= old;
      if (old <= this.delayMin) this.delayMin = Math.min(...this.delays);
    }
  }

  private clearDelays(): void {
    this.delays.length = 0;
    this.delayMin = Infinity;
    this.delaySum = 0;
  }

  /** Measurement variance of a sample with this delay, s² (the filter's R). */
  variance(delay: number, dispersion: number): number {
    return this.noiseModel(delay, dispersion, this.minDelay(), this.typicalExcess.bind(this), this.delays.length, this.o.floorFraction);
  }

  /**
   * The variances of the window's samples judged against the window alone,
   * with a floor of a tenth of the queueing scale: what the poll adaptation
   * calls a typical sample. It was tuned on this measure (bench/sync-accuracy,
   * Test 1); judged against the longer delay history, the few best samples
   * make every other one look poor and the poll interval stays short.
   */
  windowVariances(): number[] {
    let dmin = Infinity;
    let sum = 0;
    for (const s of this.window) { sum += s.delay; dmin = Math.min(dmin, s.delay); }
    const n = this.window.length;
    const excess = (d: number): number | null => (n < 2 ? null : sum / n - d);
    return this.window.map((s) => this.noiseModel(s.delay, s.dispersion, dmin, excess, n, POLL_FLOOR_FRACTION));
  }

  private noiseModel(delay: number, dispersion: number, minDelay: number, typicalExcess: (dmin: number) => number | null, n: number, floorFraction: number): number {
    const dmin = Math.min(minDelay, delay);
    // With one sample the queueing scale is unknown: assume a tenth of the path.
    const excess = typicalExcess(dmin) ?? Math.max(dmin / 10, 1e-5);
    // The history's minimum sits above the path's true minimum, so every
    // sample's extra delay is a little larger than it looks. With n samples
    // the gap is about √(π/2n) of the queueing scale (exponential queueing
    // each way), so it is larger while the history fills.
    const gap = Math.max(floorFraction, 0.8 / Math.sqrt(Math.max(n, 1))) * excess;
    const x = delay - dmin + gap;
    return (x * x) / 12 + this.o.precision ** 2 + (dispersion / 2) ** 2 / 3;
  }

  /**
   * Adds a sample: updates the window and the filter. `restored`: a sample
   * from a source dump, which the statistics that dumped it had already
   * taken, so no outlier test refuses it (chronyd loads every one).
   */
  add(s: StoredSample, restored = false): AddResult {
    this.cachedFigures = null;
    const dmin = this.minDelay();
    const excess = this.typicalExcess(Math.min(dmin, s.delay));
    if (!restored && excess !== null && this.delays.length >= 4 && s.delay - dmin > this.o.delayOutlier * Math.max(excess, this.o.precision)) {
      // A run of them means the path itself got longer (a route change): start
      // the delay statistics again rather than reject the source for good.
      if (++this.delayOutliers < this.o.delayRestartAfter) return { accepted: false, reason: 'delay-outlier' };
      this.clearDelays();
    }
    this.delayOutliers = 0;
    this.pushDelay(s.delay);
    const r = this.variance(s.delay, s.dispersion);
    const f = this.filter;
    if (!f.initialized) {
      f.init(s.t, s.rawOffset, r, this.freqPrior.value, this.freqPrior.variance);
      this.push(s);
      return { accepted: true, residual: 0, variance: r, restarted: false };
    }
    const inn = f.innovation(s.t, s.rawOffset, r);
    if (!restored && Math.abs(inn.residual) > this.o.offsetOutlier * Math.sqrt(inn.variance) + 4 * this.o.precision) {
      this.outliers.push(s);
      if (this.outliers.length < this.o.restartAfter) return { accepted: false, reason: 'offset-outlier' };
      // Several in a row: the source's time moved for good (it stepped), or
      // the estimate lost track. Restart on them, keeping the frequency,
      // unless the window and the outliers together refute the prior it came
      // from: then the estimate lost track because the prior was wrong, and
      // keeping it would only lose track again.
      const refuting = this.priorRefuted ? null : this.refutingSlope([...this.window, ...this.outliers]);
      if (refuting !== null) this.widenPrior(refuting);
      const freq = refuting ?? f.freq;
      const pFreq = refuting !== null ? this.freqPrior.variance : Math.max(f.pFreq, this.freqPrior.variance * 1e-2);
      const restart = this.outliers;
      this.outliers = [];
      this.window.length = 0;
      const first = restart[0] as StoredSample;
      f.init(first.t, first.rawOffset, this.variance(first.delay, first.dispersion), freq, pFreq);
      this.push(first);
      for (const o of restart.slice(1)) {
        f.update(o.t, o.rawOffset, this.variance(o.delay, o.dispersion), false);
        this.push(o);
      }
      this.asymmetry.reset();
      this.trackAsymmetry();
      const last = this.last() as StoredSample;
      return { accepted: true, residual: last.rawOffset - f.phase, variance: f.pPhase, restarted: true };
    }
    this.outliers = [];
    // The wander models are judged only once the window says what the noise is.
    const u = f.update(s.t, s.rawOffset, r, this.window.length >= LEARN_AFTER);
    this.push(s);
    this.trackAsymmetry();
    const refuting = this.priorRefuted ? null : this.refutingSlope(this.window);
    if (refuting !== null) {
      this.widenPrior(refuting);
      this.replayWindow();
      const last = this.last() as StoredSample;
      return { accepted: true, residual: last.rawOffset - f.phase, variance: f.pPhase, restarted: true };
    }
    return { accepted: true, residual: u.residual, variance: u.variance, restarted: false };
  }

  /**
   * The frequency of `samples` alone (a weighted regression, as chrony's
   * sourcestats makes) when it is further from the prior than both their
   * errors allow, else null. The regression's error is scaled by the scatter
   * the samples really show (the noise model's variances rank the samples
   * well but may overstate their size several times, as through a User-mode
   * Linux tap). A drift file left by another machine or before a VM
   * migration is confidently wrong: without this test the filter would take
   * its word over hundreds of samples, and the clock would run off by the
   * difference meanwhile while every estimate looked fine.
   */
  private refutingSlope(samples: readonly StoredSample[]): number | null {
    const n = samples.length;
    if (n < PRIOR_CHECK_SAMPLES) return null;
    const line = fitWeightedLine(samples.map((x) => x.t), samples.map((x) => x.rawOffset), samples.map((x) => 1 / this.variance(x.delay, x.dispersion)));
    if (!(line.sxx > 0)) return null;
    const slope = line.slope;
    const slopeVar = (line.residualSquares / (n - 2)) / line.sxx;
    return Math.abs(slope - this.freqPrior.value) > PRIOR_REFUTED_SIGMAS * Math.sqrt(slopeVar + this.freqPrior.variance) ? slope : null;
  }

  /** The samples refuted the prior: from now on it is as wide as the disagreement, and never checked again. */
  private widenPrior(slope: number): void {
    this.priorRefuted = true;
    this.freqPrior = { value: this.freqPrior.value, variance: Math.max(this.freqPrior.variance, (slope - this.freqPrior.value) ** 2 * 4) };
  }

  /** Starts the filter again on the window, from the (widened) prior. */
  private replayWindow(): void {
    const f = this.filter;
    const samples = [...this.window];
    const first = samples[0] as StoredSample;
    f.init(first.t, first.rawOffset, this.variance(first.delay, first.dispersion), this.freqPrior.value, this.freqPrior.variance);
    for (const x of samples.slice(1)) f.update(x.t, x.rawOffset, this.variance(x.delay, x.dispersion), false);
  }

  /** As chronyd, the asymmetry is re-estimated with each sample the window takes. */
  private trackAsymmetry(): void {
    this.asymmetry.update(this.regressionSamples());
  }

  private regressionSamples(): { t: number; offset: number; delay: number; dispersion: number }[] {
    return this.window.map((s) => ({ t: s.t, offset: s.rawOffset, delay: s.delay, dispersion: s.dispersion }));
  }

  private push(s: StoredSample): void {
    this.window.push(s);
    while (this.window.length > this.o.maxSamples) this.window.shift();
  }

  /** Drops everything (the source was replaced, or its address changed). */
  reset(): void {
    this.cachedFigures = null;
    this.window.length = 0;
    this.outliers = [];
    this.clearDelays();
    this.delayOutliers = 0;
    this.filter.initialized = false;
    this.asymmetry.reset();
  }

  /** Shifts every stored raw offset and the estimate (a leap second moved UTC). */
  shift(seconds: number): void {
    this.cachedFigures = null;
    for (let i = 0; i < this.window.length; i++) {
      const s = this.window[i] as StoredSample;
      this.window[i] = { ...s, rawOffset: s.rawOffset + seconds };
    }
    this.outliers = this.outliers.map((s) => ({ ...s, rawOffset: s.rawOffset + seconds }));
    if (this.filter.initialized) this.filter.shift(seconds);
  }

  /**
   * The window's figures: runs and jitter from the residuals about the
   * filter's current estimate; Std Dev as chronyd computes it, so that it
   * compares with chronyc's column (with fewer than 3 samples, the RMS
   * residual about the estimate).
   */
  figures(): StatsFigures {
    this.cachedFigures ??= this.computeFigures();
    return this.cachedFigures;
  }

  private computeFigures(): StatsFigures {
    const n = this.window.length;
    if (n === 0 || !this.filter.initialized) return { samples: n, runs: 0, span: 0, stdDev: 0, jitter: 0, asymmetry: 0 };
    const f = this.filter;
    const p = f.predict(f.t);
    const res = this.window.map((s) => s.rawOffset - (p.phase + p.freq * (s.t - p.t)));
    let runs = 1;
    for (let i = 1; i < n; i++) if ((res[i] as number) >= 0 !== (res[i - 1] as number) >= 0) runs++;
    const rms = (xs: readonly number[]): number => (xs.length === 0 ? 0 : Math.sqrt(xs.reduce((a, x) => a + x * x, 0) / xs.length));
    return {
      samples: n,
      runs,
      span: (this.window[n - 1] as StoredSample).t - (this.window[0] as StoredSample).t,
      stdDev: residualStdDev(this.regressionSamples(), this.o.precision, this.asymmetry.asymmetry) ?? rms(res),
      jitter: rms(res.slice(-JITTER_SAMPLES)),
      asymmetry: this.asymmetry.asymmetry,
    };
  }
}
