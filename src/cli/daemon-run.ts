/**
 * `ntpkit daemon`'s composition root: the config, the clock, the sync
 * daemon over them, then the control sockets, the dashboard and metrics,
 * reloads and signals; at the stop, everything closed in the reverse order.
 */
import type { ClockChoice, ClockRequest } from '../clock/environment.js';
import type { ClockLock, OwnershipReport } from '../clock/ownership.js';
import { messageWithCode } from '../config/bounded-read.js';
import type { Config, HttpAddress } from '../config/config.js';
import { builtInConfigText } from '../config/default-config.js';
import { describeServerSet, detectServerSet, type ServerSet } from '../config/server-set.js';
import type { Resolver } from '../daemon/engine-driver.js';
import { type EngineFactory, startSyncDaemon, type SyncDaemon } from '../daemon/sync-daemon.js';
import { DaemonHttp } from '../web/daemon-http.js';
import type { HttpFlag } from '../web/http-address.js';
import { openDaemonClock } from './daemon-clock.js';
import { takePidFile } from './daemon-pidfile.js';
import { lockMemory, raisePriority } from './daemon-memory.js';
import { createDirsFor, dropRoot, type TargetUser, userToDropTo } from './daemon-user.js';
import { DaemonConfigSource, reportConfig } from './daemon-config-source.js';
import { applyChronycEndpoints, openChronycEndpoints, openControlSockets } from './daemon-control-sockets.js';
import type { CandmServer } from '../control/candm/server.js';
import { DaemonLifetime, type Signals } from './daemon-lifetime.js';
import { ConfigReloader } from './daemon-reload.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { watchReachability } from './reachability-watch.js';
import { environmentSwitches } from './environment-switches.js';
import { openPhc } from '../clock/phc.js';

export interface DaemonFlags {
  config?: string;
  clock: ClockRequest;
  virtualOffset?: number;
  virtualFreq?: number;
  /** Given: overrides `httpaddress`, also across reloads. */
  http?: HttpFlag;
  /** Given: overrides `httphost`, also across reloads. */
  httpHost?: string[];
  force?: boolean;
  /** chronyd -r: load the dumpdir's source dumps at start. */
  reload?: boolean;
  /** Which server set the built-in configuration uses, instead of detecting it. */
  servers?: ServerSet;
}

/** What the command takes from the outside world, so tests run it in-process. */
export interface DaemonCommandDeps {
  /** Where SIGTERM/SIGINT/SIGHUP come from (default: the process). */
  readonly signals?: Signals;
  readonly resolve?: Resolver;
  readonly createEngine?: EngineFactory;
  readonly chooseClock?: (requested: ClockRequest) => ClockChoice;
  /** Prefix log lines with a UTC timestamp (default: unless systemd's journal captures stderr). */
  readonly timestamps?: boolean;
  /** The configuration without -f for a server set (default builtInConfigText; tests give their own socket path). */
  readonly builtInConfig?: (set: ServerSet) => string;
  /** Where the server-set detection reads /sys/class/dmi/id from (default "/"; tests give a fake tree). */
  readonly dmiRoot?: string;
  /** The other-owner checks before taking the system clock (default: clock/ownership.ts on this machine). */
  readonly ownership?: () => OwnershipReport;
  /** The PID lock file held while on the system clock (default: /run/ntpkit/ntpkit.pid or NTPKIT_LOCK_FILE). */
  readonly lock?: () => ClockLock;
  /** Called once running (tests). */
  readonly onStarted?: (daemon: SyncDaemon) => void;
}

/** systemd sets JOURNAL_STREAM when stderr goes to the journal, which stamps each line itself. */
function underJournal(env: NodeJS.ProcessEnv): boolean {
  return env.JOURNAL_STREAM !== undefined && env.JOURNAL_STREAM !== '';
}

