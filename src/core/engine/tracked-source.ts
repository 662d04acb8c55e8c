/**
 * One source as the engine tracks it: a configured server or a pool member,
 * its address once resolved, its poller (source.ts), the measurement of its
 * current address (source-measurement.ts) and what selection last said of it.
 */
import type { Instant } from '../../time/instant.js';
import { addressKey, FALSETICKER_SAMPLES, UNREACHABLE_POLLS, type Resolver } from './pool.js';
import type { SelectionCandidate, Verdict } from './selection.js';
import { refidToNumber } from './refclock-options.js';
import type { RefclockState } from './refclock-source.js';
import { SourcePoller } from './source.js';
import type { SourceEstimate, SourceMeasurement, Timescale } from './source-measurement.js';
import type { SourceOptions } from './source-options.js';
import type { Sample } from '../sample.js';

/** chronyd's MIN_SAMPLES_FOR_REGRESS: the samples a source needs before selection takes it. */
const SELECT_MIN_SAMPLES = 3;

export const UNRESOLVED: Verdict = Object.freeze({ verdict: 'unusable', reason: 'not resolved yet' });

export class TrackedSource {
  address: string | null = null;
  key: string | null = null;
  verdict: Verdict = UNRESOLVED;
  /** Samples the filter accepted, over every address (chronyc ntpdata's Total good RX). */
  goodRx = 0;
  falsetickerStreak = 0;
  /** chronyd's selection score, for selectdata (select-score.ts). */
  selScore = 1;
  /** The last reply said leap 3 / stratum 16. */
  unsynchronized = false;
  /** Reported unreachable (event sent). */
  unreachableReported = false;
  /** A sample the filter accepted since the clock was last updated (chrony's `updates`). */
  freshSample = false;
  /** chronyc ntpdata's tests A-D of the last synchronized reply ("1101"), or null before one. */
  lastTests: string | null = null;
  /** The last synchronized reply's measurement (after `offset`, the delay as chronyd takes it), for chronyc ntpdata. */
  lastMeasured: { readonly offset: number; readonly delay: number; readonly dispersion: number } | null = null;
  /** Polls a loaded dump's reach register had seen (chronyd's reachability_size), counted on by the polls since. */
  restoredReachSize = 0;
  /** `filter N`: the samples gathered towards the next filtered one, and how many polls (lost replies too) counted. */
  readonly filtered: Sample[] = [];
  filterCount = 0;

  constructor(
    readonly id: number,
    /** Replaced only by modifyOptions(). */
    public options: SourceOptions,
    /** The pool it belongs to, or null. */
    readonly pool: Resolver | null,
    /** Resolver of a `server` given by name, or null for address literals and pool members. */
    readonly resolver: Resolver | null,
    readonly poller: SourcePoller,
    public measurement: SourceMeasurement,
    /** A reference clock's own state, or null for an NTP source. */
    readonly refclock: RefclockState | null = null,
  ) {}

  /** The stratum the source reports (a reference clock's is configured), or null before it has said. */
  /**
   * The stratum selection weighs and we serve one above: a reference clock's
   * own; a server's, one less with `copy` (we stand in for it), at least
   * `minstratum` (chronyd's SRC_UpdateStatus in ntp_core.c). Null before a
   * server's first reply.
   */
  stratum(): number | null {
    if (this.refclock !== null) return this.refclock.stratum;
    const st = this.poller.lastHeader?.stratum;
    if (st === undefined) return null;
    return Math.max(this.options.copy && st > 0 ? st - 1 : st, this.options.minstratum);
  }

  /** The reference id the source's own: a reference clock's refid, else null (the engine derives it from the address). */
  ownRefid(): number | null {
    return this.refclock === null ? null : refidToNumber(this.refclock.options.refid);
  }

  /** The leap second the source announces. */
  leap(): 'none' | 'insert' | 'delete' {
    return this.refclock === null ? this.poller.leap() : this.refclock.leap;
  }

  /** New options at run time (chronyc minpoll, maxdelay...), for the poller and the reply tests alike. */
  modifyOptions(options: SourceOptions): void {
    this.options = options;
    this.poller.modifyOptions(options);
  }

  /** chronyc `reset sources`: the samples go, as after a step; polling and reach go on. */
  resetSamples(measurement: SourceMeasurement): void {
    this.measurement = measurement;
    this.freshSample = false;
    this.filtered.length = 0;
    this.filterCount = 0;
    this.lastMeasured = null;
    this.verdict = { verdict: 'unusable', reason: 'no samples yet' };
  }

