/**
 * Clock discipline: turns the combined estimate (offset now, oscillator
 * frequency) into corrections, as chrony's reference.c does.
 *
 * - Frequency: the base correction is the estimated oscillator frequency,
 *   clamped to ±maxdrift. Phase and frequency are estimated together (the
 *   sources' Kalman filters), so the base frequency needs no loop filter of
 *   its own.
 * - Offset: slewed out by a temporary extra frequency, never faster than
 *   maxslewrate, over at least `minSlewTime` (the estimate is already
 *   filtered, so waiting longer only leaves a known error in place); a timer
 *   ends the slew. chrony's corrtimeratio trades the same way but slower.
 * - Step: only as `makestep threshold limit` allows (the first `limit`
 *   updates, or always with a negative limit).
 * - maxchange: after `start` updates an offset beyond the limit is ignored,
 *   `ignore` times in all, then the engine reports it as fatal (chronyd exits).
 * - Tracking figures: last and RMS offset, update interval, frequency.
 */
import { addSeconds, diffSeconds, type Instant } from '../../time/instant.js';
import type { DisciplineOptions, EngineAction } from './engine-api.js';
import type { ClockModel } from './clock-model.js';
import type { ClockController, SystemEstimate, UpdateOutcome } from './clock-controller.js';

/** Seconds between periodic drift file writes (chrony: hourly). */
export const DRIFT_WRITE_INTERVAL = 3600;

export class Discipline implements ClockController {
  private o: DisciplineOptions;
  /** Updates made before makestep was last set: its limit counts from there (chronyc makestep threshold limit). */
  private makestepFrom = 0;
  private readonly clock: ClockModel;
  private readonly minSlewTime: number;
  /** Clock updates made (steps and slews). */
  private madeUpdates = 0;
  private lastUpdateAt: Instant | null = null;
  private interval = 0;
  private last = 0;
  private meanSq = 0;
  private nSq = 0;
  private skew: number;
  /** When the current slew ends, or null. */
  private slewEndsAt: Instant | null = null;
  /** No steps before this instant (a leap second is being slewed out). */
  private noStepUntil: Instant | null = null;
  private lastDriftWrite: Instant | null = null;
  private ignoredChanges = 0;

  constructor(o: DisciplineOptions, clock: ClockModel, minSlewTime = 1) {
    this.o = o;
    this.clock = clock;
    this.minSlewTime = minSlewTime;
    this.skew = o.initialSkewPpm ?? 0;
  }

  get updates(): number { return this.madeUpdates; }
  get updateInterval(): number { return this.interval; }
  get lastOffset(): number { return this.last; }
  get skewPpm(): number { return this.skew; }
  /** When the current slew ends, or null. */
  get slewEnd(): Instant | null { return this.slewEndsAt; }
  get nextWake(): Instant | null { return this.slewEndsAt; }

  get rmsOffset(): number {
    return Math.sqrt(this.meanSq);
  }

  /** The base frequency in force, ppm. */
  get frequencyPpm(): number { return this.clock.basePpm; }

  /** Offset still being slewed out at `now`, seconds (positive: the clock will move forward). */
  remainingCorrection(now: Instant): number {
    if (this.slewEndsAt === null || now >= this.slewEndsAt) return 0;
    return (this.clock.ppm - this.clock.basePpm) * 1e-6 * diffSeconds(this.slewEndsAt, now) / (1 + this.clock.ppm * 1e-6);
  }

  private clampFreq(ppm: number): number {
    return Math.min(this.o.maxdrift, Math.max(-this.o.maxdrift, ppm));
  }

  /** One clock update from the combined estimate. */
  update(now: Instant, e: SystemEstimate, actions: EngineAction[]): UpdateOutcome {
    const off = e.offset;
    const mc = this.o.maxchange;
    // As chronyd (reference.c is_offset_ok): a negative START never checks; after START updates,
    // IGNORE offsets beyond the limit are ignored in all, not only in a row (a negative IGNORE:
    // every one), and the next one is fatal.
    if (mc !== null && mc.start >= 0 && this.madeUpdates >= mc.start && Math.abs(off) > mc.offset) {
      if (mc.ignore >= 0 && this.ignoredChanges >= mc.ignore) return 'fatal';
      this.ignoredChanges++;
      return 'ignored';
    }
    if (this.lastUpdateAt !== null) this.interval = diffSeconds(now, this.lastUpdateAt);
    this.lastUpdateAt = now;
    this.last = off;
    // chrony's RMS offset is a long-term average: weight recent updates, forget slowly.
    const w = Math.max(1 / (this.nSq + 1), 1 / 32);
    this.meanSq = (1 - w) * this.meanSq + w * off * off;
    this.nSq++;
    this.skew = e.skewPpm;
    const base = this.clampFreq(e.freqPpm);

    const ms = this.o.makestep;
    const stepAllowed = ms !== null && (ms.limit < 0 || this.madeUpdates - this.makestepFrom < ms.limit) &&
      (this.noStepUntil === null || now >= this.noStepUntil);
    this.madeUpdates++;
    if (stepAllowed && Math.abs(off) > ms.threshold) {
      actions.push({ kind: 'step', seconds: off });
      actions.push({ kind: 'event', event: { type: 'step', seconds: off } });
      this.clock.step(now, off);
      const after = addSeconds(now, off);
      this.setFrequency(after, base, base, actions);
      this.slewEndsAt = null;
      this.maybeWriteDrift(after, actions);
      return 'stepped';
    }
    this.slew(now, off, base, actions);
    this.maybeWriteDrift(now, actions);
    return 'slewed';
  }

