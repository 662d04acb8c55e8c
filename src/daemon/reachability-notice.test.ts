import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SNAPSHOT_VERSION, type DaemonSnapshot, type SourceSnapshot } from '../core/engine/snapshot.js';
import { server, World } from '../core/engine/engine-harness.test-helper.js';
import { sourceOptions } from '../core/engine/source-options.js';
import { ReachabilityNotice } from './reachability-notice.js';

function source(name: string, o: Partial<SourceSnapshot> = {}): SourceSnapshot {
  return {
    id: 1, kind: 'server', name, address: null, port: 123, verdict: 'unusable', reason: 'cannot resolve: ENOTFOUND', prefer: false, noselect: false,
    stratum: 0, referenceId: 0, poll: 4, reach: 0, lastRxAgo: null, lastSample: null, jitter: 0, rootDistance: 0, kissCode: null, kod: null, authProblem: null, interleaved: false,
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

test('after a reply, the time is counted from the last reply, not from the start (an engine run on a fixed clock)', () => {
  // One source polled every 2 s answers until 145 s, then falls silent; its reach register drains in 16 s.
  const w = new World({ sources: [sourceOptions('server', '192.0.2.1', { minpoll: 1, maxpoll: 1, iburst: true })] });
  const srv = server();
  w.servers.set('192.0.2.1', srv);
  w.run(145);
  srv.down = true;
  const lastReplyAt = Math.max(...w.sends.filter((s) => s.t <= 145).map((s) => s.t));
  w.run(170);
  const snap = w.snapshot();
  assert.equal(snap.sources[0]?.reach, 0);
  const line = new ReachabilityNotice({ graceSeconds: 20 }).check(snap, 170);
  assert.ok(line !== null);
  const ago = Math.round(170 - lastReplyAt);
  assert.ok(ago >= 25 && ago <= 27, String(ago));
  assert.match(line, new RegExp(`^None of the 1 source can be reached: the last reply came ${ago} s ago \\(check the network path and firewalls to UDP port 123\\); `));
  assert.doesNotMatch(line, /after 170 s|no source has replied/);
});

test('a failed NTS-KE is named, not UDP port 123; a refusing server is named with its kiss', () => {
  const n = new ReachabilityNotice({ graceSeconds: 10 });
  const ke = 'NTS-KE with 127.0.15.2:4460 failed: connect ECONNREFUSED 127.0.15.2:4460';
  const nts = source('127.0.15.2', { address: '127.0.15.2', reason: ke, authProblem: ke });
  const line = n.check(snap([nts]), 11) ?? '';
  assert.match(line, /^None of the 1 source can be reached after 11 s \(the NTS key exchange \(TCP\) failed for 127\.0\.15\.2, so no NTS request could be sent\); /);
  assert.match(line, /Still trying: 127\.0\.15\.2: NTS-KE with 127\.0\.15\.2:4460 failed: connect ECONNREFUSED 127\.0\.15\.2:4460$/);
  assert.doesNotMatch(line, /UDP port 123/);
  const denied = source('ntp.example', { address: '192.0.2.9', reason: 'KoD DENY: the server refuses us', kod: { code: 'DENY', action: 'refused', ago: 3 } });
  const silent = source('192.0.2.8', { address: '192.0.2.8', reason: 'no reply yet' });
  const both = new ReachabilityNotice({ graceSeconds: 0 }).check(snap([denied, silent]), 30) ?? '';
  assert.match(both, /\(ntp\.example \(192\.0\.2\.9\) refuses this client \(kiss-o'-death DENY\); no source has replied: check the network path and firewalls to UDP port 123\)/);
});

test('a silent reference clock is not sent to the network: the notice points at its writer or device', () => {
  const n = new ReachabilityNotice({ graceSeconds: 10 });
  const line = n.check(snap([source('GPS', { kind: 'refclock', address: 'GPS', port: 0, reason: 'no reply yet' })]), 11) ?? '';
  assert.match(line, /reference clock GPS gave no usable samples: check the driver's writer or device/);
  assert.doesNotMatch(line, /UDP port 123/);
});
