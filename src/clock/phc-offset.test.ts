import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { phcOffsetFromSamples } from './phc-offset.js';

const T = 1_796_000_000_000_000_000n; // a 2026 CLOCK_REALTIME, ns

function reading(ts: readonly bigint[], method: 'precise' | 'extended' | 'basic' = 'extended') {
  const r = phcOffsetFromSamples(ts, method);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.reading;
}

test('the narrowest bracket wins, and the PHC time is taken at its middle', () => {
  // Sample 2 (800 ns wide, PHC stamp 100 ns into it) is the best; the others would give +1500 and +1400 ns.
  const off = 37_000_000_000n;
  const r = reading([
    T, T + 4000n + off, T + 5000n,
    T + 5000n, T + 5100n + off, T + 5800n,
    T + 5800n, T + 8700n + off, T + 8800n,
  ]);
  assert.equal(r.offsetS, (37_000_000_000 - 300) / 1e9);
  assert.equal(r.delayS, 800e-9);
  assert.equal(r.systemTimeNs, T + 5400n);
  assert.equal(r.method, 'extended');
});

test('the sign: a PHC ahead of the system clock is a positive offset, behind a negative one', () => {
  assert.ok(reading([T, T + 500n + 2_000_000n, T + 1000n]).offsetS > 0);
  assert.ok(reading([T, T + 500n - 2_000_000n, T + 1000n]).offsetS < 0);
  assert.equal(reading([T, T + 500n - 2_000_000n, T + 1000n]).offsetS, -0.002);
});

test('an odd bracket keeps its half nanosecond in the offset', () => {
  // Bracket of 3 ns: middle at T + 1.5; PHC at T + 1 reads 0.5 ns behind.
  const r = reading([T, T + 1n, T + 3n]);
  assert.equal(r.offsetS, -0.5e-9);
  assert.equal(r.systemTimeNs, T + 1n); // rounded down
});

test('on a tie the earlier sample is used, as chronyd does', () => {
  const r = reading([T, T + 100n, T + 1000n, T + 1000n, T + 1900n, T + 2000n]);
  assert.equal(r.systemTimeNs, T + 500n);
  assert.equal(r.offsetS, -400e-9);
});

test('a cross-timestamp has no bracket: delay 0, offset PHC minus system time', () => {
  const r = reading([T, T + 37_000_000_123n, T], 'precise');
  assert.deepEqual(r, { offsetS: 37.000000123, delayS: 0, systemTimeNs: T, method: 'precise' });
});

test('a negative bracket (the system clock stepped back during the reading) refuses the whole reading', () => {
  const r = phcOffsetFromSamples([T, T + 10n, T + 100n, T + 100n, T + 50n, T - 900n, T - 900n, T - 800n, T - 700n], 'basic');
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.reason, /went back 1000 ns around sample 2/);
});

test('anything but whole triples is refused, never read past', () => {
  for (const ts of [[], [T], [T, T], [T, T, T, T]]) {
    const r = phcOffsetFromSamples(ts, 'basic');
    assert.equal(r.ok, false, `${ts.length} timestamps`);
  }
});

test('property: the chosen sample is a narrowest one, its offset is PHC minus the middle, its time inside its bracket', () => {
  const sample = fc.record({ width: fc.bigInt(0n, 1_000_000n), pos: fc.bigInt(-2_000_000n, 2_000_000n) });
  fc.assert(
    fc.property(fc.array(sample, { minLength: 1, maxLength: 25 }), fc.bigInt(-(10n ** 11n), 10n ** 11n), (samples, offset) => {
      const ts: bigint[] = [];
      let start = T;
      for (const s of samples) {
        ts.push(start, start + s.pos + offset, start + s.width);
        start += s.width;
      }
      const r = reading(ts, 'basic');
      const minWidth = samples.reduce((m, s) => (s.width < m ? s.width : m), samples[0]!.width);
      assert.equal(r.delayS, Number(minWidth) / 1e9);
      const i = samples.findIndex((s) => s.width === minWidth);
      const before = ts[3 * i]!;
      assert.ok(r.systemTimeNs >= before && r.systemTimeNs <= before + minWidth);
      const exact = Number(2n * (samples[i]!.pos + offset) - minWidth) / 2e9;
      assert.equal(r.offsetS, exact);
    }),
    { numRuns: 500 },
  );
});
