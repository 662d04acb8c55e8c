import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instantFromUnixSeconds, instantToUnixSeconds } from '../time/instant.js';
import { isLeapDay, leapVote, nextMidnight } from './leap.js';

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
