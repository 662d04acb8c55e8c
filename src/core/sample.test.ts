import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { addSeconds, instantFromUnixNanos } from '../time/instant.js';
import { computeSample, MINDISP, offsetJitter, PHI, rootDistance } from './sample.js';

const T = instantFromUnixNanos(1_790_000_000_123_456_789n);

test('offset and delay follow RFC 5905 §8 for a client 1 s behind over a 20 ms path', () => {
  const s = computeSample({
    t1: T,
    t2: addSeconds(T, 1.01),
    t3: addSeconds(T, 1.011),
    t4: addSeconds(T, 0.021),
  }, 2 ** -20, 2 ** -25);
  assert.ok(Math.abs(s.offset - 1.0) < 1e-9, `offset ${s.offset}`);
  assert.ok(Math.abs(s.delay - 0.02) < 1e-9, `delay ${s.delay}`);
  assert.ok(Math.abs(s.dispersion - (2 ** -20 + 2 ** -25 + PHI * 0.021)) < 1e-15);
});

test('offsets are exact for any large clock difference, far beyond float precision of the instants', () => {
  fc.assert(fc.property(
    fc.bigInt({ min: -(1n << 60n), max: 1n << 60n }), // true offset, in ticks (~±8.5 years)
    fc.bigInt({ min: 0n, max: 1n << 32n }),           // one-way delay, ticks (≤ 1 s)
    (theta, oneWay) => {
      const t1 = T;
      const t2 = t1 + oneWay + theta;
      const t3 = t2 + 1000n;
      const t4 = t3 - theta + oneWay;
      const s = computeSample({ t1, t2, t3, t4 }, 0, 0);
      assert.equal(s.offset, Number(theta) / 2 ** 32);
      assert.ok(Math.abs(s.delay - Number(2n * oneWay) / 2 ** 32) <= 1e-15 * Math.max(1, s.delay));
    },
  ));
});

test('a negative raw delay is floored at the client precision', () => {
  const s = computeSample({ t1: T, t2: addSeconds(T, 0.002), t3: addSeconds(T, 0.002), t4: addSeconds(T, -0.001) }, 1e-6, 0);
  assert.equal(s.delay, 1e-6);
});

test('root distance has a MINDISP floor and adds dispersions and jitter', () => {
  assert.equal(rootDistance({ delay: 0.0001, dispersion: 0.001, rootDelay: 0, rootDispersion: 0.002, jitter: 0.0005 }),
    MINDISP / 2 + 0.001 + 0.002 + 0.0005);
  assert.ok(Math.abs(rootDistance({ delay: 0.1, dispersion: 0, rootDelay: 0.02, rootDispersion: 0, jitter: 0 }) - 0.06) < 1e-15);
});

test('jitter is the RMS difference from the chosen offset', () => {
  assert.equal(offsetJitter([0.5], 0.5), 0);
  assert.ok(Math.abs(offsetJitter([1, 2, 3], 1) - Math.sqrt((0 + 1 + 4) / 2)) < 1e-15);
});
