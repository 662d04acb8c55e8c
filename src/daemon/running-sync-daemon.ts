/**
 * A started sync daemon: the engine over its driver, the drift file, the
 * statistics logs and the serving side, and the order a reload changes them
 * in (everything that can fail first, so a failed reload changes nothing).
 */
import type { Clock } from '../clock/clock.js';
import type { Config } from '../config/config.js';
import type { ClientReport } from '../core/server/client-report.js';
import type { EngineCommand, EngineCommandResult, EngineEvent } from '../core/engine/engine-api.js';
import { type CommandCounts, createCommandCounts, type ServerStats, withCommandCounts } from '../core/server/server-stats.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import { hostInfo } from './control-queries.js';
import type { SystemState } from '../core/system.js';
import { routeLocalAddress } from '../net/local-address.js';
import type { ConfigResources } from './config-resources.js';
import { DaemonDrift, engineDrift } from './daemon-drift.js';
import { loadOrRefuse, logKeys } from './daemon-resources.js';
import { unixString } from '../core/engine/snapshot.js';
import { ManualTime, type ManualListRow } from './manual-time.js';
import { DaemonServers } from './daemon-servers.js';
import { EngineDriver } from './engine-driver.js';
import { describeEngineEvent, signed } from './engine-event-text.js';
import { cryptoRandom, type EngineFactory, type EngineGround, engineOptionsFor } from './engine-options.js';
import type { RunningNtpServer } from './ntp-server.js';
import type { NtsKeService } from './nts-ke-service.js';
import { ntsSourceAuthenticator } from './nts-source-auth.js';
import { loadNative } from '../clock/native.js';
import { RunningRefclocks, sameRefclocks } from './refclocks.js';
import type { ShmAccess } from './refclock-shm.js';
import { ServedState } from './served-state.js';
import type { AccessRuleConfig, LocalConfig } from '../config/server-config.js';
import { type AccessRule, buildAccessTable, isAllowed } from '../core/server/access.js';
import { cmdAccess, type CmdAccess } from '../core/server/cmd-access.js';
import { saveDumps } from './source-dumps.js';
import { StatsLog, wantsStatsLogs } from './stats-log.js';
import type { DaemonEngine, SyncDaemon, SyncDaemonOptions } from './sync-daemon.js';

/** What startSyncDaemon settled before anything starts. */
export interface SyncDaemonParts {
  readonly createEngine: EngineFactory;
  /** log2 seconds, as the NTP header's precision field. */
  readonly precisionLog2: number;
  readonly resources: ConfigResources;
  readonly drift: DaemonDrift;
  /** Whether the daemon may serve at all (false: the library). */
  readonly serving: boolean;
  /** chronyd -r: the source dumps to load, by file name (empty: none). */
  readonly restore?: ReadonlyMap<string, string>;
}

export class RunningSyncDaemon implements SyncDaemon {
  readonly clock: Clock;
  readonly commandCounts: CommandCounts = createCommandCounts();
  private current: Config;
  private engine: DaemonEngine;
  private readonly driver: EngineDriver;
  private readonly servers: DaemonServers;
  private statsLog: StatsLog | null;
  private readonly ground: EngineGround;
  private readonly served: ServedState;
  private readonly manualTime: ManualTime;
  private stopped = false;
  private clockUpdates = 0;
  private refclocks: RunningRefclocks | null = null;
  private readonly log: (line: string) => void;
  /**
   * chronyc allow/deny and cmdallow/cmddeny given at run time: they follow
   * the config's rules, as chronyd adds them to the tables the directives
   * built, and stay until the daemon stops (a reload keeps them).
   */
  private readonly runtimeNtpAccess: AccessRuleConfig[] = [];
  private readonly runtimeCmdAccess: AccessRuleConfig[] = [];
  private cmdRules: CmdAccess;

