import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSeconds, diffSeconds, instantFromUnixSeconds, type Instant } from '../../time/instant.js';
import { DISCIPLINE_DEFAULTS, type DisciplineOptions, type EngineAction } from './engine-api.js';
import { ClockModel } from './clock-model.js';
import { Discipline, DRIFT_WRITE_INTERVAL } from './discipline.js';

const T0 = instantFromUnixSeconds(1_750_000_000);

function setup(o: Partial<DisciplineOptions> = {}, minSlewTime = 1): { d: Discipline; clock: ClockModel } {
  const clock = new ClockModel(T0, o.initialFrequencyPpm ?? 0);
  return { d: new Discipline({ ...DISCIPLINE_DEFAULTS, ...o }, clock, minSlewTime), clock };
}

const est = (offset: number, freqPpm = 0, skewPpm = 0.01) => ({ offset, freqPpm, skewPpm });
const freqs = (a: readonly EngineAction[]): number[] => a.flatMap((x) => (x.kind === 'set-frequency' ? [x.ppm] : []));
const kinds = (a: readonly EngineAction[]): string[] => a.map((x) => (x.kind === 'event' ? `event:${x.event.type}` : x.kind));

test('a large offset is slewed at maxslewrate, never faster, and the slew ends on time with the offset removed exactly', () => {
  for (const maxslewrate of [500, 83333.333]) {
    const { d, clock } = setup({ maxslewrate });
    const a: EngineAction[] = [];
    assert.equal(d.update(T0, est(-0.8, 12), a), 'slewed');
    const [ppm] = freqs(a);
    assert.ok(ppm !== undefined && Math.abs(ppm - 12 + maxslewrate) < 1e-6, `slew ${ppm}`);
    // 0.8 s at maxslewrate takes 0.8 / rate seconds of the oscillator.
    const end = d.slewEnd as Instant;
    const duration = 0.8 / (maxslewrate * 1e-6);
    assert.ok(Math.abs(diffSeconds(end, T0) - duration * (1 + (12 - maxslewrate) * 1e-6)) < 1e-6);
    assert.ok(Math.abs(d.remainingCorrection(T0) + 0.8) < 1e-9);
    const mid = addSeconds(T0, diffSeconds(end, T0) / 2);
    assert.ok(Math.abs(d.remainingCorrection(mid) + 0.4) < 1e-9, String(d.remainingCorrection(mid)));
    // The timer: nothing before the end, the base frequency back at the end.
    const before: EngineAction[] = [];
    assert.equal(d.tick(addSeconds(end, -0.001), before), false);
    assert.deepEqual(before, []);
    const at: EngineAction[] = [];
    assert.equal(d.tick(end, at), true);
    assert.deepEqual(freqs(at), [12]);
    assert.equal(d.slewEnd, null);
    assert.equal(d.remainingCorrection(end), 0);
    // What the slew moved the clock by, beyond the base frequency: exactly the offset.
    assert.ok(Math.abs(clock.phaseAt(end) + 0.8) < 1e-9, String(clock.phaseAt(end)));
    assert.equal(d.tick(addSeconds(end, 10), []), false);
  }
});

test('a small offset is slewed over minSlewTime, at a proportionally lower rate', () => {
  const { d, clock } = setup({}, 16);
  const a: EngineAction[] = [];
  d.update(T0, est(1e-3, 5), a);
  assert.ok(Math.abs((freqs(a)[0] as number) - (5 + 1e-3 / 16 * 1e6)) < 1e-6);
  const end = d.slewEnd as Instant;
  d.tick(end, []);
  assert.ok(Math.abs(clock.phaseAt(end) - 1e-3) < 1e-12);
  // A zero offset: just the base frequency, no timer.
  const z: EngineAction[] = [];
  d.update(addSeconds(T0, 64), est(0, 6), z);
  assert.deepEqual(freqs(z), [6]);
  assert.equal(d.slewEnd, null);
});

test('a new update replaces a slew in progress', () => {
  const { d, clock } = setup({ maxslewrate: 100 });
  d.update(T0, est(0.01), []);
  const t1 = addSeconds(T0, 50); // half of the 100 s slew done
  const a: EngineAction[] = [];
  d.update(t1, est(0.002), a);
  assert.ok(Math.abs((freqs(a)[0] as number) - 100) < 1e-6);
  const end = d.slewEnd as Instant;
  assert.ok(Math.abs(diffSeconds(end, t1) - 20 * (1 + 1e-4)) < 1e-6);
  d.tick(end, []);
  // 50 s of the slewed clock are 50 / (1 + 1e-4) s of the oscillator at 100 ppm; then the new 2 ms.
  assert.ok(Math.abs(clock.phaseAt(end) - (100e-6 * 50 / (1 + 1e-4) + 0.002)) < 1e-9, String(clock.phaseAt(end)));
});

test('makestep: steps beyond the threshold during the first `limit` updates, then only slews', () => {
  const { d, clock } = setup({ makestep: { threshold: 0.1, limit: 3 } });
  const outcomes: string[] = [];
  let now = T0;
  const all: EngineAction[] = [];
  for (const off of [0.05, 0.5, -0.3, 0.5]) {
    const a: EngineAction[] = [];
    outcomes.push(d.update(now, est(off), a));
    all.push(...a);
    now = addSeconds(now, 64);
  }
  // Update 1 is within the threshold (slewed), 2 and 3 step, 4 is past the limit.
  assert.deepEqual(outcomes, ['slewed', 'stepped', 'stepped', 'slewed']);
  assert.deepEqual(all.flatMap((x) => (x.kind === 'step' ? [x.seconds] : [])), [0.5, -0.3]);
  assert.ok(kinds(all).includes('event:step'));
  assert.equal(clock.stepEpoch, 2);
});

