/**
 * The daemon's one published state: the control
 * protocol, `tracking`, `sources`, `sourcestats`, `peers`, metrics, the
 * dashboard and the library's status() all read this and keep no copy of
 * their own. Plain data only (numbers, strings, booleans, null, arrays), so it
 * crosses the control socket as JSON unchanged; instants travel as Unix
 * seconds strings with 9 decimals (unixString).
 *
 * Sign conventions:
 * - offsets are RFC 5905's θ (ntpq's sign): how far the SOURCE is ahead of our
 *   clock (positive: our clock is behind). chronyc prints the negation (local
 *   minus source), and so do our chronyc-style formatters;
 * - `frequencyPpm` is the correction applied to the local oscillator, positive
 *   when the clock is sped up (chronyc prints it as "ppm slow").
 */

import { instantToUnixNanos, type Instant } from '../../time/instant.js';
import type { KissAction } from '../../proto/kiss.js';
import type { SmoothingReport } from './time-smoothing.js';

export const SNAPSHOT_VERSION = 1;

/** An instant as the snapshot carries it: Unix seconds with 9 decimals. */
export function unixString(i: Instant): string {
  const ns = instantToUnixNanos(i);
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  return `${neg ? '-' : ''}${a / 1_000_000_000n}.${(a % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/**
 * Selection verdict of one source, as chronyc's state column shows it
 * (chronyc sources: `*` selected, `+` combined, `-` not combined,
 * `x` falseticker, `~` too variable, `?` unusable).
 */
export type SourceVerdict =
  | 'selected'      // '*' the reference the clock follows
  | 'combined'      // '+' agrees and is combined with the selected one
  | 'not-combined'  // '-' agrees but is left out of the combination (distance, noselect-like reasons)
  | 'falseticker'   // 'x' its interval does not meet the majority
  | 'jittery'       // '~' too variable (jitter/distance over maxdistance) to be trusted
  | 'unusable';     // '?' unreachable, not enough samples yet, noselect, KoD'd, unsynchronized

export const VERDICT_SYMBOL: Readonly<Record<SourceVerdict, string>> = Object.freeze({
  selected: '*', combined: '+', 'not-combined': '-', falseticker: 'x', jittery: '~', unusable: '?',
});

export interface SourceStatsSnapshot {
  /** Samples kept (chronyc sourcestats NP). */
  readonly samples: number;
  /** Runs of residual signs (NR). */
  readonly runs: number;
  /** Seconds between the oldest and newest sample (Span). */
  readonly span: number;
  /** Estimated residual frequency of the source against our clock, ppm (Frequency). */
  readonly frequencyPpm: number;
  /** Error bound of that frequency, ppm (Freq Skew). */
  readonly skewPpm: number;
  /** Estimated offset of the source now, seconds (Offset). */
  readonly offset: number;
  /** Standard deviation of the samples about the fit, seconds (Std Dev). */
  readonly stdDev: number;
  /**
   * Error bound of `offset`, seconds: chronyd's est_offset_err (sourcestats.c
   * SST_DoSourcestatsReport), the offset's standard deviation, plus the skew
   * over the time since the last sample, plus half the root delay and the
   * root dispersion of that sample. chronyc's protocol carries it; absent in
   * snapshots of older daemons.
   */
  readonly offsetError?: number;
}

export interface SourceSnapshot {
  /** Stable id within the daemon's life. */
  readonly id: number;
  readonly kind: 'server' | 'pool' | 'peer' | 'refclock';
  /** The name as configured (host name or address). */
  readonly name: string;
  /** The address in use, or null while unresolved. */
  readonly address: string | null;
  readonly port: number;
  readonly verdict: SourceVerdict;
  /** Why the verdict, in a few words (e.g. "unreachable", "KoD RATE", "distance 4.1 s > maxdistance"). */
  readonly reason: string;
  readonly prefer: boolean;
  readonly noselect: boolean;
  /** Stratum the source last reported, 0 until it answered. */
  readonly stratum: number;
  /** Its reference id (raw 32-bit), 0 until it answered. */
  readonly referenceId: number;
  /** Current poll interval, log2 seconds. */
  readonly poll: number;
  /** 8-bit reachability register (RFC 5905 §13). */
  readonly reach: number;
  /** Seconds since the last good sample, or null if none (chronyc LastRx). */
  readonly lastRxAgo: number | null;
  /** The last sample, or null (chronyc "Last sample"). */
  readonly lastSample: null | {
    /** Offset corrected for the clock's updates since the sample was taken (chronyc's "adjusted offset"). */
    readonly adjustedOffset: number;
    /** Offset as measured (chronyc's bracketed value). */
    readonly measuredOffset: number;
    /** Error estimate: chronyc's "+/-" (delay/2 + dispersion). */
    readonly error: number;
    /** Round-trip delay of the last sample, seconds. */
    readonly delay: number;
  };
  /** RMS jitter of recent offsets, seconds (ntpq -p jitter). */
  readonly jitter: number;
  /** Root distance of the source now, seconds. */
  readonly rootDistance: number;
  readonly stats: SourceStatsSnapshot;
  /** Last kiss code received, or null. */
  readonly kissCode: string | null;
  /**
   * The kiss-o'-death in effect, or null once the source serves us again.
   * `action`: `refused` (DENY, RSTR: polling backs off towards maxpoll and
   * goes on), `reduce-rate` (RATE: the next request waits 4 intervals more),
   * `nts-nak` or `informational`. `ago`: seconds since the last one.
   */
  readonly kod: null | { readonly code: string; readonly action: KissAction; readonly ago: number };
  /**
   * Why requests to this source cannot be authenticated now, or null: a
   * failed NTS-KE ("NTS-KE with HOST:PORT failed: ..."), a key missing from
   * the key file. Such a source is sent no requests, so it cannot answer.
   */
  readonly authProblem: string | null;
  /** Interleaved mode in use with this source. */
  readonly interleaved: boolean;
}

/** chronyc tracking's fields. */
export interface TrackingSnapshot {
  /** Refid of the reference (raw 32-bit), 0 when unsynchronized. */
  readonly referenceId: number;
  /** Address or name of the selected source, or null ("" in chronyc). */
  readonly referenceName: string | null;
  readonly stratum: number;
  /** Unix seconds of the last clock update, as a decimal string with 9 places, or null. */
  readonly refTime: string | null;
  /** Seconds the clock is ahead of NTP time now, i.e. the correction still to be slewed, negated (chronyc "System time: X seconds fast"). */
  readonly systemTime: number;
  /** Offset measured at the last update, seconds. */
  readonly lastOffset: number;
  /** Long-term RMS of the offsets at updates, seconds. */
  readonly rmsOffset: number;
  /** Frequency correction applied, ppm (positive = clock sped up = chronyc "slow"). */
  readonly frequencyPpm: number;
  /** Residual frequency of the selected source against the clock, ppm. */
  readonly residualFreqPpm: number;
  /** Estimated error bound on the frequency, ppm. */
  readonly skewPpm: number;
  readonly rootDelay: number;
  readonly rootDispersion: number;
  /** Seconds between the last two clock updates. */
  readonly updateInterval: number;
  readonly leapStatus: 'normal' | 'insert' | 'delete' | 'unsynchronized';
  readonly synchronized: boolean;
}

export interface DaemonSnapshot {
  readonly version: typeof SNAPSHOT_VERSION;
  /** Unix seconds (9-decimal string) on the disciplined clock when the snapshot was taken. */
  readonly time: string;
  /** Which clock the daemon disciplines. */
  readonly clock: 'system' | 'virtual' | 'sim';
  readonly tracking: TrackingSnapshot;
  readonly sources: readonly SourceSnapshot[];
  /** chronyc smoothing's figures; absent without `smoothtime` (chronyc then says "Facility not enabled"). */
  readonly smoothing?: SmoothingReport;
}