  /** Builds the parts in the order their start-up lines appear; start() then opens the servers and starts polling. */
  constructor(private readonly opts: SyncDaemonOptions, private readonly parts: SyncDaemonParts) {
    const { clock, log } = opts;
    this.clock = clock;
    this.log = log;
    this.current = opts.config;
    this.cmdRules = cmdAccess(opts.config.command.access);
    this.served = new ServedState(clock, parts.precisionLog2);
    this.manualTime = new ManualTime(opts.config.process.manual);
    this.ground = {
      clockFrequencyPpm: () => clock.frequencyPpm(),
      precisionLog2: parts.precisionLog2,
      random: cryptoRandom(),
      servedState: (st) => this.served.of(st, this.current),
      ntsSourceAuthenticator: (so) => ntsSourceAuthenticator(so, { nts: () => this.current.server.nts, clockUpdates: () => this.clockUpdates, log }),
    };
    const { resources } = parts;
    const restore = parts.restore ?? new Map<string, string>();
    this.engine = parts.createEngine({ ...engineOptionsFor(this.current, parts.drift.initial, resources, this.ground), ...(restore.size > 0 ? { restore } : {}) });
    this.servers = new DaemonServers({ clock: this.clock, serving: parts.serving, keys: resources.keys, ntsCredentials: resources.ntsServer, log: this.log,
      udp: opts.udp, transmitCompensation: opts.transmitCompensation,
    });
    this.statsLog = this.openStatsLog(this.current);
    this.servers.setPeerTraffic({
      isPeer: (address, port) => this.engine.isPeer?.(address, port) ?? false,
      deliver: (data, address, port, rx, local) => this.driver.deliver(data, address, port, rx, local),
    });
    this.servers.setQueryView(() => {
      const ntpdata = this.driver.control({ op: 'ntpdata', selector: null });
      return { snapshot: this.driver.snapshot(), ntpdata: ntpdata.ok ? ntpdata.value : [], host: hostInfo(), precision: parts.precisionLog2 };
    });
    this.driver = new EngineDriver({
      engine: this.engine,
      clock: this.clock,
      resolve: opts.resolve,
      openSocket: opts.openSocket,
      udp: opts.udp,
      // Read at start only: the socket stays bound where it was through reloads.
      bind: this.current.acquisition,
      keepAlive: opts.keepAlive,
      log: this.log,
      sendSymmetric: (packet, address, port) => this.servers.sendToPeer(packet, address, port),
      onWriteDrift: (v) => parts.drift.write(v),
      onEvent: (e) => this.onEngineEvent(e),
      onUpdate: () => {
        this.refreshServer();
        opts.onUpdate?.();
      },
    });
  }

  async start(): Promise<void> {
    // First: a refclock that cannot start (file:line) refuses the start before anything is served.
    this.refclocks = this.startRefclocks(this.current);
    try {
      await this.servers.open(this.current);
    } catch (e) {
      this.refclocks?.close();
      throw e;
    }
    this.driver.start();
    this.refreshServer();
    const n = this.current.sources.length;
    this.log(`Started with ${n} source${n === 1 ? '' : 's'} on the ${this.clock.kind} clock`);
  }

  get config(): Config {
    return this.current;
  }

  get ntpServer(): RunningNtpServer | null {
    return this.servers.ntpServer;
  }

  get ntsKe(): NtsKeService | null {
    return this.servers.ntsKe;
  }

  get transport(): EngineDriver['transport'] {
    return this.driver.transport;
  }

  snapshot(): DaemonSnapshot {
    return this.driver.snapshot();
  }

  systemState(): SystemState {
    return this.served.current(this.engine, this.current);
  }

  control<C extends EngineCommand>(command: C): EngineCommandResult<C['op']> {
    const refused = this.manualTime.refuse(command);
    if (refused !== null) return refused;
    // The phase before the settime, so that its own correction shows in the sample's slewed offset, as chronyd's.
    const phase = this.driver.clockPhase();
    const r = this.driver.control(command);
    if (r.ok && command.op === 'settime') this.manualTime.record({ when: Number(unixString(command.time)), offset: (r.value as { fast: number }).fast, phase });
    return r;
  }

  clients(minHits?: number): ClientReport[] | null {
    return this.servers.clients(minHits);
  }

  setLocal(local: LocalConfig | null): void {
    this.served.setLocal(local);
    this.refreshServer();
  }

