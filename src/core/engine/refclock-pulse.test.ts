/**
 * A reference clock's TAI samples and pulses, as chrony's refclock.c takes
 * them (RCL_AddSample, RCL_AddCookedPulse), on RefclockState with the rest
 * of the engine given as a PulseContext.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSeconds, instantFromUnixSeconds } from '../../time/instant.js';
import type { LeapTable } from '../../time/leap-table.js';
import { REFCLOCK_DEFAULTS, type RefclockOptions } from './refclock-options.js';
import { type PulseContext, RefclockState } from './refclock-source.js';

/** 2026-12-07, TAI − UTC = 37 s. */
const T0 = instantFromUnixSeconds(1_796_600_000);
const TABLE: LeapTable = { entries: [{ from: 63072000, taiMinusUtc: 10 }, { from: 1435708800, taiMinusUtc: 36 }, { from: 1483228800, taiMinusUtc: 37 }] };
const PRECISION = 1e-6;

function options(o: Partial<RefclockOptions> = {}): RefclockOptions {
  return { ...REFCLOCK_DEFAULTS, driver: 'SOCK', parameter: '/s', driverOptions: {}, refid: 'PPS', precision: PRECISION, ...o };
}

const SYNCED: PulseContext = { lockedReading: () => null, reference: () => ({ synchronized: true, leap: 'none', distance: 0.001 }) };

function lastOffset(rc: RefclockState): number | undefined {
  return rc.filter.last?.offset;
}

test('tai: a sample 37 s ahead (TAI) lands at 0 after the offset option; without a known TAI − UTC it is dropped', () => {
  const rc = new RefclockState(options({ tai: true, offset: 0.002 }), T0, PRECISION, TABLE);
  assert.equal(rc.add({ time: T0, offset: 37 - 0.002, leap: 'none' }, SYNCED), null);
  assert.ok(Math.abs((lastOffset(rc) ?? NaN)) < 1e-9, String(lastOffset(rc)));
  const none = new RefclockState(options({ tai: true }), T0, PRECISION, null);
  assert.equal(none.add({ time: T0, offset: 37, leap: 'none' }, SYNCED), 'tai-unknown');
  assert.equal(none.filter.count, 0);
  const plain = new RefclockState(options(), T0, PRECISION, TABLE);
  plain.add({ time: T0, offset: 37, leap: 'none' }, SYNCED);
  assert.equal(lastOffset(plain), 37, 'without tai the table is not applied');
});

test('pps: only the offset within 1/rate counts, into [-0.5/rate, 0.5/rate); a pulse datagram\'s value is how far past the pulse the clock was', () => {
  const rc = new RefclockState(options({ pps: true }), T0, PRECISION);
  rc.add({ time: T0, offset: 12.25, leap: 'none' }, SYNCED);
  assert.ok(Math.abs((lastOffset(rc) ?? NaN) - 0.25) < 1e-9);
  rc.add({ time: T0, offset: -0.7, leap: 'none' }, SYNCED);
  assert.ok(Math.abs((lastOffset(rc) ?? NaN) - 0.3) < 1e-9);
  rc.add({ time: T0, pulse: 0.998 }, SYNCED);
  assert.ok(Math.abs((lastOffset(rc) ?? NaN) - 0.002) < 1e-9, 'the clock read 0.998 past a pulse: it is 2 ms behind the next second');
  const two = new RefclockState(options({ pps: true, rate: 2 }), T0, PRECISION);
  two.add({ time: T0, offset: 0.3, leap: 'none' }, SYNCED);
  assert.ok(Math.abs((lastOffset(two) ?? NaN) + 0.2) < 1e-9, 'at 2 pulses a second, 0.3 s is -0.2 s from the nearest pulse');
});

test('unlocked pulses need the system clock synchronized within half an interval; otherwise they are dropped with every reading kept so far', () => {
  const rc = new RefclockState(options({ pps: true, stratum: 3 }), T0, PRECISION);
  rc.add({ time: T0, pulse: 0.001 }, SYNCED);
  assert.equal(rc.filter.count, 1);
  assert.equal(rc.stratum, 0, 'an active unlocked pulse source counts as stratum 0, as chrony\'s pps_stratum gives it');
  assert.equal(rc.add({ time: T0, pulse: 0.001 }, { ...SYNCED, reference: () => ({ synchronized: false, leap: 'none', distance: Infinity }) }), 'unsynchronized');
  assert.equal(rc.filter.count, 0);
  assert.equal(rc.add({ time: T0, pulse: 0.001 }, { ...SYNCED, reference: () => ({ synchronized: true, leap: 'none', distance: 0.5 }) }), 'unsynchronized');
  const leap = new RefclockState(options({ pps: true }), T0, PRECISION);
  leap.add({ time: T0, pulse: 0.001 }, { ...SYNCED, reference: () => ({ synchronized: true, leap: 'insert', distance: 0.001 }) });
  assert.equal(leap.leap, 'insert', 'an unlocked pulse takes the system\'s leap status');
});

test('locked pulses take their whole seconds from the lock\'s last reading, if it is recent and agrees to within 0.4 of an interval', () => {
  const rc = new RefclockState(options({ pps: true, lock: 'NMEA', maxlockage: 2 }), T0, PRECISION);
  const lock = (offset: number, age = 0.5): PulseContext => ({
    ...SYNCED,
    lockedReading: () => ({ reading: { time: addSeconds(T0, -age), offset, dispersion: 1e-3 }, averageDispersion: 1e-3, leap: 'delete' }),
  });
  assert.equal(rc.add({ time: T0, pulse: 0.998 }, { ...SYNCED }), 'no-lock-reading');
  assert.equal(rc.add({ time: T0, pulse: 0.998 }, lock(1.0015)), null);
  assert.ok(Math.abs((lastOffset(rc) ?? NaN) - 1.002) < 1e-9, String(lastOffset(rc)));
  assert.equal(rc.leap, 'delete', 'a locked pulse takes the lock\'s leap status');
  assert.equal(rc.stratum, 0);
  assert.equal(rc.add({ time: T0, pulse: 0.998 }, lock(1.0015, 2)), 'lock-too-old');
  assert.equal(rc.add({ time: T0, pulse: 0.998 }, lock(0.45)), 'lock-too-far');
  // Unsynchronized does not matter to a locked pulse.
  assert.equal(rc.add({ time: T0, pulse: 0.998 }, { ...lock(1.0015), reference: () => ({ synchronized: false, leap: 'none', distance: Infinity }) }), null);
  const locked3 = new RefclockState(options({ pps: true, lock: 'NMEA', stratum: 3 }), T0, PRECISION);
  locked3.add({ time: T0, pulse: 0.998 }, lock(1.0015));
  assert.equal(locked3.stratum, 3, 'a locked pulse source keeps its stratum option');
});

test('width: a pulse further from its second than half the shorter of pulse and gap was read at the wrong edge', () => {
  const rc = new RefclockState(options({ pps: true, width: 0.1 }), T0, PRECISION);
  assert.equal(rc.add({ time: T0, pulse: -0.04 }, SYNCED), null);
  assert.equal(rc.add({ time: T0, pulse: -0.06 }, SYNCED), 'pulse-edge');
  assert.equal(rc.add({ time: T0, pulse: -0.01 }, { ...SYNCED, reference: () => ({ synchronized: true, leap: 'none', distance: 0.06 }) }), 'pulse-edge');
});
