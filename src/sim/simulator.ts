/**
 * The simulation loop: it drives any SyncEngineApi exactly as the daemon does
 * (sends with sent() stamps, one pending timer, resolves, set-frequency,
 * step, set-status, write-drift, events) against simulated clocks, servers
 * and network, far faster than real time: an agenda of events in true time,
 * no real timers. Same scenario and seed, same run, to the event.
 *
 * It measures the client's true error (its reading minus true UTC) at a
 * regular interval, and derives the metrics the benchmark and the scenario
 * tests judge the engine by. The parts: server-farm.ts (servers and paths),
 * sim-driver.ts (the engine's actions carried out), error-meter.ts (the
 * true error); this file builds them and runs the agenda.
 */
import { createHash } from 'node:crypto';
import { DISCIPLINE_DEFAULTS, type EngineAction, type EngineEvent, type EngineOptions, type SyncEngineApi } from '../core/engine/engine-api.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import { instantFromUnixSeconds, TICKS_PER_SECOND, type Instant } from '../time/instant.js';
import { ErrorMeter } from './error-meter.js';
import { EventQueue } from './event-queue.js';
import { KernelClock } from './kernel-clock.js';
import { MeasurementPath } from './measurement-path.js';
import { Random } from './random.js';
import type { Scenario, SimContext } from './scenario.js';
import { ServerFarm } from './server-farm.js';
import { SimClock, secondsToTicks } from './sim-clock.js';
import { SimDriver } from './sim-driver.js';
import type { ServerCountersSim } from './sim-server.js';

export type EngineFactory = (options: EngineOptions) => SyncEngineApi;

export interface SimulateOptions {
  readonly engine: EngineFactory;
  readonly seed: number;
  /** The clock controller the engine is asked for, by name (EngineOptions.controller); default the engine's own. */
  readonly controller?: string;
}

export interface SimSample {
  /** Simulated seconds since the start. */
  readonly t: number;
  /** Client reading minus true UTC, seconds (positive: the client is ahead). */
  readonly error: number;
  /** Frequency correction in force, ppm. */
  readonly frequencyPpm: number;
}

export interface SimMetrics {
  readonly samples: number;
  /** RMS of the error over samples from `convergedAfter` on, seconds. */
  readonly rmsError: number;
  /** Mean error over the same samples (a bias shows here), seconds. */
  readonly meanError: number;
  /** Largest |error| over the same samples, seconds. */
  readonly maxAbsError: number;
  /** Largest |error| over the whole run, seconds. */
  readonly maxAbsErrorOverall: number;
  readonly finalError: number;
  /** First time from which |error| stayed within 1 ms to the end, seconds; null if it did not end there. */
  readonly timeWithin1ms: number | null;
  /** Same for 100 us. */
  readonly timeWithin100us: number | null;
  /** Steps the engine made, and their total. */
  readonly steps: number;
  readonly stepTotal: number;
  /** Largest |frequency correction| the engine set, ppm. */
  readonly maxFrequencyPpm: number;
  /** Largest |correction - the correction that would have cancelled the oscillator's error then|, ppm: the fastest slew used. */
  readonly maxSlewPpm: number;
  /** Requests the engine sent, replies it received. */
  readonly requests: number;
  readonly replies: number;
}

export interface SimResult {
  readonly name: string;
  readonly seed: number;
  readonly metrics: SimMetrics;
  readonly series: readonly SimSample[];
  readonly snapshots: readonly { readonly t: number; readonly snapshot: DaemonSnapshot }[];
  /** The engine's snapshot at the end of the run. */
  readonly finalSnapshot: DaemonSnapshot;
  readonly events: readonly { readonly t: number; readonly event: EngineEvent }[];
  readonly steps: readonly { readonly t: number; readonly seconds: number }[];
  readonly frequency: readonly { readonly t: number; readonly ppm: number }[];
  /** Leap seconds the client's clock applied (as the kernel would, from set-status). */
  readonly leaps: readonly { readonly t: number; readonly kind: 'insert' | 'delete' }[];
  /** The last set-status and write-drift, or null. */
  readonly status: Extract<EngineAction, { kind: 'set-status' }> | null;
  readonly drift: Extract<EngineAction, { kind: 'write-drift' }> | null;
  /** Per server address: what its responder did. */
  readonly servers: Readonly<Record<string, ServerCountersSim>>;
  /** Per server address: when requests arrived there, seconds into the run. */
  readonly requestTimes: Readonly<Record<string, readonly number[]>>;
  /** Hosts the engine asked to resolve, in order, with the time. */
  readonly resolves: readonly { readonly t: number; readonly host: string }[];
  /** Requests sent to an address no server has. */
  readonly unroutable: number;
}

const DEFAULT_START_UNIX = 1_704_067_200;
const TICKS = Number(TICKS_PER_SECOND);
/** Ticks at one true instant beyond which an engine is spinning (timers in the past, forever). */
const MAX_EVENTS_AT_ONE_INSTANT = 100_000;

