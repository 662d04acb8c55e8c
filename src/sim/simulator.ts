/**
 * The simulation loop: it drives any SyncEngineApi exactly as the daemon does
 * (sends with sent() stamps, one pending timer, resolves, set-frequency,
 * step, set-status, write-drift, events) against simulated clocks, servers
 * and network, far faster than real time: an agenda of events in true time,
 * no real timers. Same scenario and seed, same run, to the event.
 *
 * It measures the client's true error (its reading minus true UTC) at a
 * regular interval, and derives the metrics the benchmark and the scenario
 * tests judge the engine by.
 */
import { createHash } from 'node:crypto';
import { DISCIPLINE_DEFAULTS, type EngineAction, type EngineEvent, type EngineOptions, type SyncEngineApi } from '../core/engine-api.js';
import type { DaemonSnapshot } from '../core/snapshot.js';
import { instantFromUnixSeconds, TICKS_PER_SECOND, type Instant } from '../time/instant.js';
import { EventQueue } from './event-queue.js';
import { Path } from './network.js';
import { Random } from './random.js';
import type { DnsAnswer, Scenario, SimContext } from './scenario.js';
import { SimClock, secondsToTicks } from './sim-clock.js';
import { SimServer, type ServerCountersSim } from './sim-server.js';

export type EngineFactory = (options: EngineOptions) => SyncEngineApi;