  /**
   * chronyc allow/deny (`ntp`) or cmdallow/cmddeny (`cmd`) at run time.
   * @throws Error, nothing changed, when the subnet does not parse.
   */
  async addAccessRule(table: 'ntp' | 'cmd', rule: AccessRule): Promise<void> {
    const r: AccessRuleConfig = { ...rule, file: 'chronyc', line: 0 };
    if (table === 'cmd') {
      const rules = [...this.current.command.access, ...this.runtimeCmdAccess, r];
      const t = buildAccessTable(rules);
      if (!t.ok) throw new Error(t.message);
      this.runtimeCmdAccess.push(r);
      this.cmdRules = cmdAccess(rules);
      return;
    }
    const next = { ...this.current, server: { ...this.current.server, access: [...this.current.server.access, r] } };
    const t = buildAccessTable(next.server.access);
    if (!t.ok) throw new Error(t.message);
    await this.servers.setAccess(next);
    this.runtimeNtpAccess.push(r);
    this.current = next;
    this.refreshServer();
  }

  /** cmdallow/cmddeny's verdict on `address` (cmdaccheck), run-time rules included. */
  cmdAllowed(address: string): boolean {
    return this.cmdRules.allowed(address);
  }

  /** Whether a command datagram from `address` is read at all (localhost, or cmdallow). */
  mayUseCommandPort(address: string): boolean {
    return this.cmdRules.mayUse(address);
  }

  ntpAccess(address: string): boolean {
    const t = buildAccessTable(this.current.server.access.map((r) => ({ allow: r.allow, all: r.all, subnet: r.subnet })));
    return t.ok && isAllowed(t.table, address);
  }

  localAddressFor(remote: string): Promise<string | null> {
    return routeLocalAddress(remote);
  }

  /** chronyc onoffline: a route to `address` exists when a UDP socket connects to it (chronyd's NIO_IsServerConnectable). */
  async routeExists(address: string): Promise<boolean> {
    return (await routeLocalAddress(address)) !== null;
  }

  serverStats(): ServerStats | null {
    const s = this.servers.stats();
    return s === null ? null : withCommandCounts(s, this.commandCounts);
  }

  /** chronyc manual on|off|reset|list|delete N. */
  manual(action: 'on' | 'off' | 'reset' | 'list' | 'delete', index?: number): ManualListRow[] | boolean {
    switch (action) {
      case 'on': case 'off': this.manualTime.setEnabled(action === 'on'); return true;
      case 'reset': this.manualTime.reset(); return true;
      case 'delete': return this.manualTime.delete(index ?? -1);
      case 'list': return this.manualTime.list(this.driver.clockPhase());
    }
  }

  /** chronyc rekey: the key file read again; sources with a key take the new one, nothing else changes. */
  rekey(): Promise<void> {
    return this.reconfigure(this.current);
  }

  /** chronyc cyclelogs: the statistics logs closed and opened again (after logrotate renamed them). */
  async cycleLogs(): Promise<void> {
    await this.statsLog?.reopen();
  }

