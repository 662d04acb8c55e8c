/**
 * The 'kernel' world runs the real engine (core/engine/engine.ts) to
 * convergence, and its measurement path does what it says: a late t4
 * biases the clock by half the lateness, a late reply processing does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyncEngine } from '../core/engine/engine.js';
import type { EngineAction, EngineOptions, SyncEngineApi } from '../core/engine/engine-api.js';
import { addSeconds, diffSeconds, instantFromUnixSeconds, type Instant } from '../time/instant.js';
import { convergence } from './chrony-scenarios.js';
import { simulate } from './simulator.js';
import { StandInEngine } from './stand-in-engine.test-helper.js';
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

/** The stand-in engine, asking only for timers (and one step at the start). */
class TimerProbe extends StandInEngine {
  readonly ticks: Instant[] = [];
  constructor(o: EngineOptions, private readonly first: EngineAction[]) {
    super(o);
  }
  override start(): EngineAction[] {
    return this.first;
  }
  override tick(now: Instant): EngineAction[] {
    this.ticks.push(now);
    return [];
  }
}

function probeTicks(world: 'ideal' | 'kernel', first: (start: Instant) => EngineAction[]): number[] {
  let probe: TimerProbe | null = null;
  const start = instantFromUnixSeconds(1_704_067_200);
  simulate({
    duration: 3, world, client: { sources: [] }, servers: [],
    kernel: { path: { timerLateness: { min: 0.005, scale: 0 } } },
  }, { engine: (o) => (probe = new TimerProbe(o, first(start))), seed: 1 });
  return (probe as TimerProbe | null)?.ticks.map((t) => diffSeconds(t, start)) ?? [];
}

test('kernel world: a timer is armed in whole ms, rounded up, and fires late by the path\'s lateness; the ideal one fires on time', () => {
  const first = (s: Instant): EngineAction[] => [{ kind: 'timer', at: addSeconds(s, 0.0101) }];
  const [k] = probeTicks('kernel', first);
  const [i] = probeTicks('ideal', first);
  assert.ok(Math.abs((k ?? NaN) - 0.016) < 1e-9, `kernel: ${k}`);
  assert.ok(Math.abs((i ?? NaN) - 0.0101) < 1e-9, `ideal: ${i}`);
});

test('kernel world: a step re-aims the pending timer at the same clock instant, as the daemon does', () => {
  const first = (s: Instant): EngineAction[] => [{ kind: 'timer', at: addSeconds(s, 1) }, { kind: 'step', seconds: -0.5 }];
  // After the step the clock reads 0.5 s less: the instant it waits for is 1.5 s of true time away.
  const [k] = probeTicks('kernel', first);
  assert.ok(Math.abs((k ?? NaN) - 1.005) < 1e-9, `kernel: ${k} (reading at the tick)`);
});
