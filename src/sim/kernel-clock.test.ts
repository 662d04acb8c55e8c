import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADJ } from '../clock/native.js';
import { instantFromUnixSeconds, type Instant } from '../time/instant.js';
import { KernelClock } from './kernel-clock.js';
import { secondsToTicks } from './sim-clock.js';

function timeline(): { t: { now(): Instant }; set(s: number): void } {
  const start = instantFromUnixSeconds(1_704_067_200);
  let now = start;
  return { t: { now: () => now }, set: (s) => { now = start + secondsToTicks(s); } };
}

const US = 1e-6;

test('the tick/freq split is SystemClock\'s, quantised as the kernel keeps it (tick in us per 1/USER_HZ, freq in ppm * 2^16)', () => {
  const { t } = timeline();
  const c = new KernelClock({}, {}, t);
  // Each request within the freq range is held to 2^-16 ppm; the kernel reports back what it holds.
  for (const ppm of [0.3, -12.345678, 49.99, 480, -480]) {
    const got = c.setFrequency(ppm);
    assert.ok(Number.isInteger(c.timex.tick) && Number.isInteger(c.timex.freq), `${ppm}: integer tick and freq`);
    assert.ok(Math.abs(got - ppm) <= 0.5 / 65536 + 1e-12, `${ppm} ppm -> ${got}`);
    assert.equal(got, c.timex.correctionPpm());
    assert.equal(got, c.frequencyPpm());
  }
  // 149 ppm: tick + 1 (100 ppm at USER_HZ 100) and 49 ppm of freq.
  c.setFrequency(149);
  assert.deepEqual([c.timex.tick, c.timex.freq], [10_001, 49 * 65536]);
  // 151 ppm would round to tick + 2; chronyd's hysteresis keeps the neighbouring tick.
  c.setFrequency(151);
  assert.deepEqual([c.timex.tick, c.timex.freq], [10_001, 51 * 65536]);
  // Far away, the tick moves.
  c.setFrequency(-1234.5);
  assert.deepEqual([c.timex.tick, c.timex.freq], [9988, -34.5 * 65536]);
  // Clamped to what tick allows (+-10%): +-100000 ppm.
  assert.equal(c.setFrequency(1e6), 100_000);
  assert.equal(c.timex.tick, 11_000);
  assert.equal(c.setFrequency(-1e6), -100_000);
  assert.equal(c.timex.tick, 9000);
});

test('the clock runs at the correction the kernel holds, not the one asked for', () => {
  const { t, set } = timeline();
  const c = new KernelClock({ freqPpm: 0 }, {}, t);
  const held = c.setFrequency(1 / 3); // not a multiple of 2^-16 ppm
  assert.notEqual(held, 1 / 3);
  set(100_000);
  assert.ok(Math.abs(c.errorAt(t.now()) - held * 1e-6 * 100_000) < 1e-9, `error ${c.errorAt(t.now())}`);
});

test('the kernel refuses a tick outside +-10% (EINVAL) and clamps freq to 500 ppm', () => {
  const { t } = timeline();
  const c = new KernelClock({}, {}, t);
  assert.equal(c.timex.write({ modes: ADJ.ADJ_TICK, tick: 8999 }).errno, 22);
  assert.equal(c.timex.tick, 10_000, 'unchanged');
  const r = c.timex.write({ modes: ADJ.ADJ_FREQUENCY, freq: 600 * 65536 });
  assert.equal(r.timex?.freq, 500 * 65536);
});

test('immediate (Linux >= 4.19): the new rate holds from the write on', () => {
  const { t, set } = timeline();
  const c = new KernelClock({}, {}, t);
  set(10);
  c.setFrequency(100);
  set(20);
  assert.ok(Math.abs(c.errorAt(t.now()) - 100 * US * 10) < 1e-9);
});

test('next-tick: a write takes effect at the next 1/HZ boundary, and only the last write before it counts', () => {
  const { t, set } = timeline();
  const c = new KernelClock({}, { frequencyUpdate: 'next-tick', hz: 250 }, t);
  set(1.001); // ticks every 4 ms from the start: the next is at 1.004 s
  c.setFrequency(50_000);
  assert.equal(c.frequencyPpm(), 50_000, 'the kernel reports the new value at once');
  assert.equal(c.correctionInForcePpm(), 0, 'but the clock still runs at the old one');
  set(1.002);
  c.setFrequency(100_000); // replaces the pending one
  set(1.003);
  assert.ok(Math.abs(c.errorAt(t.now())) < 1e-9, 'no change before the tick');
  set(1.014);
  // 10 ms at 100000 ppm from 1.004 s.
  assert.ok(Math.abs(c.errorAt(t.now()) - 1e-3) < 1e-9, `error ${c.errorAt(t.now())}`);
  assert.equal(c.correctionInForcePpm(), 100_000);
});

test('ADJ_SETOFFSET steps by the exact nanoseconds, at once', () => {
  const { t, set } = timeline();
  const c = new KernelClock({ offset: 0.25 }, {}, t);
  set(3);
  c.step(-0.123456789);
  assert.ok(Math.abs(c.errorAt(t.now()) - (0.25 - 0.123456789)) < 1e-9);
  const last = c.timex.writes.at(-1);
  assert.equal(last?.modes, ADJ.ADJ_SETOFFSET | ADJ.ADJ_NANO);
  assert.equal(last?.setOffsetNs, -123_456_789n);
  assert.deepEqual(c.steps.map((s) => s.seconds), [-0.123456789]);
});

test('the frequency the kernel held before the daemon started is in force from the start', () => {
  const { t, set } = timeline();
  const c = new KernelClock({}, { initialFrequencyPpm: 100 }, t);
  assert.equal(c.frequencyPpm(), 100);
  set(10);
  assert.ok(Math.abs(c.errorAt(t.now()) - 1e-3) < 1e-9);
});