test('makestep with a negative limit steps at any update; none never steps; a leap slew blocks steps', () => {
  const { d } = setup({ makestep: { threshold: 1, limit: -1 } });
  let now = T0;
  for (let i = 0; i < 10; i++) {
    assert.equal(d.update(now, est(2), []), 'stepped');
    now = addSeconds(now, 64);
  }
  d.noStepsBefore(addSeconds(now, 10));
  assert.equal(d.update(now, est(2), []), 'slewed');
  assert.equal(d.update(addSeconds(now, 11), est(2), []), 'stepped');
  const never = setup().d;
  assert.equal(never.update(T0, est(1000), []), 'slewed');
});

test('a step moves the clock model and leaves the base frequency, with no slew pending', () => {
  const { d, clock } = setup({ makestep: { threshold: 0.1, limit: 1 } });
  const a: EngineAction[] = [];
  d.update(T0, est(-2, 30), a);
  assert.deepEqual(kinds(a).filter((k) => k !== 'write-drift'), ['step', 'event:step', 'set-frequency']);
  assert.deepEqual(freqs(a), [30]);
  assert.equal(d.slewEnd, null);
  assert.ok(Math.abs(clock.corrAt(addSeconds(T0, -2)) + 2) < 1e-9);
});

test('maxchange: after `start` updates an offset beyond the limit is ignored `ignore` times in all (as chronyd counts), then fatal', () => {
  const { d } = setup({ maxchange: { offset: 0.1, start: 2, ignore: 2 } });
  let now = T0;
  const next = (): Instant => (now = addSeconds(now, 64));
  assert.equal(d.update(now, est(5), []), 'slewed'); // during the first `start` updates it applies
  assert.equal(d.update(next(), est(5), []), 'slewed');
  const a: EngineAction[] = [];
  assert.equal(d.update(next(), est(0.5), a), 'ignored');
  assert.deepEqual(a, [], 'an ignored update changes nothing');
  assert.equal(d.lastOffset, 5);
  // A good update in between does not give the ignored ones back (chronyd's count only goes down).
  assert.equal(d.update(next(), est(0.01), []), 'slewed');
  assert.equal(d.update(next(), est(-0.5), []), 'ignored');
  assert.equal(d.update(next(), est(0.5), []), 'fatal');
  // ignore < 0: never fatal.
  const lenient = setup({ maxchange: { offset: 0.1, start: 0, ignore: -1 } }).d;
  for (let i = 0; i < 20; i++) assert.equal(lenient.update(addSeconds(T0, i), est(1), []), 'ignored');
  // start < 0: never checked.
  const off = setup({ maxchange: { offset: 0.1, start: -1, ignore: 0 } }).d;
  for (let i = 0; i < 5; i++) assert.equal(off.update(addSeconds(T0, i), est(1), []), 'slewed');
});

test('maxdrift clamps the base frequency, and the drift file gets the clamped value', () => {
  const { d } = setup({ maxdrift: 500 });
  const a: EngineAction[] = [];
  d.update(T0, est(0, 800, 3), a);
  assert.deepEqual(freqs(a), [500]);
  assert.equal(d.frequencyPpm, 500);
  assert.deepEqual(d.drift(), { frequencyPpm: 500, skewPpm: 3 });
  const b: EngineAction[] = [];
  d.update(addSeconds(T0, 64), est(0, -9000, 3), b);
  assert.deepEqual(freqs(b), [-500]);
});

test('the drift file is written hourly, not at every update', () => {
  const { d } = setup();
  const writes: { t: number; ppm: number }[] = [];
  for (let k = 0; k * 64 <= 3 * 3600 + 200; k++) {
    const a: EngineAction[] = [];
    d.update(addSeconds(T0, k * 64), est(0, 7 + k * 1e-3, 0.5), a);
    for (const x of a) if (x.kind === 'write-drift') writes.push({ t: k * 64, ppm: x.frequencyPpm });
  }
  assert.deepEqual(writes.map((w) => w.t), [57 * 64, 114 * 64, 171 * 64]);
  assert.ok(writes.every((w, i) => i === 0 || w.t - (writes[i - 1] as { t: number }).t >= DRIFT_WRITE_INTERVAL));
  assert.ok(Math.abs((writes[0] as { ppm: number }).ppm - (7 + 57e-3)) < 1e-9, 'the frequency in force');
});

test('initial frequency and skew come from the drift file', () => {
  const { d } = setup({ initialFrequencyPpm: -12.5, initialSkewPpm: 0.3 });
  assert.equal(d.frequencyPpm, -12.5);
  assert.deepEqual(d.drift(), { frequencyPpm: -12.5, skewPpm: 0.3 });
});

test('tracking figures: last offset, long-term RMS offset, update interval', () => {
  const { d } = setup();
  d.update(T0, est(3e-3), []);
  assert.equal(d.lastOffset, 3e-3);
  assert.ok(Math.abs(d.rmsOffset - 3e-3) < 1e-12);
  d.update(addSeconds(T0, 64), est(-1e-3), []);
  assert.equal(d.updateInterval, 64);
  assert.equal(d.lastOffset, -1e-3);
  assert.ok(Math.abs(d.rmsOffset - Math.sqrt((9e-6 + 1e-6) / 2)) < 1e-12);
  for (let k = 2; k < 500; k++) d.update(addSeconds(T0, 64 * k), est(1e-6), []);
  assert.ok(d.rmsOffset < 2e-6, 'old offsets are forgotten');
  assert.equal(d.updates, 500);
});
