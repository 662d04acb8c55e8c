/**
 * The scenarios of chrony's comparison page (chrony-project.org/comparison.html),
 * which measured chronyd and ntpd in clknetsim, rebuilt for our simulator:
 * - Test 1: minpoll 6, maxpoll 10, clock wander 1 ppb/s;
 * - Test 2: polling fixed at 64 s (minpoll = maxpoll = 6), wander 10 ppb/s;
 * - one server, each direction 1 ms + jitter * Exp(1) (clknetsim's
 *   `(+ 1e-3 (* jitter (exponential)))`), jitter 10 us, 100 us, 1 ms or 10 ms;
 * - measure the RMS of the client's true time error after convergence.
 * And a convergence run, chrony's start-up case: 1 s off with a 100 ppm
 * frequency error, `iburst`, with `makestep 0.1 3` or slewing only.
 */
import { sourceOptions } from '../core/engine/source-options.js';
import type { Scenario } from './scenario.js';

export type ComparisonTest = 1 | 2;

const SERVER = '192.0.2.1';

export interface ComparisonOptions {
  /** Simulated seconds (default 200000). */
  readonly duration?: number;
  /** Seconds ignored at the start while the client converges (default 20000). */
  readonly warmup?: number;
  /** Seconds between error samples (default 1). */
  readonly sampleInterval?: number;
}

/** Test 1 or 2 at one jitter (seconds). The client starts with no offset and no frequency error; wander moves it. */
export function chronyComparison(test: ComparisonTest, jitter: number, o: ComparisonOptions = {}): Scenario {
  const poll = test === 1 ? { minpoll: 6, maxpoll: 10 } : { minpoll: 6, maxpoll: 6 };
  return {
    name: `test ${test}, jitter ${jitter * 1e6} us`,
    duration: o.duration ?? 200_000,
    convergedAfter: o.warmup ?? 20_000,
    sampleInterval: o.sampleInterval ?? 1,
    seriesInterval: o.duration ?? 200_000, // the benchmark needs the metrics, not the series
    client: {
      clock: { offset: 0, freqPpm: 0, wanderPpbPerS: test === 1 ? 1 : 10 },
      sources: [sourceOptions('server', SERVER, poll)],
    },
    servers: [{ address: SERVER, path: { delay: 1e-3, jitter } }],
  };
}

/** 1 s off (ahead) and 100 ppm fast, iburst, default polling; `makestep 0.1 3` or slewing only. */
export function convergence(mode: 'makestep' | 'slew', o: { duration?: number; jitter?: number; offset?: number } = {}): Scenario {
  return {
    name: `convergence, ${mode === 'makestep' ? 'makestep 0.1 3' : 'slew only'}`,
    duration: o.duration ?? 3000,
    convergedAfter: (o.duration ?? 3000) / 2,
    sampleInterval: 0.05,
    seriesInterval: 1,
    client: {
      clock: { offset: o.offset ?? 1, freqPpm: 100 },
      sources: [sourceOptions('server', SERVER, { iburst: true })],
      discipline: { makestep: mode === 'makestep' ? { threshold: 0.1, limit: 3 } : null },
    },
    servers: [{ address: SERVER, path: { delay: 1e-3, jitter: o.jitter ?? 10e-6 } }],
  };
}
