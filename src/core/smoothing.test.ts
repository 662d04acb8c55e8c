import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { addSeconds, instantFromUnixSeconds } from '../time/instant.js';
import { planStages, servedShift, SMOOTHED_REFERENCE_ID, smoothedReply, smoothingAt, smoothingLength, type SmoothingCurve } from './smoothing.js';
import { synchronizedState } from './system.js';
import { Leap } from '../proto/constants.js';

const T0 = instantFromUnixSeconds(1_483_228_800);

function curve(offset: number, freq: number, maxWander: number, maxFreq: number): SmoothingCurve {
  return { at: T0, offset, freq, stages: planStages(offset, freq, maxWander, maxFreq) };
}

/** Walks the curve in `steps` pieces: the largest |frequency| and |wander| seen, and where it ends. */
function walk(c: SmoothingCurve, steps = 2000): { maxFreq: number; maxWander: number; end: { offset: number; freq: number }; monotonic: boolean } {
  const len = smoothingLength(c);
  let maxFreq = 0;
  let maxWander = 0;
  let monotonic = true;
  let prev = c.offset;
  for (let i = 1; i <= steps; i++) {
    const p = smoothingAt(c, addSeconds(T0, (len * i) / steps));
    maxFreq = Math.max(maxFreq, Math.abs(p.freq));
    maxWander = Math.max(maxWander, Math.abs(p.wander));
    if (Math.sign(c.offset) * (p.offset - prev) > 1e-12) monotonic = false;
    prev = p.offset;
  }
  const end = smoothingAt(c, addSeconds(T0, len + 100));
  return { maxFreq, maxWander, end, monotonic };
}

test("a leap second under chrony's recommended smoothtime 400 0.001: two quadratic stages of sqrt(1/wander) s each, never near the frequency limit", () => {
  const c = curve(1, 0, 0.001e-6, 400e-6);
  const [s1, s2, s3] = c.stages;
  assert.ok(Math.abs((s1?.length ?? 0) - Math.sqrt(1e9)) < 1e-6);
  assert.equal(s2?.length, 0);
  assert.ok(Math.abs((s3?.length ?? 0) - Math.sqrt(1e9)) < 1e-6);
  const w = walk(c);
  // Peak frequency = wander x first stage = 31.6 ppm; the whole smear lasts 2 x 31623 s, about 17.6 hours.
  assert.ok(w.maxFreq < 31.7e-6 && w.maxFreq > 31.5e-6, `peak ${w.maxFreq}`);
  assert.ok(w.maxWander <= 0.001e-6 * (1 + 1e-9));
  assert.ok(Math.abs(w.end.offset) < 1e-9 && Math.abs(w.end.freq) < 1e-12, JSON.stringify(w.end));
  assert.ok(w.monotonic, 'the offset only shrinks');
});

test('with the frequency limit reached, a middle stage holds it and the offset still ends at zero', () => {
  const c = curve(-2, 0, 1e-6, 50e-6);
  assert.ok((c.stages[1]?.length ?? 0) > 0);
  const w = walk(c, 20000);
  assert.ok(w.maxFreq <= 50e-6 * (1 + 1e-9), `peak ${w.maxFreq}`);
  assert.ok(Math.abs(w.end.offset) < 1e-9 && Math.abs(w.end.freq) < 1e-12, JSON.stringify(w.end));
});

test('property: any offset and frequency are brought to zero together, within both bounds, with a continuous offset', () => {
  fc.assert(fc.property(
    fc.double({ min: -10, max: 10, noNaN: true }), fc.double({ min: -1e-4, max: 1e-4, noNaN: true }),
    fc.double({ min: 1e-9, max: 1e-5, noNaN: true }), fc.double({ min: 1e-5, max: 1e-3, noNaN: true }),
    (offset, freq, maxWander, maxFreq) => {
      const c = curve(offset, freq, maxWander, maxFreq);
      for (const s of c.stages) assert.ok(s.length >= 0 && Number.isFinite(s.length));
      const w = walk(c, 400);
      // Starting above the frequency limit, chrony's plan (no first stage, the middle one held at the
      // starting frequency) overshoots by (first stage) x (excess frequency); chronyd does the same,
      // so only the end of the frequency is checked there.
      if (Math.abs(freq) <= maxFreq) assert.ok(Math.abs(w.end.offset) < Math.abs(offset) * 1e-6 + 1e-9, `end ${w.end.offset}`);
      assert.ok(Math.abs(w.end.freq) < 1e-12 && Number.isFinite(w.end.offset));
      // Above the limit from the start, the frequency first comes down to it.
      assert.ok(w.maxFreq <= Math.max(maxFreq, Math.abs(freq)) * (1 + 1e-6) + 1e-15);
      // Continuity at each stage boundary.
      let t = 0;
      for (const s of c.stages) {
        t += s.length;
        const a = smoothingAt(c, addSeconds(T0, t - 1e-3)).offset;
        const b = smoothingAt(c, addSeconds(T0, t + 1e-3)).offset;
        assert.ok(Math.abs(a - b) < (Math.max(maxFreq, Math.abs(freq)) * 2e-3) + 1e-9);
      }
    },
  ), { numRuns: 300 });
});

test('the server adds the pending slew and the smoothing; refid 127.127.1.255 and a shifted reference time only while the offset counts', () => {
  const base = synchronizedState({ leap: Leap.NoWarning, stratum: 2, referenceId: 0x0a000001, referenceTime: T0, rootDelay: 0, rootDispersion: 0, precision: -20 });
  const c = curve(1, 0, 0.001e-6, 400e-6);
  const state = { ...base, smoothing: { curve: c, slewRemaining: -1, slewAt: T0, slewEnd: addSeconds(T0, 1000), quantum: 1e-6 } };
  // Right after an inserted leap, slewed here at 1000 ppm: the clock still reads 1 s ahead, and
  // the served time neither steps nor jumps.
  assert.equal(servedShift(state.smoothing, T0).shift, 0);
  const mid = addSeconds(T0, 500);
  assert.ok(Math.abs(servedShift(state.smoothing, mid).shift - (-0.5 + smoothingAt(c, mid).offset)) < 1e-12);
  const r = smoothedReply(state, mid);
  assert.equal(r.state.referenceId, SMOOTHED_REFERENCE_ID);
  assert.equal(r.state.referenceTime, addSeconds(T0, r.shift));
  const done = addSeconds(T0, smoothingLength(c) + 1);
  assert.deepEqual(smoothedReply(state, done), { state, shift: 0 });
  assert.deepEqual(smoothedReply(base, mid), { state: base, shift: 0 });
});
