/**
 * A two-state Kalman filter on a free-running oscillator against a source:
 * phase θ (source − raw clock, seconds) and frequency φ (dθ/dt). The
 * oscillator's frequency is a random walk ("wander", RFC 5905's "random walk
 * frequency noise", chrony's test scenarios): over Δ seconds φ changes by
 * N(0, qΔ) and θ picks up the integral of that walk, so the process noise is
 * q·[[Δ³/3, Δ²/2], [Δ²/2, Δ]]. With the right q and per-sample measurement
 * variances this is the minimum-variance linear estimator of (θ, φ), which a
 * least-squares regression over a window (chrony) only approximates.
 *
 * q is a property of the oscillator (and its temperature), not known in
 * advance: FilterBank runs one filter per candidate q and weighs them by
 * likelihood (multiple-model adaptive estimation).
 */

export interface KalmanState {
  /** θ, seconds, at time t. */
  readonly phase: number;
  /** φ, seconds per second. */
  readonly freq: number;
  /** Variance of θ, s². */
  readonly pPhase: number;
  /** Covariance of θ and φ, s²/s. */
  readonly pCross: number;
  /** Variance of φ, (s/s)². */
  readonly pFreq: number;
  /** Raw seconds of the estimate. */
  readonly t: number;
}

export interface Innovation {
  /** z − predicted θ, seconds. */
  readonly residual: number;
  /** Its predicted variance (P + R), s². */
  readonly variance: number;
}

/** One filter with a fixed frequency-random-walk intensity q, (s/s)²/s. */
export class PhaseFreqFilter {
  readonly q: number;
  phase = 0;
  freq = 0;
  pPhase = 0;
  pCross = 0;
  pFreq = 0;
  t = 0;

  constructor(q: number) {
    this.q = q;
  }

  /** Starts from one measurement z (variance r) with a frequency prior. */
  init(t: number, z: number, r: number, freq: number, freqVar: number): void {
    this.t = t;
    this.phase = z;
    this.pPhase = r;
    this.pCross = 0;
    this.freq = freq;
    this.pFreq = freqVar;
  }

  /** The estimate at raw time t (not stored); never extrapolates backwards. */
  predict(t: number): KalmanState {
    const d = Math.max(0, t - this.t);
    const q = this.q;
    const pPhase = this.pPhase + 2 * d * this.pCross + d * d * this.pFreq + q * d * d * d / 3;
    const pCross = this.pCross + d * this.pFreq + q * d * d / 2;
    const pFreq = this.pFreq + q * d;
    return { phase: this.phase + this.freq * d, freq: this.freq, pPhase, pCross, pFreq, t: Math.max(t, this.t) };
  }

  /** Measurement update with z of variance r at raw time t; returns the innovation. */
  update(t: number, z: number, r: number): Innovation {
    const p = this.predict(t);
    const s = p.pPhase + r;
    const nu = z - p.phase;
    const k0 = p.pPhase / s;
    const k1 = p.pCross / s;
    this.phase = p.phase + k0 * nu;
    this.freq = p.freq + k1 * nu;
    // The simple form is fine at this size; the floors keep P positive through rounding.
    this.pPhase = Math.max(p.pPhase - k0 * p.pPhase, 1e-30);
    this.pCross = p.pCross - k0 * p.pCross;
    this.pFreq = Math.max(p.pFreq - k1 * p.pCross, 1e-30);
    this.t = p.t;
    return { residual: nu, variance: s };
  }

  /** Shifts θ by `seconds` (a leap second moved the timescale). */
  shift(seconds: number): void {
    this.phase += seconds;
  }
}

/** Grid of q tried by FilterBank: 10^-21 to 10^-12 (s/s)²/s, half a decade apart. */
export const Q_GRID: readonly number[] = Array.from({ length: 19 }, (_, i) => 10 ** (-21 + i / 2));
/** Cap on a normalized squared innovation in the likelihood. */
const NIS_CAP = 9;
/**
 * Memory of each model's likelihood, seconds (exponential forgetting in time,
 * so a burst of samples does not wipe it). Long enough that the choice of q
 * rests on thousands of samples at a 64 s poll: at high network jitter a
 * shorter memory lets q wander by half a decade, which costs accuracy (bench/
 * sync-accuracy, Test 2 at 10 ms); short enough to follow a change of the
 * oscillator (a day's temperature cycle) within days.
 */
