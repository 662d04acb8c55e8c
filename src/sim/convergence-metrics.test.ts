import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convergenceFigures, type ErrorPoint } from './convergence-metrics.js';

/** 0.5 s decaying with a 2 s time constant onto a level of 20 us, sampled every 0.5 s for 100 s from t = 1000. */
function decay(level = 20e-6): ErrorPoint[] {
  return Array.from({ length: 201 }, (_, i) => ({ t: 1000 + i * 0.5, error: level + 0.5 * Math.exp(-(i * 0.5) / 2) }));
}
/** When 0.5 * exp(-t/2) falls to x, rounded up to the 0.5 s sampling. */
const crossing = (x: number): number => Math.ceil(2 * Math.log(0.5 / x) * 2) / 2;

test('times within 10 ms, 1 ms and 100 us of the settled level, counted from the first point', () => {
  const f = convergenceFigures(decay());
  assert.ok(Math.abs(f.settledLevel - 20e-6) < 1e-12);
  assert.ok(f.steadySd < 1e-9);
  assert.deepEqual(f.within.map((w) => w.time), [crossing(10e-3), crossing(1e-3), crossing(100e-6)]);
  assert.deepEqual(f.within.map((w) => w.glitches), [0, 0, 0]);
  assert.ok(Math.abs(f.initialError - 0.5) < 1e-12);
  assert.ok(f.overshoot < 1e-12, 'a decay never crosses the level (beyond rounding of the median)');
});

test('an isolated one-sample glitch is ignored and counted; two in a row are not a glitch', () => {
  const s = decay();
  const one = s.map((p, i) => (i === 150 ? { ...p, error: p.error + 5e-3 } : p));
  const f = convergenceFigures(one);
  assert.equal(f.within[1]?.time, crossing(1e-3));
  assert.equal(f.within[1]?.glitches, 1);
  assert.equal(f.within[0]?.glitches, 0, 'within 10 ms it was no excursion');
  const two = s.map((p, i) => (i === 150 || i === 151 ? { ...p, error: p.error + 5e-3 } : p));
  assert.equal(convergenceFigures(two).within[1]?.time, 76);
});

test('overshoot: the largest excursion past the level opposite to the initial error', () => {
  // Starts 1 ms below, overshoots to 300 us above at t = 3, settles at 0.
  const s: ErrorPoint[] = [-1e-3, -400e-6, 100e-6, 300e-6, 150e-6, 50e-6, ...Array<number>(20).fill(0)].map((error, t) => ({ t, error }));
  const f = convergenceFigures(s);
  assert.ok(Math.abs(f.overshoot - 300e-6) < 1e-12);
  assert.equal(f.overshootAt, 3);
  assert.equal(f.within[2]?.time, 5);
});

test('never within: null; the settled window and thresholds can be chosen', () => {
  const s = decay();
  const last = s.length - 1;
  const off = s.map((p, i) => (i === last ? { ...p, error: 1 } : p));
  assert.equal(convergenceFigures(off).within[0]?.time, null);
  const f = convergenceFigures(decay(), { settledFrom: 90, thresholds: [0.1] });
  assert.equal(f.within.length, 1);
  assert.equal(f.within[0]?.time, crossing(0.1));
});

test('bad series get a clear error', () => {
  assert.throws(() => convergenceFigures([]), /empty/);
  assert.throws(() => convergenceFigures([{ t: 1, error: 0 }, { t: 0, error: 0 }]), /back in time/);
  assert.throws(() => convergenceFigures([{ t: 0, error: NaN }]), /finite/);
  assert.throws(() => convergenceFigures([{ t: 0, error: 0 }], { settledFrom: 5 }), /settledFrom/);
});
