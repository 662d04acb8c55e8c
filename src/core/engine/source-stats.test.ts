import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SourceStats, STATS_DEFAULTS } from './source-stats.js';

/** Offset samples of a wandering oscillator over an exponential-queueing path (chrony's test model). */
function run(jitter: number, wander: number, n: number, seed = 7): { stats: SourceStats; rms: number; naiveRms: number } {
  let s = seed;
  const rnd = (): number => { s = (s * 16807) % 2147483647; return s / 2147483647; };
  const exp = (): number => -Math.log(1 - rnd());
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const stats = new SourceStats({ ...STATS_DEFAULTS }, { value: 0, variance: 1e-10 });
  let theta = 0;
  let freq = 0;
  let se = 0;
  let naive = 0;
  let m = 0;
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < 64; i++) { freq += wander * normal(); theta += freq; }
    const a = jitter * exp();
    const b = jitter * exp();
    const z = theta + (a - b) / 2;
    stats.add({ t: k * 64, rawOffset: z, measuredOffset: z, delay: 2e-3 + a + b, dispersion: 1e-7 });
    if (k > n / 4) {
      se += (stats.filter.phase - theta) ** 2;
      naive += (z - theta) ** 2;
      m++;
    }
  }
  return { stats, rms: Math.sqrt(se / m), naiveRms: Math.sqrt(naive / m) };
}

test('delay-weighted filtering beats taking samples as they come by a wide margin', () => {
  const r = run(1e-3, 1e-8, 1500);
  assert.ok(r.rms < r.naiveRms / 4, `${r.rms} vs ${r.naiveRms}`);
});

test('the filter bank finds the wander within a decade', () => {
  for (const wander of [1e-9, 1e-8]) {
    const r = run(10e-6, wander, 1500);
    const q = r.stats.filter.q;
    assert.ok(Math.abs(Math.log10(q) - Math.log10(wander ** 2)) < 1, `wander ${wander}: q ${q}`);
  }
});

test('sourcestats figures: NP, NR, span, std dev', () => {
  const { stats } = run(100e-6, 1e-9, 100);
  const f = stats.figures();
  assert.equal(f.samples, 64);
  assert.ok(f.runs >= 2 && f.runs <= 64);
  assert.equal(f.span, 63 * 64);
  assert.ok(f.stdDev > 20e-6 && f.stdDev < 300e-6, String(f.stdDev));
});

test('delay outliers are dropped; a lasting offset change restarts the estimate', () => {
  const stats = new SourceStats({ ...STATS_DEFAULTS }, { value: 0, variance: 1e-10 });
  for (let k = 0; k < 20; k++) stats.add({ t: k * 16, rawOffset: 0, measuredOffset: 0, delay: 2e-3 + (k % 3) * 1e-5, dispersion: 1e-7 });
  assert.deepEqual(stats.add({ t: 330, rawOffset: 0, measuredOffset: 0, delay: 0.5, dispersion: 1e-7 }), { accepted: false, reason: 'delay-outlier' });
  const outs = [1, 2, 3].map((i) => stats.add({ t: 330 + 16 * i, rawOffset: 1, measuredOffset: 1, delay: 2e-3, dispersion: 1e-7 }));
  assert.equal(outs[0]?.accepted, false);
  assert.equal(outs[2]?.accepted, true);
  assert.ok(Math.abs(stats.filter.phase - 1) < 1e-4);
});

test('figures() follows every change of the window: a sample added, the clock shifted, a reset', () => {
  const { stats } = run(1e-4, 1e-9, 20);
  const before = stats.figures();
  assert.equal(stats.figures(), before, 'unchanged window: the same figures');
  const last = stats.last();
  assert.ok(last !== null);
  stats.add({ ...last, t: last.t + 64 });
  const added = stats.figures();
  assert.notEqual(added, before);
  assert.equal(stats.last()?.t, last.t + 64, 'the sample was taken');
  assert.equal(added.span, before.span + 64, 'the window slid by one poll');
  stats.shift(0.25);
  assert.notEqual(stats.figures(), added, 'shifted: computed again');
  stats.reset();
  assert.equal(stats.figures().samples, 0);
});
