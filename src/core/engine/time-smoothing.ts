/**
 * chrony's `smoothtime MAXFREQ MAXWANDER [leaponly]` (smooth.c): keeps the
 * smoothing curve (core/smoothing.ts) the NTP server adds to its time, and
 * re-plans it whenever the daemon's corrected time jumps or changes rate.
 *
 * - It starts locked: nothing is smoothed until the clock has settled (the
 *   estimated skew below MAXWANDER × 10000), because the first corrections
 *   of a daemon only just started would be stretched over hours. With
 *   `leaponly` it unlocks at the first clock update.
 * - Unlocked, every slewed correction and frequency change is absorbed into
 *   the curve and handed out at the bounded rate. Steps are not: chronyd
 *   serves a step as it is (only a leap second is smoothed).
 * - With `leaponly` only the leap second is absorbed; the other corrections
 *   are served as they are made.
 */
import { diffSeconds, type Instant } from '../../time/instant.js';
import { planStages, smoothingAt, smoothingLength, type SmoothingCurve } from '../smoothing.js';

export interface SmoothtimeOptions {
  /** Largest frequency of the served time relative to the corrected time, ppm. */
  readonly maxFreqPpm: number;
  /** Largest change of that frequency, ppm per second. */
  readonly maxWanderPpm: number;
  /** Only leap seconds are smoothed. */
  readonly leapOnly: boolean;
}

/** chronyd's `chronyc smoothing` figures, with its signs (positive frequency and wander: the served time speeds up). */
export interface SmoothingReport {
  readonly active: boolean;
  readonly leapOnly: boolean;
  /** Seconds added to the served time now. */
  readonly offset: number;
  readonly freqPpm: number;
  readonly wanderPpm: number;
  /** Seconds since the curve was last planned (0 while locked). */
  readonly lastUpdateAgo: number;
  /** Seconds until the offset is gone (0 while locked). */
  readonly remainingTime: number;
}

/** chrony's UNLOCK_SKEW_WANDER_RATIO: the skew (s/s) must fall below this many times MAXWANDER (s/s²) before smoothing starts. */
const UNLOCK_SKEW_WANDER_RATIO = 10000;

export class TimeSmoothing {
  private locked = true;
  private c: SmoothingCurve;
  private readonly maxFreq: number;
  private readonly maxWander: number;

  constructor(private readonly o: SmoothtimeOptions, now: Instant) {
    this.maxFreq = o.maxFreqPpm * 1e-6;
    this.maxWander = o.maxWanderPpm * 1e-6;
    this.c = { at: now, offset: 0, freq: 0, stages: [] };
  }

  get curve(): SmoothingCurve { return this.c; }
  get active(): boolean { return !this.locked; }

  /**
   * A clock update: the corrected time jumped by `jump` seconds (positive:
   * forward) and its rate changed by `rateChange` (s/s, positive: faster).
   * Returns true when this update unlocked the smoothing.
   */
  updated(now: Instant, jump: number, rateChange: number, skewPpm: number): boolean {
    if (this.locked) {
      if (this.o.leapOnly || (skewPpm * 1e-6) / this.maxWander < UNLOCK_SKEW_WANDER_RATIO) {
        this.locked = false;
        this.c = { ...this.c, at: now };
        return true;
      }
      return false;
    }
    if (this.o.leapOnly) this.replan(now, 0, 0);
    else this.replan(now, jump, rateChange);
    return false;
  }

  /** The leap second (leapsecmode slew or step): UTC moved by `shift` seconds and the corrected time with it. */
  leap(now: Instant, shift: number): void {
    // Locked, chronyd loses the leap too (smooth.c update_smoothing): there is no curve to put it on yet.
    if (this.locked) return;
    this.replan(now, shift, 0);
  }

  /** chronyc `smoothtime activate`: start smoothing now, without waiting for the skew to settle (chronyd's SMT_Activate). */
  activate(now: Instant): void {
    if (!this.locked) return;
    this.locked = false;
    this.c = { ...this.c, at: now };
  }

  /** chronyc `smoothtime reset`: no offset to hide from now on. */
  reset(now: Instant): void {
    this.c = { at: now, offset: 0, freq: 0, stages: [] };
  }

  report(now: Instant): SmoothingReport {
    const p = smoothingAt(this.c, now);
    const elapsed = diffSeconds(now, this.c.at);
    const live = !this.locked && elapsed >= 0;
    const length = smoothingLength(this.c);
    return {
      active: !this.locked,
      leapOnly: this.o.leapOnly,
      offset: p.offset,
      freqPpm: -p.freq * 1e6,
      wanderPpm: -p.wander * 1e6,
      lastUpdateAgo: live ? elapsed : 0,
      remainingTime: live && elapsed < length ? length - elapsed : 0,
    };
  }

  private replan(now: Instant, jump: number, rateChange: number): void {
    const p = smoothingAt(this.c, now);
    // Served = corrected + offset stays where it was: the offset takes the jump back, and its
    // rate takes the rate change back.
    const offset = p.offset - jump;
    const freq = (p.freq + rateChange) / (1 + rateChange);
    this.c = { at: now, offset, freq, stages: planStages(offset, freq, this.maxWander, this.maxFreq) };
  }
}
