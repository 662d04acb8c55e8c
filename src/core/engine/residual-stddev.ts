/**
 * The figure `chronyc sourcestats` calls Std Dev, computed as chronyd 4.3
 * computes it (sourcestats.c SST_DoNewRegression, regress.c
 * RGR_FindBestRegression), so that ntpkit's and chronyd's columns measure the
 * same thing: the weighted standard deviation of the residuals of a weighted
 * least-squares line through the samples' offsets against time.
 *
 * - Weights: a sample's peer distance is δ/2 + ε; with dmin the smallest and
 *   dmed the median distance, sd = clamp((dmed − dmin)/0.7, precision, dmin)
 *   and a sample farther than dmin + precision gets the variance factor
 *   w = (1 + (d − dmin − precision)/sd)², others 1. A queued sample weighs
 *   little, as its offset is worth little.
 * - Asymmetry: when the offsets lean with the extra delay, chronyd corrects
 *   each offset by a·(δ − δmin) before the regression (AsymmetryTracker).
 * - The variance is Σ(r²/w)/(n − 2) · n/Σ(1/w): per sample, not per unit
 *   weight; the figure is its root, at least 1 ns.
 *
 * chronyd also drops the oldest samples while its residuals fail a runs
 * test (a trend its line cannot follow); ntpkit's filter follows the trend
 * instead and keeps its window, so the regression here takes the whole window.
 * The engine's estimate is the Kalman filter's (source-stats.ts); this
 * regression is only the reported figure.
 */
import { fitWeightedLine } from './weighted-line.js';

/** What the regression needs of a sample. */
export interface RegressionSample {
  /** Seconds on any timescale that only moves forward. */
  readonly t: number;
  /** Offset, seconds (either sign convention: the figure does not depend on it). */
  readonly offset: number;
  /** Round-trip delay, seconds. */
  readonly delay: number;
  /** The sample's dispersion, seconds. */
  readonly dispersion: number;
}

/** chronyd's assumed ratio of a distance's spread to the offsets' (SD_TO_DIST_RATIO). */
const SD_TO_DIST_RATIO = 0.7;
/** chronyd's floor on the figure (MIN_STDDEV). */
const MIN_STDDEV = 1e-9;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 === 1 ? (s[k] as number) : ((s[k - 1] as number) + (s[k] as number)) / 2;
}

/** chronyd's weights (variance factors, 1 for the best samples), one per sample. */
export function regressionWeights(samples: readonly RegressionSample[], precision: number): number[] {
  const dist = samples.map((s) => s.delay / 2 + s.dispersion);
  const dmin = Math.min(...dist);
  const sd = Math.min(Math.max((median(dist) - dmin) / SD_TO_DIST_RATIO, precision), dmin);
  const floor = dmin + precision;
  return dist.map((d) => (d > floor && sd > 0 ? (1 + (d - floor) / sd) ** 2 : 1));
}

/**
 * Std Dev of `samples` (chronyd's, see the header), with offsets corrected
 * by `asymmetry` × (δ − δmin) (0: none); null with fewer than 3 samples, as
 * chronyd needs 3 for a regression.
 */
export function residualStdDev(samples: readonly RegressionSample[], precision: number, asymmetry = 0): number | null {
  const n = samples.length;
  if (n < 3) return null;
  const w = regressionWeights(samples, precision);
  const dmin = Math.min(...samples.map((s) => s.delay));
  const y = samples.map((s) => s.offset - asymmetry * (s.delay - dmin));
  // Times relative to the newest, as chronyd's times_back, so the sums keep their precision.
  const t0 = (samples[n - 1] as RegressionSample).t;
  const x = samples.map((s) => s.t - t0);
  const line = fitWeightedLine(x, y, w.map((wi) => 1 / wi));
  const ss = line.residualSquares;
  const W = line.sumWeights;
  return Math.max(MIN_STDDEV, Math.sqrt((ss / (n - 2)) * (n / W)));
}

/** Least-squares y = b0 + b1·x1 + b2·x2, unweighted; b2, or null when the system is singular (chronyd's RGR_MultipleRegress). */
function delaySlope(x1: readonly number[], x2: readonly number[], y: readonly number[]): number | null {
  const n = y.length;
  if (n < 4) return null;
  const m = (xs: readonly number[]): number => xs.reduce((s, v) => s + v, 0) / n;
  const [m1, m2, my] = [m(x1), m(x2), m(y)];
  let s11 = 0, s22 = 0, s12 = 0, s1y = 0, s2y = 0;
  for (let i = 0; i < n; i++) {
    const a = (x1[i] as number) - m1, b = (x2[i] as number) - m2, c = (y[i] as number) - my;
    s11 += a * a; s22 += b * b; s12 += a * b; s1y += a * c; s2y += b * c;
  }
  const det = s11 * s22 - s12 * s12;
  if (!(Math.abs(det) > 1e-12 * Math.max(s11 * s22, Number.MIN_VALUE))) return null;
  return (s11 * s2y - s12 * s1y) / det;
}

/** chronyd's bounds: the correction's magnitude, the estimate that counts toward it, and the run that turns it on (sourcestats.c). */
const MAX_ASYMMETRY = 0.5;
const MIN_ASYMMETRY = 0.45;
const MIN_ASYMMETRY_RUN = 10;
const MAX_ASYMMETRY_RUN = 1000;

/**
 * chronyd's estimate of the asymmetry of the network jitter (sourcestats.c
 * estimate_asymmetry): the slope of offset against extra delay, in a
 * regression on time and delay over the window. When all queueing is on one
 * direction of the path the offsets lean with the delay by ±½; after 10
 * windows in a row lean the same way by more than 0.45, the estimate
 * (within ±½) corrects them. On loopback against chronyd this is the usual
 * case: its T3 is read before its reply is sent, so the reply's queueing
 * all lands on the way back.
 */
export class AsymmetryTracker {
  /** Windows in a row whose estimate leaned one way (the sign says which). */
  #run = 0;
  /** The correction in force (source-to-us convention of the offsets given), or 0. */
  asymmetry = 0;

  /** Re-estimates from the window after a new sample; returns the correction in force. */
  update(samples: readonly RegressionSample[]): number {
    const dmin = Math.min(...samples.map((s) => s.delay));
    const a = delaySlope(samples.map((s) => s.t), samples.map((s) => s.delay - dmin), samples.map((s) => s.offset));
    if (a === null || a * this.#run < 0) {
      this.#run = 0;
      this.asymmetry = 0;
      return 0;
    }
    if (a <= -MIN_ASYMMETRY && this.#run > -MAX_ASYMMETRY_RUN) this.#run--;
    else if (a >= MIN_ASYMMETRY && this.#run < MAX_ASYMMETRY_RUN) this.#run++;
    this.asymmetry = Math.abs(this.#run) < MIN_ASYMMETRY_RUN ? 0 : Math.min(MAX_ASYMMETRY, Math.max(-MAX_ASYMMETRY, a));
    return this.asymmetry;
  }

  reset(): void {
    this.#run = 0;
    this.asymmetry = 0;
  }

  /** Windows in a row that leaned one way (signed): a source dump carries it. */
  get run(): number { return this.#run; }

  /** Takes a dumped run back, within the bounds it counts to. */
  restoreRun(run: number): void {
    this.#run = Math.max(-MAX_ASYMMETRY_RUN, Math.min(MAX_ASYMMETRY_RUN, Math.trunc(run)));
  }
}
