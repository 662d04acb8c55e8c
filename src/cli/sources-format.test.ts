import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, snapshotFromCapture } from './fixtures/chronyc-csv.js';
import { formatSources } from './sources-format.js';

test('sources: byte for byte what chronyc 4.3 printed (*, +, x, ? unreachable, ? noselect)', () => {
  assert.equal(formatSources(snapshotFromCapture('sources'), { numeric: true }), fixture('chronyc-sources.txt'));
});

test('sources -v: the legend and the table, byte for byte', () => {
  assert.equal(formatSources(snapshotFromCapture('sources-v'), { numeric: true, verbose: true }), fixture('chronyc-sources-v.txt'));
});

test('names: configured names by default, addresses with -n; long host names cut with ">" as chronyc does', () => {
  const snap = snapshotFromCapture('sources');
  const named = { ...snap, sources: snap.sources.map((s, i) => ({ ...s, name: i === 0 ? 'a-very-long-host-name.example.internal' : `ntp${i}.example` })) };
  const rows = formatSources(named).split('\n');
  assert.equal(rows[2]?.slice(0, 31), '^* a-very-long-host-name.exam> ');
  assert.equal(rows[3]?.slice(0, 17), '^+ ntp1.example  ');
  assert.equal(formatSources(named, { numeric: true }), fixture('chronyc-sources.txt'));
  // Every row keeps chronyc's 79 columns.
  for (const r of rows.slice(0, -1)) assert.equal(r.length, 79, r);
});

test('a symmetric peer is "=", and no sample yet prints zeros like chronyc', () => {
  const snap = snapshotFromCapture('sources');
  const [first] = snap.sources;
  assert.ok(first);
  const out = formatSources({ ...snap, sources: [{ ...first, kind: 'peer', lastSample: null, lastRxAgo: null, verdict: 'jittery' }] });
  assert.equal(out.split('\n')[2], '=~ 127.0.0.2                     1   0   377     -     +0ns[   +0ns] +/-    0ns');
});
