#!/usr/bin/env node
// bench/sync-accuracy: chrony's comparison scenarios, run in our simulator
// against the engine the daemon runs (dist/core/engine/engine.js SyncEngine).
//
// Test 1: minpoll 6, maxpoll 10, clock wander 1 ppb/s.
// Test 2: polling fixed at 64 s, wander 10 ppb/s.
// One server; each direction 1 ms + jitter * Exp(1), jitter 10 us, 100 us,
// 1 ms, 10 ms. Each cell: RMS of the client's true time error after a warm-up,
// pooled over seeds (each seed: other wander, jitter and cookies).
//
// Convergence: 1 s off and 100 ppm fast, iburst, time until the error stays
// within 1 ms and within 100 us, with `makestep 0.1 3` and slewing only.
//
// chrony's and ntpd's figures are QUOTED from chrony's comparison page
// (clknetsim runs by chrony's authors) and a chrony 4.3 clknetsim run on this
// kind of machine: chronyd cannot run inside
// this simulator, so they are not measured in this run.
//
// Two worlds (src/sim/scenario.ts World): 'ideal' (exact timestamps, a
// frequency change in force at once, no event loop: the figures above are
// this world's) and 'kernel' (the Linux clock as SystemClock drives it,
// src/sim/kernel-clock.ts, and the daemon's measurement path with latencies
// measured on this machine, src/sim/measurement-path.ts).
//
// UML: the real-clock comparison's scenarios (src/sim/uml-scenarios.ts),
// figures from src/sim/convergence-metrics.ts: time until the error stays
// within 10 ms / 1 ms / 100 us of the settled level (isolated one-sample
// glitches ignored and counted), steady sd, largest overshoot.
//
// Usage: npm run build && node bench/sync-accuracy/run.mjs [--seeds N] [--quick] [--json] [--world ideal|kernel|both]
//   --seeds N    seeds per cell (default 10; --quick: 2)
//   --quick      shorter runs (60000 s, warm-up 15000 s) for a smoke check
//   --duration S / --warmup S   override the simulated length and warm-up
//   --only 1|2|conv|uml         run one part
//   --world ideal|kernel|both   the simulated world(s) (default both)
//   --kernel JSON|PRESET        the kernel world's parameters (src/sim/scenario.ts KernelWorldSpec), e.g.
//                               '{"path":{"stamping":"js"}}' or '{"clock":{"frequencyUpdate":"next-tick","hz":100}}',
//                               or a preset of src/sim/uml-path.ts: 'uml', the User-mode Linux guest's path
//                               (bench/sync-accuracy/calibrate-uml.mjs sets it beside the guest's runs)
//   --engine FILE#Class         judge another SyncEngineApi class (default: dist/core/engine/engine.js#SyncEngine)
//   --controller NAME           the engine's clock controller (core/engine/controllers.ts; default: the daemon's),
//                               so two controllers can be compared on the same seeds
//   --dist DIR                  the compiled tree to load (default dist/)
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    only: { type: 'string' },
    dist: { type: 'string', default: new URL('../../dist/', import.meta.url).pathname },
    engine: { type: 'string' },
    controller: { type: 'string' },
    world: { type: 'string', default: 'both' },
    kernel: { type: 'string' },
  },
});
const dist = pathToFileURL(resolve(values.dist)).href + '/';
const { KERNEL_PRESETS } = await import(`${dist}sim/uml-path.js`);
let kernelSpec;
if (values.kernel !== undefined && Object.hasOwn(KERNEL_PRESETS, values.kernel)) kernelSpec = KERNEL_PRESETS[values.kernel];
else {
  try {
    kernelSpec = values.kernel === undefined ? undefined : JSON.parse(values.kernel);
  } catch (e) {
    console.error(`Cannot parse --kernel: ${e.message} (and it is not a preset: ${Object.keys(KERNEL_PRESETS).join(', ')})`);
    process.exit(2);
  }
}
/** The scenario in `world`, with --kernel's parameters in the kernel world. */
const inWorld = (scenario, world) => ({ ...scenario, world, ...(world === 'kernel' && kernelSpec !== undefined ? { kernel: kernelSpec } : {}) });
if (!['ideal', 'kernel', 'both'].includes(values.world)) {
  console.error(`Cannot use --world ${values.world}: expected ideal, kernel or both`);
  process.exit(2);
}
const WORLDS = values.world === 'both' ? ['ideal', 'kernel'] : [values.world];
const { simulate } = await import(`${dist}sim/simulator.js`);
const { chronyComparison, convergence } = await import(`${dist}sim/chrony-scenarios.js`);
const { UML_CASES, runUmlCase, umlCaseLabel } = await import(`${dist}sim/uml-scenarios.js`);
const [engineFile, engineClass] = (values.engine ?? `${dist}core/engine/engine.js#SyncEngine`).split('#');
const Engine = (await import(engineFile.startsWith('file:') ? engineFile : pathToFileURL(resolve(engineFile)).href))[engineClass ?? 'SyncEngine'];
if (typeof Engine !== 'function') throw new Error(`Cannot find class ${engineClass} in ${engineFile}`);
const controller = values.controller;
if (controller !== undefined) {
  const { CONTROLLERS } = await import(`${dist}core/engine/controllers.js`);
  if (!Object.hasOwn(CONTROLLERS, controller)) {
    console.error(`Cannot use --controller ${controller}: known controllers are ${Object.keys(CONTROLLERS).join(', ')}`);
    process.exit(2);
  }
}
const runScenario = (scenario, { seed }) => simulate(scenario, { engine: (o) => new Engine(o), seed, ...(controller === undefined ? {} : { controller }) });

