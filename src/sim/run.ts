/**
 * runScenario(): one simulation against the real engine (core/engine.ts
 * SyncEngine) unless another SyncEngineApi is given. The loop itself lives
 * in simulator.ts, which does not import the engine.
 */
import { SyncEngine } from '../core/engine.js';
import type { Scenario } from './scenario.js';
import { simulate, type EngineFactory, type SimResult } from './simulator.js';

export type { EngineFactory, SimMetrics, SimResult, SimSample } from './simulator.js';
export type { Scenario } from './scenario.js';

/** The production engine, as the daemon builds it. */
export const syncEngine: EngineFactory = (options) => new SyncEngine(options);

/** `controller`: the clock controller by name (core/controllers.ts), default the daemon's. */
export function runScenario(scenario: Scenario, options: { readonly engine?: EngineFactory; readonly seed: number; readonly controller?: string }): SimResult {
  return simulate(scenario, {
    engine: options.engine ?? syncEngine, seed: options.seed,
    ...(options.controller !== undefined ? { controller: options.controller } : {}),
  });
}
