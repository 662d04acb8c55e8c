/**
 * The real-clock comparison (ntpkit and chronyd disciplining a User-mode
 * Linux guest's kernel clock) rebuilt for the simulator, so the same runs
 * can be predicted in either world and set beside the guest's series with
 * the same figures (convergence-metrics.ts):
 * - one server, each direction 1 ms + jitter * Exp(1);
 * - `server ... iburst minpoll 0 maxpoll 2`;
 * - the guest's raw clock is its host's CLOCK_MONOTONIC, so the oscillator
 *   itself is taken as exact (no wander over a few minutes); its error comes
 *   from the frequency the kernel holds at the start, which the daemon takes
 *   over (from the drift file, or the kernel's own when there is none):
 *   'a' 0.5 s + 100 ppm, 100 us jitter, `makestep 0.1 3`;
 *   'b' 2 ms + 1 ppm, 10 us jitter, makestep;
 *   'c' 0.5 s + 100 ppm, 100 us jitter, slewing only;
 *   'd' 20 ms + 10 ppm, 1 ms jitter, makestep;
 *   'e' a drift file 100 ppm wrong: 2 ms off, 100 us jitter, makestep.
 * Start frequencies are what the daemon starts with (initialFrequencyPpm)
 * and the kernel holds, positive: the guest runs fast by that much. Where
 * the guest run has a drift file (a, c, e: the real test writes chrony's
 * `-100.000000 2.000000`), the engine also gets its skew, 2 ppm, as the
 * daemon passes it (daemon/engine-options.ts); without one (b, d) the
 * daemon takes the kernel's frequency and no skew.
 */
import { sourceOptions } from '../core/engine/source-options.js';
import { convergenceFigures, type ConvergenceFigures, type ConvergenceOptions } from './convergence-metrics.js';
import type { KernelWorldSpec, Scenario, World } from './scenario.js';
import { simulate, type EngineFactory, type SimResult } from './simulator.js';

export type UmlCase = 'a' | 'b' | 'c' | 'd' | 'e';
export const UML_CASES: readonly UmlCase[] = Object.freeze(['a', 'b', 'c', 'd', 'e']);

const SERVER = '192.168.77.1';

export interface CaseSpec {
  readonly label: string;
  readonly offset: number;
  readonly ppm: number;
  readonly jitter: number;
  readonly makestep: boolean;
  /** The drift file's skew, ppm, or null: no drift file. */
  readonly skew: number | null;
  /** The frequency the kernel holds at the start, ppm, when it is not `ppm` (a drift file that disagrees with the kernel). */
  readonly kernelPpm?: number;
}

const CASES: Readonly<Record<UmlCase, CaseSpec>> = Object.freeze({
  a: { label: '0.5 s + 100 ppm, 100 us jitter, makestep 0.1 3', offset: 0.5, ppm: 100, jitter: 100e-6, makestep: true, skew: 2 },
  b: { label: '2 ms + 1 ppm, 10 us jitter, makestep', offset: 2e-3, ppm: 1, jitter: 10e-6, makestep: true, skew: null },
  c: { label: '0.5 s + 100 ppm, 100 us jitter, slew only', offset: 0.5, ppm: 100, jitter: 100e-6, makestep: false, skew: 2 },
  d: { label: '20 ms + 10 ppm, 1 ms jitter, makestep', offset: 20e-3, ppm: 10, jitter: 1e-3, makestep: true, skew: null },
  e: { label: 'drift file 100 ppm wrong, 2 ms off, 100 us jitter, makestep', offset: 2e-3, ppm: 100, jitter: 100e-6, makestep: true, skew: 2 },
});

export interface UmlScenarioOptions {
  readonly world?: World;
  /** Simulated seconds (default 300). */
  readonly duration?: number;
  /** Seconds between error samples (default 0.25). */
  readonly sampleInterval?: number;
  /** The kernel world's parameters (defaults: kernel-clock.ts, measurement-path.ts). */
  readonly kernel?: KernelWorldSpec;
}

export function umlCaseLabel(c: UmlCase): string {
  return CASES[c].label;
}

