/**
 * The client daemon's wiring, below the CLI: one engine (core/engine.ts) over
 * the engine driver (sockets, timer, DNS), the Clock it disciplines, the
 * drift file, and the NTP server serving that clock with the engine's real
 * sync state (issue 4: stratum = the selected source's + 1, its refid, the
 * accumulated root delay and dispersion).
 *
 * The config arrives already loaded and valid: the CLI reports errors and
 * never starts half-configured. The control socket is the CLI's too (the
 * control layer sits above this one); it reads snapshot().
 */
import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Clock } from '../clock/clock.js';
import type { Config } from '../config/config.js';
import { ConfigError, formatDiagnostic } from '../config/diagnostics.js';
import { NtsSourceAuthenticator } from '../crypto/nts-client.js';
import { NtsServerAuthenticator } from '../crypto/nts-server.js';
import { symmetricRequestAuthenticator, symmetricSourceAuthenticator } from '../crypto/symmetric-auth.js';
import type { RequestAuthenticator } from '../core/server.js';
import type { SourceOptions } from '../core/source-options.js';
import { ntsKeyExchange } from '../net/nts-ke-client.js';
import type { UdpPreferences } from '../net/udp-socket.js';
import { ntsKeOptionsFor } from './nts-source-ke.js';
import type { ServerConfig } from '../config/server-config.js';
import type { CookieKeyRing } from '../crypto/nts-cookie.js';
import type { EngineCommand, EngineCommandResult, EngineEvent, EngineOptions, SyncEngineApi } from '../core/engine-api.js';
import type { ClientReport } from '../core/client-report.js';
import { type ServerStats, withNtsKeStats } from '../core/server-stats.js';
import type { DaemonSnapshot } from '../core/snapshot.js';
import { localReferenceState, type SystemState } from '../core/system.js';
import { type ConfigResources, type KeyTable, loadConfigResources } from './config-resources.js';
import { DriftFileWriter, readDriftFile, type DriftValues } from './drift-file.js';
import { type ClientSocketFactory, EngineDriver, type Resolver } from './engine-driver.js';
import { measurePrecision, type RunningNtpServer, startNtpServer } from './ntp-server.js';
import { type NtsKeService, startNtsKeService } from './nts-ke-service.js';
import { StatsLog, type StatsLogEvent, wantsStatsLogs } from './stats-log.js';

/** The engine the daemon runs (core/engine-api.ts): systemState() feeds the NTP server, drift() the drift file. */
export type DaemonEngine = SyncEngineApi;

export type EngineFactory = (options: EngineOptions) => DaemonEngine;

export interface SyncDaemonOptions {
  readonly config: Config;
  /**
   * What the config names, already loaded (config-resources.ts; the CLI
   * reports its problems itself). Absent: loaded here, and a config whose
   * resources do not load is refused with a ConfigError.
   */
  readonly resources?: ConfigResources;
  readonly clock: Clock;
  /** One line per event, no timestamp (the CLI adds one outside systemd). */
  readonly log: (line: string) => void;
  /** Default: core/engine.ts's SyncEngine. */
  readonly createEngine?: EngineFactory;
  /** Default: node:dns. Tests inject one. */
  readonly resolve?: Resolver;
  readonly openSocket?: ClientSocketFactory;
  /** The composition root's say in the socket backend, client and server alike. */
  readonly udp?: UdpPreferences;
  /** NtpServerOptions.transmitCompensation. */
  readonly transmitCompensation?: boolean;
  /** Default: serve when the config's `allow` permits. false: never (the library). */
  readonly serve?: boolean;
  /** Observe engine events (the library re-emits them). */
  readonly onEvent?: (event: EngineEvent) => void;
  /** Keep the process alive for sockets and timers (default true). */
  readonly keepAlive?: boolean;
  /** After every engine batch: the sync state may have changed (the library feeds its servers from here). */
  readonly onUpdate?: () => void;
  /**
   * The engine gave up, as chronyd exits (`maxchange` exceeded more than
   * `ignore` times): the CLI stops with a failure status.
   */
  readonly onFatal?: (reason: string) => void;
}

