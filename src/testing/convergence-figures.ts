/**
 * How a disciplined clock converged, from a series of its true errors: the
 * figures bench/uml-closedloop prints for chronyd and ntpkit side by side.
 * Pure: a series in, figures out.
 *
 * Everything is judged against the run's settled level (the median error of
 * its last third), not zero: the path and the probe have constant
 * asymmetries of their own that neither daemon can see or remove.
 */

export interface ErrorSample {
  /** Seconds since the daemon started. */
  readonly t: number;
  /** Clock minus reference, seconds. */
  readonly error: number;
}

export interface ConvergenceFigures {
  /** Median error over the last third of the run, seconds. */
  readonly settledLevel: number;
  /** Seconds from the start until the error stays within 10 ms / 1 ms / 100 us of the settled level; null: never. */
  readonly within10ms: number | null;
  readonly within1ms: number | null;
  readonly within100us: number | null;
  /** Samples out of bounds that were ignored in those times because both neighbours were within. */
  readonly glitches: number;
  /** Standard deviation of the error over the last half of the run, glitches left out, seconds. */
  readonly steadySd: number;
  /** Largest excursion past the settled level on the side opposite to where the clock started, seconds (0: none). */
  readonly overshoot: number;
}

export interface FigureOptions {
  /** The error the clock started from (its sign decides which side is overshoot); default the first sample's. */
  readonly initialError?: number;
}

/** Whether sample i is out of `bound` while both its neighbours are within: an isolated glitch. */
function isolated(out: readonly boolean[], i: number): boolean {
  return out[i] === true && i > 0 && i + 1 < out.length && out[i - 1] === false && out[i + 1] === false;
}

/** First time from which every sample stays within `bound` of `level`, isolated glitches aside; null: never. */
export function stayWithin(series: readonly ErrorSample[], level: number, bound: number): { at: number | null; glitches: number } {
  const out = series.map((p) => Math.abs(p.error - level) > bound);
  let at: number | null = null;
  let glitches = 0;
  for (let i = 0; i < series.length; i++) {
    if (!out[i]) {
      at ??= (series[i] as ErrorSample).t;
    } else if (isolated(out, i)) {
      if (at !== null) glitches++;
    } else {
      at = null;
      glitches = 0;
    }
  }
  return { at, glitches };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 === 1 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

function sd(xs: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

export function convergenceFigures(series: readonly ErrorSample[], opts: FigureOptions = {}): ConvergenceFigures {
  if (series.length === 0) {
    return { settledLevel: Number.NaN, within10ms: null, within1ms: null, within100us: null, glitches: 0, steadySd: Number.NaN, overshoot: 0 };
  }
  const t0 = (series[0] as ErrorSample).t;
  const tEnd = (series.at(-1) as ErrorSample).t;
  const level = median(series.filter((p) => p.t >= tEnd - (tEnd - t0) / 3).map((p) => p.error));
  const w10 = stayWithin(series, level, 10e-3);
  const w1 = stayWithin(series, level, 1e-3);
  const w100 = stayWithin(series, level, 100e-6);

  // The steady part: the last half, without the 100 us bound's isolated glitches.
  const out = series.map((p) => Math.abs(p.error - level) > 100e-6);
  const steady = series.filter((p, i) => p.t >= tEnd - (tEnd - t0) / 2 && !isolated(out, i)).map((p) => p.error);

  const start = opts.initialError ?? (series[0] as ErrorSample).error;
  const side = Math.sign(start - level);
  let crossed = false;
  let overshoot = 0;
  for (const p of series) {
    const past = -side * (p.error - level);
    if (past >= 0) crossed = true;
    if (crossed && side !== 0) overshoot = Math.max(overshoot, past);
  }
  return {
    settledLevel: level,
    within10ms: w10.at,
    within1ms: w1.at,
    within100us: w100.at,
    glitches: w100.glitches,
    steadySd: sd(steady),
    overshoot,
  };
}
