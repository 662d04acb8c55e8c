/**
 * The seam between the system estimate and the clock (chrony's reference.c
 * against sources.c; ntpd-rs's TimeSyncController): a controller takes the
 * combined estimate of the selected sources and decides how the clock moves
 * (slew, step, frequency), pushing the actions for the driver to carry out.
 * It records every correction in the engine's ClockModel, so the sources'
 * estimates, kept on the raw timescale, stay untouched by what it does.
 *
 * Controllers are chosen by name (controllers.ts); the engine never reaches
 * into one's state, so any of them can stand in for another on the same
 * seeds in the simulator.
 */
import type { Instant } from '../../time/instant.js';
import type { ClockModel } from './clock-model.js';
import type { DisciplineOptions, EngineAction } from './engine-api.js';

/** The combined estimate of the selected sources (selection.ts), on the disciplined clock. */
export interface SystemEstimate {
  /** Source − cooked clock now, seconds: positive when our clock is behind. */
  readonly offset: number;
  /** Oscillator frequency estimate: the base correction that makes the clock run right, ppm. */
  readonly freqPpm: number;
  /** Its standard error, ppm. */
  readonly skewPpm: number;
}

/** What an update did: `ignored` and `fatal` are chrony's maxchange verdicts (the clock did not move). */
export type UpdateOutcome = 'slewed' | 'stepped' | 'ignored' | 'fatal';

export interface ClockController {
  /** One clock update from the combined estimate. */
  update(now: Instant, estimate: SystemEstimate, actions: EngineAction[]): UpdateOutcome;
  /** The wake-up asked for by `nextWake` came (calling it early is harmless). */
  tick(now: Instant, actions: EngineAction[]): void;
  /** When tick() must run next (a slew ends), or null. */
  readonly nextWake: Instant | null;
  /** Offset still being corrected at `now`, seconds (positive: the clock will move forward). */
  remainingCorrection(now: Instant): number;
  /** chronyc `makestep`: step out what is still being corrected; returns the step, seconds (0: none). */
  stepRemaining(now: Instant, actions: EngineAction[]): number;
  /** chronyc `makestep threshold limit`: the limit counts updates from now on. */
  setMakestep(threshold: number, limit: number): void;
  /**
   * leapsecmode slew: UTC moved by `seconds`; correct it on top of what is
   * under way, as fast as allowed, and step nothing until it is done.
   */
  slewLeap(now: Instant, seconds: number, actions: EngineAction[]): void;
  /** chronyd's LCL_SetAbsoluteFrequency (a fallback drift): the base frequency becomes `ppm`; a slew under way goes on. */
  setBaseFrequency(now: Instant, ppm: number, actions: EngineAction[]): void;
  /** The drift file's contents now, ppm. */
  drift(): { frequencyPpm: number; skewPpm: number };
  /** chronyc tracking's figures: the base frequency in force, its error, the last and RMS offsets, seconds between updates. */
  readonly frequencyPpm: number;
  readonly skewPpm: number;
  readonly lastOffset: number;
  readonly rmsOffset: number;
  readonly updateInterval: number;
}

/** What a controller is built from. */
export interface ControllerContext {
  readonly options: DisciplineOptions;
  /** The engine's record of the clock's corrections; the controller records each one it makes. */
  readonly clock: ClockModel;
  /** Shortest slew of an offset correction, seconds (a tuning knob). */
  readonly minSlewTime: number;
}

export type ControllerFactory = (context: ControllerContext) => ClockController;
