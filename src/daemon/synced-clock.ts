/**
 * The library's synchronized clock: the daemon's engine (same sources,
 * selection and discipline) in-process, on a VirtualClock. It never touches
 * the system clock, so it suits containers, serverless functions, macOS and
 * Windows; where the native addon is missing it sends over node:dgram.
 *
 *     const clock = await createSyncedClock({ servers: [{ host: 'time.example', iburst: true }] });
 *     await clock.whenSynchronized();
 *     clock.isoString(); // '2026-11-23T09:41:00.123456789Z'
 *
 * By default it does not keep the Node process alive (its sockets and timer
 * are unref'd): a program exits when its own work is done.
 */
import { EventEmitter } from 'node:events';
import { type RealtimeSourceChoice, useRealtimeSource } from '../clock/realtime.js';
import { VirtualClock, type VirtualClockOptions } from '../clock/virtual-clock.js';
import type { Config } from '../config/config.js';
import { loadConfig, parseConfigText } from '../config/parse-config.js';
import { ConfigError, formatDiagnostic } from '../config/diagnostics.js';
import type { DisciplineOptions, EngineEvent } from '../core/engine/engine-api.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import { sourceOptions, type SourceKind, type SourceOptions } from '../core/engine/source-options.js';
import type { SystemState } from '../core/system.js';
import { formatInstant, type Instant, instantToDate } from '../time/instant.js';
import type { UdpPreferences } from '../net/udp-socket.js';
import type { Resolver } from './engine-driver.js';
import type { ServedClock } from './ntp-server.js';
import { type EngineFactory, startSyncDaemon, type SyncDaemon } from './sync-daemon.js';

/** One server, with the options of a chrony.conf `server` line (chrony's defaults for the rest). */
export interface SyncedClockServer extends Partial<Omit<SourceOptions, 'host' | 'kind'>> {
  /** Host name, IPv4 or IPv6 address. */
  readonly host: string;
  /** 'server' (default) or 'pool' (several addresses of one name). */
  readonly kind?: SourceKind;
}

export interface SyncedClockOptions {
  /** The sources, as host names or `{ host, iburst, minpoll, ... }`. One of servers, config, configFile. */
  readonly servers?: readonly (string | SyncedClockServer)[];
  /** chrony.conf (or ntp.conf) text: `server a.example iburst\nmakestep 0.1 3`. */
  readonly config?: string;
  /** A chrony.conf or ntp.conf file to read. */
  readonly configFile?: string;
  /**
   * Discipline settings over the defaults. With `servers`, the default is
   * chrony's plus `makestep 0.1 3` (a virtual clock harms no one when it
   * steps, and the first updates should land at once); with a config, the
   * config's own settings.
   */
  readonly discipline?: Partial<DisciplineOptions>;
  /** Name resolution (default node:dns). */
  readonly resolve?: Resolver;
  /** Where the virtual clock starts: an offset and frequency error against the system clock (tests and demos). */
  readonly virtualClock?: Pick<VirtualClockOptions, 'offsetSeconds' | 'frequencyErrorPpm'>;
  /** Keep the process alive while the clock runs (default false). */
  readonly keepAlive?: boolean;
  /** Log lines (source selected, falsetickers...), as the daemon writes them. */
  readonly log?: (line: string) => void;
  /**
   * The source realtime() reads for the whole process (default: the addon's
   * clock_gettime where it loads, chosen on first use). Set it here, before
   * anything reads the clock, to force the calibrated hrtime fallback.
   */
  readonly realtimeSource?: RealtimeSourceChoice;
  /** The socket backend: `{ forceDgram: reason }` for node:dgram whatever the addon offers. */
  readonly udp?: UdpPreferences;
  /** @internal the engine; default core/engine/engine.ts. */
  readonly createEngine?: EngineFactory;
}

