import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type CheckInput, CheckState, type CheckThresholds, daemonCheckInput, evaluateCheck, failedCheck, parseRange, plainNumber, rangeAlerts, reachCount,
  statusLine, type ThresholdRange, worstState,
} from './check.js';
import { SNAPSHOT_VERSION, type DaemonSnapshot, type SourceSnapshot } from '../engine/snapshot.js';

function r(text: string): ThresholdRange {
  const p = parseRange(text);
  assert.ok(p.ok, p.ok ? '' : p.message);
  return p.range;
}

test('threshold ranges in the monitoring-plugins format', () => {
  const cases: [string, number, boolean][] = [
    ['10', -1, true], ['10', 0, false], ['10', 10, false], ['10', 10.5, true],
    ['10:', 9.9, true], ['10:', 10, false], ['10:', 1e9, false],
    ['~:10', -1e9, false], ['~:10', 10, false], ['~:10', 11, true],
    ['10:20', 9, true], ['10:20', 15, false], ['10:20', 21, true],
    ['@10:20', 9, false], ['@10:20', 10, true], ['@10:20', 20, true], ['@10:20', 21, false],
    ['0.5', 0.5, false], ['0.5', 0.5000001, true], ['1e-3', 0.002, true],
  ];
  for (const [text, v, alerts] of cases) assert.equal(rangeAlerts(r(text), v), alerts, `${text} with ${v}`);
  for (const bad of ['', 'abc', '20:10', '@', '1:x', '0.5s', '--1']) {
    const p = parseRange(bad);
    assert.equal(p.ok, false, bad);
    if (!p.ok) assert.match(p.message, /^Cannot parse the threshold/);
  }
});

test('a range N alerts exactly when the value leaves [0, N]; @ inverts it', () => {
  fc.assert(fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double({ min: -1e6, max: 1e6, noNaN: true }), (n, v) => {
    const text = plainNumber(n);
    const p = parseRange(text);
    assert.ok(p.ok);
    assert.equal(rangeAlerts(p.range, v), v < 0 || v > Number(text));
    const q = parseRange(`@0:${text}`);
    assert.ok(q.ok);
    assert.equal(rangeAlerts(q.range, v), !rangeAlerts(p.range, v));
  }));
});

test('states combine as CRITICAL > WARNING > UNKNOWN > OK', () => {
  assert.equal(worstState([]), CheckState.OK);
  assert.equal(worstState([CheckState.OK, CheckState.UNKNOWN]), CheckState.UNKNOWN);
  assert.equal(worstState([CheckState.UNKNOWN, CheckState.WARNING]), CheckState.WARNING);
  assert.equal(worstState([CheckState.WARNING, CheckState.CRITICAL, CheckState.UNKNOWN]), CheckState.CRITICAL);
});

const none = { warn: null, crit: null };
const thresholds = (over: Partial<CheckThresholds> = {}): CheckThresholds => ({
  offset: { warn: r('0.5'), crit: r('1') }, stratum: none, jitter: none, sources: none, reach: none, unsynchronized: CheckState.CRITICAL, ...over,
});
const remote = (offset: number, stratum = 1): CheckInput => ({
  target: '192.0.2.1 port 123', synchronized: true, metrics: { offset, stratum, jitter: 0.00002, sources: null, reach: null, delay: 0.0001 },
});

test('offset: its magnitude against -w/-c, the worse alert wins, perfdata carries the thresholds', () => {
  const ok = evaluateCheck(remote(0.000123), thresholds());
  assert.equal(ok.state, CheckState.OK);
  assert.equal(statusLine(ok), 'NTP OK: Offset 0.000123 secs, stratum 1, jitter 0.00002 secs (192.0.2.1 port 123)|offset=0.000123s;0.5;1 stratum=1;;;0;16 jitter=0.00002s;;;0 delay=0.0001s;;;0');
  assert.equal(evaluateCheck(remote(-0.7), thresholds()).state, CheckState.WARNING);
  assert.equal(evaluateCheck(remote(0.7), thresholds()).state, CheckState.WARNING);
  const crit = evaluateCheck(remote(-2.5), thresholds());
  assert.equal(crit.state, CheckState.CRITICAL);
  assert.match(crit.summary, /^Offset -2\.5 secs \(CRITICAL, threshold 1\)/);
  assert.deepEqual(crit.alerts, [{ metric: 'offset', state: CheckState.CRITICAL, value: -2.5, threshold: '1' }]);
});