export const LIKELIHOOD_MEMORY = 200_000;

/**
 * Multiple-model adaptive estimation: one filter per q of the grid, run side
 * by side on the same measurements; each model's likelihood (with slow
 * forgetting, so a change of the oscillator's behaviour is followed) weighs
 * its estimate. Unlike a gradient on q, this does not depend on how much of
 * the innovation variance the process noise explains, so it stays unbiased
 * when the measurement noise dominates (high network jitter).
 */
export class FilterBank {
  readonly filters: readonly PhaseFreqFilter[];
  private readonly logL: number[];
  private weights: number[];
  initialized = false;

  constructor(grid: readonly number[] = Q_GRID) {
    if (grid.length === 0) throw new Error('Cannot build a filter bank: the q grid is empty');
    this.filters = grid.map((q) => new PhaseFreqFilter(q));
    this.logL = grid.map(() => 0);
    this.weights = grid.map(() => 1 / grid.length);
  }

  /** (Re)starts every filter from one measurement; the models' likelihoods are kept. */
  init(t: number, z: number, r: number, freq: number, freqVar: number): void {
    for (const f of this.filters) f.init(t, z, r, freq, freqVar);
    this.initialized = true;
  }

  /** The weighted estimate at raw time t: mixture mean and variance (spread of the models included). */
  predict(t: number): KalmanState {
    let phase = 0;
    let freq = 0;
    const ps = this.filters.map((f) => f.predict(t));
    ps.forEach((p, i) => {
      const w = this.weights[i] as number;
      phase += w * p.phase;
      freq += w * p.freq;
    });
    let pPhase = 0;
    let pCross = 0;
    let pFreq = 0;
    ps.forEach((p, i) => {
      const w = this.weights[i] as number;
      pPhase += w * (p.pPhase + (p.phase - phase) ** 2);
      pCross += w * (p.pCross + (p.phase - phase) * (p.freq - freq));
      pFreq += w * (p.pFreq + (p.freq - freq) ** 2);
    });
    return { phase, freq, pPhase, pCross, pFreq, t: Math.max(t, this.t) };
  }

  /** The innovation a measurement z with variance r at raw time t would have against the mixture. */
  innovation(t: number, z: number, r: number): Innovation {
    const p = this.predict(t);
    return { residual: z - p.phase, variance: p.pPhase + r };
  }

  /** Updates every model; `learn` also scores them on this measurement. Returns the mixture's innovation. */
  update(t: number, z: number, r: number, learn = true): Innovation {
    const before = this.innovation(t, z, r);
    const forget = Math.exp(-Math.max(0, t - this.t) / LIKELIHOOD_MEMORY);
    this.filters.forEach((f, i) => {
      const u = f.update(t, z, r);
      // The squared innovation is capped: one wild sample (a delay spike the
      // noise model missed) must not decide the model for hundreds of samples.
      if (learn) this.logL[i] = forget * (this.logL[i] as number) - 0.5 * (Math.log(u.variance) + Math.min((u.residual * u.residual) / u.variance, NIS_CAP));
    });
    const max = Math.max(...this.logL);
    const raw = this.logL.map((l) => Math.exp(l - max));
    const sum = raw.reduce((a, x) => a + x, 0);
    this.weights = raw.map((x) => x / sum);
    return before;
  }

  shift(seconds: number): void {
    for (const f of this.filters) f.shift(seconds);
  }

  get phase(): number { return this.predict(this.t).phase; }
  get freq(): number { return this.predict(this.t).freq; }
  get pPhase(): number { return this.predict(this.t).pPhase; }
  get pFreq(): number { return this.predict(this.t).pFreq; }
  /** Raw seconds of the last update. */
  get t(): number { return (this.filters[0] as PhaseFreqFilter).t; }
  /** The likelihood-weighted q (geometric mean), (s/s)²/s. */
  get q(): number {
    let l = 0;
    this.filters.forEach((f, i) => { l += (this.weights[i] as number) * Math.log(f.q); });
    return Math.exp(l);
  }
}
