import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSeconds, instantFromUnixSeconds, type Instant } from '../../time/instant.js';
import { DISCIPLINE_DEFAULTS, type EngineAction } from './engine-api.js';
import { SyncEngine } from './engine.js';
import { RefclockFilter } from './refclock-filter.js';
import { defaultRefid, effectiveFilter, REFCLOCK_DEFAULTS, refidToNumber, type RefclockOptions } from './refclock-options.js';
import { sourceOptions } from './source-options.js';

const T0 = instantFromUnixSeconds(1_750_000_000);

function refclock(o: Partial<RefclockOptions> = {}): RefclockOptions {
  return { ...REFCLOCK_DEFAULTS, driver: 'SHM', parameter: '0', driverOptions: {}, refid: 'SHM0', ...o };
}

test('the filter combines the readings closest to the median: outliers on either side do not move the sample', () => {
  const f = new RefclockFilter(16, 0);
  const offsets = [0.010, 0.0101, 0.0099, 0.0100, 0.0102, 0.0098, 0.0100, 0.0101, 0.5, -0.4];
  offsets.forEach((o, i) => f.add({ time: addSeconds(T0, i), offset: o, dispersion: 1e-6 }));
  const s = f.take();
  assert.ok(s !== null);
  assert.ok(Math.abs(s.offset - 0.010) < 0.0002, `offset ${s.offset}`);
  // The readings are used up: the next poll needs new ones.
  assert.equal(f.count, 0);
  assert.equal(f.take(), null);
});

test('the filter needs 4 readings (or all of a shorter filter) and refuses a sample scattered beyond maxdispersion', () => {
  const f = new RefclockFilter(64, 0);
  for (let i = 0; i < 3; i++) f.add({ time: addSeconds(T0, i), offset: 0, dispersion: 1e-6 });
  assert.equal(f.take(), null);
  assert.equal(f.count, 3);
  const short = new RefclockFilter(2, 0);
  short.add({ time: T0, offset: 0.001, dispersion: 1e-6 });
  short.add({ time: addSeconds(T0, 1), offset: 0.003, dispersion: 1e-6 });
  assert.ok(Math.abs((short.take()?.offset ?? NaN) - 0.002) < 1e-12);
  const tight = new RefclockFilter(16, 1e-4);
  [0, 0.01, -0.01, 0.02, -0.02, 0.005].forEach((o, i) => tight.add({ time: addSeconds(T0, i), offset: o, dispersion: 1e-6 }));
  assert.equal(tight.take(), null);
});

test('chrony\'s defaults: refid from the driver and index, the filter capped at 2^(poll - dpoll) for polled drivers', () => {
  assert.equal(defaultRefid('SHM', 0), 'SHM0');
  assert.equal(defaultRefid('SOCK', 1), 'SOC1');
  assert.equal(defaultRefid('PHC', 12), 'PH12');
  assert.equal(effectiveFilter(refclock({ poll: 2, dpoll: 0 })), 4);
  assert.equal(effectiveFilter(refclock({ driver: 'SOCK', poll: 2, dpoll: 0 })), 64);
  assert.equal(refidToNumber('GPS'), 0x47505300);
});

function startEngine(refclocks: RefclockOptions[], sources = [] as ReturnType<typeof sourceOptions>[]): { engine: SyncEngine; actions: EngineAction[] } {
  const engine = new SyncEngine({ sources, refclocks, discipline: { ...DISCIPLINE_DEFAULTS, makestep: { threshold: 1, limit: -1 } }, precision: 2 ** -24, random: () => 0.5 });
  const actions = engine.start(T0);
  return { engine, actions };
}

/** Feeds readings each second (`offset(i)`), ticking the engine at each; returns every action. */
function run(engine: SyncEngine, ids: readonly number[], seconds: number, offset: (id: number, i: number) => number): EngineAction[] {
  const all: EngineAction[] = [];
  for (let i = 1; i <= seconds; i++) {
    const now: Instant = addSeconds(T0, i);
    for (const id of ids) engine.refclockReading(id, { time: now, offset: offset(id, i), leap: 'none' }, now);
    all.push(...engine.tick(now));
  }
  return all;
}

test('a reference clock\'s filtered samples reach selection: it is selected, the clock is corrected towards it, and tracking names its refid', () => {
  const { engine, actions } = startEngine([refclock({ refid: 'GPS', poll: 2 })]);
  // The poll is a timer the driver arms, like an NTP source's.
  assert.ok(actions.some((a) => a.kind === 'timer'));
  const ids = engine.refclockIds();
  assert.equal(ids.length, 1);
  const all = run(engine, ids, 40, () => 0.25);
  const snap = engine.snapshot(addSeconds(T0, 40), { synchronized: true, source: 'virtual' } as never);
  const src = snap.sources[0];
  assert.ok(src !== undefined);
  assert.equal(src.kind, 'refclock');
  assert.equal(src.name, 'GPS');
  assert.equal(src.verdict, 'selected');
  assert.equal(src.reach & 0x3, 0x3);
  assert.equal(src.poll, 2);
  assert.equal(snap.tracking.referenceId, 0x47505300);
  assert.equal(snap.tracking.stratum, 1);
  // A reference 250 ms ahead: the clock is moved forwards (slew or step), never backwards.
  const moves = all.filter((a) => a.kind === 'step' || a.kind === 'set-frequency');
  assert.ok(moves.length > 0);
  for (const a of all) if (a.kind === 'step') assert.ok(a.seconds > 0);
});

test('the offset option shifts every sample; noselect keeps a reference clock out of selection; a silent clock loses reach', () => {
  const { engine } = startEngine([refclock({ refid: 'A', poll: 2, offset: -0.25 }), refclock({ refid: 'B', poll: 2, noselect: true })]);
  const ids = engine.refclockIds();
  run(engine, ids, 24, () => 0.25);
  const snap = engine.snapshot(addSeconds(T0, 24), {} as never);
  const [a, b] = snap.sources;
  assert.ok(a !== undefined && b !== undefined);
  assert.ok(Math.abs(a.lastSample?.measuredOffset ?? NaN) < 1e-9, `offset option applied: ${a.lastSample?.measuredOffset}`);
  assert.equal(a.verdict, 'selected');
  assert.notEqual(b.verdict, 'selected');
  assert.equal(b.noselect, true);
  // No readings for 8 polls: reach drains to 0 and the clock is no longer usable.
  for (let i = 25; i <= 60; i++) engine.tick(addSeconds(T0, i));
  const later = engine.snapshot(addSeconds(T0, 60), {} as never).sources[0];
  assert.equal(later?.reach, 0);
  assert.notEqual(later?.verdict, 'selected');
});

test('reference clocks go through the same falseticker rejection as NTP sources: one that disagrees with two agreeing clocks is the falseticker', () => {
  const { engine } = startEngine([refclock({ refid: 'GOOD', poll: 2 }), refclock({ refid: 'ALSO', poll: 2 }), refclock({ refid: 'BAD', poll: 2 })]);
  const ids = engine.refclockIds();
  run(engine, ids, 40, (id) => (id === ids[2] ? 1.5 : 0.001));
  const s = engine.snapshot(addSeconds(T0, 40), {} as never).sources;
  assert.equal(s.find((x) => x.name === 'BAD')?.verdict, 'falseticker');
  assert.ok(['selected', 'combined'].includes(s.find((x) => x.name === 'GOOD')?.verdict ?? ''));
});
