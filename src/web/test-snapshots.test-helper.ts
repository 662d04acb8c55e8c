/** Snapshots and server stats for the web layer's tests. */
import { SNAPSHOT_VERSION, type DaemonSnapshot, type SourceSnapshot, type SourceVerdict } from '../core/engine/snapshot.js';
import { createServerCounters, type ServerStats, snapshotServerStats } from '../core/server/server-stats.js';

export interface FakeSource {
  readonly id: number;
  readonly name?: string;
  readonly verdict?: SourceVerdict;
  readonly offset?: number | null;
  readonly delay?: number;
  readonly jitter?: number;
  readonly reach?: number;
}

export function fakeSource(s: FakeSource): SourceSnapshot {
  const name = s.name ?? `127.0.0.${s.id}`;
  return {
    id: s.id, kind: 'server', name, address: name, port: 123, verdict: s.verdict ?? 'combined', reason: 'agrees', prefer: false, noselect: false,
    stratum: 1, referenceId: 0x4c4f434c, poll: 1, reach: s.reach ?? 0o377, lastRxAgo: 1,
    lastSample: s.offset === null ? null : { adjustedOffset: s.offset ?? 1e-5, measuredOffset: s.offset ?? 1e-5, error: 1e-4, delay: s.delay ?? 2e-4 },
    jitter: s.jitter ?? 3e-5, rootDistance: 1e-3, kissCode: null, kod: null, authProblem: null, interleaved: false,
    stats: { samples: 8, runs: 4, span: 10, frequencyPpm: 0.01, skewPpm: 0.1, offset: 0, stdDev: 1e-5 },
  };
}

export function fakeSnapshot(sources: readonly FakeSource[] = [], tracking: Partial<DaemonSnapshot['tracking']> = {}): DaemonSnapshot {
  return {
    version: SNAPSHOT_VERSION, time: '1700000000.000000000', clock: 'virtual',
    sources: sources.map(fakeSource),
    tracking: {
      referenceId: 0x7f000001, referenceName: '127.0.0.1', stratum: 2, refTime: '1700000000.000000000', systemTime: 1e-6, lastOffset: -2e-6,
      rmsOffset: 3e-6, frequencyPpm: 40, residualFreqPpm: 0, skewPpm: 0.05, rootDelay: 2e-4, rootDispersion: 1e-4, updateInterval: 2,
      leapStatus: 'normal', synchronized: true, ...tracking,
    },
  };
}

export function fakeStats(received: number, dropped = 0): ServerStats {
  const c = createServerCounters();
  c.received = received;
  c.replied = received - dropped;
  c.dropped['rate-limited'] = dropped;
  return snapshotServerStats(c, { recordsDropped: 0, timestampsHeld: 0, timestampSpan: 0 });
}
