import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  analyzeFleet, fleetConsensus, fleetStatus, type HostInput, median, OUTLIER_MAD_FACTOR, parseCountLimit, quantile, referenceConsensus, spreadOf,
} from './fleet.js';

const offsetArb = fc.double({ min: -10, max: 10, noNaN: true });
const distArb = fc.double({ min: 1e-6, max: 1, noNaN: true });
const measured = (offset: number, distance = 0.005, delay = 0.001): HostInput => ({ measurement: { offset, delay, distance } });

test('spread: order statistics are ordered, range and IQR are differences, and all but the median ignore a shift', () => {
  fc.assert(fc.property(fc.array(offsetArb, { minLength: 1, maxLength: 60 }), fc.double({ min: -5, max: 5, noNaN: true }), (xs, shift) => {
    const s = spreadOf(xs);
    assert.ok(s !== null);
    assert.ok(s.min <= s.q1 && s.q1 <= s.median && s.median <= s.q3 && s.q3 <= s.max);
    assert.equal(s.range, s.max - s.min);
    assert.equal(s.iqr, s.q3 - s.q1);
    assert.ok(s.mad >= 0 && s.mad <= s.range + 1e-12);
    assert.equal(s.min, Math.min(...xs));
    assert.equal(s.max, Math.max(...xs));
    const t = spreadOf(xs.map((x) => x + shift));
    assert.ok(t !== null);
    const tol = 1e-9 * (1 + Math.abs(shift) + s.range);
    assert.ok(Math.abs(t.range - s.range) < tol && Math.abs(t.iqr - s.iqr) < tol && Math.abs(t.mad - s.mad) < tol);
    assert.ok(Math.abs(t.median - (s.median + shift)) < tol);
  }));
  assert.equal(spreadOf([]), null);
});

test('quantiles interpolate linearly: known values', () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([1, 2, 3, 4, 5], 0.25), 2);
  assert.equal(quantile([0, 10], 0.75), 7.5);
  assert.equal(median([5, 1, 3]), 3);
  const s = spreadOf([1, 2, 3, 4, 100]);
  assert.deepEqual([s?.median, s?.iqr, s?.mad, s?.range], [3, 2, 1, 99]);
});

test('fleet consensus: inside the majority intersection, and the median of the agreeing hosts', () => {
  fc.assert(fc.property(fc.array(fc.tuple(offsetArb, distArb), { minLength: 1, maxLength: 40 }), (hs) => {
    const hosts = hs.map(([o, d]) => measured(o, d));
    const c = fleetConsensus(hosts);
    if (!c.ok) return;
    assert.ok(2 * c.agree.length > hosts.length, 'a majority agrees');
    const agreeing = c.agree.map((i) => (hs[i] as [number, number])[0]);
    assert.equal(c.offset, median(agreeing));
    // Every agreeing interval covers the intersection, so the median of their centres lies within λmax of it.
    for (const i of c.agree) {
      const [o, d] = hs[i] as [number, number];
      assert.ok(o - d <= c.low + 1e-12 && o + d >= c.high - 1e-12);
    }
  }));
});

test('reference consensus: inside the interval of the agreeing references; no majority is no consensus', () => {
  fc.assert(fc.property(fc.array(fc.tuple(offsetArb, fc.double({ min: 1e-4, max: 2, noNaN: true })), { minLength: 1, maxLength: 12 }), (rs) => {
    const c = referenceConsensus(rs.map(([offset, distance]) => ({ measurement: { offset, delay: 0, distance } })));
    if (!c.ok) return;
    for (const i of c.agree) {
      const [o, d] = rs[i] as [number, number];
      assert.ok(o - d <= c.offset + 1e-9 + d && o + d >= c.offset - 1e-9 - d);
    }
    assert.ok(c.offset >= Math.min(...c.combined.map((i) => (rs[i] as [number, number])[0])) - 1e-12);
    assert.ok(c.offset <= Math.max(...c.combined.map((i) => (rs[i] as [number, number])[0])) + 1e-12);
  }));
  const split = referenceConsensus([{ measurement: { offset: 0, delay: 0, distance: 0.01 } }, { measurement: { offset: 1, delay: 0, distance: 0.01 } }]);
  assert.equal(split.ok, false);
  const none = referenceConsensus([{ measurement: null }, { measurement: null }, { measurement: null }]);
  assert.ok(!none.ok && /no reference answered/.test(none.reason));
});