  /** chronyc `makestep threshold limit`: from now on, step beyond `threshold` during the next `limit` updates. */
  setMakestep(threshold: number, limit: number): void {
    this.o = { ...this.o, makestep: { threshold, limit } };
    this.makestepFrom = this.madeUpdates;
  }

  /**
   * chronyc `makestep`: the correction still being slewed out is applied as
   * a step now, and the frequency returns to the base. Returns the step,
   * seconds (0: nothing was left to correct).
   */
  stepRemaining(now: Instant, actions: EngineAction[]): number {
    const off = this.remainingCorrection(now);
    this.slewEndsAt = null;
    if (off === 0) return 0;
    actions.push({ kind: 'step', seconds: off });
    actions.push({ kind: 'event', event: { type: 'step', seconds: off } });
    this.clock.step(now, off);
    this.setFrequency(addSeconds(now, off), this.clock.basePpm, this.clock.basePpm, actions);
    return off;
  }

  slewLeap(now: Instant, seconds: number, actions: EngineAction[]): void {
    // chrony: slewed out at maxslewrate (about 12 s with the default), never stepped.
    const remaining = seconds + this.remainingCorrection(now);
    this.slew(now, remaining, this.clock.basePpm, actions, true);
    this.noStepUntil = this.slewEndsAt === null ? null : addSeconds(this.slewEndsAt, 1);
  }

  /** No step before `until`, whatever makestep allows. */
  noStepsBefore(until: Instant | null): void {
    this.noStepUntil = until;
  }

  /** Slews `off` seconds out on top of `base` ppm, as fast as allowed but over at least minSlewTime. */
  private slew(now: Instant, off: number, base: number, actions: EngineAction[], fastest = false): void {
    const maxRate = this.o.maxslewrate * 1e-6;
    const duration = fastest ? Math.abs(off) / maxRate : Math.max(Math.abs(off) / maxRate, this.minSlewTime);
    if (off === 0 || !(duration > 0)) {
      this.setFrequency(now, base, base, actions);
      this.slewEndsAt = null;
      return;
    }
    const ratePpm = (off / duration) * 1e6;
    this.setFrequency(now, base + ratePpm, base, actions);
    // `duration` oscillator seconds last (1 + f) seconds of the clock being slewed.
    this.slewEndsAt = addSeconds(now, duration * (1 + (base + ratePpm) * 1e-6));
  }

  /** Ends a slew that is due; returns whether it did. */
  tick(now: Instant, actions: EngineAction[]): boolean {
    if (this.slewEndsAt === null || now < this.slewEndsAt) return false;
    this.slewEndsAt = null;
    this.setFrequency(now, this.clock.basePpm, this.clock.basePpm, actions);
    return true;
  }

  private setFrequency(now: Instant, ppm: number, base: number, actions: EngineAction[]): void {
    this.clock.setFrequency(now, ppm, base);
    actions.push({ kind: 'set-frequency', ppm });
  }

  setBaseFrequency(now: Instant, ppm: number, actions: EngineAction[]): void {
    const base = this.clampFreq(ppm);
    const slew = this.slewEndsAt !== null && now < this.slewEndsAt ? this.clock.ppm - this.clock.basePpm : 0;
    this.setFrequency(now, base + slew, base, actions);
  }

  /** Drift file contents now. */
  drift(): { frequencyPpm: number; skewPpm: number } {
    return { frequencyPpm: this.clock.basePpm, skewPpm: this.skew };
  }

  private maybeWriteDrift(now: Instant, actions: EngineAction[]): void {
    if (this.lastDriftWrite === null) { this.lastDriftWrite = now; return; }
    if (diffSeconds(now, this.lastDriftWrite) >= DRIFT_WRITE_INTERVAL) {
      this.lastDriftWrite = now;
      actions.push({ kind: 'write-drift', ...this.drift() });
    }
  }
}
