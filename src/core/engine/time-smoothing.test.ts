import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSeconds, instantFromUnixSeconds } from '../../time/instant.js';
import { smoothingAt } from '../smoothing.js';
import { TimeSmoothing } from './time-smoothing.js';

const T0 = instantFromUnixSeconds(1_483_228_800);

test('locked until the skew is below 10000 x MAXWANDER; the update that unlocks it is not smoothed', () => {
  const s = new TimeSmoothing({ maxFreqPpm: 400, maxWanderPpm: 0.001, leapOnly: false }, T0);
  // 0.001 ppm/s x 10000 = 10 ppm.
  assert.equal(s.updated(T0, 0.5, 0, 50), false);
  assert.equal(s.active, false);
  assert.equal(s.report(T0).offset, 0);
  assert.equal(s.updated(addSeconds(T0, 64), 0.5, 0, 5), true);
  assert.equal(s.report(addSeconds(T0, 64)).offset, 0);
  // Unlocked: a slewed correction of +0.5 s is taken back and handed out slowly.
  const t = addSeconds(T0, 128);
  s.updated(t, 0.5, 0, 5);
  const r = s.report(t);
  assert.ok(Math.abs(r.offset + 0.5) < 1e-12);
  assert.ok(r.remainingTime > 0 && r.lastUpdateAgo === 0);
  // chronyc's sign: the served time must gain the 0.5 s, so it speeds up.
  assert.ok(s.report(addSeconds(t, 100)).freqPpm > 0 && s.report(addSeconds(t, 100)).wanderPpm > 0);
  // A frequency change of the corrected time (+1 ppm) is taken back by the served frequency.
  const s2 = new TimeSmoothing({ maxFreqPpm: 400, maxWanderPpm: 0.001, leapOnly: false }, T0);
  s2.updated(T0, 0, 0, 1);
  s2.updated(T0, 0, 1e-6, 1);
  assert.ok(Math.abs(smoothingAt(s2.curve, T0).freq - 1e-6) < 1e-11);
});

test('leaponly: unlocked by the first update, ignores corrections, and smooths only the leap second', () => {
  const s = new TimeSmoothing({ maxFreqPpm: 400, maxWanderPpm: 0.001, leapOnly: true }, T0);
  // Locked, a leap is lost as chronyd loses it.
  s.leap(T0, -1);
  assert.equal(s.report(T0).offset, 0);
  assert.equal(s.updated(T0, 0.3, 2e-6, 1000), true);
  s.updated(addSeconds(T0, 10), 0.3, 2e-6, 1000);
  assert.equal(s.report(addSeconds(T0, 10)).offset, 0);
  const leapAt = addSeconds(T0, 100);
  // An inserted second: UTC goes back 1 s, so the served time is held 1 s ahead and let down slowly.
  s.leap(leapAt, -1);
  const r = s.report(leapAt);
  assert.deepEqual({ active: r.active, leapOnly: r.leapOnly, offset: r.offset }, { active: true, leapOnly: true, offset: 1 });
  assert.ok(Math.abs(r.remainingTime - 2 * Math.sqrt(1e9)) < 1e-3, `remaining ${r.remainingTime}`);
  const later = s.report(addSeconds(leapAt, 3600));
  assert.ok(later.offset < 1 && later.offset > 0.99 && later.freqPpm < 0 && later.lastUpdateAgo === 3600);
  s.reset(leapAt);
  assert.equal(s.report(leapAt).offset, 0);
});
