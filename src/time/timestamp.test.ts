import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { instantFromUnixNanos, TICKS_PER_SECOND } from './instant.js';
import {
  eraOf, fromNtpTimestamp, ntpTimestampFraction, ntpTimestampFromParts, ntpTimestampSeconds,
  toNtpTimestamp,
} from './timestamp.js';

// 2036-02-07T06:28:16Z: the first NTP era rollover (RFC 5905 §6).
const ROLLOVER_UNIX_NS = 2_085_978_496n * 1_000_000_000n;

test('the era rolls over on 2036-02-07T06:28:16Z', () => {
  const before = instantFromUnixNanos(ROLLOVER_UNIX_NS - 1_000_000_000n);
  const at = instantFromUnixNanos(ROLLOVER_UNIX_NS);
  assert.equal(eraOf(before), 0n);
  assert.equal(eraOf(at), 1n);
  assert.equal(toNtpTimestamp(at), 0n);
  assert.equal(ntpTimestampSeconds(toNtpTimestamp(before)), 0xffff_ffff);
});

test('a timestamp just after the rollover resolves into era 1 from a pivot just before it', () => {
  const pivot = instantFromUnixNanos(ROLLOVER_UNIX_NS - 5_000_000_000n);
  const later = instantFromUnixNanos(ROLLOVER_UNIX_NS + 3_000_000_000n);
  assert.equal(fromNtpTimestamp(toNtpTimestamp(later), pivot), later);
  assert.equal(fromNtpTimestamp(toNtpTimestamp(pivot), later), pivot);
});

test('wire timestamps resolve to the instant nearest the pivot, in any era', () => {
  const halfEra = (1n << 63n) - 1n;
  fc.assert(fc.property(
    fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }),
    fc.bigInt({ min: -halfEra, max: halfEra }),
    (pivot, delta) => {
      const t = pivot + delta;
      assert.equal(fromNtpTimestamp(toNtpTimestamp(t), pivot), t);
    },
  ), { numRuns: 5000 });
});

test('seconds and fraction halves round-trip', () => {
  fc.assert(fc.property(fc.nat({ max: 0xffff_ffff }), fc.nat({ max: 0xffff_ffff }), (s, f) => {
    const ts = ntpTimestampFromParts(s, f);
    assert.equal(ntpTimestampSeconds(ts), s);
    assert.equal(ntpTimestampFraction(ts), f);
    assert.ok(ts >= 0n && ts < 1n << 64n);
  }));
  assert.equal(ntpTimestampFromParts(1, 0x8000_0000), TICKS_PER_SECOND + (1n << 31n));
});
