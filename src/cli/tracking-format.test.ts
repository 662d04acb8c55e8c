import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, snapshotFromCapture, snapshotOf, sourcesFromCsv } from '../testing/chronyc-csv.js';
import { formatTracking } from './tracking-format.js';

test('tracking: byte for byte what chronyc 4.3 printed for the same values (fixtures/chronyc-tracking.*)', () => {
  assert.equal(formatTracking(snapshotFromCapture('tracking'), { numeric: true }), fixture('chronyc-tracking.txt'));
});

test("tracking of a daemon that never synchronized reads like chronyc's", () => {
  // chronyc 4.3 on an unsynchronized chronyd (chronyc tracking, chrony 4.x).
  const expected = [
    'Reference ID    : 00000000 ()',
    'Stratum         : 0',
    'Ref time (UTC)  : Thu Jan 01 00:00:00 1970',
    'System time     : 0.000000000 seconds fast of NTP time',
    'Last offset     : +0.000000000 seconds',
    'RMS offset      : 0.000000000 seconds',
    'Frequency       : 0.000 ppm slow',
    'Residual freq   : +0.000 ppm',
    'Skew            : 0.000 ppm',
    'Root delay      : 1.000000000 seconds',
    'Root dispersion : 1.000000000 seconds',
    'Update interval : 0.0 seconds',
    'Leap status     : Not synchronised',
    '',
  ].join('\n');
  assert.equal(formatTracking(snapshotOf({})), expected);
});

test('the words follow the signs: a clock behind is "slow", a slowed-down clock "fast"', () => {
  const base = snapshotFromCapture('tracking');
  const out = formatTracking({ ...base, tracking: { ...base.tracking, systemTime: -0.25, frequencyPpm: -43.592, leapStatus: 'insert' } });
  assert.match(out, /^System time {5}: 0\.250000000 seconds slow of NTP time$/m);
  assert.match(out, /^Frequency {7}: 43\.592 ppm fast$/m);
  assert.match(out, /^Leap status {5}: Insert second$/m);
});

test('the reference is named by the selected source: its name, or its address with -n', () => {
  const sources = sourcesFromCsv(fixture('chronyc-sources.csv'), null).map((s) =>
    s.verdict === 'selected' ? { ...s, name: 'ntp.cloud.aliyuncs.com' } : s);
  const snap = { ...snapshotFromCapture('tracking'), sources };
  assert.match(formatTracking(snap), /^Reference ID {4}: 7F000002 \(ntp\.cloud\.aliyuncs\.com\)$/m);
  assert.match(formatTracking(snap, { numeric: true }), /^Reference ID {4}: 7F000002 \(127\.0\.0\.2\)$/m);
});
