import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FilterBank, LIKELIHOOD_MEMORY, PhaseFreqFilter, Q_GRID } from './kalman.js';

function rng(seed: number): { uniform: () => number; normal: () => number } {
  let s = seed;
  const uniform = (): number => { s = (s * 16807) % 2147483647; return s / 2147483647; };
  return { uniform, normal: () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()) };
}

/**
 * An oscillator whose frequency is a random walk of intensity q, sampled every
 * `interval` seconds with white measurement noise of standard deviation sigma
 * (the model the filter assumes): yields (t, true phase, true frequency, z).
 */
function* process(o: { q: number; sigma: number; interval: number; n: number; seed: number; freq0?: number; qAfter?: { at: number; q: number } }):
  Generator<{ t: number; phase: number; freq: number; z: number }> {
  const r = rng(o.seed);
  let phase = 0.01;
  let freq = o.freq0 ?? 2e-5;
  const step = 8; // integrate the walk in 8 s steps: close enough to continuous at these intervals
  for (let k = 0; k < o.n; k++) {
    const q = o.qAfter !== undefined && k >= o.qAfter.at ? o.qAfter.q : o.q;
    for (let i = 0; i < o.interval; i += step) {
      phase += freq * step;
      freq += Math.sqrt(q * step) * r.normal();
    }
    yield { t: (k + 1) * o.interval, phase, freq, z: phase + o.sigma * r.normal() };
  }
}

test('one filter with the right q converges on phase and frequency, and its variance tells its error', () => {
  const q = 1e-18;
  const sigma = 1e-4;
  const f = new PhaseFreqFilter(q);
  let first = true;
  let se = 0;
  let nis = 0;
  let seFreq = 0;
  let m = 0;
  for (const s of process({ q, sigma, interval: 64, n: 3000, seed: 3 })) {
    if (first) { f.init(s.t, s.z, sigma ** 2, 0, 1e-8); first = false; continue; }
    f.update(s.t, s.z, sigma ** 2);
    if (m++ < 500) continue;
    se += (f.phase - s.phase) ** 2;
    nis += (f.phase - s.phase) ** 2 / f.pPhase;
    seFreq += (f.freq - s.freq) ** 2;
  }
  const n = m - 500;
  const rms = Math.sqrt(se / n);
  // Far better than one measurement, and the filter's own variance is honest (normalized error near 1).
  assert.ok(rms < sigma / 2.5, `rms ${rms}`);
  assert.ok(nis / n > 0.6 && nis / n < 1.5, `normalized squared error ${nis / n}`);
  // The 20 ppm starting frequency error is learnt to within 0.1 ppm.
  assert.ok(Math.sqrt(seFreq / n) < 1e-7, `freq rms ${Math.sqrt(seFreq / n)}`);
});

test('the process noise is the integrated random walk: q·Δ³/3 on phase, q·Δ²/2 across, q·Δ on frequency', () => {
  const f = new PhaseFreqFilter(1e-16);
  f.init(0, 0, 0, 1e-6, 0);
  const p = f.predict(1000);
  assert.ok(Math.abs(p.phase - 1e-3) < 1e-15);
  assert.ok(Math.abs(p.pPhase / (1e-16 * 1e9 / 3) - 1) < 1e-12, String(p.pPhase));
  assert.ok(Math.abs(p.pCross / (1e-16 * 1e6 / 2) - 1) < 1e-12);
  assert.ok(Math.abs(p.pFreq / (1e-16 * 1e3) - 1) < 1e-12);
  // Never predicted backwards: an older instant gets the current estimate.
  f.update(1000, 1e-3, 1e-12);
  const back = f.predict(10);
  assert.equal(back.phase, f.phase);
  assert.equal(back.t, 1000);
});

test('the filter bank weighs its wander models by likelihood: q is found within half a decade', () => {
  for (const [q, sigma] of [[1e-16, 1e-4], [1e-18, 1e-5], [1e-14, 1e-3]] as const) {
    const bank = new FilterBank();
    let first = true;
    for (const s of process({ q, sigma, interval: 64, n: 4000, seed: 11 })) {
      if (first) { bank.init(s.t, s.z, sigma ** 2, 0, 1e-8); first = false; continue; }
      bank.update(s.t, s.z, sigma ** 2);
    }
    assert.ok(Math.abs(Math.log10(bank.q / q)) <= 0.5, `q ${q}: found ${bank.q}`);
  }
});

