/**
 * The client daemon's wiring, below the CLI: one engine (core/engine/engine.ts) over
 * the engine driver (sockets, timer, DNS), the Clock it disciplines, the
 * drift file, and the NTP server serving that clock with the engine's real
 * sync state (stratum = the selected source's + 1, its refid, the
 * accumulated root delay and dispersion), so a client of ours sees how far
 * we are from the reference, as chronyd's clients do.
 *
 * The config arrives already loaded and valid: the CLI reports errors and
 * never starts half-configured. The control socket is the CLI's too (the
 * control layer sits above this one); it reads snapshot().
 *
 * The parts, each with its own state: daemon-drift.ts (the drift file),
 * engine-options.ts (what each engine gets), daemon-servers.ts (the NTP and
 * NTS-KE servers and how a reload swaps them), served-state.ts (what the
 * server serves), and running-sync-daemon.ts, which holds them together.
 */
import type { Clock } from '../clock/clock.js';
import type { LocalConfig } from '../config/server-config.js';
import type { Config } from '../config/config.js';
import type { ManualListRow } from './manual-time.js';
import type { ClientReport } from '../core/server/client-report.js';
import type { EngineCommand, EngineCommandResult, EngineEvent, SyncEngineApi } from '../core/engine/engine-api.js';
import type { CommandCounts, ServerStats } from '../core/server/server-stats.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import type { SystemState } from '../core/system.js';
import type { ConfigResources } from './config-resources.js';
import { DaemonDrift } from './daemon-drift.js';
import { takeDumps } from './source-dumps.js';
import { checkHwTimestamping } from './hw-timestamping.js';
import { initialStepSlew } from './initstepslew.js';
import { loadOrRefuse, logKeys } from './daemon-resources.js';
import type { PhcOpener } from './refclock-phc.js';
import type { ClientSocketFactory, EngineDriver, Resolver } from './engine-driver.js';
import { defaultEngineFactory, type EngineFactory } from './engine-options.js';
import { measurePrecision, type RunningNtpServer } from './ntp-server.js';
import type { NtsKeService } from './nts-ke-service.js';
import { RunningSyncDaemon } from './running-sync-daemon.js';
import type { UdpPreferences } from '../net/udp-socket.js';
import type { AccessRule } from '../core/server/access.js';

export type { EngineFactory } from './engine-options.js';

/** The engine the daemon runs (core/engine/engine-api.ts): systemState() feeds the NTP server, drift() the drift file. */
export type DaemonEngine = SyncEngineApi;

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
  /** Default: core/engine/engine.ts's SyncEngine. */
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
  /**
   * Opens `refclock PHC` devices (the addon's reader, or a test's fake).
   * Absent: a config with a PHC refclock refuses to start.
   */
  readonly openPhc?: PhcOpener;
  /** chronyd -r: the dumpdir's source dumps are loaded at start (source-dumps.ts). */
  readonly reloadDumps?: boolean;
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
   * Applies a new config (SIGHUP) whole, or nothing of it: unchanged
   * sources keep their state and the running engine its discipline when
   * only sources differ (added, removed and changed ones start afresh);
   * a changed discipline starts a new engine on the same clock from the
   * frequency in force. New keys, the NTS-KE certificate re-read (a renewed one is served without
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
   * deleted this way last until the next reconfigure().
   */
  control<C extends EngineCommand>(command: C): EngineCommandResult<C['op']>;
  /** The NTP server's clients (chronyc clients), or null when not serving. */
  clients(minHits?: number): ClientReport[] | null;
  /** The NTP server's counters (chronyc serverstats), or null when not serving. */
  serverStats(): ServerStats | null;
  /** chronyc manual: on/off/reset/delete say whether done; list gives the samples. */
  manual(action: 'on' | 'off' | 'reset' | 'list' | 'delete', index?: number): ManualListRow[] | boolean;
  /** chronyc rekey: the key file read again (rejects, keys unchanged, when it does not load). */
  rekey(): Promise<void>;
  /** chronyc cyclelogs: the statistics log files reopened. */
  cycleLogs(): Promise<void>;
  /** chronyc local: the local reference served while unsynchronized (null: none), over the config's until a restart. */
  setLocal(local: LocalConfig | null): void;
  /** chronyc accheck: whether the NTP server's allow/deny rules let `address` in. */
  ntpAccess(address: string): boolean;
  /**
   * chronyc allow/deny (`ntp`: the NTP server's rules) and cmdallow/cmddeny
   * (`cmd`: the command port's) at run time, after the config's rules.
   * @throws Error, nothing changed, when the subnet does not parse.
   */
  addAccessRule(table: 'ntp' | 'cmd', rule: AccessRule): Promise<void>;
  /** cmdallow/cmddeny's verdict on `address` (cmdaccheck), run-time rules included. */
  cmdAllowed(address: string): boolean;
  /** Whether a command datagram from `address` is read at all: localhost, or what cmdallow permits. */
  mayUseCommandPort(address: string): boolean;
  /** The local address replies from `remote` arrive at (ntpdata's Local address): the kernel's choice, as client sockets are unbound. */
  localAddressFor(remote: string): Promise<string | null>;
  /** chronyc onoffline: whether the kernel has a route to `address` (a UDP socket connects to it). */
  routeExists(address: string): Promise<boolean>;
  /** Where the control sockets count the requests they receive (serverstats' command packets). */
  readonly commandCounts: CommandCounts;
  /** chronyc dump: each source's samples saved to the dumpdir; how many files were written, or null without a dumpdir. */
  dump(): Promise<number | null>;
  /** Saves the source dumps and the drift file, stops serving and polling. Idempotent. */
  stop(): Promise<void>;
}

/** Starts the daemon: resources loaded (or refused), the drift file read, the servers open, polling begun. */
export async function startSyncDaemon(opts: SyncDaemonOptions): Promise<SyncDaemon> {
  const { clock, log } = opts;
  checkHwTimestamping(opts.config, log);
  const createEngine = opts.createEngine ?? await defaultEngineFactory();
  const given = opts.config.process.clockprecision;
  // chronyd's local.c: the log2 of the given precision, rounded; measured when none is given.
  const precisionLog2 = given === null ? measurePrecision(() => clock.now()) : Math.max(-30, Math.min(0, Math.round(Math.log2(given))));
  const serving = opts.serve ?? true;
  const resources = opts.resources ?? await loadOrRefuse(opts.config, serving, log);
  logKeys(opts.config, resources.keys, log);
  const drift = await DaemonDrift.open(opts.config, clock, log);
  // Measured before the engine starts, so its first samples are taken on the corrected clock.
  const initial = await initialStepSlew(opts.config, clock, log, { udp: opts.udp });
  const restore = await takeDumps(opts.config, opts.reloadDumps ?? false, log);
  const daemon = new RunningSyncDaemon(opts, { createEngine, precisionLog2, resources, drift, serving, restore });
  await daemon.start();
  if (initial.kind === 'slew') daemon.control({ op: 'slew-offset', seconds: initial.seconds });
  return daemon;
}
