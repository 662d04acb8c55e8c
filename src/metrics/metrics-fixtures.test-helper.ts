/** A fixed daemon state and server counters for the metrics tests. */
import { createServerCounters, snapshotServerStats, type ServerCounters, type ServerStats, withNtsKeStats } from '../core/server/server-stats.js';
import { SNAPSHOT_VERSION, type DaemonSnapshot, type SourceSnapshot } from '../core/engine/snapshot.js';

const stats = { samples: 8, runs: 4, span: 120, frequencyPpm: 0.01, skewPpm: 0.05, offset: 1e-5, stdDev: 2e-6 };

export const SELECTED: SourceSnapshot = {
  id: 1, kind: 'server', name: 'ntp1.example', address: '192.0.2.1', port: 123, verdict: 'selected', reason: '', prefer: false, noselect: false,
  stratum: 1, referenceId: 0x47505300, poll: 6, reach: 0o377, lastRxAgo: 12.5,
  lastSample: { adjustedOffset: 1.5e-5, measuredOffset: 1.7e-5, error: 3e-4, delay: 5e-4 },
  jitter: 4e-6, rootDistance: 2.6e-4, stats, kissCode: null, kod: null, authProblem: null, interleaved: false,
};

export const FALSETICKER: SourceSnapshot = {
  ...SELECTED, id: 2, kind: 'pool', name: 'pool.example', address: '192.0.2.2', verdict: 'falseticker', reach: 0o17, poll: 4,
  lastSample: { adjustedOffset: 2.5, measuredOffset: 2.5, error: 3e-4, delay: 6e-4 }, jitter: 5e-6, rootDistance: 3e-4,
};

/** Never answered: no sample, no address yet. */
export const SILENT: SourceSnapshot = {
  ...SELECTED, id: 3, name: 'ntp3.example', address: null, verdict: 'unusable', reason: 'not resolved yet', stratum: 0, referenceId: 0,
  reach: 0, lastRxAgo: null, lastSample: null, jitter: 0, rootDistance: 0,
};

export const SNAPSHOT: DaemonSnapshot = {
  version: SNAPSHOT_VERSION, time: '1700000100.000000000', clock: 'virtual',
  tracking: {
    referenceId: 0xc0000201, referenceName: '192.0.2.1', stratum: 2, refTime: '1700000087.500000000', systemTime: -2e-6, lastOffset: 3e-6,
    rmsOffset: 5e-6, frequencyPpm: -12.25, residualFreqPpm: 0.002, skewPpm: 0.04, rootDelay: 5e-4, rootDispersion: 3e-5, updateInterval: 64,
    leapStatus: 'normal', synchronized: true,
  },
  sources: [SELECTED, FALSETICKER, SILENT],
};

export function counters(f: (c: ServerCounters) => void): ServerStats {
  const c = createServerCounters();
  f(c);
  return snapshotServerStats(c, { recordsDropped: 3, timestampsHeld: 40, timestampSpan: 7 });
}

export const SERVER_STATS: ServerStats = withNtsKeStats(counters((c) => {
  c.received = 1000;
  c.replied = 950;
  c.dropped['rate-limited'] = 30;
  c.dropped['too-short'] = 20;
  c.kodSent.RATE = 5;
  c.interleaved = 12;
}), { accepted: 7, dropped: 3, droppedBy: { timeout: 2, 'tls-error': 1 } });
