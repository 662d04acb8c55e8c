import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, snapshotFromCapture } from '../testing/chronyc-csv.js';
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

test('sources: a kiss-o\'-death in effect leaves the table as chronyc prints it; -v names it below the table', () => {
  const snap = snapshotFromCapture('sources-v');
  const [first, ...rest] = snap.sources;
  assert.ok(first);
  const refused = { ...first, verdict: 'unusable' as const, reach: 0, poll: 10, kod: { code: 'DENY', action: 'refused' as const, ago: 12.7 } };
  const kissed = { ...snap, sources: [refused, ...rest] };
  const plain = formatSources(kissed, { numeric: true });
  assert.equal(plain.split('\n').length, formatSources(snap, { numeric: true }).split('\n').length, 'no extra line without -v');
  assert.match(plain.split('\n')[2] ?? '', /^\^\? 127\.0\.0\.2 +1 {2}10 {5}0 /);
  const verbose = formatSources(kissed, { numeric: true, verbose: true }).trimEnd().split('\n');
  assert.equal(verbose.at(-2), '');
  assert.equal(verbose.at(-1), 'KoD DENY from 127.0.0.2 12 s ago: Access denied by remote server. Polling goes on, backing off to maxpoll: every 1024 s now.');
  const rate = formatSources({ ...snap, sources: [{ ...first, kod: { code: 'RATE', action: 'reduce-rate' as const, ago: 3 } }] }, { numeric: true, verbose: true });
  assert.match(rate, /\nKoD RATE from 127\.0\.0\.2 3 s ago: Rate exceeded\..* The next request waits 4 poll intervals more\.\n$/);
});
