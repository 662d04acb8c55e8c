#!/usr/bin/env node
// bench/fuzz: long fuzzing runs of the targets in src/testing/fuzz (the CI
// tests run each for a few seconds only).
//
// Usage: npm run build && node bench/fuzz/run.mjs --target packet,server,client --inputs 4000000 [--seed 1]
//        [--max-input-ms MS (default: the target's, else 250)] [--progress 1000000 (a multiple of 1000)] [--hang-seconds 120] [--dist DIR] [--json FILE]
//        --target all: every target; --target packet-paths: packet, server, client.
// --inputs is per target. Each target runs in a worker thread: an input that
// never returns stops the progress messages, and the watchdog ends the worker
// after --hang-seconds and reports a hang. Prints, per target: inputs run,
// failures (exceptions escaping, broken invariants, inputs slower than
// --max-input-ms), the slowest input, heap used after a full GC before and
// after, and the outcome counts (which paths the inputs reached).
// Exit status 1 if any target had a failure or a hang, or its heap grew more
// than --max-heap-growth-mb (default 32).
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

if (!isMainThread) {
  const { dist, target, inputs, seed, maxInputMs, progress } = workerData;
  const fuzz = await import(pathToFileURL(resolve(dist, 'testing/fuzz/index.js')).href);
  const plain = (r) => ({ ...r, outcomes: Object.fromEntries([...r.outcomes].sort((a, b) => b[1] - a[1])), failures: r.failures.slice() });
  // A heartbeat every 1000 inputs feeds the watchdog (a config input can take 100 ms); the main thread prints every --progress.
  const report = fuzz.runFuzz(fuzz.fuzzTarget(target), {
    seed, inputs, maxInputMs, progressEvery: 1000,
    onProgress: (r) => parentPort.postMessage(r.inputs % progress === 0
      ? { kind: 'progress', inputs: r.inputs, failures: r.failureCount, elapsedMs: r.elapsedMs, heap: process.memoryUsage().heapUsed }
      : { kind: 'beat', inputs: r.inputs }),
  });
  parentPort.postMessage({ kind: 'done', report: plain(report) });
} else {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    if (i < 0) return dflt;
    const v = args[i + 1];
    if (v === undefined) throw new Error(`--${name} needs a value`);
    return v;
  };
  const dist = resolve(opt('dist', 'dist'));
  const { FUZZ_TARGETS, PACKET_TARGETS } = await import(pathToFileURL(resolve(dist, 'testing/fuzz/index.js')).href);
  const spec = opt('target', 'packet-paths');
  const targets = spec === 'all' ? FUZZ_TARGETS.map((t) => t.name) : spec === 'packet-paths' ? [...PACKET_TARGETS] : spec.split(',');
  const inputs = Number(opt('inputs', '1000000'));
  const seed = Number(opt('seed', '1'));
  const maxInputMs = args.includes('--max-input-ms') ? Number(opt('max-input-ms', '')) : undefined;
  const progress = Number(opt('progress', '1000000'));
  const hangMs = 1000 * Number(opt('hang-seconds', '120'));
  const maxGrowth = 1024 * 1024 * Number(opt('max-heap-growth-mb', '32'));
  const json = opt('json', null);
  for (const [n, v] of [['inputs', inputs], ['seed', seed], ['max-input-ms', maxInputMs ?? 0], ['progress', progress], ['hang-seconds', hangMs]]) {
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${n} must be a number >= 0`);
  }
  if (progress % 1000 !== 0 || progress === 0) throw new Error('--progress must be a positive multiple of 1000');

  const mb = (b) => (b / 1048576).toFixed(1);
  console.log(`fuzz: targets ${targets.join(', ')}; ${inputs} inputs each; seed ${seed}; node ${process.version}; ${new Date().toISOString()}`);
  const results = [];
  let bad = false;
  for (const target of targets) {
    const started = Date.now();
    const result = await new Promise((done) => {
      const w = new Worker(new URL(import.meta.url), { workerData: { dist, target, inputs, seed, maxInputMs, progress } });
      let last = { inputs: 0 };
      let timer;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => { void w.terminate(); done({ target, hang: `no progress for ${hangMs / 1000} s after input ${last.inputs}` }); }, hangMs);
      };
      arm();
      w.on('message', (m) => {
        if (m.kind === 'beat') {
          last = m;
          arm();
        } else if (m.kind === 'progress') {
          last = m;
          arm();
          console.log(`  ${target}: ${m.inputs} inputs, ${m.failures} failures, ${(m.elapsedMs / 1000).toFixed(0)} s, heap ${mb(m.heap)} MB`);
        } else {
          clearTimeout(timer);
          done(m.report);
        }
      });
      w.on('error', (e) => { clearTimeout(timer); done({ target, crash: String(e?.stack ?? e) }); });
    });
    const wall = (Date.now() - started) / 1000;
    if (result.hang || result.crash) {
      bad = true;
      console.log(`${target}: ${result.hang ? `HANG: ${result.hang}` : `WORKER CRASHED: ${result.crash}`}`);
      results.push({ ...result, wallSeconds: wall });
      continue;
    }
    const growth = result.heapAfter - result.heapBefore;
    const ok = result.failureCount === 0 && growth <= maxGrowth;
    if (!ok) bad = true;
    console.log(`${target}: ${result.inputs} inputs in ${wall.toFixed(1)} s (${Math.round(result.inputs / (result.elapsedMs / 1000))}/s), `
      + `${result.failureCount} failures, slowest input ${result.maxInputMs.toFixed(2)} ms, `
      + `heap ${mb(result.heapBefore)} -> ${mb(result.heapAfter)} MB (growth ${mb(growth)} MB)${ok ? '' : '  FAILED'}`);
    const outcomes = Object.entries(result.outcomes);
    console.log(`  outcomes (${outcomes.length} kinds${outcomes.length > 30 ? ', 30 most frequent' : ''}): ${outcomes.slice(0, 30).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const f of result.failures) console.log(`  #${f.index} ${f.kind}: ${f.message}\n    input ${f.inputHex}`);
    results.push({ ...result, wallSeconds: wall });
  }
  const total = results.reduce((n, r) => n + (r.inputs ?? 0), 0);
  console.log(`total: ${total} inputs, ${bad ? 'FAILURES (see above)' : 'no failures, hangs or heap growth over the limit'}`);
  if (json) writeFileSync(json, `${JSON.stringify({ seed, inputsPerTarget: inputs, results }, null, 2)}\n`);
  process.exitCode = bad ? 1 : 0;
}
