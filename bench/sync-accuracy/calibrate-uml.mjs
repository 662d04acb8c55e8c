#!/usr/bin/env node
// Sets a User-mode Linux guest's ntpkit runs (bench/uml-closedloop's raw
// results, JSON lines) beside the simulator's prediction of the same
// scenarios (src/sim/uml-scenarios.ts closedLoopScenario) in the kernel
// world, with the same figures (src/sim/convergence-metrics.ts) on both:
// the guest's series from the daemon's start (t - startedAt >= 0), the
// simulated one sampled once a second as the guest's is, over as long.
//
// The project's goal: the simulator's time to stay within 1 ms of the
// settled level and its steady sd both within 2x of the guest's. Times are
// floored at the 1 s sample interval before the ratio (0.2 s against 0.9 s
// is the same sample).
//
// Usage: npm run build && node bench/sync-accuracy/calibrate-uml.mjs --guest FILE.jsonl [--guest FILE2] [--seeds N]
//          [--kernel uml|JSON] [--json]
//   --guest FILE   bench/uml-closedloop --raw output (repeatable; every ntpkit run in it is a row)
//   --seeds N      simulated seeds per scenario (default 5)
//   --kernel P     the kernel world to predict with: a preset of src/sim/uml-path.ts (default 'uml')
//                  or a KernelWorldSpec as JSON; the host-calibrated defaults are always shown beside it
//   --engine F#C   judge another SyncEngineApi class (default: dist/core/engine/engine.js#SyncEngine), e.g. the
//                  engine of the commit that produced the guest's results, compiled elsewhere
//   --dist DIR     the compiled tree (default dist/)
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const { values } = parseArgs({
  options: {
    guest: { type: 'string', multiple: true },
    seeds: { type: 'string', default: '5' },
    kernel: { type: 'string', default: 'uml' },
    json: { type: 'boolean', default: false },
    engine: { type: 'string' },
    dist: { type: 'string', default: new URL('../../dist/', import.meta.url).pathname },
  },
});
if (!values.guest?.length) {
  console.error('Cannot calibrate: give the guest results with --guest FILE.jsonl (bench/uml-closedloop --raw)');
  process.exit(2);
}
const seeds = Number(values.seeds);
if (!Number.isInteger(seeds) || seeds < 1) {
  console.error(`Cannot use --seeds ${values.seeds}: expected a whole number >= 1`);
  process.exit(2);
}
const dist = pathToFileURL(resolve(values.dist)).href + '/';
const { convergenceFigures } = await import(`${dist}sim/convergence-metrics.js`);
const { closedLoopScenario, CLOSED_LOOP_SCENARIOS } = await import(`${dist}sim/uml-scenarios.js`);
const { KERNEL_PRESETS } = await import(`${dist}sim/uml-path.js`);
const { simulate } = await import(`${dist}sim/simulator.js`);
const [engineFile, engineClass = 'SyncEngine'] = (values.engine ?? `${dist}core/engine/engine.js#SyncEngine`).split('#');
const Engine = (await import(engineFile.startsWith('file:') ? engineFile : pathToFileURL(resolve(engineFile)).href))[engineClass];
if (typeof Engine !== 'function') throw new Error(`Cannot find class ${engineClass} in ${engineFile}`);

let preset;
if (Object.hasOwn(KERNEL_PRESETS, values.kernel)) preset = KERNEL_PRESETS[values.kernel];
else {
  try {
    preset = JSON.parse(values.kernel);
  } catch (e) {
    console.error(`Cannot use --kernel ${values.kernel}: not a preset (${Object.keys(KERNEL_PRESETS).join(', ')}) nor JSON (${e.message})`);
    process.exit(2);
  }
}

/** The guest's ntpkit runs, by scenario. */
const guest = new Map();
for (const file of values.guest) {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let r;
    try {
      r = JSON.parse(line);
    } catch (e) {
      console.error(`Skipping ${file}:${i + 1}: not JSON (${e.message})`);
      return;
    }
    const [scenario, daemon] = String(r.name).split('@');
    if (daemon !== 'ntpkit' || !Array.isArray(r.series)) return;
    const series = r.series.filter((p) => p.t >= r.startedAt).map((p) => ({ t: p.t - r.startedAt, error: p.error }));
    if (series.length < 10) {
      console.error(`Skipping ${file}:${i + 1} (${r.name}): ${series.length} samples after the daemon started`);
      return;
    }
    guest.set(scenario, [...(guest.get(scenario) ?? []), { file, run: r.run, series }]);
  });
}

const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const within1 = (f) => f.within.find((w) => w.threshold === 1e-3)?.time ?? null;
const engine = (o) => new Engine(o);

