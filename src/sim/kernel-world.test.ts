/**
 * The 'kernel' world runs the real engine (core/engine/engine.ts) to
 * convergence, and its measurement path does what it says: a late t4
 * biases the clock by half the lateness, a late reply processing does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyncEngine } from '../core/engine/engine.js';
import type { EngineOptions, SyncEngineApi } from '../core/engine/engine-api.js';
import { convergence } from './chrony-scenarios.js';
import { simulate } from './simulator.js';
import { runUmlCase, umlScenario } from './uml-scenarios.js';

const engine = (o: EngineOptions): SyncEngineApi => new SyncEngine(o);

test('kernel world: from 0.5 s and 100 ppm off with makestep, the engine converges and holds within 1 ms', () => {
  const r = runUmlCase('a', engine, 1, { world: 'kernel', duration: 120 });
  const [w10ms, w1ms] = r.figures.within;
  assert.ok(w10ms?.time !== null && w1ms?.time !== null && (w1ms?.time ?? Infinity) < 60, `within 1 ms after ${w1ms?.time} s`);
  // Loose on purpose: a guarantee (it converges and stays converged), not the engine's accuracy, which the bench reports.
  assert.ok(r.figures.steadySd < 1e-3, `steady sd ${r.figures.steadySd}`);
  assert.ok(Math.abs(r.figures.settledLevel) < 1e-3, `settled level ${r.figures.settledLevel}`);
  assert.equal(r.result.metrics.steps, 1, 'one step from 0.5 s');
});

test('kernel world: the same scenario in the ideal world is the same run as before (world defaults to ideal)', () => {
  const a = simulate({ ...convergence('makestep', { duration: 60 }) }, { engine, seed: 3 });
  const b = simulate({ ...convergence('makestep', { duration: 60 }), world: 'ideal' }, { engine, seed: 3 });
  assert.deepEqual(a.series, b.series);
});

test('kernel world, JavaScript stamping: t4 read 1 ms late leaves the clock about 0.5 ms behind; kernel stamps do not', () => {
  const late = { min: 1e-3, scale: 1e-6 };
  const level = (stamping: 'js' | 'kernel'): number => {
    const s = umlScenario('b', { world: 'kernel', duration: 120, kernel: { path: { stamping, eventLoopDelay: late } } });
    const r = simulate(s, { engine, seed: 2 });
    const tail = r.series.filter((p) => p.t >= 60).map((p) => p.error);
    return tail.reduce((a, b) => a + b, 0) / tail.length;
  };
  // offset = ((T2 - T1) + (T3 - T4)) / 2: T4 late by d reads the client d/2 ahead, so the engine sets it d/2 behind
  // (less half the default send latency, ~13 us, by which a JS t1 is early).
  const js = level('js');
  assert.ok(js < -0.4e-3 && js > -0.6e-3, `js: ${js}`);
  const kernel = level('kernel');
  assert.ok(Math.abs(kernel) < 50e-6, `kernel: ${kernel}`);
});