/**
 * bench/uml-closedloop's scenarios, by name: the guest's runs, which the
 * bench builds from this table, and their simulated twins. Unlike the cases above, only
 * stale-drift has a drift file there (chrony's, skew 0.05 ppm) and its
 * kernel starts at 0 ppm, which the daemon overwrites from the file.
 */
export const CLOSED_LOOP: Readonly<Record<string, CaseSpec>> = Object.freeze({
  'step-0.5s': { label: '0.5 s + 100 ppm, 100 us jitter, makestep 0.1 3', offset: 0.5, ppm: 100, jitter: 100e-6, makestep: true, skew: null },
  'steady-2ms': { label: '2 ms + 1 ppm, 10 us jitter, makestep', offset: 2e-3, ppm: 1, jitter: 10e-6, makestep: true, skew: null },
  'slew-0.5s': { label: '0.5 s + 100 ppm, 100 us jitter, slew only', offset: 0.5, ppm: 100, jitter: 100e-6, makestep: false, skew: null },
  'step-20ms': { label: '20 ms + 10 ppm, 1 ms jitter, makestep', offset: 20e-3, ppm: 10, jitter: 1e-3, makestep: true, skew: null },
  'stale-drift': { label: 'kernel right, drift file +100 ppm (skew 0.05), 2 ms off, 100 us jitter, makestep', offset: 2e-3, ppm: 100, jitter: 100e-6, makestep: true, skew: 0.05, kernelPpm: 0 },
});

export const CLOSED_LOOP_SCENARIOS: readonly string[] = Object.freeze(Object.keys(CLOSED_LOOP));

/** One of bench/uml-closedloop's scenarios as a Scenario (default world 'kernel'). */
export function closedLoopScenario(name: string, o: UmlScenarioOptions = {}): Scenario {
  const k = CLOSED_LOOP[name];
  if (k === undefined) throw new RangeError(`Unknown closed-loop scenario ${JSON.stringify(name)}: expected one of ${CLOSED_LOOP_SCENARIOS.join(', ')}`);
  return caseScenario(`closed-loop ${name}`, k, o);
}

/** One case as a Scenario, in the world asked for (default 'kernel'). */
export function umlScenario(c: UmlCase, o: UmlScenarioOptions = {}): Scenario {
  return caseScenario(`uml ${c}`, CASES[c], o);
}

function caseScenario(name: string, k: CaseSpec, o: UmlScenarioOptions): Scenario {
  const duration = o.duration ?? 300;
  const sampleInterval = o.sampleInterval ?? 0.25;
  const world = o.world ?? 'kernel';
  return {
    name: `${name}: ${k.label} (${world})`,
    duration,
    sampleInterval,
    seriesInterval: sampleInterval,
    convergedAfter: duration / 2,
    world,
    kernel: { ...o.kernel, clock: { initialFrequencyPpm: k.kernelPpm ?? k.ppm, ...o.kernel?.clock } },
    client: {
      clock: { offset: k.offset, freqPpm: 0 },
      sources: [sourceOptions('server', SERVER, { iburst: true, minpoll: 0, maxpoll: 2 })],
      discipline: { makestep: k.makestep ? { threshold: 0.1, limit: 3 } : null, initialFrequencyPpm: k.ppm, initialSkewPpm: k.skew },
    },
    servers: [{ address: SERVER, path: { delay: 1e-3, jitter: k.jitter } }],
  };
}

export interface UmlRun {
  readonly case: UmlCase;
  readonly world: World;
  readonly seed: number;
  readonly figures: ConvergenceFigures;
  readonly result: SimResult;
}

/** Runs one case with one seed and computes its convergence figures from the error series. */
export function runUmlCase(c: UmlCase, engine: EngineFactory, seed: number, o: UmlScenarioOptions & { readonly metrics?: ConvergenceOptions } = {}): UmlRun {
  const scenario = umlScenario(c, o);
  const result = simulate(scenario, { engine, seed });
  const figures = convergenceFigures(result.series.map((p) => ({ t: p.t, error: p.error })), o.metrics);
  return { case: c, world: scenario.world ?? 'ideal', seed, figures, result };
}
