import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { instantFromUnixNanos } from '../time/instant.js';
import { clockResolutionNs, loadNative, readClockNs, type ClockName } from './native.js';

const native = loadNative();
const skip = native.ok ? false : native.reason;

// CI builds the addon and sets NTPKIT_REQUIRE_NATIVE=1: there, a missing addon
// is a failure, not a reason to skip the rest of this file.
test('the native addon loads where it is required (NTPKIT_REQUIRE_NATIVE=1 on Linux)', (t) => {
  if (process.env.NTPKIT_REQUIRE_NATIVE !== '1' || process.platform !== 'linux') {
    t.skip(`not required here (NTPKIT_REQUIRE_NATIVE=${process.env.NTPKIT_REQUIRE_NATIVE ?? ''}, ${process.platform})`);
    return;
  }
  assert.ok(native.ok, native.ok ? '' : native.reason);
});

test('clock_gettime(CLOCK_REALTIME) agrees with Date.now()', { skip }, () => {
  assert.ok(native.ok);
  for (let i = 0; i < 1_000; i++) {
    const before = Date.now();
    const ns = native.addon.realtimeNs();
    const after = Date.now();
    // Date.now() floors the same clock, so the reading lies in [before, after + 1) ms;
    // the extra 1 ms either side only keeps a host daemon's small step from failing it.
    assert.ok(ns >= BigInt(before - 1) * 1_000_000n && ns < BigInt(after + 2) * 1_000_000n, `${ns} vs ${before}..${after} ms`);
  }
});

test('consecutive CLOCK_REALTIME readings never go back and resolve below a microsecond', { skip }, () => {
  assert.ok(native.ok);
  const n = 10_000;
  const reads: bigint[] = [];
  for (let i = 0; i < n; i++) reads.push(native.addon.realtimeNs());
  let backwards = 0;
  for (let i = 1; i < n; i++) if (reads[i]! < reads[i - 1]!) backwards++;
  assert.equal(backwards, 0);
  // A microsecond clock (gettimeofday) would leave every value a multiple of 1000 ns.
  const subMicro = reads.filter((r) => r % 1000n !== 0n).length;
  assert.ok(subMicro > n / 2, `only ${subMicro} of ${n} readings have sub-microsecond digits`);
});

test('clock_getres: 1 us or finer for every clock the addon reads', { skip }, () => {
  for (const c of ['REALTIME', 'MONOTONIC', 'MONOTONIC_RAW', 'BOOTTIME', 'TAI'] as ClockName[]) {
    const res = clockResolutionNs(c);
    assert.ok(res > 0n && res <= 1_000n, `${c}: ${res} ns`);
  }
});

test('process.hrtime is CLOCK_MONOTONIC (what the fallback relies on)', { skip }, () => {
  for (let i = 0; i < 100; i++) {
    const a = process.hrtime.bigint();
    const m = readClockNs('MONOTONIC');
    const b = process.hrtime.bigint();
    assert.ok(a <= m && m <= b, `${a} <= ${m} <= ${b}`);
  }
});

test('CLOCK_TAI is CLOCK_REALTIME plus the kernel TAI offset; MONOTONIC_RAW and BOOTTIME advance', { skip }, () => {
  assert.ok(native.ok);
  const tai0 = BigInt(native.addon.adjtimexStatus().tai) * 1_000_000_000n;
  // TAI read between two REALTIME reads, less the offset, lies between them (however long a busy machine paused).
  const rt0 = readClockNs('REALTIME');
  const tai = readClockNs('TAI');
  const rt1 = readClockNs('REALTIME');
  assert.ok(rt0 <= tai - tai0 && tai - tai0 <= rt1, `TAI - ${tai0} ns = ${tai - tai0} ns, REALTIME ${rt0}..${rt1} ns`);
  for (const c of ['MONOTONIC_RAW', 'BOOTTIME'] as ClockName[]) {
    const a = readClockNs(c);
    const b = readClockNs(c);
    assert.ok(b >= a && a > 0n, `${c}: ${a} then ${b}`);
  }
});

test('bad clock ids are errors with a code, not crashes', { skip }, () => {
  assert.ok(native.ok);
  const addon = native.addon;
  assert.throws(() => addon.clockGettimeNs(12345), { code: 'ENTPKIT_CLOCK', message: /clock_gettime\(12345\) failed: Invalid argument/ });
  assert.throws(() => addon.clockGetresNs(-99), { code: 'ENTPKIT_CLOCK' });
  assert.throws(() => (addon.clockGettimeNs as (x: unknown) => bigint)('REALTIME'), { name: 'TypeError' });
});

test('realtimeInstant() converts exactly as instantFromUnixNanos() does (property)', { skip }, () => {
  assert.ok(native.ok);
  const addon = native.addon;
  const sec = fc.oneof(
    fc.integer({ min: 0, max: 2 ** 34 }), // 1970 to beyond era 1 (2036) and 2106
    fc.integer({ min: -2_208_988_800 * 3, max: 0 }), // before 1970, and before 1900
  );
  const nsec = fc.oneof(fc.integer({ min: 0, max: 999_999_999 }), fc.constantFrom(0, 1, 499_999_999, 500_000_000, 999_999_999));
  fc.assert(fc.property(sec, nsec, (s, n) => addon.timespecToInstant(s, n) === instantFromUnixNanos(BigInt(s) * 1_000_000_000n + BigInt(n))), { numRuns: 20_000 });
  assert.throws(() => addon.timespecToInstant(0, 1_000_000_000), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => addon.timespecToInstant(0, -1), { code: 'ERR_OUT_OF_RANGE' });
});

test('realtimeInstant() reads CLOCK_REALTIME', { skip }, () => {
  assert.ok(native.ok);
  const addon = native.addon;
  for (let i = 0; i < 1_000; i++) {
    const a = instantFromUnixNanos(addon.realtimeNs());
    const x = addon.realtimeInstant();
    const b = instantFromUnixNanos(addon.realtimeNs());
    assert.ok(a <= x && x <= b, `${a} <= ${x} <= ${b}`);
  }
});
