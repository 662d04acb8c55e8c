/**
 * One on-wire measurement: the four timestamps of a client/server exchange and
 * what RFC 5905 §8 derives from them.
 */
import { diffSeconds, type Instant } from '../time/instant.js';

/** PHI of RFC 5905 §7.2: the assumed frequency tolerance, 15 ppm, for dispersion growth. */
export const PHI = 15e-6;
/**
 * MINDISP of RFC 5905 Appendix A.1.1 (0.01 s): the floor on root delay + delay
 * in the root distance, so that sources on a very short path still get
 * correctness intervals wide enough to overlap (A.5.5.2).
 */
export const MINDISP = 0.01;
/** MAXDISP of RFC 5905 (16 s): the dispersion of a source we know nothing about. */
export const MAXDISP = 16;

export interface Timestamps {
  /** Client transmit, on the client's clock. */
  readonly t1: Instant;
  /** Server receive, on the server's clock. */
  readonly t2: Instant;
  /** Server transmit, on the server's clock. */
  readonly t3: Instant;
  /** Client receive, on the client's clock. */
  readonly t4: Instant;
}

export interface Sample extends Timestamps {
  /** θ = ((t2 − t1) + (t3 − t4)) / 2, seconds: how far the server is ahead of us. */
  readonly offset: number;
  /** δ = (t4 − t1) − (t3 − t2), seconds, floored at the client's precision (RFC 5905 §8). */
  readonly delay: number;
  /** ε = ρ_client + ρ_server + PHI·(t4 − t1), seconds: the sample's own error bound. */
  readonly dispersion: number;
}

/**
 * Offset, delay and dispersion of an exchange. Differences are taken exactly
 * on the bigint instants before conversion to float, so nothing is lost even
 * though the instants themselves exceed float precision.
 */
export function computeSample(ts: Timestamps, clientPrecision: number, serverPrecision: number): Sample {
  const { t1, t2, t3, t4 } = ts;
  const offset = diffSeconds((t2 - t1) + (t3 - t4), 0n) / 2;
  const rawDelay = diffSeconds((t4 - t1) - (t3 - t2), 0n);
  const delay = Math.max(rawDelay, clientPrecision);
  const dispersion = clientPrecision + serverPrecision + PHI * diffSeconds(t4, t1);
  return { ...ts, offset, delay, dispersion };
}

export interface DistanceInputs {
  readonly delay: number;
  readonly dispersion: number;
  readonly rootDelay: number;
  readonly rootDispersion: number;
  /** RMS jitter of the source's offsets, seconds (0 with a single sample). */
  readonly jitter: number;
}

/**
 * Root distance λ (RFC 5905 Appendix A.5.5.2): half the total round trip to
 * the primary reference (at least MINDISP) plus every dispersion and the
 * jitter. [θ − λ, θ + λ] is the source's correctness interval (§11.2.1).
 */
export function rootDistance(d: DistanceInputs): number {
  return Math.max(MINDISP, d.rootDelay + d.delay) / 2 + d.rootDispersion + d.dispersion + d.jitter;
}

/**
 * RMS difference of the offsets from the chosen one (RFC 5905 §10, clock
 * filter jitter). Zero when there is only one sample.
 */
export function offsetJitter(offsets: readonly number[], chosen: number): number {
  if (offsets.length < 2) return 0;
  let sum = 0;
  for (const o of offsets) sum += (o - chosen) ** 2;
  return Math.sqrt(sum / (offsets.length - 1));
}
