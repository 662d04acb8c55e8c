import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { addSeconds, diffSeconds, instantFromUnixSeconds, type Instant } from '../../time/instant.js';
import { ClockModel } from './clock-model.js';

const T0 = instantFromUnixSeconds(1_750_000_000);
/** Instants are 2^-32 s; a few ticks of rounding per conversion. */
const TICK = 2 ** -32;

type Op =
  | { readonly kind: 'run'; readonly seconds: number }
  | { readonly kind: 'freq'; readonly ppm: number; readonly slewPpm: number }
  | { readonly kind: 'step'; readonly seconds: number };

/**
 * A reference clock that does what the driver does with the engine's actions:
 * `raw` is the free-running oscillator's seconds, `cooked` what the
 * disciplined clock shows; with a correction f in force, cooked advances by
 * (1 + f·1e-6) per raw second.
 */
class ReferenceClock {
  raw = 0;
  cooked: Instant = T0;
  ppm: number;
  phase = 0;
  basePpm: number;
  constructor(ppm: number) { this.ppm = ppm; this.basePpm = ppm; }
  run(seconds: number): void {
    this.raw += seconds;
    this.cooked = addSeconds(this.cooked, seconds * (1 + this.ppm * 1e-6));
    this.phase += (this.ppm - this.basePpm) * 1e-6 * seconds;
  }
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('run' as const), seconds: fc.double({ min: 0, max: 5000, noNaN: true }) }),
  // Up to chrony's default maxslewrate (83333 ppm), where the (1 + f) factor matters.
  fc.record({
    kind: fc.constant('freq' as const),
    ppm: fc.double({ min: -500, max: 500, noNaN: true }),
    slewPpm: fc.oneof(fc.constant(0), fc.double({ min: -83333, max: 83333, noNaN: true })),
  }),
  fc.record({ kind: fc.constant('step' as const), seconds: fc.double({ min: -2, max: 2, noNaN: true }) }),
);

test('raw and cooked time convert exactly across frequency changes, slews and steps (property)', () => {
  fc.assert(fc.property(fc.double({ min: -500, max: 500, noNaN: true }), fc.array(opArb, { maxLength: 40 }), (ppm0, ops) => {
    const ref = new ReferenceClock(ppm0);
    const m = new ClockModel(T0, ppm0);
    let steps = 0;
    let drift = 0; // rounding allowance grows with every conversion
    for (const op of ops) {
      if (op.kind === 'run') ref.run(op.seconds);
      else if (op.kind === 'freq') {
        ref.ppm = op.ppm + op.slewPpm;
        ref.basePpm = op.ppm;
        m.setFrequency(ref.cooked, op.ppm + op.slewPpm, op.ppm);
      } else {
        m.step(ref.cooked, op.seconds);
        ref.cooked = addSeconds(ref.cooked, op.seconds);
        ref.phase += op.seconds;
        steps++;
      }
      drift += 8 * TICK;
      const tol = drift + 1e-12 * Math.abs(ref.raw);
      assert.ok(Math.abs(m.rawSeconds(ref.cooked, T0) - ref.raw) <= tol, `raw ${m.rawSeconds(ref.cooked, T0)} vs ${ref.raw}`);
      assert.ok(Math.abs(m.corrAt(ref.cooked) - (diffSeconds(ref.cooked, T0) - ref.raw)) <= tol);
      assert.ok(Math.abs(m.phaseAt(ref.cooked) - ref.phase) <= tol, `phase ${m.phaseAt(ref.cooked)} vs ${ref.phase}`);
      assert.equal(m.ppm, ref.ppm);
      assert.equal(m.basePpm, ref.basePpm);
    }
    assert.equal(m.stepEpoch, steps);
  }), { numRuns: 300 });
});

test('a slew at maxslewrate: raw time runs slower than cooked by exactly 1 + f', () => {
  const m = new ClockModel(T0, 0);
  m.setFrequency(T0, 83333.333, 0);
  // 12 s of the oscillator shows as 12 · 1.083333333 s on the slewed clock.
  const t = addSeconds(T0, 12 * 1.083333333);
  assert.ok(Math.abs(m.rawSeconds(t, T0) - 12) < 1e-9, String(m.rawSeconds(t, T0)));
  assert.ok(Math.abs(m.corrAt(t) - 12 * 0.083333333) < 1e-9);
  // The slew is phase; a base frequency is not.
  assert.ok(Math.abs(m.phaseAt(t) - 12 * 0.083333333) < 1e-9);
  const m2 = new ClockModel(T0, 100);
  assert.equal(m2.phaseAt(addSeconds(T0, 1000)), 0);
  assert.ok(Math.abs(m2.corrAt(addSeconds(T0, 1000.1)) - 0.1) < 1e-9);
});

test('instants before a later frequency change still convert with the correction then in force', () => {
  const m = new ClockModel(T0, 0);
  const t1 = addSeconds(T0, 100);
  m.setFrequency(t1, 1000, 0);
  const t2 = addSeconds(t1, 100.1);
  m.setFrequency(t2, 0, 0);
  // An exchange's T1 sent before t1 and its T4 after t2 are each converted by their own segment.
  assert.ok(Math.abs(m.rawSeconds(addSeconds(T0, 50), T0) - 50) < 1e-9);
  assert.ok(Math.abs(m.rawSeconds(t2, T0) - 200) < 1e-9);
  assert.ok(Math.abs(m.rawSeconds(addSeconds(t2, 10), T0) - 210) < 1e-9);
});

test('a step bumps the epoch and shifts later instants by the step', () => {
  const m = new ClockModel(T0, 0);
  const now = addSeconds(T0, 10);
  m.step(now, -0.5);
  assert.equal(m.stepEpoch, 1);
  // The clock now shows 9.5 s after 10 s of the oscillator.
  assert.ok(Math.abs(m.rawSeconds(addSeconds(T0, 9.5), T0) - 10) < 1e-9);
  assert.ok(Math.abs(m.corrAt(addSeconds(T0, 9.5)) + 0.5) < 1e-9);
  assert.ok(Math.abs(m.phaseAt(addSeconds(T0, 20)) + 0.5) < 1e-9);
});
