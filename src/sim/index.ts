/**
 * The deterministic simulator: simulated clocks,
 * network and servers driving any SyncEngineApi. runScenario() in run.ts
 * adds the production engine as the default.
 */
export { Random } from './random.js';
export { SimClock, DAY_TICKS, secondsToTicks, type OscillatorSpec, type TrueTime, type AppliedLeap } from './sim-clock.js';
export { Path, type PathSpec } from './network.js';
export { SimServer, inWindows, type ServerSpec, type TimeWindow, type ServerCountersSim } from './sim-server.js';
export { EventQueue } from './event-queue.js';
export type { ClientSpec, DnsAnswer, KernelWorldSpec, Scenario, SimContext, World } from './scenario.js';
export { KernelClock, KernelTimex, type KernelClockSpec } from './kernel-clock.js';
export { MeasurementPath, MEASUREMENT_PATH_DEFAULTS, type LatencySpec, type MeasurementPathSpec } from './measurement-path.js';
export { convergenceFigures, DEFAULT_THRESHOLDS, type ConvergenceFigures, type ConvergenceOptions, type ErrorPoint, type TimeWithin } from './convergence-metrics.js';
export { CLOSED_LOOP_SCENARIOS, UML_CASES, closedLoopScenario, runUmlCase, umlCaseLabel, umlScenario, type UmlCase, type UmlRun, type UmlScenarioOptions } from './uml-scenarios.js';
export { KERNEL_PRESETS, UML_PATH } from './uml-path.js';
export { simulate, type EngineFactory, type SimulateOptions, type SimMetrics, type SimResult, type SimSample } from './simulator.js';
export { chronyComparison, convergence, type ComparisonTest } from './chrony-scenarios.js';
