import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NTP_SHORT_MAX, secondsToShort, shortToSeconds } from './short.js';

test('short format round-trips exactly from raw values', () => {
  fc.assert(fc.property(fc.nat({ max: NTP_SHORT_MAX }), (raw) => {
    assert.equal(secondsToShort(shortToSeconds(raw)), raw);
  }), { numRuns: 5000 });
});

test('short format saturates and rounds', () => {
  assert.equal(secondsToShort(1e9), NTP_SHORT_MAX);
  assert.equal(secondsToShort(-1), 0);
  assert.equal(secondsToShort(Number.NaN), 0);
  assert.equal(secondsToShort(0.5), 0x8000);
  assert.equal(shortToSeconds(0x0001_0000), 1);
  assert.equal(secondsToShort(1 / 65536 / 3), 0);
});
