import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSeconds } from './units.js';

test('durations pick a unit like chronyc', () => {
  assert.equal(formatSeconds(2.5000123, true), '+2.500012s');
  assert.equal(formatSeconds(-0.00456), '-4.560ms');
  assert.equal(formatSeconds(0.0000123, true), '+12.3us');
  assert.equal(formatSeconds(4.2e-8), '42ns');
  assert.equal(formatSeconds(0, true), '+0ns');
});