const seeds = Number(values.seeds ?? (values.quick ? 2 : 10));
const duration = Number(values.duration ?? (values.quick ? 60_000 : 200_000));
const warmup = Number(values.warmup ?? (values.quick ? 15_000 : 20_000));
const JITTERS = [10e-6, 100e-6, 1e-3, 10e-3];
// chrony-project.org/comparison.html (clknetsim), microseconds.
const QUOTED = {
  1: { chrony: [35, 109, 475, 1603], ntpd: [234, 256, 454, 3665] },
  2: { chrony: [14, 56, 229, 750], ntpd: [165, 167, 217, 1467] },
};
const CHRONY_43_HERE = [14.1, 49.4, 202, 657]; // chrony 4.3 reproducing Test 2 with clknetsim on this kind of machine
const CHRONY_CONVERGENCE = { makestep: 5, slew: 17 }; // chrony's seconds to within 1 ms from 1 s off with iburst

const out = { engine: `${engineFile}#${engineClass ?? 'SyncEngine'}`, controller: controller ?? 'default', seeds, duration, warmup, worlds: WORLDS, kernel: values.kernel !== undefined && Object.hasOwn(KERNEL_PRESETS, values.kernel) ? values.kernel : (kernelSpec ?? 'defaults'), tests: {}, convergence: {}, uml: {} };
const t0 = performance.now();
const log = (s) => { if (!values.json) console.log(s); };

log(`engine: ${out.engine}, controller: ${out.controller}, worlds: ${WORLDS.join(', ')}${kernelSpec === undefined ? '' : `, kernel world: ${JSON.stringify(kernelSpec)}`}`);
log(`sync accuracy in the simulator: ${seeds} seeds per cell, ${duration} s simulated, RMS after ${warmup} s`);
log('chrony and ntpd figures are quoted (clknetsim, chrony-project.org/comparison.html), not measured here:');
log('chronyd cannot run inside this simulator.\n');

for (const world of WORLDS) for (const test of [1, 2]) {
  if (values.only && values.only !== String(test)) continue;
  const row = [];
  const spread = [];
  for (const jitter of JITTERS) {
    let sumSq = 0;
    const per = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const r = runScenario(inWorld(chronyComparison(test, jitter, { duration, warmup }), world), { seed });
      per.push(r.metrics.rmsError);
      sumSq += r.metrics.rmsError ** 2;
    }
    row.push(Math.sqrt(sumSq / seeds) * 1e6);
    spread.push([Math.min(...per) * 1e6, Math.max(...per) * 1e6]);
  }
  (out.tests[world] ??= {})[test] = { ntpkitUs: row, perSeedRangeUs: spread };
  log(`Test ${test} (${test === 1 ? 'minpoll 6, maxpoll 10, wander 1 ppb/s' : 'poll 64 s, wander 10 ppb/s'}), ${world} world: RMS time error, us`);
  log('|                     | 10 us | 100 us | 1 ms | 10 ms |');
  log('|---------------------|------:|-------:|-----:|------:|');
  const fmt = (xs) => xs.map((x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1)).padStart(5)).join(' | ');
  log(`| ntpkit (measured)   | ${fmt(row)} |`);
  log(`|   per-seed range    | ${spread.map(([a, b]) => `${a.toFixed(0)}-${b.toFixed(0)}`).join(' | ')} |`);
  log(`| chrony (quoted)     | ${fmt(QUOTED[test].chrony)} |`);
  if (test === 2) log(`| chrony 4.3 (quoted) | ${fmt(CHRONY_43_HERE)} |`);
  log(`| ntpd (quoted)       | ${fmt(QUOTED[test].ntpd)} |`);
  const worse = row.map((x, i) => x > QUOTED[test].chrony[i]);
  log(`no worse than chrony: ${worse.some(Boolean) ? `NO (${JITTERS.filter((_, i) => worse[i]).map((j) => `${j * 1e6} us`).join(', ')})` : 'yes, every cell'}\n`);
}

