import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, snapshotFromCapture } from '../testing/chronyc-csv.js';
import { formatSourcestats } from './sourcestats-format.js';

test('sourcestats: byte for byte what chronyc 4.3 printed', () => {
  assert.equal(formatSourcestats(snapshotFromCapture('sourcestats'), { numeric: true }), fixture('chronyc-sourcestats.txt'));
});

test('sourcestats -v: the legend and the table, byte for byte', () => {
  assert.equal(formatSourcestats(snapshotFromCapture('sourcestats-v'), { numeric: true, verbose: true }), fixture('chronyc-sourcestats-v.txt'));
});

test('long spans switch to minutes and hours; a long host name is cut to 25 columns', () => {
  const snap = snapshotFromCapture('sourcestats');
  const [first] = snap.sources;
  assert.ok(first);
  const src = { ...first, name: 'time-server-number-one.example.net', stats: { ...first.stats, span: 7200 } };
  const row = formatSourcestats({ ...snap, sources: [src] }).split('\n')[2] ?? '';
  assert.equal(row.slice(0, 26), 'time-server-number-one.e> ');
  assert.equal(row.slice(33, 39), '  120m');
  assert.equal(row.length, 78);
});