test('outliers are exactly the hosts beyond their limit, and a planted falseticker is one', () => {
  fc.assert(fc.property(
    fc.array(fc.double({ min: -1e-4, max: 1e-4, noNaN: true }), { minLength: 5, maxLength: 50 }),
    fc.double({ min: 0.05, max: 100, noNaN: true }), fc.boolean(),
    (honest, bad, negative) => {
      const hosts = [...honest.map((o) => measured(o)), measured(negative ? -bad : bad), { failure: 'unreachable' as const }];
      const a = analyzeFleet(hosts, null);
      assert.ok(a.consensus.ok);
      a.hosts.forEach((h, i) => {
        if (i === hosts.length - 1) { assert.equal(h.status, 'unreachable'); assert.equal(h.offset, null); return; }
        assert.ok(h.offset !== null && h.limit !== null);
        assert.equal(h.status, Math.abs(h.offset) > h.limit ? 'outlier' : 'ok');
        assert.ok(h.limit >= 0.005, 'never tighter than the host\'s own root distance');
      });
      assert.equal(a.hosts[honest.length]?.status, 'outlier');
      assert.ok(Math.abs((a.hosts[honest.length]?.offset ?? 0) - (negative ? -bad : bad)) < 2e-4);
      assert.equal(a.hosts.filter((h) => h.status === 'outlier').length, 1);
      assert.equal(a.spread?.count, honest.length + 1);
    },
  ));
});

test('--outlier replaces the robust rule; the robust limit is 5 robust sigmas when that exceeds the root distance', () => {
  const hosts = [0, 0.1, -0.1, 0.2, -0.2, 0.05, 3].map((o) => measured(o, 0.001));
  const refs = [0, 0, 0].map((offset) => ({ measurement: { offset, delay: 0, distance: 0.01 } }));
  const robust = analyzeFleet(hosts, refs);
  assert.ok(robust.robustSigma !== null && robust.consensus.ok);
  assert.equal(robust.hosts[0]?.limit, OUTLIER_MAD_FACTOR * robust.robustSigma);
  assert.deepEqual(robust.hosts.map((h) => h.status), ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'outlier']);
  const fixed = analyzeFleet(hosts, refs, { outlierSeconds: 0.15 });
  assert.deepEqual(fixed.hosts.map((h) => h.status), ['ok', 'ok', 'ok', 'outlier', 'outlier', 'ok', 'outlier']);
});

test('references: fewer than 3 warn; the offsets are relative to their consensus', () => {
  const refs = [{ measurement: { offset: 0.5, delay: 0, distance: 0.01 } }, { measurement: { offset: 0.5, delay: 0, distance: 0.01 } }];
  const a = analyzeFleet([measured(0.5), measured(0.6, 0.01)], refs);
  assert.equal(a.warnings.length, 1);
  assert.ok(a.consensus.ok && a.consensus.source === 'references');
  assert.equal(a.hosts[0]?.offset, 0);
  assert.ok(Math.abs((a.hosts[1]?.offset ?? 0) - 0.1) < 1e-12);
  const three = analyzeFleet([measured(0)], [...refs, { measurement: null }]);
  assert.match(three.warnings[0] ?? '', /only 2 of 3 references answered/);
});

test('status: thresholds give WARNING and CRITICAL, no consensus UNKNOWN, no answer CRITICAL', () => {
  const hosts = [measured(0), measured(0), measured(0), measured(0.3), { failure: 'unreachable' as const }];
  const a = analyzeFleet(hosts, null);
  assert.equal(fleetStatus(a, {}).status, 'OK');
  assert.equal(fleetStatus(a, {}).worst, 3);
  assert.equal(fleetStatus(a, { warnOffset: 0.1 }).status, 'WARNING');
  assert.equal(fleetStatus(a, { warnOffset: 0.1, critOffset: 0.2 }).status, 'CRITICAL');
  assert.equal(fleetStatus(a, { maxOutliers: 0 }).status, 'WARNING');
  assert.equal(fleetStatus(a, { maxOutliers: 1 }).status, 'OK');
  assert.equal(fleetStatus(a, { maxUnreachable: { count: 0 } }).status, 'CRITICAL');
  assert.equal(fleetStatus(a, { maxUnreachable: { percent: 20 } }).status, 'OK');
  assert.equal(fleetStatus(a, { maxUnreachable: { percent: 19 } }).status, 'CRITICAL');
  assert.equal(fleetStatus(analyzeFleet([measured(0, 0.001), measured(1, 0.001)], null), {}).status, 'UNKNOWN');
  const silent = analyzeFleet([{ failure: 'unreachable' }], [{ measurement: { offset: 0, delay: 0, distance: 0.01 } }]);
  assert.equal(fleetStatus(silent, {}).status, 'CRITICAL');
});

test('--max-unreachable parses N and P%', () => {
  assert.deepEqual(parseCountLimit('3'), { count: 3 });
  assert.deepEqual(parseCountLimit('12.5%'), { percent: 12.5 });
  for (const bad of ['', '-1', '1.5', '101%', 'x', '5 hosts']) assert.equal(parseCountLimit(bad), null, bad);
});