  async reconfigure(loadedConfig: Config, loaded?: ConfigResources): Promise<void> {
    if (this.stopped) throw new Error('Cannot reconfigure: the daemon has stopped');
    const next = this.runtimeNtpAccess.length === 0 ? loadedConfig
      : { ...loadedConfig, server: { ...loadedConfig.server, access: [...loadedConfig.server.access, ...this.runtimeNtpAccess] } };
    const { acquisition: was } = this.current, { acquisition: now } = next;
    if (was.port !== now.port || was.addresses.join() !== now.addresses.join() || was.device !== now.device) {
      this.log('acquisitionport/bindacqaddress/bindacqdevice changed: the client socket keeps its binding until the daemon restarts');
    }
    const config = this.current;
    // Everything that can fail without a bind comes first, and changes nothing when it does.
    const res = loaded ?? await loadOrRefuse(next, this.parts.serving, this.log);
    const keep = engineDrift(this.engine);
    const engineOptions = engineOptionsFor(next, keep, res, this.ground);
    // Built even when the running engine takes the config in place: building it is what checks it.
    const nextEngine = this.parts.createEngine(engineOptions);
    await this.servers.apply(config, next, res);
    this.servers.setKeys(res.keys);
    logKeys(next, res.keys, this.log);
    const refclocksKept = sameRefclocks(config, next);
    if (!refclocksKept) {
      // A SOCK path or SHM segment may be the same in both: the old drivers let go first.
      this.refclocks?.close();
      this.refclocks = null;
      this.refclocks = this.startRefclocks(next);
    }
    this.parts.drift.follow(next, config);
    // Log rotation: logrotate renames the files and signals a reload; the next lines start new files.
    await this.statsLog?.reopen();
    this.statsLog = next.logdir === config.logdir && next.logbanner === config.logbanner && sameList(next.log, config.log) ? this.statsLog : this.openStatsLog(next);
    this.current = next;
    // A reload's cmdallow/cmddeny, with chronyc's run-time rules after them as before.
    this.cmdRules = cmdAccess([...next.command.access, ...this.runtimeCmdAccess]);
    // Unchanged sources keep their reach, samples and poll, and the clock its
    // discipline, as if no reload had happened; only a change beyond the
    // sources (the discipline's directives) starts a new engine.
    // Reference clocks are made at the engine's start: a change of their lines takes a new engine.
    const inPlace = refclocksKept ? this.driver.reconfigureEngine(engineOptions) : null;
    if (inPlace === null) {
      this.engine = nextEngine;
      this.served.reset();
      this.driver.replaceEngine(this.engine);
    }
    this.refreshServer();
    const sources = `${next.sources.length} source${next.sources.length === 1 ? '' : 's'}`;
    this.log(inPlace === null
      ? `Reloaded the configuration: ${sources}, all restarted (the discipline or the reference clocks changed), frequency ${signed(keep.frequencyPpm, 3)} ppm kept`
      : `Reloaded the configuration: ${sources}; ${inPlace.kept} kept with their state, ${inPlace.added} added, ${inPlace.removed} removed`);
  }

  async dump(): Promise<number | null> {
    return saveDumps(this.current, this.engine, this.clock.now(), this.log);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // As chronyd at exit: the samples first, on the clock as it is.
    await this.dump();
    await this.parts.drift.save(this.engine);
    this.refclocks?.close();
    await this.driver.stop();
    await this.statsLog?.close();
    await this.servers.close();
  }

  private startRefclocks(c: Config): RunningRefclocks | null {
    if (c.refclocks.length === 0) return null;
    return RunningRefclocks.start(c, (i, s) => this.driver.refclockReading(i, s), {
      shm: shmAccess,
      openPhc: this.opts.openPhc ?? null,
      log: this.log,
    });
  }

  private refreshServer(): void {
    this.servers.refresh(() => this.systemState());
  }

  private openStatsLog(c: Config): StatsLog | null {
    return c.logdir === null || !wantsStatsLogs(c.logdir, c.log) ? null : new StatsLog({
      dir: c.logdir, log: c.log, banner: c.logbanner, report: this.log,
    });
  }

  private onEngineEvent(e: EngineEvent): void {
    if (e.type === 'clock-update') this.clockUpdates++;
    // One per reply or clock update: for the statistics logs, not the daemon's own.
    if (e.type === 'measurement' || e.type === 'clock-update') {
      this.statsLog?.record(e);
      this.opts.onEvent?.(e);
      return;
    }
    const line = describeEngineEvent(e, (id) => this.sourceName(id), this.clock.kind);
    this.log(line);
    this.opts.onEvent?.(e);
    if (e.type === 'maxchange' && e.fatal) this.opts.onFatal?.(line);
  }

  private sourceName(id: number): string {
    const s = this.driver.snapshot().sources.find((x) => x.id === id);
    if (s === undefined) return `source #${id}`;
    return s.address !== null && s.address !== s.name ? `${s.name} (${s.address})` : s.name;
  }
}

/** The addon's SHM reader (native/shm_segment.c), or why there is none. */
function shmAccess(): ShmAccess | string {
  const n = loadNative();
  if (!n.ok) return n.reason;
  const { shmAttach, shmRead, shmDetach } = n.addon;
  if (shmAttach === undefined || shmRead === undefined || shmDetach === undefined) return 'the native addon has no SHM reader (stale build? run sh scripts/build-native.sh)';
  return { shmAttach, shmRead, shmDetach };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