export interface SyncDaemon {
  readonly clock: Clock;
  readonly config: Config;
  /** The one published state (control socket, library status()). */
  snapshot(): DaemonSnapshot;
  /** The sync state served now (the engine's; `local` while unsynchronized, if configured). */
  systemState(): SystemState;
  /** The NTP server, when the config allows serving. */
  readonly ntpServer: RunningNtpServer | null;
  /** The NTS-KE server and the cookie keys, when the config has ntsservercert and ntsserverkey. */
  readonly ntsKe: NtsKeService | null;
  /** How the client sockets send and stamp, once open. */
  readonly transport: EngineDriver['transport'];
  /**
   * Applies a new config (SIGHUP) whole, or nothing of it: new sources and
   * discipline on the same clock, starting from the frequency in force, new
   * keys, the NTS-KE certificate re-read (a renewed one is served without
   * closing the port); the NTP and NTS-KE servers are restarted only if
   * their settings changed. Rejects, with the old config, keys, servers and
   * certificate all still in force, if the new resources do not load
   * (a ConfigError: file:line reasons) or a new server cannot start.
   * `resources`: as in SyncDaemonOptions.
   */
  reconfigure(config: Config, resources?: ConfigResources): Promise<void>;
  /**
   * A run-time control command (chronyc makestep, burst, online/offline,
   * add, delete, activity, ntpdata), carried out at once. Sources added or
   * taken offline this way last until the next reconfigure().
   */
  control<C extends EngineCommand>(command: C): EngineCommandResult<C['op']>;
  /** The NTP server's clients (chronyc clients), or null when not serving. */
  clients(minHits?: number): ClientReport[] | null;
  /** The NTP server's counters (chronyc serverstats), or null when not serving. */
  serverStats(): ServerStats | null;
  /** Saves the drift file, stops serving and polling. Idempotent. */
  stop(): Promise<void>;
}

/** 48 random bits per draw, from node:crypto (request cookies must not be guessable). */
function cryptoRandom(): () => number {
  let buf = randomBytes(6 * 256);
  let i = 0;
  return () => {
    if (i + 6 > buf.length) { buf = randomBytes(buf.length); i = 0; }
    const v = buf.readUIntBE(i, 6);
    i += 6;
    return v / 2 ** 48;
  };
}

async function defaultEngineFactory(): Promise<EngineFactory> {
  const { SyncEngine } = await import('../core/engine.js');
  return (o) => new SyncEngine(o) as DaemonEngine;
}

/**
 * The config's resources, or a ConfigError naming each problem once with its
 * file:line (the daemon does not start, or reload, on any). Warnings go to the log.
 */
async function loadOrRefuse(c: Config, serve: boolean, log: (line: string) => void): Promise<ConfigResources> {
  const r = await loadConfigResources(c, { serve, control: false, http: false });
  for (const w of r.warnings) log(`Warning: ${formatDiagnostic(w)}`);
  if (r.resources === null) throw new ConfigError(r.errors, r.warnings);
  return r.resources;
}

function logKeys(c: Config, keys: KeyTable | null, log: (line: string) => void): void {
  if (keys !== null) log(`Loaded ${keys.size} symmetric key${keys.size === 1 ? '' : 's'} from ${c.keyfile as string}`);
}

/** chrony's initial skew when nothing is known ("rather bad", reference.c): 1 s/s. */
const UNKNOWN_SKEW_PPM = 1e6;

