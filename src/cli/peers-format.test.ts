import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type SourceSnapshot, type SourceVerdict, VERDICT_SYMBOL } from '../core/engine/snapshot.js';
import { refIdFromCode, refIdFromIPv4 } from '../proto/refid.js';
import { snapshotOf } from '../testing/chronyc-csv.js';
import { formatPeerRow, formatPeers, TALLY } from './peers-format.js';

function source(over: Partial<SourceSnapshot>): SourceSnapshot {
  return {
    id: 1, kind: 'server', name: '100.100.3.2', address: '100.100.3.2', port: 123, verdict: 'selected', reason: '',
    prefer: false, noselect: false, stratum: 2, referenceId: refIdFromIPv4('10.137.55.181'), poll: 4, reach: 1,
    lastRxAgo: 5, lastSample: { adjustedOffset: -0.30925, measuredOffset: -0.30925, error: 0.0134, delay: 0.026845 },
    jitter: 0.000221, rootDistance: 0.02,
    stats: { samples: 1, runs: 1, span: 0, frequencyPpm: 0, skewPpm: 0, offset: -0.30925, stdDev: 0 },
    kissCode: null, kod: null, authProblem: null, interleaved: false, ...over,
  };
}

test("ntpq -p's header and a row in its columns (the seed's ntpd output, in ntp 4.2.8's layout)", () => {
  const out = formatPeers(snapshotOf({ sources: [source({})] }));
  assert.equal(out, [
    '     remote           refid      st t when poll reach   delay   offset  jitter',
    '==============================================================================',
    '*100.100.3.2     10.137.55.181    2 u    5   16    1   26.845 -309.250   0.221',
    '',
  ].join('\n'));
});

test("when is whole seconds as NTPsec's ntpq prints it: truncated, '-' under a second, never a fraction", () => {
  const when = (lastRxAgo: number | null, poll = 4): string => formatPeerRow(source({ lastRxAgo, poll })).slice(38, 47);
  assert.equal(when(0.59), '   -   16');
  assert.equal(when(5.97), '   5   16');
  assert.equal(when(59.5), '  59   16');
  assert.equal(when(3 * 3600), '180m   16');
  assert.equal(when(1, -2), '   1    1');
});

test('every column ends under its label, for any values that fit', () => {
  const header = formatPeers(snapshotOf({})).split('\n')[0] ?? '';
  const ends = (label: string): number => header.search(new RegExp(`(?<= )${label}(?= |$)`)) + label.length;
  const verdicts = Object.keys(VERDICT_SYMBOL) as SourceVerdict[];
  fc.assert(fc.property(
    fc.record({
      verdict: fc.constantFrom(...verdicts),
      name: fc.stringMatching(/^[a-z0-9.-]{1,40}$/),
      stratum: fc.integer({ min: 1, max: 15 }),
      poll: fc.integer({ min: 0, max: 17 }),
      reach: fc.integer({ min: 0, max: 255 }),
      lastRxAgo: fc.option(fc.integer({ min: 0, max: 10 ** 9 })),
      delay: fc.double({ min: 0, max: 9.999, noNaN: true }),
      offset: fc.double({ min: -9.999, max: 9.999, noNaN: true }),
      jitter: fc.double({ min: 0, max: 0.999, noNaN: true }),
    }),
    (v) => {
      const row = formatPeerRow(source({
        verdict: v.verdict, name: v.name, stratum: v.stratum, poll: v.poll, reach: v.reach, lastRxAgo: v.lastRxAgo, jitter: v.jitter,
        lastSample: { adjustedOffset: v.offset, measuredOffset: v.offset, error: 0, delay: v.delay },
        stats: { samples: 3, runs: 1, span: 0, frequencyPpm: 0, skewPpm: 0, offset: v.offset, stdDev: 0 },
      }));
      assert.equal(row.length, 78, row);
      assert.equal(row[0], TALLY[v.verdict]);
      for (const [label, end] of [['st', 35], ['t', 37], ['when', 42], ['poll', 47], ['delay', 61], ['offset', 70], ['jitter', 78]] as const) {
        assert.equal(ends(label), end, label);
        assert.notEqual(row[end - 1], ' ', `${label} column of ${JSON.stringify(row)}`);
        assert.equal(row[end] ?? ' ', ' ');
      }
    },
  ));
});

test('tally codes from verdicts, .INIT. for a source that never answered, kiss codes, peers as "s"', () => {
  const rows = formatPeers(snapshotOf({ sources: [
    source({ verdict: 'combined' }),
    source({ verdict: 'not-combined' }),
    source({ verdict: 'falseticker', stratum: 1, referenceId: refIdFromCode('GPS') }),
    source({ verdict: 'jittery', kind: 'peer' }),
    source({ verdict: 'unusable', stratum: 0, referenceId: 0, reach: 0, lastRxAgo: null, lastSample: null, jitter: 0,
      stats: { samples: 0, runs: 0, span: 0, frequencyPpm: 0, skewPpm: 0, offset: 0, stdDev: 0 } }),
    source({ verdict: 'unusable', stratum: 0, kissCode: 'RATE', poll: 10, lastRxAgo: 4000 }),
    source({ verdict: 'unusable', stratum: 2, kissCode: 'DENY', kod: { code: 'DENY', action: 'refused', ago: 5 }, poll: 10, lastRxAgo: 4000 }),
  ] })).split('\n').slice(2, -1);
  assert.deepEqual(rows.map((r) => r[0]), ['+', '#', 'x', '-', ' ', ' ', ' ']);
  assert.equal(rows[2]?.slice(17, 33), '.GPS.           ');
  assert.equal(rows[3]?.slice(36, 37), 's');
  assert.equal(rows[4], ' 100.100.3.2     .INIT.          16 u    -   16    0    0.000    0.000   0.000');
  assert.equal(rows[5]?.slice(17, 47), '.RATE.          16 u  67m 1024');
  // A server that refuses us now shows its code, whatever it served before.
  assert.equal(rows[6]?.slice(17, 47), '.DENY.          16 u  67m 1024');
});

test('-n shows the address; a name is cut to 15 columns as ntpq does', () => {
  const src = source({ name: 'ntp11.cloud.aliyuncs.com', address: '100.100.3.2' });
  assert.equal(formatPeerRow(src).slice(0, 17), '*ntp11.cloud.ali ');
  assert.equal(formatPeerRow(src, { numeric: true }).slice(0, 17), '*100.100.3.2     ');
});
