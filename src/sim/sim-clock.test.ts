import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instantFromUnixSeconds, TICKS_PER_SECOND, type Instant } from '../time/instant.js';
import { Random } from './random.js';
import { SimClock, secondsToTicks } from './sim-clock.js';

function timeline(startUnix = 1_704_067_200): { t: { now(): Instant }; set(s: number): void; start: Instant } {
  const start = instantFromUnixSeconds(startUnix);
  let now = start;
  return { t: { now: () => now }, set: (s) => { now = start + secondsToTicks(s); }, start };
}

test('offset and frequency error give an exactly linear error', () => {
  const { t, set } = timeline();
  const c = new SimClock({ offset: 0.01, freqPpm: 10 }, t);
  for (const s of [0, 1, 10.5, 1000, 86_400]) {
    set(s);
    assert.ok(Math.abs(c.errorAt(t.now()) - (0.01 + 10e-6 * s)) < 1e-9, `at ${s} s`);
  }
});

test('a frequency correction cancels the oscillator error; a step moves the reading', () => {
  const { t, set } = timeline();
  const c = new SimClock({ freqPpm: 50 }, t);
  set(100);
  assert.ok(Math.abs(c.errorAt(t.now()) - 5e-3) < 1e-9);
  c.setFrequency(c.idealCorrectionPpm());
  set(10_100);
  assert.ok(Math.abs(c.errorAt(t.now()) - 5e-3) < 1e-9, 'held');
  c.step(-5e-3);
  assert.ok(Math.abs(c.errorAt(t.now())) < 1e-9);
  assert.equal(c.steps.length, 1);
  assert.equal(c.setFrequency(1e9), 100_000, 'clamped to the kernel range');
});

test('per-second re-anchoring keeps the sub-tick remainder (no drift from rounding)', () => {
  const { t, set } = timeline();
  // wander so small it cannot matter, but it forces 100000 re-anchors
  const c = new SimClock({ freqPpm: 1e-4 * 1.234567, wanderPpbPerS: 1e-12 }, t, new Random(1));
  set(100_000);
  assert.ok(Math.abs(c.errorAt(t.now()) - 1.234567e-10 * 100_000) < 2e-9);
});

test('wander is a random walk of W ppb per second, as clknetsim (sum (* W (normal)))', () => {
  // After N seconds the frequency has moved by W * sqrt(N) (standard deviation).
  const N = 400;
  const W = 10;
  const finals: number[] = [];
  for (let seed = 1; seed <= 300; seed++) {
    const { t, set } = timeline();
    const c = new SimClock({ wanderPpbPerS: W }, t, new Random(seed));
    set(N + 0.5);
    finals.push(c.oscillatorPpm() * 1e3); // ppb
  }
  const sd = Math.sqrt(finals.reduce((a, x) => a + x * x, 0) / finals.length);
  const expected = W * Math.sqrt(N);
  assert.ok(Math.abs(sd / expected - 1) < 0.15, `sd ${sd} ppb, expected ${expected}`);
});

test('trueTimeOf inverts the reading at the current rate', () => {
  const { t, set } = timeline();
  const c = new SimClock({ offset: -2, freqPpm: 300 }, t);
  set(5);
  const target = c.now() + 10n * TICKS_PER_SECOND;
  const at = c.trueTimeOf(target);
  set(Number(at - timeline().start) / 2 ** 32);
  const r = c.readingAt(at);
  assert.ok(r >= target && r - target < 4n, `${r - target} ticks late`);
});

test('leap insert: the clock repeats 23:59:59 at its own midnight, once', () => {
  const midnight = 1_704_153_600; // 2024-01-02T00:00:00Z
  const { t, set } = timeline(midnight - 10);
  const c = new SimClock({ offset: 0.25 }, t);
  const ref = new SimClock({}, t);
  c.setStatus({ synchronized: true, leap: 'insert', estError: 0, maxError: 0 });
  set(9);
  assert.equal(c.pendingLeap(), 'insert');
  set(9.6); // reading 23:59:59.85
  c.now(); // the clock moves lazily, when read
  assert.equal(c.leaps.length, 0);
  set(9.8); // reading passed midnight 0.05 s ago: went back 1 s
  c.now();
  assert.equal(c.leaps.length, 1);
  assert.equal(Number(c.leaps[0]?.at ?? 0n) > 0, true);
  assert.ok(Math.abs(c.errorAt(t.now(), ref.readingAt(t.now())) - (0.25 - 1)) < 1e-9);
  set(3600);
  c.now();
  assert.equal(c.leaps.length, 1, 'only once while the status still says insert');
  c.setStatus({ synchronized: true, leap: 'none', estError: 0, maxError: 0 });
  assert.equal(c.pendingLeap(), null);
  // the reference clock with the same leap armed stays in step with it
  const { t: t2, set: set2 } = timeline(midnight - 10);
  const a = new SimClock({}, t2);
  const b = new SimClock({}, t2);
  a.setStatus({ synchronized: true, leap: 'insert', estError: 0, maxError: 0 });
  b.setStatus({ synchronized: true, leap: 'insert', estError: 0, maxError: 0 });
  set2(20);
  assert.equal(a.errorAt(t2.now(), b.readingAt(t2.now())), 0);
  assert.ok(Math.abs(a.errorAt(t2.now()) + 1) < 1e-9, 'both one second behind the continuous timeline');
});

test('leap delete skips 23:59:59', () => {
  const midnight = 1_704_153_600;
  const { t, set } = timeline(midnight - 10);
  const c = new SimClock({}, t);
  c.setStatus({ synchronized: true, leap: 'delete', estError: 0, maxError: 0 });
  set(8.5);
  c.now();
  assert.equal(c.leaps.length, 0);
  set(9.5); // reading reached 23:59:59 at 9 s
  c.now();
  assert.deepEqual(c.leaps.map((l) => l.kind), ['delete']);
  assert.ok(Math.abs(c.errorAt(t.now()) - 1) < 1e-9);
});

test('reading the past is refused', () => {
  const { t, set } = timeline();
  const c = new SimClock({}, t);
  set(10);
  c.now();
  set(5);
  assert.throws(() => c.now(), /past/);
});