test('the bank follows a change of the wander within its memory', () => {
  const sigma = 1e-5;
  const bank = new FilterBank();
  const interval = 64;
  const n = Math.ceil((3 * LIKELIHOOD_MEMORY) / interval);
  let first = true;
  let before = 0;
  let k = 0;
  for (const s of process({ q: 1e-19, sigma, interval, n: 2 * n, seed: 5, qAfter: { at: n, q: 1e-15 } })) {
    if (first) { bank.init(s.t, s.z, sigma ** 2, 0, 1e-8); first = false; continue; }
    bank.update(s.t, s.z, sigma ** 2);
    if (++k === n - 1) before = bank.q;
  }
  assert.ok(Math.abs(Math.log10(before / 1e-19)) <= 1, `before ${before}`);
  assert.ok(Math.abs(Math.log10(bank.q / 1e-15)) <= 0.5, `after ${bank.q}`);
});

test('one wild measurement does not move the model choice (capped normalized innovation)', () => {
  const q = 1e-16;
  const sigma = 1e-4;
  const bank = new FilterBank();
  let first = true;
  for (const s of process({ q, sigma, interval: 64, n: 3000, seed: 9 })) {
    if (first) { bank.init(s.t, s.z, sigma ** 2, 0, 1e-8); first = false; continue; }
    bank.update(s.t, s.z, sigma ** 2);
  }
  const settled = bank.q;
  const t = bank.t + 64;
  bank.update(t, bank.predict(t).phase + 1, sigma ** 2);
  assert.ok(Math.abs(Math.log10(bank.q / settled)) < 0.5, `${settled} -> ${bank.q}`);
});

test('learn = false leaves the weights alone', () => {
  const bank = new FilterBank([1e-20, 1e-12]);
  bank.init(0, 0, 1e-8, 0, 1e-10);
  const q0 = bank.q;
  for (let k = 1; k < 50; k++) bank.update(k * 64, (k % 2) * 1e-3, 1e-8, false);
  assert.equal(bank.q, q0);
  for (let k = 50; k < 100; k++) bank.update(k * 64, (k % 2) * 1e-3, 1e-8, true);
  assert.notEqual(bank.q, q0);
});

test('the mixture variance includes the spread between the models', () => {
  const bank = new FilterBank([1e-20, 1e-12]);
  bank.init(0, 0, 1e-10, 0, 1e-12);
  bank.update(64, 1e-3, 1e-10, false); // equal weights: the two filters now disagree
  const [a, b] = bank.filters.map((f) => f.predict(128));
  const p = bank.predict(128);
  if (a === undefined || b === undefined) throw new Error('two filters');
  assert.ok(Math.abs(p.phase - (a.phase + b.phase) / 2) < 1e-15);
  const expected = (a.pPhase + b.pPhase) / 2 + ((a.phase - b.phase) / 2) ** 2;
  assert.ok(Math.abs(p.pPhase / expected - 1) < 1e-9);
});

test('numerically sane with tiny and huge variances', () => {
  for (const [r, freqVar, q] of [[1e-30, 1e-30, 1e-24], [1e6, 1, 1e-12], [1e-20, 1, Q_GRID[0]], [1, 1e-30, 1e-21]] as const) {
    const f = new PhaseFreqFilter(q as number);
    f.init(0, 0.5, r, 1e-5, freqVar);
    for (let k = 1; k <= 200; k++) {
      const i = f.update(k * 1024, 0.5 + 1e-5 * k * 1024, r);
      assert.ok(Number.isFinite(i.residual) && Number.isFinite(i.variance) && i.variance > 0);
      assert.ok(Number.isFinite(f.phase) && Number.isFinite(f.freq));
      assert.ok(f.pPhase > 0 && f.pFreq > 0, `P not positive: ${f.pPhase} ${f.pFreq}`);
      // Cauchy-Schwarz: the covariance matrix stays (numerically) positive semi-definite.
      assert.ok(f.pCross * f.pCross <= f.pPhase * f.pFreq * (1 + 1e-6) + 1e-300, `not PSD at ${k}`);
    }
  }
  const bank = new FilterBank();
  bank.init(0, 0, 1e-30, 0, 1e-30);
  for (let k = 1; k < 100; k++) bank.update(k, k % 2 === 0 ? 1 : -1, 1e-30);
  const p = bank.predict(200);
  assert.ok(Number.isFinite(p.phase) && Number.isFinite(p.pPhase) && Number.isFinite(bank.q));
});

test('two exact measurements fix the frequency whatever the prior', () => {
  const f = new PhaseFreqFilter(1e-20);
  f.init(0, 0.001, 1e-18, 0, 1);
  f.update(16, 0.001 + 16 * 3e-5, 1e-18);
  assert.ok(Math.abs(f.freq - 3e-5) < 1e-9, String(f.freq));
});

test('shift moves every estimate by the leap', () => {
  const bank = new FilterBank();
  bank.init(0, 0.25, 1e-8, 0, 1e-10);
  bank.shift(-1);
  assert.ok(Math.abs(bank.phase + 0.75) < 1e-12);
  for (const f of bank.filters) assert.ok(Math.abs(f.phase + 0.75) < 1e-12);
});

test('an empty q grid is refused', () => {
  assert.throws(() => new FilterBank([]), /q grid is empty/);
});
