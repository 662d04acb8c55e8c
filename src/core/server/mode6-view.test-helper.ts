/** A daemon state for the mode 6 tests: synchronized to one of four sources, with a falseticker and a source that never answered. */
import type { NtpDataReport } from '../engine/engine-api.js';
import { SNAPSHOT_VERSION, type SourceSnapshot } from '../engine/snapshot.js';
import type { QueryView } from './mode6-variables.js';

const STATS = { samples: 8, runs: 4, span: 60, frequencyPpm: 0.01, skewPpm: 0.2, offset: 0.000125, stdDev: 0.00002 };

function source(id: number, address: string | null, over: Partial<SourceSnapshot>): SourceSnapshot {
  return {
    id, kind: 'server', name: address ?? 'ntp.example.net', address, port: 123, verdict: 'combined', reason: '', prefer: false, noselect: false,
    stratum: 1, referenceId: 0x47505300, poll: 6, reach: 0o377, lastRxAgo: 12.4,
    lastSample: { adjustedOffset: 0.000125, measuredOffset: 0.00013, error: 0.00021, delay: 0.0004 },
    jitter: 0.00003, rootDistance: 0.0003, stats: STATS, kissCode: null, kod: null, authProblem: null, interleaved: false, ...over,
  };
}

function ntpdata(sourceId: number, over: Partial<NtpDataReport> = {}): NtpDataReport {
  return {
    sourceId, name: '', remoteAddress: '', remotePort: 123, leap: 'normal', version: 4, mode: 4, stratum: 1, poll: 6, precision: -24,
    rootDelay: 0, rootDispersion: 0.00002, referenceId: 0x47505300, referenceTime: '1795437260.250000000', offset: 0.00013,
    peerDelay: 0.0004, peerDispersion: 0.000001, responseTime: 0.00001, jitterAsymmetry: 0, tests: '111 111 1111', kissCode: null,
    interleaved: false, authenticated: false, authMode: 'none', authFailures: 0, authNaks: 0, lastAuthFailure: null,
    totalTx: 10, totalRx: 10, totalValidRx: 10, totalGoodRx: 10,
    stamps: { txKernel: 0, txDaemon: 10, rxKernel: 10, rxDaemon: 0, lastTx: null, lastRx: null }, ...over,
  };
}

/** Sources 1 (selected), 2 (combined), 3 (a falseticker 2.5 s off) and 4 (never answered, unresolved). */
export function sampleQueryView(sources = 4): QueryView {
  const all = [
    source(1, '192.0.2.1', { verdict: 'selected' }),
    source(2, '192.0.2.2', { stratum: 2, referenceId: 0xc0000201 }),
    source(3, '192.0.2.3', { verdict: 'falseticker', stats: { ...STATS, offset: 2.5 } }),
    source(4, null, { verdict: 'unusable', stratum: 0, referenceId: 0, reach: 0, lastRxAgo: null, lastSample: null, stats: { ...STATS, samples: 0 } }),
  ];
  const extra = Array.from({ length: Math.max(0, sources - all.length) }, (_, i) => source(5 + i, `198.51.100.${i + 1}`, {}));
  const list = [...all, ...extra].slice(0, sources);
  return {
    snapshot: {
      version: SNAPSHOT_VERSION, time: '1795437272.500000000', clock: 'virtual',
      tracking: {
        referenceId: 0xc0000201, referenceName: '192.0.2.1', stratum: 2, refTime: '1795437260.300000000', systemTime: 0.000001,
        lastOffset: -0.0000123, rmsOffset: 0.000021, frequencyPpm: -12.345, residualFreqPpm: 0.001, skewPpm: 0.05,
        rootDelay: 0.0004, rootDispersion: 0.00025, updateInterval: 64, leapStatus: 'normal', synchronized: true,
      },
      sources: list,
    },
    ntpdata: list.filter((s) => s.reach !== 0).map((s) => ntpdata(s.id)),
    host: { version: 'ntpkit 0.0.0', processor: 'x86_64', system: 'Linux/6.1.0' },
    precision: -23,
  };
}
