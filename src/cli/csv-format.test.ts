/**
 * `-c` against chronyc 4.3's own CSV: each capture in fixtures/ is read into
 * the snapshot it shows (testing/chronyc-csv.ts, which the text golden tests
 * also trust), and our CSV formatter must print that capture byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, snapshotFromCapture } from '../testing/chronyc-csv.js';
import type { SmoothingReport } from '../core/engine/time-smoothing.js';
import { formatSourcesCsv } from './sources-format.js';
import { formatSourcestatsCsv } from './sourcestats-format.js';
import { formatTrackingCsv } from './tracking-format.js';
import { formatSmoothingCsv } from './smoothing-format.js';
import { formatActivityCsv } from './activity-command.js';
import { csvInterval, csvTime } from './csv-fields.js';

test('tracking -c prints chronyc -c tracking byte for byte', () => {
  assert.equal(formatTrackingCsv(snapshotFromCapture('tracking')), fixture('chronyc-tracking.csv'));
});

test('sources -c and sourcestats -c print chronyc -c byte for byte (-v changes nothing in CSV)', () => {
  for (const name of ['sources', 'sources-v']) assert.equal(formatSourcesCsv(snapshotFromCapture(name)), fixture(`chronyc-${name}.csv`), name);
  for (const name of ['sourcestats', 'sourcestats-v']) assert.equal(formatSourcestatsCsv(snapshotFromCapture(name)), fixture(`chronyc-${name}.csv`), name);
});

test('smoothing -c prints chronyc -c smoothing byte for byte (no + signs, the empty leap-only field kept)', () => {
  for (const line of fixture('chronyc-smoothing-active.csv').split('\n').filter(Boolean)) {
    const f = line.split(',');
    const r: SmoothingReport = {
      active: f[0] === 'Yes', leapOnly: f[1] !== '', offset: Number(f[2]), freqPpm: Number(f[3]), wanderPpm: Number(f[4]),
      lastUpdateAgo: Number(f[5]), remainingTime: Number(f[6]),
    };
    assert.equal(formatSmoothingCsv(r), `${line}\n`);
  }
});

test('activity -c drops "200 OK" and prints the counts on one line, as chronyc -c activity', () => {
  const counts = fixture('chronyc-activity.txt').split('\n').slice(1, 6).map((l) => Number(l.split(' ')[0]));
  assert.equal(formatActivityCsv({ online: counts[0] as number, offline: counts[1] as number, burstOnline: counts[2] as number, burstOffline: counts[3] as number, unresolved: counts[4] as number }), '1,0,0,0,0\n');
});

test('CSV conversions: never is (uint32)-1, times are seconds.nanoseconds, 0 when unknown', () => {
  assert.equal(csvInterval(null), '4294967295');
  assert.equal(csvInterval(12.9), '12');
  assert.equal(csvTime(null), '0.000000000');
  assert.equal(csvTime('1795438236.5'), '1795438236.500000000');
});
