import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Instant, TICKS_PER_SECOND, addSeconds, diffSeconds, formatInstant, instantFromUnixSeconds } from '../time/instant.js';
import { realtime } from './realtime.js';
import { VirtualClock, utcMidnightAfter } from './virtual-clock.js';

/** A hand-driven realtime source. */
function fakeRealtime(start: Instant): { read: () => Instant; advance: (s: number) => void; set: (t: Instant) => void } {
  let t = start;
  return { read: () => t, advance: (s) => (t = addSeconds(t, s)), set: (v) => (t = v) };
}

const T0 = instantFromUnixSeconds(1_795_400_000); // 2026-11-22T...

test('starts at the requested offset from realtime, exactly', () => {
  const rt = fakeRealtime(T0);
  const c = new VirtualClock({ offsetSeconds: 0.3, realtime: rt.read });
  assert.equal(c.now(), addSeconds(T0, 0.3));
  assert.equal(c.kind, 'virtual');
  assert.equal(c.frequencyPpm(), 0);
});

test('an intrinsic frequency error makes it gain exactly that rate until corrected', () => {
  const rt = fakeRealtime(T0);
  const c = new VirtualClock({ frequencyErrorPpm: 40, realtime: rt.read });
  rt.advance(1000);
  // 1000 s * 40e-6 = 40 ms, to the tick.
  assert.equal(c.now() - rt.read(), addSeconds(0n, 0.04));
  // The error is the oscillator's, not a correction: the engine does not see it.
  assert.equal(c.frequencyPpm(), 0);
  assert.equal(c.frequencyErrorPpm(), 40);
  // A correction of -40 ppm cancels it: the offset stays put from here on.
  assert.equal(c.setFrequency(-40), -40);
  const before = c.now() - rt.read();
  rt.advance(5000);
  assert.equal(c.now() - rt.read(), before);
});

test('setFrequency clamps to +-100000 ppm (or the chosen limit) and rejects non-numbers', () => {
  const c = new VirtualClock({ realtime: fakeRealtime(T0).read });
  assert.equal(c.setFrequency(1e6), 100_000);
  assert.equal(c.setFrequency(-250_000), -100_000);
  assert.equal(c.setFrequency(12.3456789012), 12.345678901);
  assert.equal(c.frequencyPpm(), 12.345678901);
  assert.throws(() => c.setFrequency(Number.NaN), /finite ppm/);
  const d = new VirtualClock({ realtime: fakeRealtime(T0).read, maxFrequencyPpm: 500 });
  assert.equal(d.setFrequency(83_333), 500);
});

test('step moves it by exactly the requested amount, and keeps the rate', () => {
  const rt = fakeRealtime(T0);
  const c = new VirtualClock({ frequencyErrorPpm: 100, realtime: rt.read });
  const before = c.now();
  c.step(-1.25);
  assert.equal(c.now(), before - addSeconds(0n, 1.25));
  rt.advance(10);
  assert.ok(Math.abs(diffSeconds(c.now(), rt.read()) - (-1.25 + 10 * 100e-6)) < 1e-9);
  assert.throws(() => c.step(Number.POSITIVE_INFINITY), /finite seconds/);
});

test('fromRealtime maps realtime instants exactly as now() reads them', () => {
  fc.assert(
    fc.property(
      fc.double({ min: -1000, max: 1000, noNaN: true }),
      fc.double({ min: -500, max: 500, noNaN: true }),
      fc.double({ min: -1000, max: 1000, noNaN: true }),
      fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 1, maxLength: 20 }),
      (offset, freqErr, corr, steps) => {
        const rt = fakeRealtime(T0);
        const c = new VirtualClock({ offsetSeconds: offset, frequencyErrorPpm: freqErr, realtime: rt.read });
        c.setFrequency(corr);
        for (const dt of steps) {
          rt.advance(dt);
          assert.equal(c.fromRealtime(rt.read()), c.now());
        }
        // A kernel stamp from a moment ago maps to that moment's virtual time.
        const earlier = addSeconds(rt.read(), -0.001);
        const diff = diffSeconds(c.now(), c.fromRealtime(earlier));
        assert.ok(Math.abs(diff - 0.001 * (1 + (freqErr + corr) * 1e-6)) < 1e-9, `${diff}`);
      },
    ),
  );
});

