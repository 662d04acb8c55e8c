/**
 * Convergence figures of a series of clock errors, the same for a simulated
 * run and for a real guest's measured series (the UML bench imports this
 * module), so the two can be set side by side. Pure: series in, figures out.
 *
 * - settled level: the median error over the settled window (by default
 *   the second half of the run's time span);
 * - time within X: from the series' start, until the error stays within X
 *   of the settled level to the end; a sample outside whose neighbours are
 *   both inside is an isolated glitch (one bad measurement): it does not
 *   reset the time, and it is counted;
 * - steady spread: the standard deviation over the settled window;
 * - overshoot: the largest excursion past the settled level on the side
 *   opposite to the initial error (0 when none).
 */

export interface ErrorPoint {
  /** Seconds (any origin; times are reported from the first point). */
  readonly t: number;
  /** The clock's error, seconds. */
  readonly error: number;
}

export interface ConvergenceOptions {
  /** Start of the settled window, seconds from the first point (default: half the span). */
  readonly settledFrom?: number;
  /** Bounds for timeWithin, seconds (default 10 ms, 1 ms, 100 us). */
  readonly thresholds?: readonly number[];
}

export interface TimeWithin {
  readonly threshold: number;
  /** Seconds from the first point until the error stayed within the bound of the settled level; null if the last point is outside. */
  readonly time: number | null;
  /** Isolated one-sample glitches ignored from `time` on. */
  readonly glitches: number;
}

export interface ConvergenceFigures {
  readonly samples: number;
  /** First error minus the settled level, seconds. */
  readonly initialError: number;
  /** Median error over the settled window, seconds. */
  readonly settledLevel: number;
  /** Standard deviation over the settled window, seconds. */
  readonly steadySd: number;
  readonly within: readonly TimeWithin[];
  /** Largest excursion past the settled level opposite to the initial error, seconds (>= 0). */
  readonly overshoot: number;
  /** When it happened, seconds from the first point (null when there is none). */
  readonly overshootAt: number | null;
}

export const DEFAULT_THRESHOLDS: readonly number[] = Object.freeze([10e-3, 1e-3, 100e-6]);

export function convergenceFigures(series: readonly ErrorPoint[], options: ConvergenceOptions = {}): ConvergenceFigures {
  if (series.length === 0) throw new RangeError('Cannot compute convergence figures: the series is empty');
  for (let i = 0; i < series.length; i++) {
    const p = series[i] as ErrorPoint;
    if (!Number.isFinite(p.t) || !Number.isFinite(p.error)) throw new RangeError(`Cannot compute convergence figures: point ${i} is {t: ${p.t}, error: ${p.error}}, expected finite numbers`);
    if (i > 0 && p.t < (series[i - 1] as ErrorPoint).t) throw new RangeError(`Cannot compute convergence figures: point ${i} goes back in time (t ${p.t})`);
  }
  const t0 = (series[0] as ErrorPoint).t;
  const span = (series.at(-1) as ErrorPoint).t - t0;
  const from = t0 + (options.settledFrom ?? span / 2);
  const settled = series.filter((p) => p.t >= from).map((p) => p.error);
  if (settled.length === 0) throw new RangeError(`Cannot compute convergence figures: no point at or after settledFrom (${from - t0} s)`);
  const level = median(settled);
  const mean = settled.reduce((a, b) => a + b, 0) / settled.length;
  const sd = Math.sqrt(settled.reduce((a, b) => a + (b - mean) ** 2, 0) / settled.length);
  const dev = series.map((p) => p.error - level);
  const initial = dev[0] as number;

  const within = (options.thresholds ?? DEFAULT_THRESHOLDS).map((x) => timeWithin(series, dev, x, t0));

  let overshoot = 0;
  let overshootAt: number | null = null;
  const sign = Math.sign(initial);
  if (sign !== 0) {
    dev.forEach((d, i) => {
      if (-sign * d > overshoot) {
        overshoot = -sign * d;
        overshootAt = (series[i] as ErrorPoint).t - t0;
      }
    });
  }
  return { samples: series.length, initialError: initial, settledLevel: level, steadySd: sd, within, overshoot, overshootAt };
}

function timeWithin(series: readonly ErrorPoint[], dev: readonly number[], x: number, t0: number): TimeWithin {
  const outside = (i: number): boolean => Math.abs(dev[i] as number) > x;
  const n = dev.length;
  if (outside(n - 1)) return { threshold: x, time: null, glitches: 0 };
  let glitches = 0;
  let start = 0;
  for (let i = n - 2; i >= 0; i--) {
    if (!outside(i)) continue;
    // Isolated: its neighbours are both inside (the first point has no left neighbour, so it never is).
    if (i > 0 && !outside(i - 1) && !outside(i + 1)) {
      glitches++;
      continue;
    }
    start = i + 1;
    break;
  }
  return { threshold: x, time: (series[start] as ErrorPoint).t - t0, glitches };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
