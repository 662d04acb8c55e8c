/**
 * What one source's samples say (chrony's sourcestats.c on top of
 * source-stats.ts): each sample is moved onto the raw timescale of
 * clock-model.ts before the statistics take it, so the engine's own steps and
 * slews never disturb the estimate; the estimate is brought back to the
 * disciplined clock, with its root distance, when selection asks for it.
 * One measurement per address: a source that moves to another address
 * starts a new one.
 */
import { addSeconds, diffSeconds, type Instant } from '../../time/instant.js';
import { DELAY_TEST_MIN_SAMPLES, type DelayTestData } from './delay-tests.js';
import type { ClockModel } from './clock-model.js';
import type { Sample } from '../sample.js';
import type { SourceOptions } from './source-options.js';
import { SourceStats, type StatsOptions, type StoredSample } from './source-stats.js';

/** Standard errors of the rate taken as its bound in the root distance (chronyd's t coefficient). */
const SKEW_SIGMAS = 2;
/** chrony's default maxclockerror, s/s. */
const DEFAULT_MAX_CLOCK_ERROR = 1e-6;

/** One source's estimate now, on the disciplined clock. */
export interface SourceEstimate {
  /** Source − clock, seconds. */
  readonly offset: number;
  /** Source's rate against the raw oscillator, s/s. */
  readonly freq: number;
  /** Variances of the offset (s²) and the rate ((s/s)²). */
  readonly pPhase: number;
  readonly pFreq: number;
  /**
   * Root distance, seconds, as chronyd's selection reckons it (sourcestats.c):
   * of the samples in the window, the one whose own bound is tightest now,
   * half its root delay (the server's and our round trip) plus its root
   * dispersion plus the skew times its age; widened by maxclockerror when
   * the samples stopped coming.
   */
  readonly distance: number;
  /** Source − clock, seconds, from that tightest sample carried to now by the rate: the middle of the correctness interval. */
  readonly intervalOffset: number;
}

/** The last sample the statistics took, as chronyc sources and ntpdata show it. */
export interface LastSample {
  readonly measuredOffset: number;
  /** The clock's phase correction (steps and slews) at the sample, seconds: later corrections adjust the offset shown. */
  readonly phase: number;
  readonly delay: number;
  readonly dispersion: number;
}

/** The rate estimate before a sample and its error: statistics.log's stress compares against it. */
export interface RateBefore {
  readonly freq: number;
  readonly sd: number;
}

/** Where the engine's raw timescale is: its model of the clock, and the instant it started. */
export interface Timescale {
  readonly clock: ClockModel;
  readonly origin: Instant;
}

export type TakeResult =
  | { readonly accepted: true; readonly before: RateBefore | null }
  | { readonly accepted: false; readonly reason: 'delay-outlier' | 'offset-outlier' };

export class SourceMeasurement {
  readonly stats: SourceStats;
  /** When the last sample the statistics took arrived (t4 of the datagram). */
  lastRxAt: Instant | null = null;
  lastSample: LastSample | null = null;

  /** The window always holds maxsamples once filled (the Kalman state carries what is older), so chrony's minsamples only matters when it asks for more than that: then the window grows to it. */
  private readonly asymmetry: number;

  constructor(options: SourceOptions, stats: StatsOptions, freqPrior: { value: number; variance: number }) {
    const size = Math.max(options.maxsamples ?? stats.maxSamples, options.minsamples ?? 0, 2);
    this.stats = new SourceStats({ ...stats, maxSamples: size, fixedMinDelay: options.mindelay }, freqPrior);
    this.asymmetry = options.asymmetry ?? 0;
  }

