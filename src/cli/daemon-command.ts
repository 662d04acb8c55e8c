/**
 * `ntpkit daemon [-f FILE]`: the client daemon in the foreground, systemd
 * style (Type=simple): one log line per event on stderr, SIGTERM/SIGINT save
 * the drift file and exit 0, SIGHUP reloads the config (a bad one is
 * reported and the running one stays). chronyd's `-d` and `-x` habits map to
 * `--clock virtual`, which disciplines a software clock and leaves the
 * system's alone.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Clock } from '../clock/clock.js';
import { chooseClockKind, type ClockChoice, type ClockRequest } from '../clock/environment.js';
import { type ClockLock, type OwnershipReport, claimSystemClock } from '../clock/ownership.js';
import { SystemClock } from '../clock/system-clock.js';
import { VirtualClock } from '../clock/virtual-clock.js';
import { messageWithCode } from '../config/bounded-read.js';
import type { Config, ConfigResult, HttpAddress } from '../config/config.js';
import { normalizeHttpHost } from '../config/config-builder.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { BUILT_IN_CONFIG_NAME, BUILT_IN_CONFIG_TEXT, SEED_SERVERS } from '../config/default-config.js';
import { loadConfig, parseConfigText } from '../config/parse-config.js';
import { chmod, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { daemonHandlers } from '../control/commands.js';
import { ControlError } from '../control/errors.js';
import { readOnlySocketPath } from '../control/protocol.js';
import { CONTROL_LIMITS, type ControlServer, startControlServer } from '../control/server.js';
import { loadRunnableConfig, type RunnableConfig } from '../daemon/config-resources.js';
import type { Resolver } from '../daemon/engine-driver.js';
import { type EngineFactory, startSyncDaemon, type SyncDaemon } from '../daemon/sync-daemon.js';
import { ReachabilityNotice } from '../daemon/reachability-notice.js';
import { DaemonHttp } from '../web/daemon-http.js';
import { type HttpFlag, parseHttpFlag } from '../web/http-address.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { finiteNumber } from './option-parsers.js';
import { environmentSwitches } from './environment-switches.js';

interface DaemonFlags {
  config?: string;
  clock: ClockRequest;
  virtualOffset?: number;
  virtualFreq?: number;
  /** Given: overrides `httpaddress`, also across reloads. */
  http?: HttpFlag;
  /** Given: overrides `httphost`, also across reloads. */
  httpHost?: string[];
  force?: boolean;
}

/** What the command takes from the outside world, so tests run it in-process. */
export interface DaemonCommandDeps {
  /** Where SIGTERM/SIGINT/SIGHUP come from (default: the process). */
  readonly signals?: Pick<NodeJS.Process, 'on' | 'off'>;
  readonly resolve?: Resolver;
  readonly createEngine?: EngineFactory;
  readonly chooseClock?: (requested: ClockRequest) => ClockChoice;
  /** Prefix log lines with a UTC timestamp (default: unless systemd's journal captures stderr). */
  readonly timestamps?: boolean;
  /** The configuration without -f (default BUILT_IN_CONFIG_TEXT; tests give their own socket path). */
  readonly builtInConfig?: string;
  /** The other-owner checks before taking the system clock (default: clock/ownership.ts on this machine). */
  readonly ownership?: () => OwnershipReport;
  /** The PID lock file held while on the system clock (default: /run/ntpkit/ntpkit.pid or NTPKIT_LOCK_FILE). */
  readonly lock?: () => ClockLock;
  /** Called once running (tests). */
  readonly onStarted?: (daemon: SyncDaemon) => void;
}

/** The control socket's permissions (issue 4: mode 0660, like chronyd's). */
export const CONTROL_SOCKET_MODE = 0o660;
/** The read-only socket's: everyone may connect, as anyone may send chronyd monitoring requests on its UDP port. */
export const READ_ONLY_SOCKET_MODE = 0o666;

/** Seconds a control connection may stay idle (default CONTROL_LIMITS.idleTimeoutMs); tests shorten it. */
export const CONTROL_IDLE_ENV = 'NTPKIT_CONTROL_IDLE_SECONDS';

/** The idle timeout in ms from the environment, or the default with a warning when the value is not a positive number. */
function controlIdleTimeoutMs(env: NodeJS.ProcessEnv, log: (l: string) => void): number {
  const text = env[CONTROL_IDLE_ENV];
  if (text === undefined || text === '') return CONTROL_LIMITS.idleTimeoutMs;
  const s = Number(text);
  if (Number.isFinite(s) && s > 0) return s * 1000;
  log(`Warning: ${CONTROL_IDLE_ENV} must be a number of seconds greater than 0, got "${text}"; using ${CONTROL_LIMITS.idleTimeoutMs / 1000}`);
  return CONTROL_LIMITS.idleTimeoutMs;
}