export interface SimulateOptions {
  readonly engine: EngineFactory;
  readonly seed: number;
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
/** Seconds within which two clocks applying the same leap second count as simultaneous. */
const LEAP_GRACE = 1;

function isAddressLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

function answerAt(answers: readonly DnsAnswer[] | undefined, host: string, t: number): { addresses: readonly string[] } | { error: string } {
  if (answers) {
    let pick: DnsAnswer | undefined;
    for (const a of answers) if ((a.from ?? 0) <= t) pick = a;
    if (pick) return pick.error !== undefined ? { error: pick.error } : { addresses: pick.addresses ?? [] };
    return { error: `${host}: no answer yet` };
  }
  if (isAddressLiteral(host)) return { addresses: [host] };
  return { error: `${host}: NXDOMAIN` };
}

/** Runs one scenario with one seed. */
export function simulate(scenario: Scenario, options: SimulateOptions): SimResult {
  const rng = new Random(options.seed);
  const start = instantFromUnixSeconds(scenario.startUnix ?? DEFAULT_START_UNIX);
  const end = start + secondsToTicks(scenario.duration);
  let now: Instant = start;
  const time = { now: () => now };
  const elapsed = (): number => Number(now - start) / TICKS;

  // True UTC: a perfect clock that applies the scenario's leap second.
  const truth = new SimClock({}, time);
  const leap = scenario.leapSecond;
  if (leap) truth.setStatus({ synchronized: true, leap, estError: 0, maxError: 0 });

  const clock = new SimClock(scenario.client.clock ?? {}, time, rng.fork('client-clock'));
  const servers = new Map<string, SimServer>();
  const paths = new Map<SimServer, Path>();
  for (const spec of scenario.servers) {
    const key = `${spec.address.toLowerCase()}|${spec.port ?? 123}`;
    if (servers.has(key)) throw new RangeError(`Cannot simulate two servers at ${spec.address} port ${spec.port ?? 123}`);
    const s = new SimServer(spec, time, rng.fork(`server:${key}`));
    if (leap && spec.leap !== false) s.clock.setStatus({ synchronized: true, leap, estError: 0, maxError: 0 });
    servers.set(key, s);
    paths.set(s, new Path(spec.path ?? {}, rng.fork(`path:${key}`)));
  }

  const client = scenario.client;
  const engine = options.engine({
    sources: client.sources,
    discipline: { ...DISCIPLINE_DEFAULTS, ...client.discipline },
    precision: client.precision ?? 2 ** -24,
    random: rng.fork('engine').asFunction(),
    md5: (data) => new Uint8Array(createHash('md5').update(data).digest()),
    ...(client.resolveInterval !== undefined ? { resolveInterval: client.resolveInterval } : {}),
  });

  const queue = new EventQueue();
  const events: { t: number; event: EngineEvent }[] = [];
  const steps: { t: number; seconds: number }[] = [];
  const frequency: { t: number; ppm: number }[] = [];
  const resolves: { t: number; host: string }[] = [];
  const snapshots: { t: number; snapshot: DaemonSnapshot }[] = [];
  let status: SimResult['status'] = null;
  let drift: SimResult['drift'] = null;
  let maxFrequencyPpm = 0;
  let maxSlewPpm = 0;
  let requests = 0;
  let replies = 0;
  let unroutable = 0;
  let timerGeneration = 0;

  const clientAddress = (server: SimServer): string =>
    server.address.includes(':') ? (client.addressV6 ?? '2001:db8::100') : (client.addressV4 ?? '192.0.2.100');
  const clientPort = client.port ?? 40123;

  const handle = (actions: readonly EngineAction[]): void => {
    for (const a of actions) {
      switch (a.kind) {
        case 'send': {
          requests++;
          engine.sent(a.sourceId, clock.now());
          const server = servers.get(`${a.address.toLowerCase()}|${a.port}`);
          if (!server) {
            unroutable++;
            break;
          }
          const path = paths.get(server) as Path;
          const out = path.transit('out');
          if (out === null) break;
          const packet = a.packet.slice();
          queue.push(now + secondsToTicks(out), () => {
            const res = server.handle(packet, { address: clientAddress(server), port: clientPort }, now, elapsed());
            if (!res) return;
            const back = path.transit('back');
            if (back === null) return;
            queue.push(now + secondsToTicks(res.after + back), () => {
              replies++;
              const t4 = clock.now();
              handle(engine.receive({ address: server.address, port: server.port, data: res.reply, t4 }, t4));
            });
          });
          break;
        }
        case 'timer': {
          const generation = ++timerGeneration;
          queue.push(clock.trueTimeOf(a.at), () => {
            if (generation === timerGeneration) handle(engine.tick(clock.now()));
          });
          break;
        }
        case 'resolve': {
          resolves.push({ t: elapsed(), host: a.host });
          const at = now + secondsToTicks(scenario.dnsDelay ?? 0.01);
          queue.push(at, () => {
            const answer = answerAt(scenario.dns?.[a.host], a.host, elapsed());
            handle(engine.resolved(a.sourceId, answer, clock.now()));
          });
          break;
        }
        case 'set-frequency': {
          const applied = clock.setFrequency(a.ppm);
          frequency.push({ t: elapsed(), ppm: applied });
          maxFrequencyPpm = Math.max(maxFrequencyPpm, Math.abs(applied));
          maxSlewPpm = Math.max(maxSlewPpm, Math.abs(applied - clock.idealCorrectionPpm()));
          break;
        }
        case 'step':
          clock.step(a.seconds);
          steps.push({ t: elapsed(), seconds: a.seconds });
          break;
        case 'set-status':
          clock.setStatus({ synchronized: a.synchronized, leap: a.leap, estError: a.estError, maxError: a.maxError });
          status = a;
          break;
        case 'write-drift':
          drift = a;
          break;
        case 'event':
          events.push({ t: elapsed(), event: a.event });
          break;
      }
    }
  };

  // Measurement.
  const sampleInterval = scenario.sampleInterval ?? 1;
  const convergedAfter = scenario.convergedAfter ?? scenario.duration / 4;
  const seriesInterval = scenario.seriesInterval ?? (scenario.duration > 20_000 ? scenario.duration / 10_000 : sampleInterval);
  const series: SimSample[] = [];
  let nextSeries = 0;
  let samples = 0;
  let sumSq = 0;
  let sum = 0;
  let counted = 0;
  let maxAbs = 0;
  let maxAbsOverall = 0;
  let finalError = 0;
  let lastAbove1ms: number | null = null;
  let lastAbove100us: number | null = null;
  const sampleTicks = secondsToTicks(sampleInterval);
  // Around a leap second UTC is ambiguous: a clock 1 us behind inserts its
  // leap 1 us after true UTC does, as the kernel should. When one of the two
  // has applied the leap and the other will within LEAP_GRACE, they are
  // compared as if both had; a missed leap still shows as a 1 s error.
  const utcError = (): number => {
    let err = clock.errorAt(now, truth.readingAt(now));
    const diff = clock.leapShift() - truth.leapShift();
    if (diff !== 0) {
      const lagging = diff > 0 ? clock : truth;
      const edge = lagging.leapEdgeIn();
      if (edge !== null && edge <= LEAP_GRACE) err -= diff;
    }
    return err;
  };
  const sample = (): void => {
    const t = elapsed();
    const err = utcError();
    const abs = Math.abs(err);
    samples++;
    finalError = err;
    maxAbsOverall = Math.max(maxAbsOverall, abs);
    if (t >= convergedAfter) {
      counted++;
      sum += err;
      sumSq += err * err;
      maxAbs = Math.max(maxAbs, abs);
    }
    if (abs > 1e-3) lastAbove1ms = t;
    if (abs > 100e-6) lastAbove100us = t;
    if (t >= nextSeries) {
      series.push({ t, error: err, frequencyPpm: clock.frequencyPpm() });
      nextSeries += seriesInterval;
    }
    if (now + sampleTicks <= end) queue.push(now + sampleTicks, sample);
  };

  const context: SimContext = {
    elapsed, clock, engine,
    server(address: string): SimServer {
      for (const s of servers.values()) if (s.address === address) return s;
      throw new RangeError(`Cannot find simulated server ${address}`);
    },
  };

  queue.push(start, () => handle(engine.start(clock.now())));
  queue.push(start, sample);
  for (const s of servers.values()) {
    for (const st of s.spec.steps ?? []) queue.push(start + secondsToTicks(st.at), () => s.clock.step(st.seconds));
  }
  for (const at of scenario.snapshotsAt ?? []) {
    queue.push(start + secondsToTicks(at), () => snapshots.push({ t: elapsed(), snapshot: engine.snapshot(clock.now(), 'sim') }));
  }
  for (const h of scenario.hooks ?? []) queue.push(start + secondsToTicks(h.at), () => h.run(context));

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
    now = e.at;
    e.run();
  }
  now = end;

