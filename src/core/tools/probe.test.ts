import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { referenceConsensus } from './fleet.js';
import { judgeProbe, type ProbeAnswer, reachCount, shiftReach } from './probe.js';

const answer = (offset: number, distance = 0.002): ProbeAnswer => ({
  measurement: { offset, delay: 0.0005, distance }, failure: null,
  stratum: 2, leap: 0, rootDelay: 0.001, rootDispersion: 0.001, jitter: 0.0001, sent: 3, answered: 3,
});
const refsAt = (...offsets: number[]) => referenceConsensus(offsets.map((offset) => ({ measurement: { offset, delay: 0.0005, distance: 0.002 } })));

test('a probe against agreeing references: offset from their consensus, and a falseticker only when its interval misses theirs', () => {
  const c = refsAt(0.010, 0.0105, 0.0095);
  assert.ok(c.ok);
  const good = judgeProbe(answer(0.011), c);
  assert.equal(good.success, true);
  assert.equal(good.synchronized, true);
  assert.equal(good.falseticker, false);
  assert.equal(good.outlier, false);
  assert.ok(Math.abs((good.referenceOffset as number) - (0.011 - c.offset)) < 1e-12);
  assert.equal(good.localOffset, 0.011);
  const liar = judgeProbe(answer(2.5), c);
  assert.equal(liar.falseticker, true);
  assert.equal(liar.outlier, true);
  assert.ok((liar.referenceOffset as number) > 2.4);
  // --outlier widens the limit; the interval test does not move.
  const wide = judgeProbe(answer(2.5), c, { outlierSeconds: 5 });
  assert.equal(wide.outlier, false);
  assert.equal(wide.falseticker, true);
});

test('the falseticker verdict is the interval test: property', () => {
  fc.assert(fc.property(fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: 1e-6, max: 1, noNaN: true }), (offset, distance) => {
    const c = refsAt(0, 0, 0);
    assert.ok(c.ok);
    const v = judgeProbe(answer(offset, distance), c);
    assert.equal(v.falseticker, offset + distance < c.low || offset - distance > c.high);
    assert.equal(v.outlier, Math.abs(offset - c.offset) > distance);
  }));
});

test('without references or their consensus: the local offset only, no verdict', () => {
  for (const c of [null, refsAt(), refsAt(0, 1, 2)]) {
    const v = judgeProbe(answer(0.3), c);
    assert.equal(v.localOffset, 0.3);
    assert.equal(v.referenceOffset, null);
    assert.equal(v.falseticker, null);
    assert.equal(v.outlier, null);
  }
});

test('no usable time: not a success; an unsynchronized reply is still reachable', () => {
  const dead: ProbeAnswer = { measurement: null, failure: 'unreachable', stratum: null, leap: null, rootDelay: null, rootDispersion: null, jitter: null, sent: 3, answered: 0 };
  assert.deepEqual(judgeProbe(dead, refsAt(0, 0, 0)), {
    success: false, reachable: false, synchronized: null, localOffset: null, referenceOffset: null, falseticker: null, outlier: null, outlierLimit: null,
  });
  const unsync = judgeProbe({ ...dead, failure: 'unsynchronized', stratum: 16, leap: 3, answered: 0 }, null);
  assert.equal(unsync.success, false);
  assert.equal(unsync.reachable, true);
  assert.equal(unsync.synchronized, false);
  const kissed = judgeProbe({ ...dead, failure: 'kod', stratum: 0, leap: 3 }, null);
  assert.equal(kissed.reachable, true);
  assert.equal(kissed.synchronized, null);
});

test('reach register: the last 8 probes, newest in bit 0', () => {
  let r = 0;
  for (const ok of [true, true, false, true]) r = shiftReach(r, ok);
  assert.equal(r, 0b1101);
  assert.equal(reachCount(r), 3);
  for (let i = 0; i < 8; i++) r = shiftReach(r, true);
  assert.equal(r, 0xff);
  assert.equal(reachCount(r), 8);
  assert.equal(shiftReach(0xff, false), 0xfe);
});