/** systemd sets JOURNAL_STREAM when stderr goes to the journal, which stamps each line itself. */
function underJournal(env: NodeJS.ProcessEnv): boolean {
  return env.JOURNAL_STREAM !== undefined && env.JOURNAL_STREAM !== '';
}

export function daemonCommand(io: Io, deps: DaemonCommandDeps = {}): Command {
  return new Command('daemon')
    .description('synchronize a clock to the sources of a chrony.conf or ntp.conf, in the foreground (systemd style); serve NTP if `allow` permits')
    .option('-f, --config <file>', 'chrony.conf or ntp.conf (format guessed from the name, then the content); without it, the built-in configuration: the seed servers, no root needed')
    .addOption(new Option('--clock <kind>', 'the clock to discipline: system (the kernel\'s; needs CAP_SYS_TIME), virtual (a software clock; the system clock is never touched), auto (system when permitted and not in a container)').choices(['system', 'virtual', 'auto']).default('auto'))
    .option('--force', 'take the system clock even though another time daemon, another ntpkit or a container was found (logs what it overrode)')
    .addOption(new Option('--virtual-offset <seconds>', 'start the virtual clock this far from the system clock (tests, demos; implies --clock virtual)').argParser(finiteNumber('--virtual-offset')))
    .addOption(new Option('--virtual-freq <ppm>', 'give the virtual clock this frequency error (tests, demos; implies --clock virtual)').argParser(finiteNumber('--virtual-freq')))
    .addOption(new Option('--http <address>', 'serve Prometheus metrics and the dashboard at ADDRESS[:PORT] (e.g. 127.0.0.1:9473, [::1]:9473; port 0: any free one), or "off"; overrides the httpaddress directive').argParser(httpFlag))
    .addOption(new Option('--http-host <name>', 'a host name the dashboard and metrics are reached by, besides the address they listen on (repeatable; requests naming another host get 421); overrides the httphost directive').argParser(httpHost))
    .action(async (flags: DaemonFlags, cmd: Command) => {
      const stamp = deps.timestamps ?? !underJournal(process.env);
      const log = (line: string): void => io.err(stamp ? `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} ${line}` : line);
      const wantsVirtual = flags.virtualOffset !== undefined || flags.virtualFreq !== undefined;
      const clockGiven = cmd.getOptionValueSource('clock') === 'cli';
      if (wantsVirtual && clockGiven && flags.clock !== 'virtual') {
        io.err(`ntpkit daemon: --virtual-offset and --virtual-freq apply to the virtual clock, not --clock ${flags.clock}`);
        io.setExitCode(ExitCode.USAGE);
        return;
      }
      // Without -f: the built-in text, re-parsed on SIGHUP like a file would be re-read.
      const configFile = flags.config;
      const load = async (): Promise<ConfigResult> => configFile === undefined ? parseConfigText(deps.builtInConfig ?? BUILT_IN_CONFIG_TEXT, BUILT_IN_CONFIG_NAME, { format: 'chrony' }) : loadConfig(configFile);
      // The config and what it names (key file, certificates, addresses...): the same checks as `ntpkit validate`.
      const resourceOptions = { http: flags.http === undefined };
      const loaded = await loadRunnableConfig(await load(), resourceOptions);
      if (!reportConfig(io, loaded, 'not started')) {
        io.setExitCode(ExitCode.USAGE);
        return;
      }
      const { config, resources } = loaded;
      if (configFile === undefined) log(`Using the built-in configuration (${config.sources.length} servers from ${SEED_SERVERS[0] as string} and ${SEED_SERVERS.length - 1} more; control socket ${config.bindcmdaddress}); give -f FILE for another`);

      const requested: ClockRequest = wantsVirtual ? 'virtual' : flags.clock;
      const choice = (deps.chooseClock ?? chooseClockKind)(requested);
      if (!choice.ok) {
        io.err(`ntpkit daemon: not started: ${choice.error}`);
        io.setExitCode(ExitCode.GENERAL_FAILURE);
        return;
      }
      for (const w of choice.warnings) log(`Warning: ${w}`);
      let lock: (ClockLock & { ok: true }) | null = null;
      if (choice.kind === 'system') {
        const claim = claimSystemClock({ force: flags.force === true, log, check: deps.ownership, lock: deps.lock });
        if (!claim.ok) {
          const hint = requested === 'auto' ? '\n(--clock auto chose the system clock; --clock virtual leaves it alone)' : '';
          io.err(`ntpkit daemon: not started: ${claim.message}${hint}`);
          io.setExitCode(ExitCode.GENERAL_FAILURE);
          return;
        }
        lock = claim.lock;
      }
      let clock: Clock;
      try {
        clock = choice.kind === 'system'
          // chronyd leaves STA_UNSYNC set unless `rtcsync` (else Linux copies the time to the RTC every
          // 11 minutes); rtcsync is not implemented yet, so we keep chronyd's default.
          ? new SystemClock({ clearUnsync: false })
          : new VirtualClock({ offsetSeconds: flags.virtualOffset ?? 0, frequencyErrorPpm: flags.virtualFreq ?? 0 });
      } catch (e) {
        io.err(`ntpkit daemon: not started: ${(e as Error).message}`);
        lock?.release();
        io.setExitCode(ExitCode.GENERAL_FAILURE);
        return;
      }
      const extra = choice.kind === 'virtual' && wantsVirtual ? ` (started ${flags.virtualOffset ?? 0} s and ${flags.virtualFreq ?? 0} ppm off the system clock)` : '';
      log(`Disciplining the ${choice.kind} clock: ${choice.reason}${extra}`);

      // chronyd exits when maxchange is exceeded more than `ignore` times: so do we, with a failure status.
      let fatal: string | null = null;
      let stopNow: (why: string) => void = () => {};
      const stopped = new Promise<string>((resolve) => { stopNow = resolve; });
      let daemon: SyncDaemon;
      try {
        daemon = await startSyncDaemon({
          config, resources, clock, log, resolve: deps.resolve, createEngine: deps.createEngine,
          udp: environmentSwitches().udp, transmitCompensation: environmentSwitches().transmitCompensation,
          onFatal: (reason) => { fatal = reason; stopNow('fatal'); },
        });
      } catch (e) {
        io.err(`ntpkit daemon: not started: ${messageWithCode(e)}`);
        clock.close();
        lock?.release();
        io.setExitCode(ExitCode.GENERAL_FAILURE);
        return;
      }

      // The flags win over the directives, also across reloads.
      const httpAddress = (c: Config): HttpAddress | null => flags.http === undefined ? c.httpaddress : flags.http === 'off' ? null : flags.http;
      const httpHosts = (c: Config): readonly string[] => flags.httpHost ?? c.httphosts;
      // SIGHUP and the `reload` command: one at a time, and a bad config changes nothing.
      const configName = configFile ?? 'the built-in configuration';
      const http = new DaemonHttp(daemon, { log });
      let reloading: Promise<unknown> = Promise.resolve();
      const reload = (why: string): Promise<{ sources: number; file: string }> => {
        const run = async (): Promise<{ sources: number; file: string }> => {
          log(`Reloading ${configName} (${why})`);
          const next = await loadRunnableConfig(await load(), resourceOptions);
          if (!reportConfig(io, next, 'the running configuration stays in force')) {
            const where = next.errors.map((e) => formatDiagnostic(e)).join('; ');
            throw new ControlError('bad-config', `Cannot reload ${configName}: ${where}; the running configuration stays in force`);
          }
          try {
            await daemon.reconfigure(next.config, next.resources);
            await http.apply(httpAddress(next.config), httpHosts(next.config));
          } catch (e) {
            log(`Cannot apply the new configuration: ${messageWithCode(e)}; the running configuration stays in force`);
            throw new ControlError('bad-config', `Cannot apply ${configName}: ${messageWithCode(e)}; the running configuration stays in force`);
          }
          return { sources: next.config.sources.length, file: configName };
        };
        const p = reloading.then(run, run);
        reloading = p.catch(() => undefined);
        return p;
      };

      const control = await openControl(daemon, config, log, () => reload('reload command'));
      await http.apply(httpAddress(config), httpHosts(config));
      if (flags.http === 'off') log('No dashboard or metrics (--http off)');
      deps.onStarted?.(daemon);
      const stopNotices = watchReachability(daemon, log);

      const signals = deps.signals ?? process;
      const onHup = (): void => { reload('SIGHUP').catch(() => undefined); };
      signals.on('SIGHUP', onHup);
      const onInt = (): void => stopNow('SIGINT');
      const onTerm = (): void => stopNow('SIGTERM');
      signals.on('SIGINT', onInt);
      signals.on('SIGTERM', onTerm);
      const why = await stopped;
      signals.off('SIGINT', onInt);
      signals.off('SIGTERM', onTerm);
      log(fatal === null ? `Stopping (${why})` : `Stopping: ${fatal as string}`);
      signals.off('SIGHUP', onHup);
      await reloading;
      stopNotices();
      await Promise.all(control.map((c) => c.close()));
      await http.close();
      await daemon.stop();
      clock.close();
      lock?.release();
      io.setExitCode(fatal === null ? ExitCode.OK : ExitCode.GENERAL_FAILURE);
    });
}

