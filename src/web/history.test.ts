import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { History } from './history.js';
import { fakeSnapshot, fakeStats } from './test-snapshots.test-helper.js';

test('the ring keeps the newest `capacity` rows, oldest first', () => {
  const h = new History(3);
  for (let i = 1; i <= 5; i++) assert.equal(h.record(i, fakeSnapshot([], { frequencyPpm: i }), null), true);
  assert.equal(h.size, 3);
  const c = h.columns();
  assert.deepEqual(c.t, [3, 4, 5]);
  assert.deepEqual(c.tracking.frequencyPpm, [3, 4, 5]);
});

test('property: the columns are the last min(n, capacity) rows, all of one length', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 60 }), (capacity, n) => {
    const h = new History(capacity);
    for (let i = 0; i < n; i++) h.record(100 + i * 2, fakeSnapshot([{ id: 1 + (i % 3) }]), fakeStats(i * 10));
    const c = h.columns();
    const keep = Math.min(n, capacity);
    assert.deepEqual(c.t, Array.from({ length: keep }, (_, k) => 100 + (n - keep + k) * 2));
    for (const s of c.sources) for (const col of [s.offset, s.delay, s.jitter, s.frequencyPpm, s.reach, s.verdict]) assert.equal(col.length, keep);
    for (const col of [...Object.values(c.tracking), ...Object.values(c.server)]) assert.equal(col.length, keep);
  }));
});

test('a row at or before the last one is refused (a stepped wall clock)', () => {
  const h = new History(10);
  assert.equal(h.record(10, fakeSnapshot(), null), true);
  assert.equal(h.record(10, fakeSnapshot(), null), false);
  assert.equal(h.record(9, fakeSnapshot(), null), false);
  assert.equal(h.record(Number.NaN, fakeSnapshot(), null), false);
  assert.deepEqual(h.columns().t, [10]);
});

test('sources that come and go: null where absent, gone once out of the window', () => {
  const h = new History(3);
  h.record(1, fakeSnapshot([{ id: 1, offset: 0.001 }]), null);
  h.record(2, fakeSnapshot([{ id: 1, offset: 0.002 }, { id: 2, offset: 2.5, verdict: 'falseticker' }]), null);
  h.record(3, fakeSnapshot([{ id: 2, offset: 2.5, verdict: 'falseticker' }]), null);
  let c = h.columns();
  assert.deepEqual(c.sources.map((s) => s.id), [1, 2]);
  assert.deepEqual(c.sources[0]?.offset, [0.001, 0.002, null]);
  assert.deepEqual(c.sources[1]?.offset, [null, 2.5, 2.5]);
  assert.deepEqual(c.sources[1]?.verdict, [null, 'falseticker', 'falseticker']);
  h.record(4, fakeSnapshot([{ id: 2 }]), null);
  h.record(5, fakeSnapshot([{ id: 2 }]), null);
  c = h.columns();
  assert.deepEqual(c.sources.map((s) => s.id), [2], 'source 1 left the window');
});

test('a source without a sample yet has null offset and delay but its jitter and reach', () => {
  const h = new History(2);
  h.record(1, fakeSnapshot([{ id: 7, offset: null, reach: 1 }]), null);
  const s = h.columns().sources[0];
  assert.deepEqual([s?.offset, s?.delay, s?.reach], [[null], [null], [1]]);
});

test('since returns only newer rows, and the sources in them', () => {
  const h = new History(10);
  h.record(1.0005, fakeSnapshot([{ id: 1 }]), null);
  h.record(3, fakeSnapshot([{ id: 2 }]), null);
  const all = h.columns();
  assert.deepEqual(all.t, [1.001, 3]);
  const newer = h.columns(all.t[0]);
  assert.deepEqual(newer.t, [3]);
  assert.deepEqual(newer.sources.map((s) => s.id), [2]);
  assert.deepEqual(h.columns(3).t, []);
});

test('server load: rates from counter deltas, a reset counts from zero, no stats gives null', () => {
  const h = new History(10);
  h.record(0, fakeSnapshot(), fakeStats(100, 10));
  h.record(2, fakeSnapshot(), fakeStats(300, 14));
  h.record(4, fakeSnapshot(), fakeStats(40, 2)); // the NTP server restarted (reload): new counters
  h.record(6, fakeSnapshot(), null); // and stopped serving
  h.record(8, fakeSnapshot(), fakeStats(50)); // serving again: no rate before a second reading
  h.record(10, fakeSnapshot(), fakeStats(70));
  const c = h.columns();
  assert.deepEqual(c.server.requestsPerSecond, [null, 100, 20, null, null, 10]);
  assert.deepEqual(c.server.dropsPerSecond, [null, 2, 1, null, null, 0]);
});

test('root distance is root delay / 2 + root dispersion; values keep 6 significant digits', () => {
  const h = new History(2);
  h.record(1, fakeSnapshot([], { rootDelay: 0.002, rootDispersion: 0.0005, frequencyPpm: 12.3456789 }), null);
  const c = h.columns();
  assert.deepEqual(c.tracking.rootDistance, [0.0015]);
  assert.deepEqual(c.tracking.frequencyPpm, [12.3457]);
});

test('a capacity that is not a positive integer is refused', () => {
  assert.throws(() => new History(0), /capacity must be a positive integer, got 0/);
  assert.throws(() => new History(1.5), /got 1.5/);
});