/** Runs the daemon until SIGTERM, SIGINT or a fatal engine error; sets the exit code. `clockGiven`: --clock was on the command line. */
export async function runDaemon(io: Io, deps: DaemonCommandDeps, flags: DaemonFlags, clockGiven: boolean): Promise<void> {
  const stamp = deps.timestamps ?? !underJournal(process.env);
  const log = (line: string): void => io.err(stamp ? `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} ${line}` : line);
  const wantsVirtual = flags.virtualOffset !== undefined || flags.virtualFreq !== undefined;
  if (wantsVirtual && clockGiven && flags.clock !== 'virtual') {
    io.err(`ntpkit daemon: --virtual-offset and --virtual-freq apply to the virtual clock, not --clock ${flags.clock}`);
    io.setExitCode(ExitCode.USAGE);
    return;
  }
  if (flags.servers !== undefined && flags.config !== undefined) {
    io.err(`ntpkit daemon: --servers chooses the built-in configuration's servers; ${flags.config} names its own`);
    io.setExitCode(ExitCode.USAGE);
    return;
  }
  // Decided once: a reload re-reads the same set, as a file would be re-read.
  const serverSet = flags.config === undefined ? detectServerSet(deps.dmiRoot, flags.servers) : undefined;
  const builtIn = serverSet === undefined ? '' : (deps.builtInConfig ?? ((set) => builtInConfigText(undefined, set)))(serverSet.set);
  const source = new DaemonConfigSource(flags.config, builtIn, flags.http === undefined);
  const loaded = await source.load();
  if (!reportConfig(io, loaded, 'not started')) {
    io.setExitCode(ExitCode.USAGE);
    return;
  }
  const { config, resources } = loaded;
  if (serverSet !== undefined) {
    log(`Using the built-in configuration: ${describeServerSet(serverSet.set)}, because ${serverSet.reason}; control socket ${config.controlsocket}`);
    log(`(--servers ${serverSet.set === 'vpc' ? 'public' : 'vpc'} picks the other set; -f FILE gives another configuration)`);
  }

  let user: TargetUser | null;
  try {
    user = userToDropTo(config);
  } catch (e) {
    io.err(`ntpkit daemon: not started: ${(e as Error).message}`);
    io.setExitCode(ExitCode.GENERAL_FAILURE);
    return;
  }
  // As chronyd: before anything is written, so what the daemon writes after the drop has a place to go.
  if (user !== null) createDirsFor(config, user, log);

  const pidFile = takePidFile(config);
  if (!pidFile.ok) {
    io.err(`ntpkit daemon: not started: ${pidFile.message}`);
    io.setExitCode(ExitCode.GENERAL_FAILURE);
    return;
  }
  const opened = openDaemonClock(io, log, {
    requested: wantsVirtual ? 'virtual' : flags.clock,
    force: flags.force === true,
    rtcsync: config.process.rtcsync,
    virtual: wantsVirtual ? { offsetSeconds: flags.virtualOffset ?? 0, frequencyErrorPpm: flags.virtualFreq ?? 0 } : undefined,
    chooseClock: deps.chooseClock, ownership: deps.ownership, lock: deps.lock,
  });
  if (opened === null) { pidFile.release(); return; }
  const { clock } = opened;

  const lifetime = new DaemonLifetime();
  let daemon: SyncDaemon;
  try {
    daemon = await startSyncDaemon({
      config, resources, clock, log, resolve: deps.resolve, createEngine: deps.createEngine, openPhc,
      udp: environmentSwitches().udp, transmitCompensation: environmentSwitches().transmitCompensation,
      onFatal: (reason) => lifetime.fail(reason), reloadDumps: flags.reload === true,
    });
  } catch (e) {
    io.err(`ntpkit daemon: not started: ${messageWithCode(e)}`);
    opened.release();
    pidFile.release();
    io.setExitCode(ExitCode.GENERAL_FAILURE);
    return;
  }

  // The flags win over the directives, also across reloads.
  const httpAddress = (c: Config): HttpAddress | null => flags.http === undefined ? c.httpaddress : flags.http === 'off' ? null : flags.http;
  const httpHosts = (c: Config): readonly string[] => flags.httpHost ?? c.httphosts;
  const http = new DaemonHttp(daemon, { log });
  // The command endpoints follow a reload; they open after the reloader, which only a signal or command (both later) starts.
  let chronycServer: CandmServer | null = null;
  const reloader = new ConfigReloader(source, daemon, (c) => http.apply(httpAddress(c), httpHosts(c)), io, log,
    async (c) => { if (chronycServer !== null) await applyChronycEndpoints(chronycServer, c, log); });

  const control = await openControlSockets(daemon, config, log, () => reloader.reload('reload command'), () => lifetime.shutdown());
  const chronyc = await openChronycEndpoints(daemon, config, log, () => reloader.reload('reload command'), () => lifetime.shutdown());
  chronycServer = chronyc;
  await http.apply(httpAddress(config), httpHosts(config));
  if (flags.http === 'off') log('No dashboard or metrics (--http off)');
  // As chronyd: locked once everything is open and allocated for the run.
  lockMemory(config, log);
  raisePriority(config, log);
  // Last: everything that needs root (binding privileged ports, the clock, locking memory) is done.
  const dropped = user === null ? { ok: true as const } : dropRoot(config, user, clock.kind === 'system', log);
  if (dropped.ok) deps.onStarted?.(daemon);
  else lifetime.fail(dropped.message);
  const stopNotices = watchReachability(daemon, log);

  await lifetime.run(deps.signals ?? process, () => { reloader.reload('SIGHUP').catch(() => undefined); }, log);
  await reloader.settled();
  stopNotices();
  await Promise.all(control.map((c) => c.close()));
  await chronyc.close();
  await http.close();
  await daemon.stop();
  opened.release();
  pidFile.release();
  io.setExitCode(lifetime.fatal === null ? ExitCode.OK : ExitCode.GENERAL_FAILURE);
}