/** Seconds between reachability checks: often enough that an offline start is reported within half a minute. */
const REACHABILITY_CHECK_MS = 5000;

/** Logs plainly when no source can be reached (e.g. `npm start` offline), and when one can again. Returns the stop function. */
function watchReachability(daemon: SyncDaemon, log: (line: string) => void): () => void {
  const notice = new ReachabilityNotice();
  const started = Date.now();
  const timer = setInterval(() => {
    const line = notice.check(daemon.snapshot(), (Date.now() - started) / 1000);
    if (line !== null) log(line);
  }, REACHABILITY_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

function httpFlag(v: string): HttpFlag {
  try {
    return parseHttpFlag(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function httpHost(v: string, prev: string[] | undefined): string[] {
  const name = normalizeHttpHost(v);
  if (name === null) throw new InvalidArgumentError(`--http-host must be a host name or an IP address, without a port, got "${v}"`);
  return [...(prev ?? []), name];
}

/** Prints errors and warnings as file:line lines, each once; false when there are errors. */
function reportConfig(io: Io, r: RunnableConfig, consequence: string): r is Extract<RunnableConfig, { ok: true }> {
  for (const w of r.warnings) io.err(`ntpkit daemon: warning: ${formatDiagnostic(w)}`);
  if (r.ok) return true;
  for (const e of r.errors) io.err(`ntpkit daemon: ${formatDiagnostic(e)}`);
  io.err(`ntpkit daemon: ${consequence}: the configuration has ${r.errors.length} error${r.errors.length === 1 ? '' : 's'}`);
  return false;
}

/**
 * The control sockets at `bindcmdaddress` (chrony: "/" disables them): the
 * main one (mode 0660, every command) and the read-only one next to it (mode
 * 0666, monitoring only; control/protocol.ts readOnlySocketPath). Like
 * chronyd, which keeps running without its command socket, a failure here is
 * logged and the daemon goes on synchronizing.
 *
 * Order matters for safety: a directory we create stays 0750 until the main
 * socket has its mode, and only then opens to others (0755) so that they
 * reach the read-only socket; nobody else ever sees the main socket with
 * the mode it was bound with.
 */
async function openControl(daemon: SyncDaemon, config: Config, log: (l: string) => void, reload: () => Promise<{ sources: number; file: string }>): Promise<ControlServer[]> {
  const path = config.bindcmdaddress;
  if (path === '/' || path === '') {
    log('Control socket disabled (bindcmdaddress /)');
    return [];
  }
  const dir = dirname(path);
  const dirExisted = await stat(dir).then(() => true, () => false);
  const handlers = daemonHandlers(daemon, { reload, log });
  const socketLog = (level: string, m: string): void => { if (level === 'warn' || level === 'error') log(`Control socket: ${m}`); };
  const idleTimeoutMs = controlIdleTimeoutMs(process.env, log);
  let main: ControlServer;
  try {
    main = await startControlServer({ path, mode: CONTROL_SOCKET_MODE, handlers, idleTimeoutMs, log: socketLog });
    log(`Control socket at ${path}`);
  } catch (e) {
    log(`Cannot open the control socket ${path}: ${messageWithCode(e)}; ntpkit tracking/sources will not reach this daemon`);
    return [];
  }
  const roPath = readOnlySocketPath(path);
  try {
    const ro = await startControlServer({ path: roPath, mode: READ_ONLY_SOCKET_MODE, handlers, readOnly: true, mainPath: path, idleTimeoutMs, log: socketLog });
    if (!dirExisted) await chmod(dir, 0o755);
    else if (((await stat(dir)).mode & 0o001) === 0) log(`Read-only control socket at ${roPath}, but ${dir} does not let other users reach it (mode ${((await stat(dir)).mode & 0o777).toString(8)})`);
    log(`Read-only control socket at ${roPath}`);
    return [main, ro];
  } catch (e) {
    log(`Cannot open the read-only control socket ${roPath}: ${messageWithCode(e)}; only the main socket serves`);
    return [main];
  }
}