if (!values.only || values.only === 'conv') for (const world of WORLDS) {
  log(`Convergence from 1 s off and 100 ppm fast, iburst (${seeds} seeds), ${world} world: seconds until |error| stays within`);
  log('|                  | 1 ms (median / max) | 100 us (median / max) | steps | chrony, 1 ms (quoted) |');
  log('|------------------|--------------------:|----------------------:|------:|----------------------:|');
  for (const mode of ['makestep', 'slew']) {
    const t1 = [];
    const t100 = [];
    let steps = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const r = runScenario(inWorld(convergence(mode), world), { seed });
      t1.push(r.metrics.timeWithin1ms ?? Infinity);
      t100.push(r.metrics.timeWithin100us ?? Infinity);
      steps = Math.max(steps, r.metrics.steps);
    }
    const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'never');
    (out.convergence[world] ??= {})[mode] = { within1msMedian: med(t1), within1msMax: Math.max(...t1), within100usMedian: med(t100), within100usMax: Math.max(...t100), maxSteps: steps };
    log(`| ${mode === 'makestep' ? 'makestep 0.1 3  ' : 'slew only       '} | ${`${f(med(t1))} / ${f(Math.max(...t1))}`.padStart(19)} | ${`${f(med(t100))} / ${f(Math.max(...t100))}`.padStart(21)} | ${String(steps).padStart(5)} | ${String(CHRONY_CONVERGENCE[mode]).padStart(21)} |`);
  }
  log('');
}

if (!values.only || values.only === 'uml') {
  // Per case and world: the median over seeds of each figure (the worst seed in brackets for times).
  const engine = (o) => new Engine({ ...o, ...(controller === undefined ? {} : { controller }) });
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const worst = (xs) => (xs.some((x) => x === null) ? null : Math.max(...xs));
  const ft = (x) => (x === null ? 'never' : x.toFixed(1));
  const fus = (x) => (x * 1e6).toFixed(x * 1e6 >= 100 ? 0 : 1);
  log(`UML scenarios in the simulator (${seeds} seeds, 300 s each, error sampled every 0.25 s): median over seeds (worst seed)`);
  log('times: seconds until the error stays within the bound of the settled level; glitches: isolated one-sample excursions ignored (total over seeds)');
  log('| case | world  | 10 ms        | 1 ms         | 100 us       | glitches | settled level, us | steady sd, us | overshoot, us | steps |');
  log('|------|--------|-------------:|-------------:|-------------:|---------:|------------------:|--------------:|--------------:|------:|');
  for (const c of UML_CASES) {
    for (const world of WORLDS) {
      const runs = [];
      for (let seed = 1; seed <= seeds; seed++) runs.push(runUmlCase(c, engine, seed, { world, ...(world === 'kernel' && kernelSpec !== undefined ? { kernel: kernelSpec } : {}) }));
      const times = [0, 1, 2].map((i) => runs.map((r) => r.figures.within[i].time));
      const cell = (xs) => (xs.some((x) => x === null) && xs.filter((x) => x === null).length * 2 > xs.length ? `never (${xs.filter((x) => x === null).length}/${xs.length})` : `${ft(med(xs.map((x) => x ?? Infinity)))} (${ft(worst(xs))})`);
      const glitches = runs.reduce((a, r) => a + r.figures.within.reduce((b, w) => b + w.glitches, 0), 0);
      const fig = {
        label: umlCaseLabel(c),
        within10ms: times[0], within1ms: times[1], within100us: times[2], glitches,
        settledLevel: runs.map((r) => r.figures.settledLevel), steadySd: runs.map((r) => r.figures.steadySd), overshoot: runs.map((r) => r.figures.overshoot),
        steps: runs.map((r) => r.result.metrics.steps),
      };
      (out.uml[c] ??= {})[world] = fig;
      log(`| ${c}    | ${world.padEnd(6)} | ${cell(times[0]).padStart(12)} | ${cell(times[1]).padStart(12)} | ${cell(times[2]).padStart(12)} | ${String(glitches).padStart(8)} | ${fus(med(fig.settledLevel)).padStart(17)} | ${fus(med(fig.steadySd)).padStart(13)} | ${fus(med(fig.overshoot)).padStart(13)} | ${String(Math.max(...fig.steps)).padStart(5)} |`);
    }
  }
  log(UML_CASES.map((c) => `${c}: ${umlCaseLabel(c)}`).join('\n'));
}

out.seconds = (performance.now() - t0) / 1000;
if (values.json) console.log(JSON.stringify(out, null, 2));
else log(`\n(${out.seconds.toFixed(0)} s of wall time)`);
