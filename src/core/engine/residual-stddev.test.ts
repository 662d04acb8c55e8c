import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsymmetryTracker, regressionWeights, residualStdDev, type RegressionSample } from './residual-stddev.js';
import { SourceStats, STATS_DEFAULTS } from './source-stats.js';

const PRECISION = 2 ** -24;
const close = (a: number, b: number, rel = 1e-9): boolean => Math.abs(a - b) <= rel * Math.abs(b);

test('equal delays: an ordinary least-squares line, variance over n - 2 (worked by hand)', () => {
  // y = ±1 us alternating on t = 0..3: slope -0.4, intercept 0.6, residuals 0.4, -1.2, 1.2, -0.4 (us); 3.2/2 = 1.6 us².
  const e = 1e-6;
  const s: RegressionSample[] = [e, -e, e, -e].map((offset, t) => ({ t, offset, delay: 20e-6, dispersion: 0 }));
  assert.ok(close(residualStdDev(s, PRECISION) as number, Math.sqrt(1.6) * e), String(residualStdDev(s, PRECISION)));
  // A line is fitted, not a constant: a pure trend leaves nothing (chronyd's floor, 1 ns).
  const trend = [0, 1, 2, 3, 4].map((t) => ({ t, offset: 5e-6 * t, delay: 20e-6, dispersion: 0 }));
  assert.equal(residualStdDev(trend, PRECISION), 1e-9);
  assert.equal(residualStdDev(s.slice(0, 2), PRECISION), null, 'chronyd needs 3 samples');
});

test("chronyd's weights: 1 at the smallest peer distance, (1 + excess/sd)² above it, sd from the median", () => {
  // Distances δ/2 + ε: 1, 2, 3, 4, 5 us; median 3 us, so sd = (3 - 1)/0.7 us, but at most the smallest distance, 1 us.
  const s = [1, 2, 3, 4, 5].map((d, t) => ({ t, offset: 0, delay: 2 * d * 1e-6, dispersion: 0 }));
  const w = regressionWeights(s, PRECISION);
  const sd = 1e-6;
  assert.equal(w[0], 1);
  for (let i = 1; i < 5; i++) assert.ok(close(w[i] as number, (1 + ((i + 1) * 1e-6 - 1e-6 - PRECISION) / sd) ** 2), `w[${i}] = ${w[i]}`);
  // With a wider spread of the best samples, sd is the median's.
  const wide = [10, 11, 12, 13, 14].map((d, t) => ({ t, offset: 0, delay: 2 * d * 1e-6, dispersion: 0 }));
  assert.ok(close(regressionWeights(wide, PRECISION)[4] as number, (1 + (4e-6 - PRECISION) / (2e-6 / 0.7)) ** 2));
  // A queued sample that is far off moves the figure far less than it moves the plain RMS.
  const withOutlier = s.map((x, i) => ({ ...x, offset: i === 4 ? 10e-6 : 0 }));
  const plainRms = Math.sqrt(withOutlier.reduce((a, x) => a + x.offset ** 2, 0) / 5);
  assert.ok((residualStdDev(withOutlier, PRECISION) as number) < plainRms / 2);
});

/** A window where every extra delay lies on the way back: offset = -(δ - δmin)/2 + noise. */
function oneSided(n: number, noise: number, seed = 3): RegressionSample[] {
  let s = seed;
  const rnd = (): number => { s = (s * 16807) % 2147483647; return s / 2147483647; };
  return Array.from({ length: n }, (_, t) => {
    const extra = -Math.log(1 - rnd()) * 5e-6;
    return { t, offset: -extra / 2 + noise * (rnd() - 0.5), delay: 8e-6 + extra, dispersion: 1e-7 };
  });
}

test('asymmetry: 10 windows leaning the same way turn the correction on, within ±0.5; a symmetric path never does', () => {
  const tr = new AsymmetryTracker();
  const all = oneSided(80, 0.05e-6);
  for (let k = 20; k < 29; k++) assert.equal(tr.update(all.slice(0, k)), 0, `window ${k - 19}: not yet`);
  const a = tr.update(all.slice(0, 29));
  assert.ok(a < -0.45 && a >= -0.5, String(a));
  // Corrected, the residuals are the small noise; uncorrected, the queueing shows.
  const w = all.slice(0, 29);
  const corrected = residualStdDev(w, PRECISION, a) as number;
  assert.ok(corrected < 0.1e-6, String(corrected));
  assert.ok((residualStdDev(w, PRECISION, 0) as number) > 4 * corrected);

  const sym = new AsymmetryTracker();
  let s = 11;
  const rnd = (): number => { s = (s * 16807) % 2147483647; return s / 2147483647; };
  const win: RegressionSample[] = [];
  for (let t = 0; t < 200; t++) {
    const [x, y] = [-Math.log(1 - rnd()) * 5e-6, -Math.log(1 - rnd()) * 5e-6];
    win.push({ t, offset: (x - y) / 2, delay: 8e-6 + x + y, dispersion: 1e-7 });
    if (win.length > 64) win.shift();
    if (win.length >= 4) assert.equal(sym.update(win), 0);
  }
});

test("SourceStats' Std Dev is chronyd's figure: one-sided queueing is corrected out of it", () => {
  const stats = new SourceStats({ ...STATS_DEFAULTS }, { value: 0, variance: 1e-10 });
  for (const x of oneSided(64, 0.05e-6, 5)) stats.add({ t: x.t, rawOffset: x.offset, measuredOffset: x.offset, delay: x.delay, dispersion: x.dispersion });
  const f = stats.figures();
  assert.ok(f.asymmetry < -0.45, String(f.asymmetry));
  // What is left is the 0.05 us uniform noise (sd 0.014 us), whatever the 5 us queueing did.
  assert.ok(f.stdDev < 0.1e-6, `Std Dev ${f.stdDev}`);
});
