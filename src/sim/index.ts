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
export type { ClientSpec, DnsAnswer, Scenario, SimContext } from './scenario.js';
export { simulate, type EngineFactory, type SimulateOptions, type SimMetrics, type SimResult, type SimSample } from './simulator.js';
export { chronyComparison, convergence, type ComparisonTest } from './chrony-scenarios.js';
