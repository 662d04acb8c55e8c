/**
 * The decision of a one-shot sync (`ntpkit sync`, the job of `chronyd -q`
 * and `ntpdate`): from each server's estimate, whether a majority agrees on
 * the time, and whether to step or slew the clock by how much. Sans-IO:
 * sampling and the clock change happen elsewhere.
 */
import { combineServers, type ServerEstimate } from './server-estimate.js';

/** How fast the kernel carries out a one-shot adjtime() slew: 500 us per second (MAX_TICKADJ). */
export const KERNEL_SLEW_RATE = 500e-6;

/**
 * ntpdate's rule: slew an offset up to 0.5 s, step a larger one. A 0.5 s slew
 * takes the kernel 1000 s. With `-f CONFIG` the config's makestep threshold
 * is used instead, so sync and the daemon agree on what counts as a step.
 */
export const DEFAULT_STEP_THRESHOLD = 0.5;

/**
 * The longest slew sync starts: an hour, a 1.8 s offset. ntpdate -B warns
 * that a large slew "can take a long time (hours)"; past this the clock
 * would stay wrong for longer than a step is disruptive, so sync refuses
 * and suggests --step.
 */
export const MAX_SLEW_SECONDS = 3600;

/** Below this many usable sources a one-shot sync warns: two cannot outvote a liar. */
export const RECOMMENDED_SOURCES = 3;

export type CorrectionMode = 'auto' | 'step' | 'slew';

export interface OneShotPolicy {
  readonly mode: CorrectionMode;
  /** auto: step when |offset| > threshold, else slew. Seconds. */
  readonly threshold: number;
  /** The longest slew allowed, seconds of kernel time at {@link KERNEL_SLEW_RATE}. */
  readonly maxSlewSeconds?: number;
}

/** One queried server: its estimate, or why it gave none. */
export interface OneShotServer {
  readonly name: string;
  readonly estimate: ServerEstimate | null;
  /** Why there is no estimate (timeout, unreachable...). */
  readonly error: string | null;
}

export type OneShotDecision =
  | {
    readonly action: 'step' | 'slew';
    /** How far to move the clock, seconds (positive: forward). */
    readonly offset: number;
    /** For a slew: how long the kernel will take, seconds. */
    readonly durationSeconds: number;
    /** Why step or slew, in words. */
    readonly why: string;
    /** Names of the servers whose intervals meet the majority's. */
    readonly agree: readonly string[];
    readonly falsetickers: readonly string[];
    readonly unusable: readonly string[];
    readonly warnings: readonly string[];
  }
  | {
    readonly action: 'refuse';
    readonly reason: 'no-sources' | 'no-majority' | 'slew-too-long';
    readonly message: string;
    readonly agree: readonly string[];
    readonly falsetickers: readonly string[];
    readonly unusable: readonly string[];
    readonly warnings: readonly string[];
  };

function fmt(s: number): string {
  return `${s >= 0 ? '+' : ''}${s.toFixed(6)} s`;
}

/** The one-shot decision. Falsetickers are named and left out; without a majority nothing is changed. */
export function decideOneShot(servers: readonly OneShotServer[], policy: OneShotPolicy): OneShotDecision {
  const usable = servers.filter((s): s is OneShotServer & { estimate: ServerEstimate } => s.estimate !== null);
  const unusable = servers.filter((s) => s.estimate === null).map((s) => s.name);
  const warnings: string[] = [];
  const none = { agree: [] as string[], falsetickers: [] as string[], unusable };
  if (usable.length === 0) {
    const why = servers.map((s) => `${s.name}: ${s.error ?? 'no valid reply'}`).join('; ');
    return { action: 'refuse', reason: 'no-sources', message: `No server gave a usable time${servers.length > 0 ? ` (${why})` : ' (no servers given)'}; the clock was not changed`, ...none, warnings };
  }
  if (usable.length < RECOMMENDED_SOURCES) {
    warnings.push(
      usable.length === 1
        ? `only 1 usable source (${usable[0]?.name}): nothing checks that it tells the truth; use 3 or more servers`
        : `only ${usable.length} usable sources: with two, a liar cannot be told from the truth; use 3 or more servers`,
    );
  }
  const verdict = combineServers(usable.map((s) => s.estimate));
  if (!verdict.ok) {
    const list = usable.map((s) => `${s.name} ${fmt(s.estimate.best.offset)} +- ${s.estimate.rootDistance.toFixed(6)} s`).join(', ');
    return {
      action: 'refuse', reason: 'no-majority',
      message: `No majority: the servers disagree and no time is vouched for by more than half of them (${list}); the clock was not changed`,
      ...none, warnings,
    };
  }
  const agree = verdict.agree.map((i) => (usable[i] as OneShotServer).name);
  const falsetickers = verdict.falsetickers.map((i) => (usable[i] as OneShotServer).name);
  const offset = verdict.offset;
  const magnitude = Math.abs(offset);
  const duration = magnitude / KERNEL_SLEW_RATE;
  let action: 'step' | 'slew';
  let why: string;
  if (policy.mode === 'step') {
    action = 'step';
    why = '--step';
  } else if (policy.mode === 'slew') {
    action = 'slew';
    why = '--slew';
  } else if (magnitude > policy.threshold) {
    action = 'step';
    why = `|offset| > ${policy.threshold} s threshold`;
  } else {
    action = 'slew';
    why = `|offset| <= ${policy.threshold} s threshold`;
  }
  const maxSlew = policy.maxSlewSeconds ?? MAX_SLEW_SECONDS;
  if (action === 'slew' && duration > maxSlew) {
    return {
      action: 'refuse', reason: 'slew-too-long',
      message: `Refusing to slew ${fmt(offset)}: at the kernel's 500 ppm it would take ${Math.round(duration)} s (over ${maxSlew} s), with the clock wrong all that time; use --step`,
      agree, falsetickers, unusable, warnings,
    };
  }
  return { action, offset, durationSeconds: action === 'slew' ? duration : 0, why, agree, falsetickers, unusable, warnings };
}
