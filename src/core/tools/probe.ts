/**
 * The judgement half of `ntpkit exporter`'s `/probe`: what one NTP server's
 * answer amounts to, beside the references' consensus (fleet.ts's
 * referenceConsensus, the daemon's own source selection). Pure: the querying
 * is in net/fleet-query.ts, the exposition in metrics/probe-metrics.ts.
 *
 * A fleet check (fleet.ts) judges a host against the rest of the fleet; a
 * probe sees one host at a time, so its verdict can only be against the
 * references:
 * - falseticker: the host's correctness interval (offset ± root distance)
 *   misses the references' majority intersection, chrony's own test
 *   (core/intervals.ts) for a source that cannot be telling the time;
 * - outlier: farther from the consensus than `--outlier` when given, else
 *   than its own root distance (fleet.ts's outlierLimit with no fleet spread).
 */
import type { Consensus, HostFailure, Measurement } from './fleet.js';
import { outlierLimit } from './fleet.js';

/** What the probed server answered. */
export interface ProbeAnswer {
  /** The best sample's figures (its clock minus the exporter's), or null when it gave no usable time. */
  readonly measurement: Measurement | null;
  /** Why there is no measurement; null when there is one. */
  readonly failure: HostFailure | null;
  /** From the reply used (or the last reply, when none was usable): null when nothing answered. */
  readonly stratum: number | null;
  readonly leap: number | null;
  readonly rootDelay: number | null;
  readonly rootDispersion: number | null;
  readonly jitter: number | null;
  /** Requests sent and valid replies received in this probe. */
  readonly sent: number;
  readonly answered: number;
}

export interface ProbeVerdict {
  /** Whether the server gave usable time. */
  readonly success: boolean;
  /** It answered at all (a reply, usable or not). */
  readonly reachable: boolean;
  /** Leap not 3 and stratum 1-15. Null when nothing answered, or only with a kiss-o'-death. */
  readonly synchronized: boolean | null;
  /** Its clock minus the exporter's, seconds. */
  readonly localOffset: number | null;
  /** Its clock minus the references' consensus, seconds; null without references or a consensus among them. */
  readonly referenceOffset: number | null;
  /** Null without a consensus to judge against. */
  readonly falseticker: boolean | null;
  readonly outlier: boolean | null;
  /** The |referenceOffset| beyond which it is an outlier. */
  readonly outlierLimit: number | null;
}

export interface ProbeOptions {
  /** Fixed outlier limit, seconds; else the host's root distance. */
  readonly outlierSeconds?: number;
}

/** The unsynchronized leap indicator (RFC 5905 figure 9). */
const LEAP_UNSYNCHRONIZED = 3;

export function judgeProbe(a: ProbeAnswer, consensus: Consensus | null, o: ProbeOptions = {}): ProbeVerdict {
  const reachable = a.answered > 0 || a.stratum !== null;
  // A kiss-o'-death carries stratum 0 by design: it says nothing of the server's synchronization.
  const synchronized = a.stratum === null || a.leap === null || a.failure === 'kod' ? null
    : a.leap !== LEAP_UNSYNCHRONIZED && a.stratum >= 1 && a.stratum <= 15;
  const m = a.measurement;
  const base = { success: m !== null, reachable, synchronized, localOffset: m?.offset ?? null };
  if (m === null || consensus === null || !consensus.ok) {
    return { ...base, referenceOffset: null, falseticker: null, outlier: null, outlierLimit: null };
  }
  const referenceOffset = m.offset - consensus.offset;
  const falseticker = m.offset + m.distance < consensus.low || m.offset - m.distance > consensus.high;
  const limit = outlierLimit(m, 0, o.outlierSeconds !== undefined ? { outlierSeconds: o.outlierSeconds } : {});
  return { ...base, referenceOffset, falseticker, outlier: Math.abs(referenceOffset) > limit, outlierLimit: limit };
}

/**
 * The target's reach register after one more probe, as chrony's for a
 * source: the last 8 probes, newest in bit 0.
 */
export function shiftReach(register: number, answered: boolean): number {
  return ((register << 1) | (answered ? 1 : 0)) & 0xff;
}

/** Set bits of a reach register: probes answered among the last 8. */
export function reachCount(register: number): number {
  let n = 0;
  for (let r = register & 0xff; r !== 0; r >>= 1) n += r & 1;
  return n;
}
