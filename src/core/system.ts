/**
 * The system's synchronization state: what the server puts in every reply
 * (leap, stratum, refid, reference time, root delay and dispersion,
 * precision) and what the reports read. For now the server runs from the
 * local reference (chrony's `local stratum N`) or unsynchronized; the daemon
 * feeds its real sync state through synchronizedState() with the same shape.
 */
import { diffSeconds, type Instant, TICKS_PER_SECOND } from '../time/instant.js';
import { secondsToShort, type NtpShort } from '../time/short.js';
import { toNtpTimestamp, type NtpTimestamp } from '../time/timestamp.js';
import { Leap, STRATUM_KISS, STRATUM_UNSYNCHRONIZED } from '../proto/constants.js';
import { PHI } from './sample.js';
import type { ServedSmoothing } from './smoothing.js';

/**
 * Where the served time comes from:
 * - `synchronized`: a real source; root dispersion grows with time since the update;
 * - `local`: the local reference (chrony's `local`), served as if synchronized;
 * - `unsynchronized`: no time to give (leap 3, stratum 16 sent as 0).
 */
export type SyncKind = 'synchronized' | 'local' | 'unsynchronized';

export interface SystemState {
  readonly kind: SyncKind;
  /** True only with a real source (chronyd reports its local reference as not synchronised too). */
  readonly synchronized: boolean;
  readonly leap: Leap;
  /** 1..15 when serving time; 16 when unsynchronized (sent as 0, as chronyd does: RFC 5905 §7.3 has no 16 on the wire). */
  readonly stratum: number;
  /** Raw 32-bit reference id. */
  readonly referenceId: number;
  /** When the clock was last set or corrected; null is sent as the zero timestamp. */
  readonly referenceTime: Instant | null;
  /** Seconds to the primary reference and back (RFC 5905 §7.3). */
  readonly rootDelay: number;
  /** Seconds of dispersion to the primary reference, as of referenceTime. */
  readonly rootDispersion: number;
  /** Seconds per second that rootDispersion grows after referenceTime (PHI of RFC 5905 §7.2 by default; 0 for local). */
  readonly dispersionRate: number;
  /** log2 seconds, signed 8-bit: the resolution of the server's clock reading. */
  readonly precision: number;
  /**
   * `local` only: the reference time advances in steps of this many seconds
   * (chronyd 4.3 refreshes it about every 70 s; measured on loopback).
   */
  readonly referenceRefresh: number;
  /**
   * With `smoothtime`: what the server adds to its clock reading (core/smoothing.ts).
   * Absent: the clock reading is served as it is.
   */
  readonly smoothing?: ServedSmoothing;
}

/** The refid chronyd 4.3 sends for its local reference: 127.127.1.1 (not "LOCL"; see src/proto/fixtures). */
export const LOCAL_REFERENCE_ID = 0x7f7f0101;
/** Seconds between reference-time refreshes of the local reference. */
export const LOCAL_REFERENCE_REFRESH = 64;
/** The root delay and dispersion chronyd sends while unsynchronized (reference.c: "standard for a client"). */
export const UNSYNCHRONIZED_ROOT = 1;

/**
 * The local reference (`local stratum N`), activated at `now`, as chronyd
 * 4.3 serves it: leap 0, refid 127.127.1.1, root delay and dispersion 0 (no
 * growth: the local clock is its own reference), reference time refreshed
 * every LOCAL_REFERENCE_REFRESH seconds.
 * @throws RangeError if stratum is not 1..15 (chrony's range) or precision not signed 8-bit.
 */
export function localReferenceState(stratum: number, now: Instant, precision: number): SystemState {
  if (!Number.isInteger(stratum) || stratum < 1 || stratum > 15) {
    throw new RangeError(`Cannot use local stratum ${stratum}: expected 1 to 15`);
  }
  checkPrecision(precision);
  return {
    kind: 'local', synchronized: false, leap: Leap.NoWarning, stratum, referenceId: LOCAL_REFERENCE_ID,
    referenceTime: now, rootDelay: 0, rootDispersion: 0, dispersionRate: 0, precision,
    referenceRefresh: LOCAL_REFERENCE_REFRESH,
  };
}

/** No source and no local reference: chronyd 4.3 then answers with leap 3, stratum 0, refid 0, root delay and dispersion 1 s. */
export function unsynchronizedState(precision: number): SystemState {
  checkPrecision(precision);
  return {
    kind: 'unsynchronized', synchronized: false, leap: Leap.Unsynchronized, stratum: STRATUM_UNSYNCHRONIZED,
    referenceId: 0, referenceTime: null, rootDelay: UNSYNCHRONIZED_ROOT, rootDispersion: UNSYNCHRONIZED_ROOT,
    dispersionRate: 0, precision, referenceRefresh: 0,
  };
}