  /** Offers a sample that arrived at `rxAt`; the statistics may refuse it as an outlier. */
  take(s: Sample, rxAt: Instant, ts: Timescale, precision: number, root: { readonly delay: number; readonly dispersion: number }): TakeResult {
    const f = this.stats.filter;
    const before = f.initialized ? { freq: f.freq, sd: Math.sqrt(f.pFreq) } : null;
    const c1 = ts.clock.corrAt(s.t1);
    const c4 = ts.clock.corrAt(s.t4);
    const rawT = (diffSeconds(s.t1, ts.origin) - c1 + diffSeconds(s.t4, ts.origin) - c4) / 2;
    let delay = Math.max(s.delay - (c4 - c1), precision);
    // chronyd (sourcestats.c) reflects a delay below `mindelay` about it: the path cannot be shorter, so the sample's stamps are off by as much.
    const fixedMin = this.stats.options.fixedMinDelay;
    if (fixedMin > 0 && delay < fixedMin) delay = 2 * fixedMin - delay;
    // `asymmetry`: that share of the extra delay lay on the way back (positive) or out, so the offset is off by as much.
    const extra = Number.isFinite(this.stats.minDelay()) ? Math.max(0, delay - this.stats.minDelay()) : 0;
    const corrected = s.offset + this.asymmetry * extra;
    const res = this.stats.add({
      t: rawT,
      rawOffset: corrected + (c1 + c4) / 2,
      measuredOffset: corrected,
      delay,
      dispersion: s.dispersion,
      rootDelay: root.delay,
      rootDispersion: root.dispersion,
    });
    if (!res.accepted) return res;
    this.lastRxAt = rxAt;
    this.lastSample = { measuredOffset: s.offset, phase: ts.clock.phaseAt(s.t4), delay: s.delay, dispersion: s.dispersion };
    return { accepted: true, before };
  }

  /** The estimate at `now`, or null before the first sample; `root` stands in for the server's root delay and dispersion of samples that do not carry theirs. */
  estimate(now: Instant, ts: Timescale, root: { readonly delay: number; readonly dispersion: number }): SourceEstimate | null {
    const window = this.stats.window;
    if (!this.stats.filter.initialized || this.lastSample === null || window.length === 0) return null;
    const rawNow = ts.clock.rawSeconds(now, ts.origin);
    const p = this.stats.filter.predict(rawNow);
    // chronyd's skew is the rate's standard error times Student's t (about 2 for its window): a bound, not a deviation.
    const skew = SKEW_SIGMAS * Math.sqrt(p.pFreq);
    let distance = Infinity;
    let center = 0;
    for (const w of window) {
      const age = Math.max(0, rawNow - w.t);
      const d = 0.5 * ((w.rootDelay ?? root.delay) + w.delay) + (w.rootDispersion ?? root.dispersion) + w.dispersion + skew * age;
      if (d < distance) {
        distance = d;
        center = w.rawOffset + p.freq * (rawNow - w.t);
      }
    }
    // chronyd (sources.c): a source whose newest sample is older than the
    // span of its samples has stopped answering; its interval widens at
    // maxclockerror from then on.
    const firstAgo = rawNow - (window[0] as StoredSample).t;
    const lastAgo = rawNow - (window[window.length - 1] as StoredSample).t;
    if (firstAgo < 2 * lastAgo) distance += (this.stats.options.maxClockError ?? DEFAULT_MAX_CLOCK_ERROR) * (2 * lastAgo - firstAgo);
    const corr = ts.clock.corrAt(now);
    return { offset: p.phase - corr, freq: p.freq, pPhase: p.pPhase, pFreq: p.pFreq, distance, intervalOffset: center - corr };
  }

  /** What chronyd's delay tests weigh a new sample against, or null with too few samples. */
  delayTestData(s: Sample, ts: Timescale): DelayTestData | null {
    const st = this.stats;
    if (st.count < DELAY_TEST_MIN_SAMPLES || !st.filter.initialized || this.lastRxAt === null) return null;
    const mid = addSeconds(s.t1, diffSeconds(s.t4, s.t1) / 2);
    const p = st.filter.predict(ts.clock.rawSeconds(mid, ts.origin));
    return {
      lastSampleAgo: Math.max(0, diffSeconds(s.t4, this.lastRxAt)),
      predictedOffset: p.phase - ts.clock.corrAt(mid),
      minDelay: st.minDelay(),
      skew: Math.sqrt(st.filter.pFreq),
      stdDev: st.figures().stdDev,
    };
  }

  /**
   * Samples' worth of information the estimate holds: a typical sample's
   * information (SourceStats.windowVariances) over the estimate's. The poll
   * interval adapts to it.
   */
  information(): number {
    const f = this.stats.filter;
    let inv = 0;
    for (const v of this.stats.windowVariances()) inv += 1 / v;
    const n = this.stats.window.length;
    if (n === 0 || inv === 0) return 0;
    const typical = n / inv;
    return typical / f.pPhase;
  }
}