function predict(name, duration, kernel) {
  const runs = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const scenario = closedLoopScenario(name, { world: 'kernel', duration, sampleInterval: 1, ...(kernel === undefined ? {} : { kernel }) });
    const r = simulate(scenario, { engine, seed });
    runs.push(convergenceFigures(r.series.map((p) => ({ t: p.t, error: p.error }))));
  }
  const times = runs.map(within1);
  const never = times.filter((t) => t === null).length;
  return {
    within1ms: never * 2 > times.length ? null : med(times.map((t) => t ?? Infinity)),
    within1msRange: [Math.min(...times.map((t) => t ?? Infinity)), Math.max(...times.map((t) => t ?? Infinity))],
    steadySd: med(runs.map((f) => f.steadySd)),
    steadySdRange: [Math.min(...runs.map((f) => f.steadySd)), Math.max(...runs.map((f) => f.steadySd))],
    settledLevel: med(runs.map((f) => f.settledLevel)),
  };
}

/** Within 2x both ways; times floored at the sample interval. */
const within2x = (sim, real, floor = 0) => {
  if (sim === null || real === null) return sim === real;
  const a = Math.max(sim, floor);
  const b = Math.max(real, floor);
  return a <= 2 * b && b <= 2 * a;
};

const predictions = new Map();
const out = { kernel: values.kernel, engine: `${engineFile}#${engineClass}`, seeds, scenarios: [] };
for (const [name, runs] of guest) {
  if (!CLOSED_LOOP_SCENARIOS.includes(name)) {
    console.error(`Skipping ${name}: not a scenario the simulator knows (${CLOSED_LOOP_SCENARIOS.join(', ')})`);
    continue;
  }
  // One row per guest run (runs may come from different boots and engines); the prediction is per scenario and length.
  for (const g of runs) {
    const f = convergenceFigures(g.series);
    const duration = Math.round(g.series.at(-1).t);
    const real = { file: g.file, run: g.run, within1ms: within1(f), steadySd: f.steadySd, settledLevel: f.settledLevel };
    const key = `${name}/${duration}`;
    if (!predictions.has(key)) predictions.set(key, { sim: predict(name, duration, preset), host: predict(name, duration, undefined) });
    const { sim, host } = predictions.get(key);
    const verdict = { within1ms: within2x(sim.within1ms, real.within1ms, 1), steadySd: within2x(sim.steadySd, real.steadySd) };
    // One guest run against the seeds' spread: is it a run the model could have produced?
    const inside = (x, [lo, hi]) => (x ?? Infinity) >= lo && (x ?? Infinity) <= hi;
    const inRange = { within1ms: inside(real.within1ms, sim.within1msRange), steadySd: inside(real.steadySd, sim.steadySdRange) };
    out.scenarios.push({ name, duration, guest: real, sim, hostKernel: host, within2x: verdict, guestInSimRange: inRange });
  }
}

if (values.json) {
  console.log(JSON.stringify(out, null, 2));
} else {
  const ft = (x) => (x === null ? 'never' : Number.isFinite(x) ? x.toFixed(1) : 'never');
  const fus = (x) => (x * 1e6).toFixed(0);
  const range = (r, f) => `${f(r[0])}-${f(r[1])}`;
  console.log(`guest (ntpkit in User-mode Linux) vs simulator, kernel world '${values.kernel}' (${seeds} seeds: median, range), and the host-calibrated kernel world`);
  if (values.engine !== undefined) console.log(`engine: ${out.engine}`);
  console.log('| scenario (guest file#run)          | s   | within 1 ms, s: guest | sim (range)          | host kernel | 2x  | in range | steady sd, us: guest | sim (range)      | host kernel | 2x  | in range | level, us: guest / sim |');
  console.log('|------------------------------------|----:|----------------------:|---------------------:|------------:|:---:|:--------:|---------------------:|-----------------:|------------:|:---:|:--------:|-----------------------:|');
  for (const s of out.scenarios) {
    const yes = (b) => (b ? 'yes' : 'NO ');
    console.log(`| ${`${s.name} (${basename(s.guest.file)}#${s.guest.run ?? 0})`.padEnd(34)} | ${String(s.duration).padStart(3)} | ${ft(s.guest.within1ms).padStart(21)} | ${`${ft(s.sim.within1ms)} (${range(s.sim.within1msRange, ft)})`.padStart(20)} | ${ft(s.hostKernel.within1ms).padStart(11)} | ${yes(s.within2x.within1ms)} | ${yes(s.guestInSimRange.within1ms).padEnd(8)} | ${fus(s.guest.steadySd).padStart(20)} | ${`${fus(s.sim.steadySd)} (${range(s.sim.steadySdRange, fus)})`.padStart(16)} | ${fus(s.hostKernel.steadySd).padStart(11)} | ${yes(s.within2x.steadySd)} | ${yes(s.guestInSimRange.steadySd).padEnd(8)} | ${`${fus(s.guest.settledLevel)} / ${fus(s.sim.settledLevel)}`.padStart(22)} |`);
  }
  console.log('within 1 ms: seconds from the daemon\'s start until the error stays within 1 ms of the settled level (isolated one-sample glitches ignored);');
  console.log('steady sd and level: over the second half of the run. 2x: sim within a factor 2 of the guest (times floored at 1 s);');
  console.log('in range: the guest\'s figure lies within the simulated seeds\' range.');
}
