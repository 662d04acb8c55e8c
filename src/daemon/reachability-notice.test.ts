import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SNAPSHOT_VERSION, type DaemonSnapshot, type SourceSnapshot } from '../core/snapshot.js';
import { ReachabilityNotice } from './reachability-notice.js';

function source(name: string, o: Partial<SourceSnapshot> = {}): SourceSnapshot {
  return {
    id: 1, kind: 'server', name, address: null, port: 123, verdict: 'unusable', reason: 'cannot resolve: ENOTFOUND', prefer: false, noselect: false,
    stratum: 0, referenceId: 0, poll: 4, reach: 0, lastRxAgo: null, lastSample: null, jitter: 0, rootDistance: 0, kissCode: null, kod: null, interleaved: false,
    stats: { samples: 0, runs: 0, span: 0, frequencyPpm: 0, skewPpm: 0, offset: 0, stdDev: 0 },
    ...o,
  };
}

function snap(sources: SourceSnapshot[]): DaemonSnapshot {
  return {
    version: SNAPSHOT_VERSION, time: '0', clock: 'virtual', sources,
    tracking: {
      referenceId: 0, referenceName: null, stratum: 0, refTime: null, systemTime: 0, lastOffset: 0, rmsOffset: 0, frequencyPpm: 0,
      residualFreqPpm: 0, skewPpm: 0, rootDelay: 0, rootDispersion: 0, updateInterval: 0, leapStatus: 'unsynchronized', synchronized: false,
    },
  };
}

test('offline: after the grace period one clear line names every source and why, then a reminder only after repeatSeconds', () => {
  const n = new ReachabilityNotice({ graceSeconds: 20, repeatSeconds: 600 });
  const s = snap([source('ntp.cloud.aliyuncs.com'), source('ntp7.cloud.aliyuncs.com')]);
  assert.equal(n.check(s, 5), null, 'iburst gets its chance first');
  const line = n.check(s, 21);
  assert.ok(line !== null);
  assert.match(line, /^None of the 2 sources can be reached after 21 s \(no source name could be resolved: this machine seems to have no DNS or no network\); the clock is not being synchronized/);
  assert.match(line, /ntp\.cloud\.aliyuncs\.com: cannot resolve: ENOTFOUND; ntp7\.cloud\.aliyuncs\.com: cannot resolve: ENOTFOUND$/);
  assert.equal(n.check(s, 300), null);
  assert.match(n.check(s, 621) ?? '', /^None of the 2 sources/);
});

test('resolved but silent sources get the network hint; recovery is announced once', () => {
  const n = new ReachabilityNotice({ graceSeconds: 10 });
  const silent = snap([source('a', { address: '192.0.2.1', reason: 'no reply yet' })]);
  assert.match(n.check(silent, 11) ?? '', /no source has replied: check the network path and firewalls to UDP port 123\).*a \(192\.0\.2\.1\): no reply yet$/);
  const back = snap([source('a', { address: '192.0.2.1', reach: 1, reason: 'no samples yet' })]);
  assert.equal(n.check(back, 12), 'Sources reachable again: 192.0.2.1');
  assert.equal(n.check(back, 13), null);
});

test('a reachable source, or no sources at all, never gives a notice', () => {
  const n = new ReachabilityNotice({ graceSeconds: 0 });
  assert.equal(n.check(snap([source('a', { address: '127.0.0.1', reach: 0o377 }), source('b')]), 100), null);
  assert.equal(n.check(snap([]), 100), null);
});
