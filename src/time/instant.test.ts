import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  addSeconds, diffSeconds, formatInstant, instantFromUnixMillis, instantFromUnixNanos,
  instantFromUnixSeconds, instantToDate, instantToUnixNanos, instantToUnixSeconds,
  TICKS_PER_SECOND, UNIX_EPOCH_NTP_SECONDS,
} from './instant.js';

test('the Unix epoch is 2208988800 s after the NTP prime epoch', () => {
  assert.equal(instantFromUnixNanos(0n), UNIX_EPOCH_NTP_SECONDS * TICKS_PER_SECOND);
  assert.equal(instantToUnixNanos(UNIX_EPOCH_NTP_SECONDS * TICKS_PER_SECOND), 0n);
});

test('Unix nanoseconds round-trip exactly, before 1900, today and after 2036', () => {
  fc.assert(fc.property(fc.bigInt({ min: -(3n * 10n ** 18n), max: 10n ** 19n }), (ns) => {
    assert.equal(instantToUnixNanos(instantFromUnixNanos(ns)), ns);
  }), { numRuns: 5000 });
});

test('one nanosecond is 4.294967296 ticks, rounded to nearest', () => {
  const base = instantFromUnixNanos(1_700_000_000_000_000_000n);
  assert.equal(instantFromUnixNanos(1_700_000_000_000_000_001n) - base, 4n);
  assert.equal(instantFromUnixNanos(1_700_000_000_000_000_003n) - base, 13n); // 12.88 -> 13
});

test('float seconds and milliseconds convert to the expected instants', () => {
  assert.equal(instantToUnixSeconds(instantFromUnixSeconds(1_700_000_000.5)), 1_700_000_000.5);
  assert.equal(instantToUnixSeconds(instantFromUnixSeconds(-0.25)), -0.25);
  assert.equal(instantFromUnixMillis(1500), instantFromUnixNanos(1_500_000_000n));
  assert.equal(instantToDate(instantFromUnixMillis(1_700_000_000_123)).getTime(), 1_700_000_000_123);
});

test('formatInstant prints nanoseconds', () => {
  assert.equal(formatInstant(instantFromUnixNanos(1_700_000_000_123_456_789n)), '2023-11-14T22:13:20.123456789Z');
  assert.equal(formatInstant(instantFromUnixNanos(-1n)), '1969-12-31T23:59:59.999999999Z');
});

test('diffSeconds and addSeconds are inverse to float precision', () => {
  const t = instantFromUnixNanos(1_800_000_000_000_000_000n);
  assert.equal(diffSeconds(addSeconds(t, 0.001234), t), Math.round(0.001234 * 2 ** 32) / 2 ** 32);
  assert.equal(diffSeconds(addSeconds(t, -2.5), t), -2.5);
  assert.equal(diffSeconds(t, t), 0);
});
