/**
 * Time smoothing (chrony's `smoothtime`): an offset added to the time the NTP
 * server serves, so that its clients see no step and no sudden frequency
 * change when the daemon's own clock gets one (a leap second above all).
 *
 * The offset to hide is removed in up to three stages (chrony's smooth.c):
 * the served frequency changes at a constant rate (the wander) up to a
 * maximum, stays at that maximum as long as needed, and comes back to zero at
 * the same rate. The offset is the integral of that frequency: two quadratic
 * pieces and a linear one, continuous and with a continuous first derivative.
 *
 * This file holds the curve (plain data, so the served state can carry it to
 * server workers) and the arithmetic on it; when the curve is re-planned is
 * the engine's business (engine/time-smoothing.ts).
 */
import { addSeconds, diffSeconds, type Instant } from '../time/instant.js';
import type { SystemState } from './system.js';

export interface SmoothingStage {
  /** Seconds per second per second: how fast the served frequency changes during the stage. */
  readonly wander: number;
  /** Seconds. */
  readonly length: number;
}

export interface SmoothingCurve {
  /** When the curve was last planned. */
  readonly at: Instant;
  /** Seconds added to the served time at `at`. */
  readonly offset: number;
  /** Seconds per second at `at`: the rate at which the offset shrinks (positive: it decreases). */
  readonly freq: number;
  /** The three stages from `at`; after them the offset stays constant (normally 0). */
  readonly stages: readonly SmoothingStage[];
}

/** The smoothing at an instant: its offset, frequency and wander (chrony's signs: see SmoothingCurve). */
export interface SmoothingPoint {
  readonly offset: number;
  readonly freq: number;
  readonly wander: number;
}

export const NO_SMOOTHING: readonly SmoothingStage[] = Object.freeze([]);

/** Where the curve stands `now` (before `at`: where it stood at `at`). */
export function smoothingAt(c: SmoothingCurve, now: Instant): SmoothingPoint {
  let elapsed = diffSeconds(now, c.at);
  let offset = c.offset;
  let freq = c.freq;
  let wander = 0;
  for (const s of c.stages) {
    if (elapsed <= 0) break;
    const length = Math.min(s.length, elapsed);
    wander = s.wander;
    offset -= length * (2 * freq + wander * length) / 2;
    freq += wander * length;
    elapsed -= length;
  }
  if (elapsed > 0) {
    wander = 0;
    offset -= elapsed * freq;
  }
  return { offset, freq, wander };
}

/** Seconds the stages of `c` last in all. */
export function smoothingLength(c: SmoothingCurve): number {
  return c.stages.reduce((sum, s) => sum + s.length, 0);
}

/**
 * The three stages that bring `offset` (seconds) and `freq` (s/s) to zero
 * together, changing the frequency by at most `maxWander` s/s² and never
 * beyond `maxFreq` s/s (chrony's update_stages()).
 */
export function planStages(offset: number, freq: number, maxWander: number, maxFreq: number): SmoothingStage[] {
  const s1 = offset / maxWander;
  const s2 = (freq * freq) / (2 * maxWander * maxWander);
  // The direction of the first stage is the one that gives lengths >= 0; with
  // tiny offsets rounding can make both negative, so keep the smaller error.
  const tries = [-1, 1].map((dir) => {
    let err = 0;
    let s = dir * s1 + s2;
    if (s < 0) { err += -s; s = 0; }
    const l3 = Math.sqrt(s);
    let l1 = l3 - (dir * freq) / maxWander;
    if (l1 < 0) { err += l1 * l1; l1 = 0; }
    return { dir, l1, l3, err };
  });
  const best = (tries[0] as (typeof tries)[0]).err < (tries[1] as (typeof tries)[0]).err ? tries[0] as (typeof tries)[0] : tries[1] as (typeof tries)[0];
  let { l1, l3 } = best;
  const dir = best.dir;
  let l2 = 0;
  // Beyond the frequency limit: shorten the first and last stages and hold the maximum between them.
  const over = dir * freq + l1 * maxWander - maxFreq;
  if (over > 0) {
    let lc = over / maxWander;
    let f2 = maxFreq;
    if (lc > l1) {
      // Already above the maximum: no first stage.
      lc = l1;
      f2 = dir * freq;
    }
    l2 = lc * (2 + over / f2);
    l1 -= lc;
    l3 -= lc;
  }
  return [
    { wander: dir * maxWander, length: l1 },
    { wander: 0, length: l2 },
    { wander: -dir * maxWander, length: l3 },
  ];
}

/** chronyd's reference id in replies whose time is smoothed: 127.127.1.255 (ntp_core.c NTP_REFID_SMOOTH). */
export const SMOOTHED_REFERENCE_ID = 0x7f7f01ff;

/**
 * What the server adds to its clock reading: the smoothing offset, plus the
 * part of the daemon's own correction still being slewed out, because chrony
 * smooths its corrected time (the clock with every pending correction
 * applied), not the clock as it reads while a slew is under way.
 */
export interface ServedSmoothing {
  readonly curve: SmoothingCurve;
  /** Seconds the clock will still move by slewing, as of `slewAt`; 0 when none. */
  readonly slewRemaining: number;
  readonly slewAt: Instant;
  /** When that slew ends. */
  readonly slewEnd: Instant;
  /** Below this many seconds the offset is not applied (chrony: the clock's precision as a quantum). */
  readonly quantum: number;
}

/** Seconds to add to the clock reading `now` for the time served, and whether the smoothing offset itself counts. */
export function servedShift(s: ServedSmoothing, now: Instant): { readonly shift: number; readonly smoothed: boolean } {
  const smooth = smoothingAt(s.curve, now).offset;
  const smoothed = Math.abs(smooth) > s.quantum;
  return { shift: slewLeft(s, now) + (smoothed ? smooth : 0), smoothed };
}

function slewLeft(s: ServedSmoothing, now: Instant): number {
  if (s.slewRemaining === 0 || now >= s.slewEnd) return 0;
  const span = diffSeconds(s.slewEnd, s.slewAt);
  if (span <= 0) return 0;
  return s.slewRemaining * Math.min(1, diffSeconds(s.slewEnd, now) / span);
}

/**
 * The state a reply at `now` carries, and the seconds to add to its receive
 * and transmit timestamps: with the time smoothed, chronyd sends refid
 * 127.127.1.255 and shifts the reference time by the same offset.
 */
export function smoothedReply(state: SystemState, now: Instant): { readonly state: SystemState; readonly shift: number } {
  const s = state.smoothing;
  if (s === undefined || s === null) return { state, shift: 0 };
  const { shift, smoothed } = servedShift(s, now);
  if (!smoothed) return { state, shift };
  return {
    state: { ...state, referenceId: SMOOTHED_REFERENCE_ID, referenceTime: state.referenceTime === null ? null : addSeconds(state.referenceTime, shift) },
    shift,
  };
}
