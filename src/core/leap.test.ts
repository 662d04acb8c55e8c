import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instantFromUnixSeconds, instantToUnixSeconds } from '../time/instant.js';
import type { EngineAction } from './engine-api.js';
import { isLeapDay, LeapSchedule, leapVote, nextMidnight } from './leap.js';

test('a leap is believed when more than half of the sources announce it', () => {
  assert.equal(leapVote(['insert', 'insert', 'none']), 'insert');
  assert.equal(leapVote(['insert', 'none']), 'none');
  assert.equal(leapVote(['delete', 'delete', 'delete', 'none']), 'delete');
  assert.equal(leapVote([]), 'none');
});

test('leap seconds only at the end of June 30 and December 31 (UTC)', () => {
  assert.equal(isLeapDay(instantFromUnixSeconds(Date.UTC(2016, 11, 31, 12) / 1000)), true);
  assert.equal(isLeapDay(instantFromUnixSeconds(Date.UTC(2015, 5, 30, 23, 59) / 1000)), true);
  assert.equal(isLeapDay(instantFromUnixSeconds(Date.UTC(2016, 11, 30, 12) / 1000)), false);
  assert.equal(isLeapDay(instantFromUnixSeconds(Date.UTC(2016, 2, 31, 12) / 1000)), false);
  assert.equal(instantToUnixSeconds(nextMidnight(instantFromUnixSeconds(Date.UTC(2016, 11, 31, 12) / 1000))), Date.UTC(2017, 0, 1) / 1000);
});

test('a leap announced on its day is reported once, falls due at midnight, and is forgotten once taken', () => {
  const schedule = new LeapSchedule();
  const actions: EngineAction[] = [];
  const ordinary = instantFromUnixSeconds(Date.UTC(2016, 11, 30, 12) / 1000);
  schedule.vote(ordinary, ['insert'], actions);
  assert.equal(schedule.pending, 'none', 'only on June 30 or December 31');
  const day = instantFromUnixSeconds(Date.UTC(2016, 11, 31, 12) / 1000);
  schedule.vote(day, ['insert', 'insert', 'none'], actions);
  schedule.vote(day, ['insert'], actions);
  assert.deepEqual(actions, [{ kind: 'event', event: { type: 'leap', leap: 'insert' } }]);
  const midnight = instantFromUnixSeconds(Date.UTC(2017, 0, 1) / 1000);
  assert.equal(schedule.at, midnight);
  assert.equal(schedule.take(day), null, 'not due before midnight');
  assert.deepEqual(schedule.take(midnight), { kind: 'insert', at: midnight });
  assert.equal(schedule.pending, 'none');
  assert.equal(schedule.at, null);
  assert.equal(schedule.take(midnight), null);
});
