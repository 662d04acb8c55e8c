/**
 * What one source shows: its entry in the snapshot (chronyc sources and
 * sourcestats), chronyc ntpdata's figures, and the records of
 * measurements.log and statistics.log.
 */
import { diffSeconds, type Instant } from '../../time/instant.js';
import { fromNtpTimestamp } from '../../time/timestamp.js';
import { shortToSeconds } from '../../time/short.js';
import { Leap } from '../../proto/constants.js';
import type { NtpHeader } from '../../proto/header.js';
import type { EngineAction, MeasurementEvent, NtpDataReport, StampSource } from './engine-api.js';
import type { Sample } from '../sample.js';
import { unixString, type SourceSnapshot } from './snapshot.js';
import type { RateBefore, SourceEstimate, Timescale } from './source-measurement.js';
import type { TrackedSource } from './tracked-source.js';

/** chronyd's est_offset_err: the offset's deviation, the skew since the last sample, and that sample's distance (with the source's root figures). */
function offsetError(s: TrackedSource, now: Instant, est: SourceEstimate | null): number {
  const ls = s.measurement.lastSample;
  if (est === null || ls === null) return 0;
  const root = s.poller.root();
  const age = s.measurement.lastRxAt === null ? 0 : Math.max(0, diffSeconds(now, s.measurement.lastRxAt));
  return Math.sqrt(est.pPhase) + age * Math.sqrt(est.pFreq) + 0.5 * (ls.delay + root.delay) + ls.dispersion + root.dispersion;
}

export function sourceSnapshot(s: TrackedSource, now: Instant, ts: Timescale): SourceSnapshot {
  const m = s.measurement;
  const est = s.estimate(now, ts);
  const fig = m.stats.figures();
  const f = m.stats.filter;
  const h = s.poller.lastHeader;
  const ls = m.lastSample;
  return {
    id: s.id,
    kind: s.options.kind,
    name: s.options.host,
    address: s.address,
    port: s.options.port,
    verdict: s.address === null ? 'unusable' : s.verdict.verdict,
    // Why a source is unusable can change between selections (no reply yet, a failed NTS-KE): say it as of now.
    reason: s.address === null ? s.unusableReason() ?? 'not resolved yet' : s.verdict.verdict === 'unusable' ? s.unusableReason() ?? s.verdict.reason : s.verdict.reason,
    prefer: s.options.prefer,
    noselect: s.options.noselect,
    // chronyc sources shows the stratum selection uses (minstratum, copy; a reference clock's own).
    stratum: s.stratum() ?? 0,
    referenceId: s.ownRefid() ?? h?.referenceId ?? 0,
    poll: s.poller.poll,
    reach: s.poller.reach,
    lastRxAgo: m.lastRxAt === null ? null : Math.max(0, diffSeconds(now, m.lastRxAt)),
    lastSample: ls === null ? null : {
      adjustedOffset: ls.measuredOffset - (ts.clock.phaseAt(now) - ls.phase),
      measuredOffset: ls.measuredOffset,
      error: ls.delay / 2 + ls.dispersion,
      delay: ls.delay,
    },
    jitter: fig.jitter,
    rootDistance: est?.distance ?? 0,
    stats: {
      samples: fig.samples,
      runs: fig.runs,
      span: fig.span,
      frequencyPpm: est === null ? 0 : est.freq * 1e6 - ts.clock.basePpm,
      skewPpm: f.initialized ? Math.sqrt(f.pFreq) * 1e6 : 0,
      offset: est?.offset ?? 0,
      stdDev: fig.stdDev,
      offsetError: offsetError(s, now, est),
    },
    kissCode: s.poller.kissCode,
    authProblem: s.poller.auth?.problem?.() ?? null,
    kod: s.poller.kod === null ? null : { code: s.poller.kod.code, action: s.poller.kod.action, ago: Math.max(0, diffSeconds(now, s.poller.kod.at)) },
    interleaved: s.poller.interleaved,
  };
}

