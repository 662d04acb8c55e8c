/**
 * The fuzz driver: feeds a target mutated seeds (and, now and then, inputs
 * that reached an outcome not seen before, a cheap stand-in for coverage
 * feedback) and checks that nothing escapes as an exception, that no input
 * takes long (a hang shows as a slow input), that the heap does not keep
 * growing, and whatever the target itself asserts. Runs are deterministic:
 * (target, seed, input index) gives the same input every time.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mutate } from './mutate.js';
import { Rng } from './rng.js';

/** A broken invariant: the target's own check, as opposed to an exception escaping the code under test. */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

/** Throws an InvariantError unless `cond`. */
export function invariant(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new InvariantError(typeof message === 'string' ? message : message());
}

/** One input's check: returns an outcome label (a parse error reason, a drop reason...), throws on failure. */
export type FuzzCheck = (input: Uint8Array, rng: Rng) => string;

export interface FuzzTarget {
  readonly name: string;
  readonly description: string;
  /** Longest input generated. */
  readonly maxLength: number;
  /** Valid inputs to start from. */
  seeds(): readonly Uint8Array[];
  readonly dictionary?: readonly Uint8Array[];
  /** The slow-input limit, when this target's legitimate worst case is above the default 250 ms. */
  readonly maxInputMs?: number;
  /** A fresh check with its own state (a responder, a poller), seeded. */
  create(seed: number): FuzzCheck;
}

export interface FuzzFailure {
  readonly index: number;
  readonly kind: 'exception' | 'invariant' | 'slow';
  readonly message: string;
  readonly inputHex: string;
}

export interface FuzzOptions {
  readonly seed?: number;
  /** Inputs to run (default 10000). */
  readonly inputs?: number;
  /** Stop early after this long. */
  readonly timeLimitMs?: number;
  /** An input slower than this is a failure (a hang in the making). Default 250 ms: generous for a shared CI machine. */
  readonly maxInputMs?: number;
  /** Failures kept in the report (all are counted). Default 20. */
  readonly keepFailures?: number;
  /** Called every `progressEvery` inputs (long runs print progress). */
  readonly onProgress?: (r: FuzzReport) => void;
  readonly progressEvery?: number;
}

export interface FuzzReport {
  readonly target: string;
  readonly seed: number;
  inputs: number;
  failureCount: number;
  readonly failures: FuzzFailure[];
  /** The slowest input, ms (of two runs when the first was over the limit). */
  maxInputMs: number;
  elapsedMs: number;
  /** Heap used after a full GC, bytes, before and after the run. */
  heapBefore: number;
  heapAfter: number;
  /** Outcome label -> inputs. */
  readonly outcomes: Map<string, number>;
}

/** Inputs kept because they reached a new outcome; bounded so a long run's memory stays flat. */
const MAX_POOL = 512;

let gcFn: (() => void) | null | undefined;
/** A full GC when it can be had (node:v8 can expose it at run time), so heap figures compare like with like. */
function fullGc(): void {
  if (gcFn === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    } catch {
      gcFn = null;
    }
  }
  gcFn?.();
}

export function heapAfterGc(): number {
  fullGc();
  return process.memoryUsage().heapUsed;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Runs one target; never throws for what the target does (that is what it reports). */
export function runFuzz(target: FuzzTarget, opts: FuzzOptions = {}): FuzzReport {
  const seed = (opts.seed ?? 1) >>> 0;
  const total = opts.inputs ?? 10_000;
  const maxInputMs = opts.maxInputMs ?? target.maxInputMs ?? 250;
  const keep = opts.keepFailures ?? 20;
  const deadline = opts.timeLimitMs !== undefined ? performance.now() + opts.timeLimitMs : Infinity;
  const seeds = target.seeds();
  if (seeds.length === 0) throw new RangeError(`fuzz target ${target.name} has no seeds`);
  const report: FuzzReport = {
    target: target.name, seed, inputs: 0, failureCount: 0, failures: [], maxInputMs: 0, elapsedMs: 0,
    heapBefore: heapAfterGc(), heapAfter: 0, outcomes: new Map(),
  };
  const rng = new Rng(seed);
  const check = target.create(seed);
  const pool: Uint8Array[] = [...seeds];
  const mutateOpts = { maxLength: target.maxLength, pool, dictionary: target.dictionary };
  const fail = (index: number, kind: FuzzFailure['kind'], message: string, input: Uint8Array): void => {
    report.failureCount++;
    if (report.failures.length < keep) report.failures.push({ index, kind, message, inputHex: toHex(input) });
  };
  const start = performance.now();
  const every = opts.progressEvery ?? 1_000_000;
  for (let i = 0; i < total; i++) {
    if ((i & 15) === 0 && performance.now() > deadline) break;
    const base = i < seeds.length ? (seeds[i] as Uint8Array).slice() : mutate(rng.pick(pool), rng, mutateOpts);
    const input = base.slice();
    const t0 = performance.now();
    let label: string;
    try {
      label = check(input, rng);
    } catch (e) {
      label = 'failure';
      fail(i, e instanceof InvariantError ? 'invariant' : 'exception', e instanceof Error ? `${e.name}: ${e.message}` : String(e), base);
    }
    let dt = performance.now() - t0;
    if (dt > maxInputMs) {
      // A GC pause or a busy machine can stall any input once: only an input slow twice is a finding.
      // The retry has its own Rng so the run's input sequence does not depend on timing.
      const t1 = performance.now();
      try {
        check(base.slice(), new Rng(i));
      } catch {
        // Already judged on the first call.
      }
      dt = Math.min(dt, performance.now() - t1);
      if (dt > maxInputMs) fail(i, 'slow', `took ${dt.toFixed(1)} ms twice (limit ${maxInputMs} ms)`, base);
    }
    if (dt > report.maxInputMs) report.maxInputMs = dt;
    const seen = report.outcomes.get(label);
    if (seen === undefined) {
      if (pool.length < MAX_POOL) pool.push(base);
      else pool[seeds.length + rng.below(MAX_POOL - seeds.length)] = base;
    }
    report.outcomes.set(label, (seen ?? 0) + 1);
    report.inputs = i + 1;
    if (opts.onProgress && report.inputs % every === 0) {
      report.elapsedMs = performance.now() - start;
      opts.onProgress(report);
    }
  }
  report.elapsedMs = performance.now() - start;
  report.heapAfter = heapAfterGc();
  return report;
}

/** One line per finding, for test messages and the long-run script. */
export function describeFailures(r: FuzzReport): string {
  return r.failures.map((f) => `#${f.index} ${f.kind}: ${f.message}\n  input ${f.inputHex}`).join('\n');
}
