/**
 * The report formatters against chronyc 4.3 live, on fresh values each run
 * (the fixtures pin one capture; this catches what one capture cannot show,
 * e.g. other magnitudes and rounding): chronyd -x servers and a chronyd -x
 * client on loopback, captured by src/testing/capture-chronyc.ts; our
 * formatters, fed the CSV's values, must print chronyc's text byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureChronyc } from '../testing/capture-chronyc.js';
import { findTool, requireTool } from '../testing/tools.js';
import { snapshotOf, sourcesFromCsv, trackingFromCsv } from '../testing/chronyc-csv.js';
import { formatSources } from './sources-format.js';
import { formatSourcestats } from './sourcestats-format.js';
import { formatTracking } from './tracking-format.js';

test('tracking, sources [-v], sourcestats [-v]: byte for byte chronyc on a live chronyd', { timeout: 90_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  const cap = await captureChronyc({ waitSeconds: 3, falseticker: findTool('libfaketime') !== undefined, lenient: true });
  const csv = (name: string): string => cap.csv[name] ?? assert.fail(`no ${name} capture`);
  assert.equal(formatTracking(snapshotOf({ tracking: trackingFromCsv(csv('tracking')) }), { numeric: true }), cap.text.tracking);
  for (const verbose of [false, true]) {
    const v = verbose ? '-v' : '';
    assert.equal(formatSources(snapshotOf({ sources: sourcesFromCsv(csv(`sources${v}`), null) }), { numeric: true, verbose }), cap.text[`sources${v}`]);
    const moving = new Set(cap.moving[`sourcestats${v}`]);
    // A row whose Offset moved between the CSV reads is compared without that column (63..69).
    const mask = (text: string): string => text.split('\n').map((row) => (moving.has(row.split(' ')[0] ?? '') ? `${row.slice(0, 63)}#######${row.slice(70)}` : row)).join('\n');
    const ours = formatSourcestats(snapshotOf({ sources: sourcesFromCsv(null, csv(`sourcestats${v}`)) }), { numeric: true, verbose });
    assert.equal(mask(ours), mask(cap.text[`sourcestats${v}`] ?? ''));
    t.diagnostic(`sourcestats${v}: Offset moved in ${moving.size} rows`);
  }
});
