// Benchmark of the real-time sources: error against clock_gettime(CLOCK_REALTIME)
// (the native addon; it is the clock chronyd reads) and cost per call, and the
// fallback's targets (calibration within 20 us, readings within 22 us).
//
//   npm run build && node bench/realtime/realtime.mjs [DIST_DIR]   (default: the repo's dist/)
//
// Error: each sample reads the addon, then the source, then the addon again;
// the source's error is its reading minus the midpoint of the two addon reads.
// Samples whose two addon reads are more than 2 us apart (a preemption) say
// little and are dropped (and counted). The hrtime fallback is calibrated
// afresh for each of ROUNDS rounds, since its error is set at calibration.
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const dist = process.argv[2] ? path.resolve(process.argv[2]) : fileURLToPath(new URL('../../dist/', import.meta.url));
const load = (m) => import(pathToFileURL(path.join(dist, m)).href);
const { loadNative } = await load('clock/native.js');
const { HrtimeCalibratedClock } = await load('clock/hrtime-clock.js');
const { realtime, realtimeInfo } = await load('clock/realtime.js');
const { instantFromUnixNanos } = await load('time/instant.js');

const native = loadNative();
if (!native.ok) {
  console.error(`The benchmark compares against clock_gettime, but: ${native.reason}`);
  process.exit(1);
}
const addon = native.addon;
if (realtimeInfo().kind !== 'clock_gettime') {
  console.error(`realtime() is not on clock_gettime here: ${JSON.stringify(realtimeInfo())}`);
  process.exit(1);
}

const ROUNDS = 20;
const SAMPLES_PER_ROUND = 10_000;
const COST_CALLS = 2_000_000;
const MAX_REF_SPAN_NS = 2_000n;

const perfNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
const dateNs = () => BigInt(Date.now()) * 1_000_000n;

function errorSamples(read, n, out, dropped) {
  for (let i = 0; i < n; i++) {
    const a = addon.realtimeNs();
    const x = read();
    const b = addon.realtimeNs();
    if (b - a > MAX_REF_SPAN_NS) { dropped.n++; continue; }
    out.push(Number(x - a) - Number(b - a) / 2);
  }
}

function stats(errs) {
  const abs = errs.map(Math.abs).sort((x, y) => x - y);
  const signed = [...errs].sort((x, y) => x - y);
  const q = (arr, p) => arr[Math.min(arr.length - 1, Math.floor(p * arr.length))];
  return { median: q(signed, 0.5), absMedian: q(abs, 0.5), absP99: q(abs, 0.99), absMax: abs.at(-1) };
}

const results = [];
const calib = [];
{
  const errs = []; const dropped = { n: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    const clock = new HrtimeCalibratedClock();
    const t0 = process.hrtime.bigint();
    const cal = clock.recalibrate();
    calib.push({ ms: Number(process.hrtime.bigint() - t0) / 1e6, uncertaintyNs: Number(cal.uncertaintyNs) });
    errorSamples(() => clock.readNs(), SAMPLES_PER_ROUND, errs, dropped);
    if (clock.calibrations !== 1) console.error(`round ${r}: recalibrated ${clock.calibrations - 1} times while measuring`);
  }
  results.push({ source: 'hrtime-calibrated', ...stats(errs), samples: errs.length, dropped: dropped.n });
}
for (const [source, read] of [['clock_gettime', () => addon.realtimeNs()], ['performance.timeOrigin+now()', perfNs], ['Date.now()', dateNs]]) {
  const errs = []; const dropped = { n: 0 };
  errorSamples(read, ROUNDS * SAMPLES_PER_ROUND, errs, dropped);
  results.push({ source, ...stats(errs), samples: errs.length, dropped: dropped.n });
}

function cost(fn) {
  // Keeping every result live (a ring of slots) stops the JIT from dropping calls.
  const keep = new Array(256);
  for (let i = 0; i < 100_000; i++) keep[i & 255] = fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < COST_CALLS; i++) keep[i & 255] = fn();
  const t1 = process.hrtime.bigint();
  if (keep[0] === undefined) console.log('unreachable');
  return Number(t1 - t0) / COST_CALLS;
}
const fallback = new HrtimeCalibratedClock();
fallback.recalibrate();
// The loop's own overhead is measured on a constant.
const baseline = cost(() => 1n);
const costs = [
  ['clock_gettime (addon.realtimeNs)', () => addon.realtimeNs()],
  ['realtime() -> Instant (clock_gettime)', () => realtime()],
  ['instantFromUnixNanos(addon.realtimeNs())', () => instantFromUnixNanos(addon.realtimeNs())],
  ['hrtime-calibrated readNs()', () => fallback.readNs()],
  ['hrtime-calibrated -> Instant', () => instantFromUnixNanos(fallback.readNs())],
  ['process.hrtime.bigint()', () => process.hrtime.bigint()],
  ['Date.now()', () => Date.now()],
  ['performance.timeOrigin+now()', () => performance.timeOrigin + performance.now()],
].map(([name, fn]) => ({ name, ns: cost(fn) - baseline }));

const us = (ns) => (ns / 1000).toFixed(3);
console.log(`node ${process.version}, ${process.platform}/${process.arch}, dist=${dist}`);
console.log(`\nError against clock_gettime(CLOCK_REALTIME), us (${ROUNDS} x ${SAMPLES_PER_ROUND} samples; fallback recalibrated each round)`);
console.log(`${'source'.padEnd(30)} ${'median'.padStart(10)} ${'|e| med'.padStart(10)} ${'|e| p99'.padStart(10)} ${'|e| max'.padStart(10)} ${'kept'.padStart(8)} ${'dropped'.padStart(8)}`);
for (const r of results) {
  console.log(`${r.source.padEnd(30)} ${us(r.median).padStart(10)} ${us(r.absMedian).padStart(10)} ${us(r.absP99).padStart(10)} ${us(r.absMax).padStart(10)} ${String(r.samples).padStart(8)} ${String(r.dropped).padStart(8)}`);
}
const u = calib.map((c) => c.uncertaintyNs).sort((a, b) => a - b);
const t = calib.map((c) => c.ms).sort((a, b) => a - b);
console.log(`\nFallback calibration: uncertainty median ${us(u[u.length >> 1])} us, max ${us(u.at(-1))} us; spin time median ${t[t.length >> 1].toFixed(2)} ms, max ${t.at(-1).toFixed(2)} ms`);
// The targets the fallback is held to (the tests check only that each reading lies within the calibration's
// own uncertainty, which holds on any machine): a calibration within 20 us, 5x below the 100 us accuracy
// `ntpkit query` must reach, and readings within 20 + 2 us of clock_gettime, the clock chronyd itself reads.
const fb = results.find((r) => r.source === 'hrtime-calibrated');
const verdict = (ok) => (ok ? 'met' : 'MISSED');
console.log(`Targets: calibration uncertainty <= 20 us: max ${us(u.at(-1))} us, ${verdict(u.at(-1) <= 20_000)}; `
  + `fallback |error| vs clock_gettime <= 22 us: max ${us(fb.absMax)} us, ${verdict(fb.absMax <= 22_000)}`);
console.log(`\nCost per call, ns (${COST_CALLS} calls, loop overhead ${baseline.toFixed(1)} ns subtracted)`);
for (const c of costs) console.log(`${c.name.padEnd(42)} ${c.ns.toFixed(1).padStart(8)}`);
