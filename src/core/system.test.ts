import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSeconds, instantFromUnixSeconds } from '../time/instant.js';
import { toNtpTimestamp } from '../time/timestamp.js';
import { PHI } from './sample.js';
import {
  LOCAL_REFERENCE_ID, LOCAL_REFERENCE_REFRESH, localReferenceState, referenceTimeAt, rootDispersionAt,
  rootDistanceAt, servedParams, synchronizedState, unsynchronizedState,
} from './system.js';

const T0 = instantFromUnixSeconds(1_795_000_000.25);

test('the local reference is served as chronyd 4.3 serves `local stratum 1` (fixtures: 7F7F0101, leap 0, root 0/0)', () => {
  const s = localReferenceState(1, T0, -25);
  const p = servedParams(s, addSeconds(T0, 2));
  assert.deepEqual(p, {
    leap: 0, stratum: 1, referenceId: 0x7f7f0101, referenceTimestamp: toNtpTimestamp(T0),
    rootDelay: 0, rootDispersion: 0, precision: -25,
  });
  assert.equal(s.kind, 'local');
  assert.equal(s.synchronized, false);
  assert.equal(LOCAL_REFERENCE_ID, 0x7f7f0101);
});

test('the local reference time advances in whole refresh steps and never passes now', () => {
  const s = localReferenceState(10, T0, -20);
  assert.equal(referenceTimeAt(s, addSeconds(T0, LOCAL_REFERENCE_REFRESH - 0.001)), T0);
  assert.equal(referenceTimeAt(s, addSeconds(T0, LOCAL_REFERENCE_REFRESH)), addSeconds(T0, LOCAL_REFERENCE_REFRESH));
  assert.equal(referenceTimeAt(s, addSeconds(T0, 3 * LOCAL_REFERENCE_REFRESH + 5)), addSeconds(T0, 3 * LOCAL_REFERENCE_REFRESH));
  // The clock went back before the activation: the reference time is clamped to now.
  const earlier = addSeconds(T0, -30);
  assert.equal(referenceTimeAt(s, earlier), earlier);
  // Its root dispersion does not grow: the local clock is its own reference.
  assert.equal(rootDispersionAt(s, addSeconds(T0, 86_400)), 0);
});

test('unsynchronized is what chronyd 4.3 answers without local: leap 3, stratum 0, refid 0, root delay and dispersion 1 s', () => {
  const p = servedParams(unsynchronizedState(-25), T0);
  // Fields of chronyd 4.3's reply on loopback: LI 3 st 0 rd 0x10000 rdisp 0x10000 ref 0 reft 0.
  assert.deepEqual(p, {
    leap: 3, stratum: 0, referenceId: 0, referenceTimestamp: 0n, rootDelay: 0x10000, rootDispersion: 0x10000, precision: -25,
  });
});

test('a synchronized state\'s root dispersion grows at PHI per second since its reference time (RFC 5905)', () => {
  const s = synchronizedState({
    leap: 0, stratum: 2, referenceId: 0xc0000201, referenceTime: T0, rootDelay: 0.004, rootDispersion: 0.001, precision: -24,
  });
  assert.equal(s.dispersionRate, PHI);
  assert.equal(rootDispersionAt(s, T0), 0.001);
  assert.ok(Math.abs(rootDispersionAt(s, addSeconds(T0, 1000)) - (0.001 + 1000 * PHI)) < 1e-12);
  assert.ok(Math.abs(rootDistanceAt(s, addSeconds(T0, 1000)) - (0.002 + 0.001 + 1000 * PHI)) < 1e-12);
  // Before the reference time (clock stepped back) it does not shrink.
  assert.equal(rootDispersionAt(s, addSeconds(T0, -50)), 0.001);
  const p = servedParams(s, addSeconds(T0, 1000));
  assert.equal(p.rootDispersion, Math.round((0.001 + 1000 * PHI) * 65536));
  assert.equal(p.rootDelay, Math.round(0.004 * 65536));
  assert.equal(p.referenceTimestamp, toNtpTimestamp(T0));
  assert.equal(p.stratum, 2);
  // A custom rate (chronyd uses its skew plus maxclockerror).
  const slow = synchronizedState({ ...s, referenceTime: T0, dispersionRate: 1e-6 });
  assert.ok(Math.abs(rootDispersionAt(slow, addSeconds(T0, 1000)) - 0.002) < 1e-12);
});

test('leap warnings pass through; invalid states are refused', () => {
  const base = { stratum: 3, referenceId: 1, referenceTime: T0, rootDelay: 0, rootDispersion: 0, precision: -20 } as const;
  assert.equal(servedParams(synchronizedState({ ...base, leap: 1 }), T0).leap, 1);
  assert.equal(servedParams(synchronizedState({ ...base, leap: 2 }), T0).leap, 2);
  assert.throws(() => synchronizedState({ ...base, leap: 3 }), RangeError);
  assert.throws(() => synchronizedState({ ...base, leap: 0, stratum: 16 }), RangeError);
  assert.throws(() => synchronizedState({ ...base, leap: 0, rootDelay: -1 }), RangeError);
  assert.throws(() => synchronizedState({ ...base, leap: 0, rootDispersion: Number.NaN }), RangeError);
  assert.throws(() => localReferenceState(0, T0, -20), RangeError);
  assert.throws(() => localReferenceState(16, T0, -20), RangeError);
  assert.throws(() => localReferenceState(5, T0, 200), RangeError);
  assert.throws(() => unsynchronizedState(1.5), RangeError);
});