  /** The source takes `address` (first resolution, a new address, a pool's replacement): it starts afresh there. */
  assign(address: string, now: Instant, measurement: SourceMeasurement): void {
    this.address = address;
    this.key = addressKey(address);
    this.measurement = measurement;
    this.falsetickerStreak = 0;
    this.unsynchronized = false;
    this.unreachableReported = false;
    this.lastTests = null;
    this.lastMeasured = null;
    this.restoredReachSize = 0;
    this.filtered.length = 0;
    this.filterCount = 0;
    this.verdict = { verdict: 'unusable', reason: 'no samples yet' };
    this.poller.begin(now);
  }

  /** Whether a datagram from `key` (addressKey) and `port` is this source's reply. */
  answersFrom(key: string, port: number): boolean {
    if (this.address === null) return false;
    const d = this.poller.auth?.destination?.() ?? null;
    if (d === null) return this.key === key && this.options.port === port;
    return (d.address === null ? this.key : addressKey(d.address)) === key && d.port === port;
  }

  estimate(now: Instant, ts: Timescale): SourceEstimate | null {
    return this.measurement.estimate(now, ts, this.poller.root());
  }

  /** Why selection cannot use the source now, or null. */
  unusableReason(): string | null {
    if (this.address === null) return this.resolver?.lastError != null ? `cannot resolve: ${this.resolver.lastError}` : 'not resolved yet';
    const kod = this.poller.kod;
    if (kod !== null && kod.action === 'refused') return `KoD ${kod.code}: the server refuses us; asking again every poll, backing off to maxpoll`;
    if (this.unsynchronized) return 'source unsynchronized';
    const stats = this.measurement.stats;
    if (this.poller.reach === 0) return this.poller.auth?.problem?.() ?? (stats.count === 0 ? 'no reply yet' : 'unreachable');
    if (stats.count === 0 || !stats.filter.initialized) return 'no samples yet';
    const st = this.stratum() ?? 0;
    if (st >= 16) return 'source unsynchronized';
    if (this.tooFewSamples()) return `${stats.window.length} of the ${SELECT_MIN_SAMPLES} samples selection needs`;
    return null;
  }


  /**
   * chronyd selects a source only once its regression has the samples it
   * needs (3; fewer only when maxsamples allows no more): until then one
   * sample stands alone, and a falseticker answering first would be followed.
   */
  private tooFewSamples(): boolean {
    const stats = this.measurement.stats;
    return stats.window.length < Math.min(SELECT_MIN_SAMPLES, stats.options.maxSamples);
  }

  /** chronyd's SRC_BAD_STATS: the source answers in time, but has too few samples yet (one that never answered counts as unsynchronized there). */
  private awaitingSamples(): boolean {
    const stats = this.measurement.stats;
    if (this.address === null || this.unsynchronized || this.poller.refused || (this.stratum() ?? 0) >= 16) return false;
    return stats.count > 0 && (!stats.filter.initialized || this.tooFewSamples());
  }

  /** What selection weighs of the source now, with the estimate it rests on. */
  candidate(now: Instant, ts: Timescale): { candidate: SelectionCandidate; estimate: SourceEstimate | null } {
    const est = this.estimate(now, ts);
    const unusable = this.unusableReason() ?? (est === null ? 'no samples yet' : null);
    const o = this.options;
    return {
      estimate: est,
      candidate: {
        id: this.id, offset: est?.intervalOffset ?? 0, distance: est?.distance ?? Infinity, unusable,
        noselect: o.noselect, prefer: o.prefer, trust: o.trust, require: o.require,
        authenticated: o.key !== null || o.nts, stratum: this.stratum() ?? 0, stdDev: this.measurement.stats.count > 0 ? this.measurement.stats.figures().stdDev : 0,
        reach: this.poller.settledReach, reachSize: Math.min(8, this.poller.settledTx + this.restoredReachSize),
        awaitingSamples: this.awaitingSamples(),
      },
    };
  }

  /** chrony replaces pool members that stay unreachable or keep being falsetickers; one that refuses us (KoD DENY/RSTR) goes at once. */
  needsReplacement(): boolean {
    if (this.address === null) return false;
    return this.poller.refused ||
      (this.poller.reach === 0 && this.poller.sentSinceReply >= UNREACHABLE_POLLS) ||
      this.falsetickerStreak >= FALSETICKER_SAMPLES;
  }
}