  const within = (last: number | null): number | null => {
    if (last === null) return 0;
    const t = last + sampleInterval;
    return t > scenario.duration ? null : t;
  };
  const serverStats: Record<string, ServerCountersSim> = {};
  const requestTimes: Record<string, readonly number[]> = {};
  for (const s of servers.values()) {
    serverStats[s.address] = { ...s.counters };
    requestTimes[s.address] = s.requestTimes;
  }

  return {
    name: scenario.name ?? 'scenario',
    seed: options.seed,
    metrics: {
      samples,
      rmsError: counted > 0 ? Math.sqrt(sumSq / counted) : NaN,
      meanError: counted > 0 ? sum / counted : NaN,
      maxAbsError: maxAbs,
      maxAbsErrorOverall: maxAbsOverall,
      finalError,
      timeWithin1ms: within(lastAbove1ms),
      timeWithin100us: within(lastAbove100us),
      steps: steps.length,
      stepTotal: steps.reduce((x, s) => x + s.seconds, 0),
      maxFrequencyPpm,
      maxSlewPpm,
      requests,
      replies,
    },
    series,
    snapshots,
    finalSnapshot: engine.snapshot(clock.now(), 'sim'),
    events,
    steps,
    frequency,
    leaps: clock.leaps.map((l) => ({ t: Number(l.at - start) / TICKS, kind: l.kind })),
    status,
    drift,
    servers: serverStats,
    requestTimes,
    resolves,
    unroutable,
  };
}