test('now() never goes backwards while realtime advances, across frequency changes', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 40 }), fc.double({ min: -100_000, max: 100_000, noNaN: true })), { maxLength: 50 }),
      (ops) => {
        const rt = fakeRealtime(T0);
        const c = new VirtualClock({ frequencyErrorPpm: -90_000, realtime: rt.read });
        let last = c.now();
        for (const [dtTicks, ppm] of ops) {
          rt.set(rt.read() + BigInt(dtTicks));
          c.setFrequency(ppm);
          const v = c.now();
          assert.ok(v >= last);
          last = v;
        }
      },
    ),
  );
});

test('re-anchoring keeps the error below half a tick per frequency change, however long the run', () => {
  // Exact reference: each segment contributes dt * (1 + rate) with rate an
  // integer of 1e-15; the clock may differ only by its per-segment rounding.
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 1n << 60n }), fc.integer({ min: -1e14, max: 1e14 })), { minLength: 1, maxLength: 30 }),
      (segments) => {
        const rt = fakeRealtime(T0);
        const c = new VirtualClock({ realtime: rt.read });
        // Exact virtual time * 1e15, in ticks.
        let exact = T0 * 1_000_000_000_000_000n;
        let rate = 0n;
        for (const [dt, units] of segments) {
          rt.set(rt.read() + dt);
          exact += dt * (1_000_000_000_000_000n + rate);
          c.setFrequency(units / 1e9);
          rate = BigInt(units);
        }
        const err = c.now() * 1_000_000_000_000_000n - exact;
        const bound = BigInt(segments.length) * 500_000_000_000_000n; // n/2 ticks
        assert.ok(err <= bound && err >= -bound, `error ${err} over ${segments.length} segments`);
      },
    ),
  );
  // One segment of a year at an awkward rate: still within half a tick (0.12 ns).
  const rt = fakeRealtime(T0);
  const c = new VirtualClock({ frequencyErrorPpm: 12.345678901, realtime: rt.read });
  rt.advance(365 * 86400);
  const gained = c.now() - rt.read();
  const exact = (BigInt(365 * 86400) * TICKS_PER_SECOND * 12_345_678_901n) / 1_000_000_000_000_000n;
  assert.ok(gained - exact <= 1n && gained - exact >= -1n, `${gained} vs ${exact}`);
});

test('uses realtime() when no source is injected', () => {
  const c = new VirtualClock({ offsetSeconds: 2 });
  const d = diffSeconds(c.now(), realtime());
  assert.ok(Math.abs(d - 2) < 0.01, `${d}`);
});

/** The instant `s` seconds from the UTC midnight after T0, as the virtual clock shows it. */
const MIDNIGHT = utcMidnightAfter(T0);
const at = (s: number): Instant => addSeconds(MIDNIGHT, s);
const hms = (i: Instant): string => formatInstant(i).slice(11, 23);

test('a leap second insertion repeats 23:59:59 at UTC midnight, then waits for the status to clear', () => {
  assert.equal(MIDNIGHT % (86_400n * TICKS_PER_SECOND), 0n);
  assert.equal(hms(MIDNIGHT), '00:00:00.000');
  const rt = fakeRealtime(at(-10));
  const c = new VirtualClock({ realtime: rt.read });
  assert.equal(c.leapState(), 'TIME_OK');
  c.setStatus({ synchronized: true, leap: 'insert', estError: 0.001, maxError: 0.01 });
  assert.equal(c.leapState(), 'TIME_INS');
  assert.deepEqual(c.status(), { synchronized: true, leap: 'insert', estError: 0.001, maxError: 0.01 });
  rt.set(at(-0.5));
  assert.equal(hms(c.now()), '23:59:59.500');
  rt.set(at(0.5)); // the inserted second: 23:59:59 again
  assert.equal(hms(c.now()), '23:59:59.500');
  assert.equal(c.leapState(), 'TIME_WAIT');
  rt.set(at(1.5));
  assert.equal(c.now(), at(0.5));
  // A correction after the leap keeps it applied, once.
  c.setFrequency(10);
  rt.set(at(2.5));
  assert.equal(c.now(), at(1.5) + addSeconds(0n, 10e-6));
  assert.equal(c.leapState(), 'TIME_WAIT');
  // Still 'insert' (TIME_WAIT): no second leap the next midnight.
  c.setFrequency(0);
  const v = c.now();
  rt.set(at(86_400 + 2.5));
  assert.equal(c.now() - v, 86_400n * TICKS_PER_SECOND);
  c.setStatus({ synchronized: true, leap: 'none', estError: 0.001, maxError: 0.01 });
  assert.equal(c.leapState(), 'TIME_OK');
});

