/**
 * What a simulation runs: the client (its oscillator, its source lines and
 * discipline options, exactly as the config layer would give them to the
 * engine), the servers and the network to each, a DNS table, an optional
 * leap second, and what to measure. Times are simulated seconds from the
 * start of the run unless said otherwise.
 */
import type { DisciplineOptions, SyncEngineApi } from '../core/engine/engine-api.js';
import type { SourceOptions } from '../core/engine/source-options.js';
import type { KernelClockSpec } from './kernel-clock.js';
import type { MeasurementPathSpec } from './measurement-path.js';
import type { OscillatorSpec, SimClock } from './sim-clock.js';
import type { ServerSpec, SimServer } from './sim-server.js';

export interface ClientSpec {
  /** The client's oscillator: initial offset, frequency error, wander. */
  readonly clock?: OscillatorSpec;
  /** Source lines, as the config layer builds them (sourceOptions()). */
  readonly sources: readonly SourceOptions[];
  /** Overrides of DISCIPLINE_DEFAULTS (makestep, maxslewrate, leapsecmode, ...). */
  readonly discipline?: Partial<DisciplineOptions>;
  /** Clock-reading precision given to the engine, seconds (default 2^-24). */
  readonly precision?: number;
  /** EngineOptions.resolveInterval. */
  readonly resolveInterval?: number;
  /** Addresses and port the servers see the client at (defaults 192.0.2.100, 2001:db8::100, 40123). */
  readonly addressV4?: string;
  readonly addressV6?: string;
  readonly port?: number;
}

/** One answer of the DNS table, valid from `from` seconds until the next entry. */
export interface DnsAnswer {
  readonly from?: number;
  readonly addresses?: readonly string[];
  /** Resolution fails with this message instead. */
  readonly error?: string;
}

/** What a hook can reach while the simulation runs. */
export interface SimContext {
  /** Simulated seconds since the start. */
  elapsed(): number;
  readonly clock: SimClock;
  readonly engine: SyncEngineApi;
  server(address: string): SimServer;
}

/**
 * Which world the client lives in: 'ideal' (the default: exact timestamps,
 * a frequency change in force at once and exactly, no event loop) or
 * 'kernel' (the Linux clock as SystemClock drives it, kernel-clock.ts, and
 * the daemon's measurement path, measurement-path.ts).
 */
export type World = 'ideal' | 'kernel';

/** The 'kernel' world's parameters; each defaults to what its module says. */
export interface KernelWorldSpec {
  readonly clock?: KernelClockSpec;
  readonly path?: MeasurementPathSpec;
}

export interface Scenario {
  readonly name?: string;
  /** Default 'ideal'. */
  readonly world?: World;
  /** Used when `world` is 'kernel'. */
  readonly kernel?: KernelWorldSpec;
  /** Simulated seconds to run. */
  readonly duration: number;
  /** Unix seconds of true time at the start (default 1704067200, 2024-01-01T00:00:00Z). */
  readonly startUnix?: number;
  readonly client: ClientSpec;
  readonly servers: readonly ServerSpec[];
  /** Host name -> answers over time. Address literals resolve to themselves; other names fail. */
  readonly dns?: Readonly<Record<string, readonly DnsAnswer[]>>;
  /** Seconds a resolution takes (default 0.01). */
  readonly dnsDelay?: number;
  /**
   * A leap second at the first UTC midnight after the start: true UTC repeats
   * (insert) or skips (delete) a second there, and every server with
   * `leap !== false` announces it and applies it to its own clock.
   */
  readonly leapSecond?: 'insert' | 'delete';
  /** Seconds between samples of the client's true error (default 1). */
  readonly sampleInterval?: number;
  /** RMS and max error are taken over samples from this many seconds on (default a quarter of the run). */
  readonly convergedAfter?: number;
  /** Seconds between points kept in the returned series (default: the sample interval, or duration/10000 for long runs). */
  readonly seriesInterval?: number;
  /** Take engine snapshots at these times. */
  readonly snapshotsAt?: readonly number[];
  /** Arbitrary changes during the run (e.g. move a server's clock). */
  readonly hooks?: readonly { readonly at: number; readonly run: (sim: SimContext) => void }[];
}