/** Runs one scenario with one seed. */
export function simulate(scenario: Scenario, options: SimulateOptions): SimResult {
  const rng = new Random(options.seed);
  const start = instantFromUnixSeconds(scenario.startUnix ?? DEFAULT_START_UNIX);
  const end = start + secondsToTicks(scenario.duration);
  let now: Instant = start;
  const elapsed = (): number => Number(now - start) / TICKS;
  const time = { now: () => now, elapsed };

  // True UTC: a perfect clock that applies the scenario's leap second.
  const truth = new SimClock({}, time);
  const leap = scenario.leapSecond;
  if (leap) truth.setStatus({ synchronized: true, leap, estError: 0, maxError: 0 });

  const kernel = scenario.world === 'kernel';
  const clockRng = rng.fork('client-clock');
  const clock = kernel
    ? new KernelClock(scenario.client.clock ?? {}, scenario.kernel?.clock ?? {}, time, clockRng)
    : new SimClock(scenario.client.clock ?? {}, time, clockRng);
  const path = kernel ? new MeasurementPath(scenario.kernel?.path ?? {}, rng.fork('measurement-path')) : null;
  const farm = new ServerFarm(scenario.servers, time, rng, leap);
  const engine = options.engine(engineOptions(scenario, rng, options.controller));
  const queue = new EventQueue();
  const driver = new SimDriver(engine, clock, farm, queue, time, scenario, path);
  const meter = new ErrorMeter(scenario, clock, truth);
  const snapshots: { t: number; snapshot: DaemonSnapshot }[] = [];

  const sampleTicks = secondsToTicks(meter.interval);
  const sample = (): void => {
    meter.measure(now, elapsed());
    if (now + sampleTicks <= end) queue.push(now + sampleTicks, sample);
  };
  const context: SimContext = { elapsed, clock, engine, server: farm.byAddress };

  queue.push(start, () => driver.handle(engine.start(clock.now())));
  queue.push(start, sample);
  for (const s of farm.all()) {
    for (const st of s.spec.steps ?? []) queue.push(start + secondsToTicks(st.at), () => s.clock.step(st.seconds));
  }
  for (const at of scenario.snapshotsAt ?? []) {
    queue.push(start + secondsToTicks(at), () => snapshots.push({ t: elapsed(), snapshot: engine.snapshot(clock.now(), 'sim') }));
  }
  for (const h of scenario.hooks ?? []) queue.push(start + secondsToTicks(h.at), () => h.run(context));

  runAgenda(queue, end, (at) => { now = at; }, elapsed);
  now = end;

  const { counters, requestTimes } = farm.tallies();
  return {
    name: scenario.name ?? 'scenario',
    seed: options.seed,
    metrics: {
      ...meter.figures(),
      steps: driver.steps.length,
      stepTotal: driver.steps.reduce((x, s) => x + s.seconds, 0),
      maxFrequencyPpm: driver.maxFrequencyPpm,
      maxSlewPpm: driver.maxSlewPpm,
      requests: driver.requests,
      replies: driver.replies,
    },
    series: meter.series,
    snapshots,
    finalSnapshot: engine.snapshot(clock.now(), 'sim'),
    events: driver.events,
    steps: driver.steps,
    frequency: driver.frequency,
    leaps: clock.leaps.map((l) => ({ t: Number(l.at - start) / TICKS, kind: l.kind })),
    status: driver.status,
    drift: driver.drift,
    servers: counters,
    requestTimes,
    resolves: driver.resolves,
    unroutable: driver.unroutable,
  };
}

/** The engine's options, as the config layer would give them, with the simulator's seeded randomness. */
function engineOptions(scenario: Scenario, rng: Random, controller: string | undefined): EngineOptions {
  const client = scenario.client;
  return {
    sources: client.sources,
    discipline: { ...DISCIPLINE_DEFAULTS, ...client.discipline },
    precision: client.precision ?? 2 ** -24,
    random: rng.fork('engine').asFunction(),
    md5: (data) => new Uint8Array(createHash('md5').update(data).digest()),
    ...(client.resolveInterval !== undefined ? { resolveInterval: client.resolveInterval } : {}),
    ...(controller !== undefined ? { controller } : {}),
  };
}

/** Runs the agenda up to `end`, setting the true time before each event; an engine that keeps asking for timers at one instant is an error. */
function runAgenda(queue: EventQueue, end: Instant, setNow: (at: Instant) => void, elapsed: () => number): void {
  let spinAt: Instant = -1n;
  let spin = 0;
  for (;;) {
    const at = queue.peek();
    if (at === null || at > end) break;
    const e = queue.pop() as { at: Instant; run: () => void };
    if (e.at === spinAt) {
      if (++spin > MAX_EVENTS_AT_ONE_INSTANT) throw new Error(`The engine keeps asking for timers at ${elapsed()} s without time passing`);
    } else {
      spinAt = e.at;
      spin = 0;
    }
    setNow(e.at);
    e.run();
  }
}