/** Events, each with the engine's event object. */
export interface SyncedClockEvents {
  synchronized: [Extract<EngineEvent, { type: 'synchronized' }>];
  unsynchronized: [Extract<EngineEvent, { type: 'unsynchronized' }>];
  step: [Extract<EngineEvent, { type: 'step' }>];
  falseticker: [Extract<EngineEvent, { type: 'falseticker' }>];
  'source-unreachable': [Extract<EngineEvent, { type: 'source-unreachable' }>];
  kiss: [Extract<EngineEvent, { type: 'kiss' }>];
  'source-replaced': [Extract<EngineEvent, { type: 'source-replaced' }>];
  leap: [Extract<EngineEvent, { type: 'leap' }>];
  /** An update found the clock wrong by more than `logchange` (chronyd's "System clock wrong by X seconds"). */
  'clock-wrong': [Extract<EngineEvent, { type: 'clock-wrong' }>];
  /** chrony `maxchange`: an update too large was ignored (`fatal`: more than `ignore` times; the clock keeps running). */
  maxchange: [Extract<EngineEvent, { type: 'maxchange' }>];
  /** Config warnings (directives known but unused) and other non-fatal problems. */
  warning: [string];
}

/** makestep 0.1 3: see SyncedClockOptions.discipline. */
const LIBRARY_MAKESTEP = Object.freeze({ threshold: 0.1, limit: 3 });

export class SyncedClock extends EventEmitter<SyncedClockEvents> {
  readonly #daemon: SyncDaemon;
  readonly #clock: VirtualClock;
  readonly #waiters = new Set<() => void>();
  readonly #stateListeners = new Set<() => void>();
  #closed = false;

  /** @internal use createSyncedClock(). */
  constructor(daemon: SyncDaemon, clock: VirtualClock) {
    super();
    this.#daemon = daemon;
    this.#clock = clock;
  }