export async function startSyncDaemon(opts: SyncDaemonOptions): Promise<SyncDaemon> {
  const { clock, log } = opts;
  const createEngine = opts.createEngine ?? await defaultEngineFactory();
  const random = cryptoRandom();
  const precisionLog2 = measurePrecision(() => clock.now());
  let config = opts.config;
  let driftWriter: DriftFileWriter | null = null;
  let driftRead: DriftValues | null = null;
  const serving = opts.serve ?? true;
  const resources = opts.resources ?? await loadOrRefuse(config, serving, log);
  let keys = resources.keys;
  logKeys(config, keys, log);

  if (config.driftfile !== null) {
    driftWriter = new DriftFileWriter(config.driftfile, (m) => log(m));
    const r = await readDriftFile(config.driftfile);
    if (r.status === 'ok') {
      driftRead = r.value;
      log(`Frequency ${(-r.value.frequencyPpm).toFixed(3)} +/- ${r.value.skewPpm.toFixed(3)} ppm read from ${config.driftfile}`);
    } else if (r.status === 'invalid') {
      log(`Could not read valid frequency and skew from driftfile ${config.driftfile} (${r.message})`);
    } else {
      log(`No drift file at ${config.driftfile} yet`);
    }
  }
  // As chronyd's reference.c: without a drift file (or with one holding 0), keep the frequency the
  // clock already has (the kernel's, set by an earlier daemon or by hand) rather than resetting it.
  if (driftRead === null || driftRead.frequencyPpm === 0) {
    const current = clock.frequencyPpm();
    if (current !== 0) log(`Initial frequency ${(-current).toFixed(3)} ppm`);
  }

  const engineOptions = (c: Config, initial: DriftValues | null, k: KeyTable | null): EngineOptions => ({
    sources: c.sources.map((s) => s.options),
    discipline: {
      ...c.discipline,
      initialFrequencyPpm: initial !== null && initial.frequencyPpm !== 0 ? initial.frequencyPpm : clock.frequencyPpm(),
      initialSkewPpm: initial?.skewPpm ?? null,
    },
    precision: 2 ** precisionLog2,
    random,
    md5: (data) => createHash('md5').update(data).digest(),
    authenticatorFor: (so) => (so.nts ? ntsSourceAuthenticator(so) : so.key === null ? null
      : symmetricSourceAuthenticator(k?.get(so.key) ?? null, `key ${so.key} is not in ${c.keyfile ?? 'a key file (no keyfile directive)'}`)),
  });

  // Clock updates so far: chrony's `nocerttimecheck N` forgives certificate dates only during the first N.
  let clockUpdates = 0;
  /**
   * An `nts` source's authenticator: it runs NTS-KE (RFC 8915 §4) whenever it
   * has no session, no cookies left, or got an NTS NAK; requests wait (the
   * poll counts as lost) until the exchange is done, as chronyd's do.
   */
  const ntsSourceAuthenticator = (so: SourceOptions): NtsSourceAuthenticator => {
    const auth: NtsSourceAuthenticator = new NtsSourceAuthenticator(() => {
      const ke = ntsKeOptionsFor(so, config.server.nts, clockUpdates);
      ntsKeyExchange(ke).then((r) => {
        // RFC 8915 §4.1.7-8: the KE server may send the client to another NTP address or port.
        if (r.server !== so.host || r.port !== so.port) {
          if (r.server === so.host) {
            auth.setDestination({ address: null, port: r.port });
            log(`NTS-KE with ${so.host}:${ke.port} named NTP port ${r.port}; polling ${so.host} there`);
          } else if (isIP(r.server) !== 0) {
            auth.setDestination({ address: r.server, port: r.port });
            log(`NTS-KE with ${so.host}:${ke.port} named the NTP server ${r.server}:${r.port}; polling it there`);
          } else {
            log(`NTS-KE with ${so.host}:${ke.port} named the NTP server ${r.server}:${r.port}, a name: ntpkit does not resolve KE-named hosts yet and keeps polling ${so.host}:${so.port}`);
          }
        } else {
          auth.setDestination(null);
        }
        auth.install(r);
        log(`NTS-KE with ${so.host}:${ke.port}: ${r.cookies.length} cookies, AEAD ${r.aeadId}`);
      }, (e: Error) => {
        // The client's errors already name the exchange; say it once.
        const prefix = `NTS-KE with ${so.host}:${ke.port}: `;
        const reason = `NTS-KE with ${so.host}:${ke.port} failed: ${e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message}`;
        log(`${reason}; retrying at the next poll`);
        auth.failed(reason);
      });
    });
    return auth;
  };

  // The responder's authentication: NTS requests to the NTS server side (when NTS-KE runs), MACs to the keys.
  let symmetricAuth = symmetricRequestAuthenticator(keys);
  let ntsAuth: NtsServerAuthenticator | null = null;
  const requestAuthenticator: RequestAuthenticator = {
    authenticate: (request, reply) => (ntsAuth !== null && NtsServerAuthenticator.isNtsRequest(request)
      ? ntsAuth.authenticate(request, reply)
      : symmetricAuth.authenticate(request, reply)),
  };

  let engine = createEngine(engineOptions(config, driftRead, keys));
  let server: RunningNtpServer | null = null;
  let ntsKe: NtsKeService | null = null;
  let localState: SystemState | null = null;
  let stopped = false;

  const names = (): Map<number, string> => new Map(driver.snapshot().sources.map((s) => [s.id, s.address !== null && s.address !== s.name ? `${s.name} (${s.address})` : s.name]));

  const openStatsLog = (c: Config): StatsLog | null => c.logdir === null || !wantsStatsLogs(c.logdir, c.log) ? null : new StatsLog({
    dir: c.logdir, log: c.log, banner: c.logbanner, report: log,
    stampSource: () => (driver.transport?.kind === 'native-kernel-timestamps' ? 'K' : 'D'),
  });
  let statsLog = openStatsLog(config);

  const describe = (e: Exclude<EngineEvent, StatsLogEvent>): string => {
    const name = (id: number): string => names().get(id) ?? `source #${id}`;
    switch (e.type) {
      case 'synchronized': return `Selected source ${name(e.sourceId)} (offset ${signed(e.offset)} s)`;
      case 'unsynchronized': return `Can't synchronise: ${e.reason}`;
      // chronyd's wording for the kernel clock, which operators grep for; the virtual clock says so.
      case 'step': return `${clock.kind === 'system' ? 'System' : 'Virtual'} clock was stepped by ${signed(e.seconds)} seconds`;
      case 'falseticker': return `Source ${name(e.sourceId)} is a falseticker`;
      case 'source-unreachable': return `Source ${name(e.sourceId)} is unreachable`;
      // chronyd's "Received KoD RATE from ADDRESS", and what it does to polling (once per episode).
      case 'kiss': return `Received KoD ${e.code} from ${name(e.sourceId)}${kissEffect(e)}`;
      case 'source-replaced': return `Source ${e.oldAddress} replaced with ${e.newAddress ?? '(none yet)'}`;
      case 'leap': return `Leap second will be ${e.leap === 'insert' ? 'inserted' : 'deleted'} at the end of the day`;
      // chronyd's wording (reference.c), and its %.6f.
      case 'clock-wrong': return `${clock.kind === 'system' ? 'System' : 'Virtual'} clock wrong by ${e.seconds.toFixed(6)} seconds`;
      case 'maxchange': return `Adjustment of ${signed(-e.offset, 3)} seconds exceeds the allowed maximum (maxchange): ${e.fatal ? 'exiting' : 'ignored'}`;
    }
  };

  /** What the server serves now: the engine's state; chrony's `local` stands in while unsynchronized. */
  const servedState = (): SystemState => {
    const now = clock.now();
    const state = engine.systemState(now);
    const local = config.server.local;
    if (state.kind !== 'unsynchronized' || local === null) {
      localState = null;
      return state;
    }
    localState ??= localReferenceState(local.stratum, now, precisionLog2);
    return localState;
  };

  const refreshServer = (): void => {
    if (server === null) return;
    try {
      server.setSystemState(servedState());
    } catch (e) {
      log(`Cannot update the served sync state: ${(e as Error).message}`);
    }
  };

  const driver = new EngineDriver({
    engine,
    clock,
    resolve: opts.resolve,
    openSocket: opts.openSocket,
    udp: opts.udp,
    keepAlive: opts.keepAlive,
    log,
    onWriteDrift: (v) => { if (driftWriter !== null) void driftWriter.write(v); },
    onEvent: (e) => {
      if (e.type === 'clock-update') clockUpdates++;
      // One per reply or clock update: for the statistics logs, not the daemon's own.
      if (e.type === 'measurement' || e.type === 'clock-update') {
        statsLog?.record(e);
        opts.onEvent?.(e);
        return;
      }
      log(describe(e));
      opts.onEvent?.(e);
      if (e.type === 'maxchange' && e.fatal) opts.onFatal?.(describe(e));
    },
    onUpdate: () => {
      refreshServer();
      opts.onUpdate?.();
    },
  });

  const shouldServe = (c: Config): boolean => serving && servesNtp(c.server);

  const wantsNtsKe = (c: Config): boolean => serving && c.server.nts.serverCerts.length > 0;
  /** The certificate and key the KE server presents now. */
  let ntsCredentials = resources.ntsServer;
  const startNtsKe = (c: ServerConfig, credentials: ConfigResources['ntsServer'], ring?: CookieKeyRing): Promise<NtsKeService> => {
    if (credentials === null) throw new Error('Cannot start NTS-KE: no certificate and key loaded');
    return startNtsKeService({ nts: c.nts, credentials, ring, bindAddresses: c.bindAddresses, ntpPort: c.port, log: (l) => log(l) });
  };

  const startServer = async (c: ServerConfig): Promise<RunningNtpServer> => {
    const s = await startNtpServer({
      config: c,
      authenticator: requestAuthenticator,
      clock,
      udp: opts.udp,
      transmitCompensation: opts.transmitCompensation,
      log: (l) => log(`NTP server: ${l}`),
    });
    const where = s.endpoints.map((e) => `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}`).join(', ');
    log(`Serving NTP on ${where} from the ${clock.kind} clock (${s.transport.kind === 'native-kernel-timestamps' ? 'kernel timestamps' : `node:dgram: ${s.transport.reason ?? 'fallback'}`})`);
    return s;
  };

  if (shouldServe(config)) {
    server = await startServer(config.server);
  } else if ((opts.serve ?? true) && config.server.port !== 0) {
    log('Not serving NTP: no allow directive permits any client');
  }
  if (wantsNtsKe(config)) {
    try {
      ntsKe = await startNtsKe(config.server, ntsCredentials);
    } catch (e) {
      await server?.close();
      throw e;
    }
    ntsAuth = new NtsServerAuthenticator({ cookies: ntsKe.cookies });
  }
  driver.start();
  refreshServer();
  log(`Started with ${config.sources.length} source${config.sources.length === 1 ? '' : 's'} on the ${clock.kind} clock`);

  /**
   * The engine's drift now: its frequency estimate, not the clock's frequency
   * in force, which also carries a slew in progress (chrony saves its
   * absolute frequency, without the slew, too).
   */
  const currentDrift = (): DriftValues => {
    const d = engine.drift();
    const skew = Number.isFinite(d.skewPpm) && d.skewPpm > 0 ? d.skewPpm : UNKNOWN_SKEW_PPM;
    return { frequencyPpm: d.frequencyPpm, skewPpm: skew };
  };

  /**
   * The NTS-KE side of a reload. With the same listening settings, the
   * servers stay open and take the (re-read) certificate and key for new
   * connections; otherwise they are restarted, on the same cookie keys
   * while those are kept in the same place. Pushes its undoing to `undo`.
   */
  const swapNtsKe = async (next: Config, res: ConfigResources, prev: { ntsKe: NtsKeService | null; ntsCredentials: ConfigResources['ntsServer'] }, undo: (() => Promise<void>)[]): Promise<void> => {
    const want = wantsNtsKe(next);
    if (!want && prev.ntsKe === null) return;
    const creds = res.ntsServer;
    const prevCreds = prev.ntsCredentials;
    if (want && creds !== null && prev.ntsKe !== null && prevCreds !== null && sameKeListeners(config.server, next.server)) {
      const running = prev.ntsKe;
      running.setCredentials(creds);
      ntsCredentials = creds;
      undo.push(async () => { running.setCredentials(prevCreds); });
      return;
    }
    const old = prev.ntsKe;
    const oldRing = old?.cookies;
    const sameKeys = old !== null && next.server.nts.dumpDir === config.server.nts.dumpDir && next.server.nts.rotate === config.server.nts.rotate;
    await old?.close();
    ntsKe = null;
    ntsAuth = null;
    undo.push(async () => {
      await ntsKe?.close();
      ntsKe = old === null ? null : await startNtsKe(config.server, prevCreds, oldRing);
      ntsAuth = ntsKe === null ? null : new NtsServerAuthenticator({ cookies: ntsKe.cookies });
    });
    if (want) {
      ntsKe = await startNtsKe(next.server, creds, sameKeys ? oldRing : undefined);
      ntsAuth = new NtsServerAuthenticator({ cookies: ntsKe.cookies });
      ntsCredentials = creds;
    }
  };

  const daemon: SyncDaemon = {
    clock,
    get config() { return config; },
    snapshot: () => driver.snapshot(),
    systemState: () => servedState(),
    get ntpServer() { return server; },
    get ntsKe() { return ntsKe; },
    get transport() { return driver.transport; },
    control: (command) => driver.control(command),
    clients: (minHits) => server?.clients(minHits) ?? null,
    serverStats: () => {
      const s = server?.stats() ?? null;
      return s === null || ntsKe === null ? s : withNtsKeStats(s, ntsKe.stats());
    },
    async reconfigure(next: Config, loaded?: ConfigResources): Promise<void> {
      if (stopped) throw new Error('Cannot reconfigure: the daemon has stopped');
      // Everything that can fail without a bind comes first, and changes nothing when it does.
      const res = loaded ?? await loadOrRefuse(next, serving, log);
      const keep = currentDrift();
      const nextEngine = createEngine(engineOptions(next, keep, res.keys));
      const prev = { ntsKe, ntsAuth, ntsCredentials };
      // Then the binds, each with its undoing, run in reverse if a later one fails.
      const undo: (() => Promise<void>)[] = [];
      try {
        if (JSON.stringify(stripPositions(next.server)) !== JSON.stringify(stripPositions(config.server))) {
          // Stop first: the new server usually wants the same address and port.
          await server?.close();
          server = null;
          undo.push(async () => {
            await server?.close();
            server = shouldServe(config) ? await startServer(config.server) : null;
          });
          if (shouldServe(next)) server = await startServer(next.server);
        }
        await swapNtsKe(next, res, prev, undo);
      } catch (e) {
        for (const u of undo.reverse()) {
          await u().catch((err: Error) => log(`Cannot restore the running configuration's servers: ${err.message}`));
        }
        ntsAuth = prev.ntsAuth;
        ntsCredentials = prev.ntsCredentials;
        throw e;
      }
      keys = res.keys;
      symmetricAuth = symmetricRequestAuthenticator(keys);
      logKeys(next, keys, log);
      engine = nextEngine;
      if (next.driftfile !== config.driftfile) {
        driftWriter = next.driftfile === null ? null : new DriftFileWriter(next.driftfile, (m) => log(m));
      }
      // Log rotation: logrotate renames the files and signals a reload; the next lines start new files.
      await statsLog?.reopen();
      statsLog = next.logdir === config.logdir && next.logbanner === config.logbanner && sameList(next.log, config.log) ? statsLog : openStatsLog(next);
      config = next;
      localState = null;
      driver.replaceEngine(engine);
      refreshServer();
      log(`Reloaded the configuration: ${next.sources.length} source${next.sources.length === 1 ? '' : 's'}, frequency ${signed(keep.frequencyPpm, 3)} ppm kept`);
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      if (driftWriter !== null) {
        const v = currentDrift();
        // A failed write has said why (onError); only a write that landed is reported as saved.
        if (await driftWriter.write(v)) log(`Saved frequency ${signed(-v.frequencyPpm, 3)} +/- ${v.skewPpm.toFixed(3)} ppm to ${driftWriter.path}`);
        else log(`The frequency ${signed(-v.frequencyPpm, 3)} +/- ${v.skewPpm.toFixed(3)} ppm was not saved`);
      }
      await driver.stop();
      await statsLog?.close();
      await server?.close();
      server = null;
      await ntsKe?.close();
      ntsKe = null;
    },
  };
  return daemon;
}

/** chrony serves only when some `allow` permits a client, and never on port 0. */
export function servesNtp(c: ServerConfig): boolean {
  return c.port !== 0 && c.access.some((r) => r.allow);
}

/** The NTS-KE servers would listen the same way: only the certificate and key (files or contents) differ. */
function sameKeListeners(a: ServerConfig, b: ServerConfig): boolean {
  const listening = (c: ServerConfig): string => JSON.stringify({ ...c.nts, serverCerts: [], serverKeys: [], bind: c.bindAddresses, ntpPort: c.port });
  return listening(a) === listening(b);
}

/** The server settings without file:line positions, so moving a line is not a change. */
function stripPositions(c: ServerConfig): unknown {
  return { ...c, access: c.access.map((r) => ({ allow: r.allow, all: r.all, subnet: r.subnet })) };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function kissEffect(e: Extract<EngineEvent, { type: 'kiss' }>): string {
  if (e.action === 'refused') return `: the server refuses us; asking again every poll, backing off to maxpoll (now every ${2 ** e.poll} s)`;
  if (e.action === 'reduce-rate') return ': the next request waits 4 poll intervals more';
  return '';
}

function signed(x: number, digits = 9): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
}