/** chronyc ntpdata shows the last valid reply, a kiss or an unsynchronized one too (chronyd's report); `origin` resolves the era of a reply's reference time before any reply came. */
export function ntpData(s: TrackedSource, origin: Instant): NtpDataReport {
  const p = s.poller;
  const reply = p.lastReply;
  const h = reply?.header ?? null;
  // Only a synchronized reply measured anything.
  const ls = reply?.synchronized === true ? s.measurement.lastSample : null;
  const root = { delay: h === null ? 0 : shortToSeconds(h.rootDelay), dispersion: h === null ? 0 : shortToSeconds(h.rootDispersion) };
  const leap = h === null ? 'normal' : h.leap === Leap.InsertSecond ? 'insert' : h.leap === Leap.DeleteSecond ? 'delete' : h.leap === Leap.NoWarning ? 'normal' : 'unsynchronized';
  return {
    sourceId: s.id,
    name: s.options.host,
    remoteAddress: s.address as string,
    remotePort: s.options.port,
    leap,
    version: h?.version ?? 0,
    mode: h?.mode ?? 0,
    stratum: h?.stratum ?? 0,
    poll: p.poll,
    precision: h?.precision ?? 0,
    rootDelay: root.delay,
    rootDispersion: root.dispersion,
    referenceId: h?.referenceId ?? 0,
    referenceTime: h === null || h.referenceTimestamp === 0n ? null : unixString(fromNtpTimestamp(h.referenceTimestamp, s.measurement.lastRxAt ?? origin)),
    // chronyd reports the last valid reply's measurement, whether or not its tests passed; a kiss or an unsynchronized reply measures nothing (0).
    offset: reply?.synchronized === true ? s.lastMeasured?.offset ?? 0 : 0,
    peerDelay: reply?.synchronized === true ? s.lastMeasured?.delay ?? 0 : 0,
    peerDispersion: reply?.synchronized === true ? s.lastMeasured?.dispersion ?? 0 : 0,
    responseTime: ls === null ? 0 : p.lastResponseTime,
    // The tracker works on offsets of the source against us; chronyd's sign is of us against the source.
    jitterAsymmetry: s.measurement.stats.asymmetry.asymmetry === 0 ? 0 : -s.measurement.stats.asymmetry.asymmetry,
    // chronyd's tests 1-3, 5-7, A-D: a valid reply passed 1-3 and 5; one that is not synchronized fails 6 and measures nothing.
    tests: reply === null ? '000 000 0000' : reply.synchronized ? `111 111 ${s.lastTests ?? '1111'}` : `111 10${root.delay / 2 + root.dispersion < 16 ? 1 : 0} 0000`,
    kissCode: p.kod?.code ?? null,
    interleaved: p.interleaved,
    authenticated: p.authenticated,
    authMode: p.auth?.kind ?? 'none',
    authFailures: p.authFailures,
    authNaks: p.authNaks,
    lastAuthFailure: p.lastAuthFailure,
    totalTx: p.totalTx,
    totalRx: p.totalRx,
    totalValidRx: p.totalValidRx,
    totalGoodRx: s.goodRx,
    stamps: p.stamps(),
  };
}

/** measurements.log's record of a reply that passed the packet tests; `stats` is statistics.log's, or null if the statistics refused the sample. */
export function measurementEvent(
  s: TrackedSource, out: { readonly sample: Sample; readonly header: NtpHeader; readonly interleaved: boolean; readonly txStamp: StampSource; readonly rxStamp: StampSource },
  tests: MeasurementEvent['tests'], stats: MeasurementEvent['stats'],
): EngineAction {
  const h = out.header;
  const root = s.poller.root();
  return {
    kind: 'event',
    event: {
      type: 'measurement', sourceId: s.id, address: s.address ?? s.options.host, at: out.sample.t4,
      leap: h.leap, stratum: h.stratum, mode: h.mode, remotePoll: h.poll, referenceId: h.referenceId >>> 0,
      rootDelay: root.delay, rootDispersion: root.dispersion, localPoll: s.poller.poll,
      score: s.measurement.information() / Math.max(s.options.polltarget, 1),
      offset: out.sample.offset, delay: out.sample.delay, dispersion: out.sample.dispersion, interleaved: out.interleaved,
      txStamp: out.txStamp, rxStamp: out.rxStamp, tests, stats,
    },
  };
}

/** The source's estimate after a sample, with chrony's statistics.log signs (local against source); `before` is the rate estimate before it. */
export function statisticsRecord(s: TrackedSource, est: SourceEstimate | null, basePpm: number, before: RateBefore | null): MeasurementEvent['stats'] {
  if (est === null) return null;
  const fig = s.measurement.stats.figures();
  return {
    stdDev: fig.stdDev, offset: -est.offset, offsetSd: Math.sqrt(est.pPhase),
    freq: basePpm * 1e-6 - est.freq, skew: Math.sqrt(est.pFreq),
    stress: before === null || before.sd === 0 ? 0 : Math.abs(est.freq - before.freq) / before.sd,
    samples: fig.samples, runs: fig.runs, asymmetry: fig.asymmetry === 0 ? 0 : -fig.asymmetry,
  };
}