  /** The synchronized time, exact (2^-32 s units since 1900; see time/instant.ts). */
  now(): Instant { return this.#clock.now(); }
  /** The synchronized time as a Date (millisecond resolution). */
  date(): Date { return instantToDate(this.#clock.now()); }
  /** ISO 8601 with nanoseconds: `2026-11-23T09:41:00.123456789Z`. */
  isoString(): string { return formatInstant(this.#clock.now()); }
  /** Milliseconds since 1970 as a float with sub-ms digits (a drop-in for Date.now()). */
  unixMillis(): number { return Number(this.#clock.now() - UNIX_EPOCH_TICKS) / 2 ** 32 * 1000; }

  /** The same snapshot `ntpkit tracking` and `ntpkit sources` show. */
  status(): DaemonSnapshot { return this.#daemon.snapshot(); }
  get synchronized(): boolean { return this.#daemon.snapshot().tracking.synchronized; }

  /**
   * Resolves once synchronized (at once if it is); rejects after `timeoutMs`
   * (default 60 s) or on close(). While it waits, the process stays alive.
   */
  whenSynchronized(timeoutMs = 60_000): Promise<void> {
    if (this.synchronized) return Promise.resolve();
    if (this.#closed) return Promise.reject(new Error('Cannot wait for synchronization: the clock is closed'));
    return new Promise((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer);
        this.off('synchronized', onSync);
        this.#waiters.delete(onClose);
        if (err) reject(err); else resolve();
      };
      const onSync = (): void => done();
      const onClose = (): void => done(new Error('Cannot wait for synchronization: the clock was closed'));
      // A ref'd timer: waiting keeps the process alive (the sockets alone do not, unless keepAlive).
      const timer = setTimeout(() => done(new Error(`Not synchronized within ${timeoutMs} ms`)), timeoutMs);
      this.on('synchronized', onSync);
      this.#waiters.add(onClose);
    });
  }

  /** @internal what createServer() serves from this clock. */
  serverClock(): ServedClock {
    return { now: () => this.#clock.now(), fromRealtime: (t) => this.#clock.fromRealtime(t) };
  }

  /** @internal calls `fn` whenever the sync state may have changed; returns the unsubscribe. */
  onStateChange(fn: () => void): () => void {
    this.#stateListeners.add(fn);
    return () => { this.#stateListeners.delete(fn); };
  }

  /** @internal */
  notifyState(): void {
    for (const fn of this.#stateListeners) fn();
  }

  /** @internal the sync state an NTP server fed by this clock announces. */
  systemState(): SystemState {
    return this.#daemon.systemState();
  }

  /** Stops polling and closes the sockets. Idempotent; now() keeps working (free-running). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of [...this.#waiters]) w();
    await this.#daemon.stop();
  }
}

const UNIX_EPOCH_TICKS = 2_208_988_800n << 32n;

/** Starts a synchronized clock. Rejects with a ConfigError (file:line messages) on a bad config. */
export async function createSyncedClock(options: SyncedClockOptions): Promise<SyncedClock> {
  const given = [options.servers, options.config, options.configFile].filter((x) => x !== undefined).length;
  if (given !== 1) throw new TypeError('createSyncedClock: give exactly one of `servers`, `config` or `configFile`');
  const { config, warnings } = await buildConfig(options);
  if (options.realtimeSource !== undefined) useRealtimeSource(options.realtimeSource);
  const clock = new VirtualClock(options.virtualClock ?? {});
  // Filled once the daemon is up; events during its start wait in `pending`.
  const holder: { synced?: SyncedClock; delivering?: boolean } = {};
  const pending: EngineEvent[] = [];
  const daemon = await startSyncDaemon({
    config,
    clock,
    serve: false,
    keepAlive: options.keepAlive ?? false,
    log: options.log ?? (() => {}),
    resolve: options.resolve,
    udp: options.udp,
    createEngine: options.createEngine,
    onUpdate: () => holder.synced?.notifyState(),
    onEvent: (e) => {
      // Events during start (before the object exists) are delivered right after.
      if (holder.synced === undefined || holder.delivering !== true) pending.push(e);
      else emitEvent(holder.synced, e);
    },
  });
  const s = new SyncedClock(daemon, clock);
  holder.synced = s;
  // After the caller's `await` has resumed and attached its listeners.
  setImmediate(() => {
    for (const w of warnings) s.emit('warning', w);
    for (const e of pending.splice(0)) emitEvent(s, e);
    holder.delivering = true;
  });
  return s;
}

function emitEvent(c: SyncedClock, e: EngineEvent): void {
  (c.emit as (name: string, ev: EngineEvent) => boolean)(e.type, e);
}

async function buildConfig(o: SyncedClockOptions): Promise<{ config: Config; warnings: string[] }> {
  const name = o.configFile ?? '<config>';
  const r = o.configFile !== undefined ? await loadConfig(o.configFile) : parseConfigText(o.config ?? '', name);
  if (r.config === null) throw new ConfigError(r.errors, r.warnings);
  let config: Config = r.config;
  if (o.servers !== undefined) {
    if (o.servers.length === 0) throw new TypeError('createSyncedClock: `servers` is empty');
    const sources = o.servers.map((s, i) => {
      const opt = typeof s === 'string' ? { host: s } : s;
      const { host, kind, ...rest } = opt;
      if (typeof host !== 'string' || host.length === 0) throw new TypeError(`createSyncedClock: servers[${i}] has no host`);
      return { options: sourceOptions(kind ?? 'server', host, rest), file: '<servers>', line: i + 1 };
    });
    config = { ...config, sources, discipline: { ...config.discipline, makestep: LIBRARY_MAKESTEP } };
  }
  if (o.discipline !== undefined) config = { ...config, discipline: { ...config.discipline, ...o.discipline } };
  if (config.sources.length === 0) throw new ConfigError([{ file: name, line: 0, message: 'no server, pool or peer line: nothing to synchronize to' }]);
  return { config, warnings: r.warnings.map(formatDiagnostic) };
}