test('a leap second deletion jumps from 23:59:59 to 00:00:00', () => {
  const rt = fakeRealtime(at(-30));
  const c = new VirtualClock({ realtime: rt.read });
  c.setStatus({ synchronized: true, leap: 'delete', estError: 0, maxError: 0 });
  assert.equal(c.leapState(), 'TIME_DEL');
  rt.set(at(-1.5));
  assert.equal(hms(c.now()), '23:59:58.500');
  rt.set(at(-1)); // the start of 23:59:59, which does not exist
  assert.equal(c.now(), MIDNIGHT);
  rt.set(at(-0.25));
  assert.equal(hms(c.now()), '00:00:00.750');
  assert.equal(c.leapState(), 'TIME_WAIT');
});

test('clearing the leap before midnight cancels it', () => {
  const rt = fakeRealtime(at(-5));
  const c = new VirtualClock({ realtime: rt.read });
  c.setStatus({ synchronized: true, leap: 'insert', estError: 0, maxError: 0 });
  rt.set(at(-1));
  c.setStatus({ synchronized: true, leap: 'none', estError: 0, maxError: 0 });
  rt.set(at(0.5));
  assert.equal(c.now(), at(0.5));
  assert.equal(c.leapState(), 'TIME_OK');
});

test('the leap follows the virtual clock\'s midnight, not realtime\'s', () => {
  // The virtual clock runs 10 s ahead: its midnight comes at realtime 23:59:50.
  const rt = fakeRealtime(at(-20));
  const c = new VirtualClock({ offsetSeconds: 10, realtime: rt.read });
  c.setStatus({ synchronized: true, leap: 'insert', estError: 0, maxError: 0 });
  rt.set(at(-10.5));
  assert.equal(hms(c.now()), '23:59:59.500');
  rt.set(at(-9.5));
  assert.equal(hms(c.now()), '23:59:59.500');
  rt.set(at(-8.5));
  assert.equal(c.now(), at(0.5));
  // And a kernel stamp taken inside the inserted second maps into it too.
  assert.equal(hms(c.fromRealtime(at(-9.25))), '23:59:59.750');
});

test('a step before midnight keeps the leap at the (new) midnight', () => {
  const rt = fakeRealtime(at(-100));
  const c = new VirtualClock({ realtime: rt.read });
  c.setStatus({ synchronized: true, leap: 'insert', estError: 0, maxError: 0 });
  c.step(50); // now 50 s before midnight
  rt.set(at(-50.5));
  assert.equal(hms(c.now()), '23:59:59.500');
  rt.set(at(-49.5));
  assert.equal(hms(c.now()), '23:59:59.500');
});

test('close() stops adjustments but not reading', () => {
  const c = new VirtualClock({ realtime: fakeRealtime(T0).read });
  c.close();
  assert.equal(c.now(), T0);
  assert.throws(() => c.setFrequency(1), /closed/);
  assert.throws(() => c.step(1), /closed/);
});

test('constructor rejects nonsense options with the value it got', () => {
  assert.throws(() => new VirtualClock({ offsetSeconds: Number.NaN }), /offsetSeconds is NaN/);
  assert.throws(() => new VirtualClock({ frequencyErrorPpm: Number.POSITIVE_INFINITY }), /frequency error/);
  assert.throws(() => new VirtualClock({ maxFrequencyPpm: 0 }), /maxFrequencyPpm is 0/);
});
