import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { combine, intersect } from './intervals.js';

test('three agreeing servers and one 2.5 s off: the odd one is the falseticker', () => {
  const r = intersect([
    { offset: 0.00001, distance: 0.005 },
    { offset: -0.00002, distance: 0.005 },
    { offset: 2.5, distance: 0.005 },
    { offset: 0.00003, distance: 0.006 },
  ]);
  assert.ok(r.ok);
  assert.deepEqual(r.truechimers, [0, 1, 3]);
  assert.deepEqual(r.falsetickers, [2]);
  assert.ok(r.low <= 0 && r.high >= 0);
});

test('two against two has no majority', () => {
  const r = intersect([
    { offset: 0, distance: 0.001 },
    { offset: 0.0001, distance: 0.001 },
    { offset: 1, distance: 0.001 },
    { offset: 1.0001, distance: 0.001 },
  ]);
  assert.deepEqual(r, { ok: false, reason: 'no-majority' });
});

test('intervals that only touch still intersect', () => {
  const r = intersect([{ offset: 0, distance: 1 }, { offset: 2, distance: 1 }, { offset: 1, distance: 0.5 }]);
  assert.ok(r.ok);
  assert.deepEqual(r.truechimers, [0, 1, 2]);
  assert.equal(r.low, 1);
  assert.equal(r.high, 1);
});

test('a chain of pairwise overlaps without a common point leaves out the outliers', () => {
  // [0,2] [1,3] [2.5,4.5]: the first two and last two overlap, but no point is in all three.
  const r = intersect([{ offset: 1, distance: 1 }, { offset: 2, distance: 1 }, { offset: 3.5, distance: 1 }]);
  assert.ok(r.ok);
  assert.ok(r.high - r.low <= 1);
  assert.equal(r.truechimers.length + r.falsetickers.length, 3);
});

test('correct sources that are a majority and far from the wrong ones are all kept, and the interval holds the truth', () => {
  const truth = 0;
  fc.assert(fc.property(
    fc.array(fc.record({ err: fc.double({ min: -0.9, max: 0.9, noNaN: true }), distance: fc.double({ min: 1, max: 5, noNaN: true }) }), { minLength: 1, maxLength: 9 }),
    fc.array(fc.record({ offset: fc.double({ min: 10, max: 100, noNaN: true }), sign: fc.boolean(), distance: fc.double({ min: 0.01, max: 2, noNaN: true }) }), { maxLength: 4 }),
    (good, bad) => {
      fc.pre(bad.length < good.length);
      const cands = [
        ...good.map((g) => ({ offset: truth + g.err, distance: g.distance })),
        ...bad.map((b) => ({ offset: b.sign ? b.offset : -b.offset, distance: b.distance })),
      ];
      const r = intersect(cands);
      assert.ok(r.ok, 'a majority of correct sources always intersects');
      assert.ok(r.low <= truth && truth <= r.high, `[${r.low}, ${r.high}] misses the truth`);
      assert.deepEqual(r.truechimers, good.map((_, i) => i));
      assert.deepEqual(r.falsetickers, bad.map((_, i) => good.length + i));
    },
  ));
});

test('truechimers always cover the interval and are more than half', () => {
  fc.assert(fc.property(
    fc.array(fc.record({ offset: fc.double({ min: -10, max: 10, noNaN: true }), distance: fc.double({ min: 0, max: 5, noNaN: true }) }), { minLength: 1, maxLength: 12 }),
    (cands) => {
      const r = intersect(cands);
      if (!r.ok) return;
      assert.ok(2 * r.truechimers.length > cands.length);
      assert.ok(r.low <= r.high);
      for (const i of r.truechimers) {
        const c = cands[i] as (typeof cands)[number];
        assert.ok(c.offset - c.distance <= r.low && c.offset + c.distance >= r.high);
      }
    },
  ));
});

test('combine weights offsets by inverse distance', () => {
  const c = combine([{ offset: 1, distance: 1 }, { offset: 4, distance: 2 }]);
  assert.ok(Math.abs(c.offset - (1 + 4 / 2) / 1.5) < 1e-12);
  assert.equal(combine([{ offset: 0.25, distance: 0.1 }]).jitter, 0);
});