export interface SynchronizedParams {
  readonly leap: Leap;
  readonly stratum: number;
  readonly referenceId: number;
  readonly referenceTime: Instant;
  readonly rootDelay: number;
  readonly rootDispersion: number;
  readonly precision: number;
  /** Default PHI (15 ppm); chronyd uses its estimated skew plus maxclockerror. */
  readonly dispersionRate?: number;
}

/**
 * The state of a clock synchronized to a real source, as the daemon will feed
 * it after each clock update.
 * @throws RangeError on a stratum outside 1..15, a leap of 3, or negative/NaN root figures.
 */
export function synchronizedState(p: SynchronizedParams): SystemState {
  if (!Number.isInteger(p.stratum) || p.stratum < 1 || p.stratum > 15) {
    throw new RangeError(`Cannot use stratum ${p.stratum} for a synchronized state: expected 1 to 15`);
  }
  if (p.leap === Leap.Unsynchronized) throw new RangeError('Cannot use leap 3 for a synchronized state: use unsynchronizedState()');
  checkPrecision(p.precision);
  const rate = p.dispersionRate ?? PHI;
  for (const [name, x] of [['root delay', p.rootDelay], ['root dispersion', p.rootDispersion], ['dispersion rate', rate]] as const) {
    if (!(x >= 0) || !Number.isFinite(x)) throw new RangeError(`Cannot use ${name} ${x}: expected a finite number >= 0`);
  }
  return {
    kind: 'synchronized', synchronized: true, leap: p.leap, stratum: p.stratum, referenceId: p.referenceId >>> 0,
    referenceTime: p.referenceTime, rootDelay: p.rootDelay, rootDispersion: p.rootDispersion, dispersionRate: rate,
    precision: p.precision, referenceRefresh: 0,
  };
}

function checkPrecision(precision: number): void {
  if (!Number.isInteger(precision) || precision < -128 || precision > 127) {
    throw new RangeError(`Cannot use precision ${precision}: expected a signed 8-bit log2 value`);
  }
}

/** The header fields a reply carries for a state at one instant, encoded for the wire. */
export interface ServedParams {
  readonly leap: Leap;
  /** Wire stratum: 16 and above go out as 0 (chronyd's "stratum 16 and larger are invalid"). */
  readonly stratum: number;
  readonly referenceId: number;
  readonly referenceTimestamp: NtpTimestamp;
  readonly rootDelay: NtpShort;
  readonly rootDispersion: NtpShort;
  readonly precision: number;
}

/**
 * The reference time served at `now`: the state's, except that the local
 * reference advances it in whole refresh steps, and never past `now` (a
 * reference time after the transmit time fails a client's sanity checks).
 */
export function referenceTimeAt(state: SystemState, now: Instant): Instant | null {
  const ref = state.referenceTime;
  if (ref === null) return null;
  if (ref > now) return now;
  if (state.kind !== 'local' || !(state.referenceRefresh > 0)) return ref;
  const step = BigInt(Math.round(state.referenceRefresh * Number(TICKS_PER_SECOND)));
  return ref + ((now - ref) / step) * step;
}

/**
 * Root dispersion at `now` (RFC 5905 §11.2: it grows at PHI — here the
 * state's dispersionRate — from the last update); constant for the local
 * reference and unsynchronized states, whose rate is 0.
 */
export function rootDispersionAt(state: SystemState, now: Instant): number {
  if (state.referenceTime === null || state.dispersionRate === 0) return state.rootDispersion;
  const elapsed = Math.max(0, diffSeconds(now, state.referenceTime));
  return state.rootDispersion + state.dispersionRate * elapsed;
}

/** Root distance λ at `now` (RFC 5905 Appendix A.5.5.2 without local terms): root delay / 2 + root dispersion. */
export function rootDistanceAt(state: SystemState, now: Instant): number {
  return state.rootDelay / 2 + rootDispersionAt(state, now);
}

/** Everything a reply at `now` takes from the state, in wire form. */
export function servedParams(state: SystemState, now: Instant): ServedParams {
  const ref = referenceTimeAt(state, now);
  return {
    leap: state.leap,
    stratum: state.stratum >= STRATUM_UNSYNCHRONIZED ? STRATUM_KISS : state.stratum,
    referenceId: state.referenceId >>> 0,
    referenceTimestamp: ref === null ? 0n : toNtpTimestamp(ref),
    rootDelay: secondsToShort(state.rootDelay),
    rootDispersion: secondsToShort(rootDispersionAt(state, now)),
    precision: state.precision,
  };
}
