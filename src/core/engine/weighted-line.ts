/**
 * A weighted least-squares line y = a + b·x, the one regression the engine
 * needs twice: chronyd's Std Dev figure (residual-stddev.ts) and the test of
 * a drift file's frequency against the samples (source-stats.ts).
 */

export interface WeightedLine {
  /** y at x = 0. */
  readonly intercept: number;
  readonly slope: number;
  /** Σ weights. */
  readonly sumWeights: number;
  /** Σ weight·(x − x̄)²: the slope's variance is (variance per unit weight) / this. */
  readonly sxx: number;
  /** Σ weight·residual². */
  readonly residualSquares: number;
}

/** The line through (x, y) with each point weighted by `weight` (an inverse variance, up to a common factor). */
export function fitWeightedLine(x: readonly number[], y: readonly number[], weight: readonly number[]): WeightedLine {
  const n = x.length;
  let W = 0;
  let U = 0;
  for (let i = 0; i < n; i++) { W += weight[i] as number; U += (weight[i] as number) * (x[i] as number); }
  const u = U / W;
  let P = 0;
  let Q = 0;
  let V = 0;
  for (let i = 0; i < n; i++) {
    const wi = weight[i] as number;
    const ui = (x[i] as number) - u;
    P += wi * (y[i] as number);
    Q += wi * (y[i] as number) * ui;
    V += wi * ui * ui;
  }
  const slope = V > 0 ? Q / V : 0;
  const intercept = P / W - slope * u;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const r = (y[i] as number) - intercept - slope * (x[i] as number);
    ss += (weight[i] as number) * r * r;
  }
  return { intercept, slope, sumWeights: W, sxx: V, residualSquares: ss };
}