test('stratum, jitter, sources and reach thresholds', () => {
  assert.equal(evaluateCheck(remote(0, 3), thresholds({ stratum: { warn: r('2'), crit: r('4') } })).state, CheckState.WARNING);
  assert.equal(evaluateCheck(remote(0, 5), thresholds({ stratum: { warn: r('2'), crit: r('4') } })).state, CheckState.CRITICAL);
  assert.equal(evaluateCheck(remote(0), thresholds({ jitter: { warn: r('0.00001'), crit: null } })).state, CheckState.WARNING);
  const daemon = (sources: number, reach: number): CheckInput => ({ target: 'd', synchronized: true, metrics: { offset: 0, stratum: 2, jitter: 0, sources, reach, delay: null } });
  const t = thresholds({ sources: { warn: r('3:'), crit: r('2:') }, reach: { warn: r('6:'), crit: r('1:') } });
  assert.equal(evaluateCheck(daemon(3, 8), t).state, CheckState.OK);
  assert.equal(evaluateCheck(daemon(2, 8), t).state, CheckState.WARNING);
  assert.equal(evaluateCheck(daemon(1, 8), t).state, CheckState.CRITICAL);
  assert.equal(evaluateCheck(daemon(3, 5), t).state, CheckState.WARNING);
  assert.equal(evaluateCheck(daemon(3, 0), t).state, CheckState.CRITICAL);
  assert.match(evaluateCheck(daemon(3, 5), t).perfdata, / sources=3;3:;2:;0 reach=5;6:;1:;0;8$/);
});

test('unsynchronized: CRITICAL by default, or the state asked for; unknown values are left out', () => {
  const input: CheckInput = { target: 'x', synchronized: false, unsynchronizedReason: 'leap 3', metrics: { offset: null, stratum: null, jitter: null, sources: 0, reach: 0, delay: null } };
  const res = evaluateCheck(input, thresholds());
  assert.equal(res.state, CheckState.CRITICAL);
  assert.equal(statusLine(res), 'NTP CRITICAL: Not synchronized (leap 3), 0 sources selectable, reach 0/8 (x)|sources=0;;;0 reach=0;;;0;8');
  assert.equal(evaluateCheck(input, thresholds({ unsynchronized: CheckState.WARNING })).state, CheckState.WARNING);
  assert.equal(evaluateCheck(input, thresholds({ unsynchronized: CheckState.UNKNOWN })).state, CheckState.UNKNOWN);
  assert.equal(statusLine(failedCheck(CheckState.UNKNOWN, 'Cannot ask the daemon')), 'NTP UNKNOWN: Cannot ask the daemon');
});

test('numbers in perfdata never use an exponent', () => {
  assert.equal(plainNumber(1.5e-7), '0.00000015');
  assert.equal(plainNumber(-0), '0');
  assert.equal(plainNumber(-1e-12), '0');
  assert.equal(plainNumber(2), '2');
  assert.equal(reachCount(0o377), 8);
  assert.equal(reachCount(0o17), 4);
  assert.equal(reachCount(0), 0);
});

function source(over: Partial<SourceSnapshot>): SourceSnapshot {
  return {
    id: 1, kind: 'server', name: 's', address: '192.0.2.1', port: 123, verdict: 'combined', reason: '', prefer: false, noselect: false,
    stratum: 1, referenceId: 0, poll: 4, reach: 0o377, lastRxAgo: 1, lastSample: null, jitter: 0.0001, rootDistance: 0.001, kissCode: null, kod: null, authProblem: null,
    interleaved: false, stats: { samples: 0, runs: 0, span: 0, frequencyPpm: 0, skewPpm: 0, offset: 0, stdDev: 0 }, ...over,
  };
}
function snapshot(sources: SourceSnapshot[], synchronized: boolean, systemTime = 0): DaemonSnapshot {
  return {
    version: SNAPSHOT_VERSION, time: '0', clock: 'virtual', sources,
    tracking: {
      referenceId: 0, referenceName: null, stratum: synchronized ? 2 : 0, refTime: null, systemTime, lastOffset: 0, rmsOffset: 0, frequencyPpm: 0,
      residualFreqPpm: 0, skewPpm: 0, rootDelay: 0, rootDispersion: 0, updateInterval: 0, leapStatus: synchronized ? 'normal' : 'unsynchronized', synchronized,
    },
  };
}

test('the daemon snapshot as metrics: offset is the negated System time, sources count *, + and -, reach is the followed source\'s', () => {
  const snap = snapshot([
    source({ verdict: 'selected', reach: 0o177, jitter: 0.0002 }), source({ verdict: 'combined' }), source({ verdict: 'not-combined' }),
    source({ verdict: 'falseticker' }), source({ verdict: 'unusable', reach: 0 }),
  ], true, 0.25);
  assert.deepEqual(daemonCheckInput(snap, 't'), {
    target: 't', synchronized: true, metrics: { offset: -0.25, stratum: 2, jitter: 0.0002, sources: 3, reach: 7, delay: null },
  });
  const lost = daemonCheckInput(snapshot([source({ verdict: 'unusable', reach: 0 }), source({ verdict: 'unusable', reach: 0o3 })], false), 't');
  assert.deepEqual(lost, {
    target: 't', synchronized: false, unsynchronizedReason: 'no selectable source among 2, 1 never reached',
    metrics: { offset: null, stratum: null, jitter: null, sources: 0, reach: 2, delay: null },
  });
  assert.equal(daemonCheckInput(snapshot([], false), 't').unsynchronizedReason, 'no sources configured');
});
