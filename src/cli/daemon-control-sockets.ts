/**
 * The daemon's JSON control sockets at `controlsocket` ("/" disables
 * them): the main one (every command) and the read-only one next to it
 * (monitoring only; control/protocol.ts readOnlySocketPath).
 */
import { chmod, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { messageWithCode } from '../config/bounded-read.js';
import type { Config } from '../config/config.js';
import { commandEndpoints } from '../config/command-endpoints.js';
import { type CandmServer, startCandmServer } from '../control/candm/server.js';
import { CommandTable } from '../control/command-table.js';
import { daemonHandlers } from '../control/commands.js';
import { readOnlySocketPath } from '../control/protocol.js';
import { CONTROL_LIMITS, type ControlServer, startControlServer } from '../control/server.js';
import type { SyncDaemon } from '../daemon/sync-daemon.js';

/** The control socket's permissions: owner and group, as chronyd's, so operators are let in by group. */
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

/**
 * Opens both sockets. Like chronyd, which keeps running without its
 * command socket, a failure here is logged and the daemon goes on
 * synchronizing.
 *
 * Order matters for safety: a directory we create stays 0750 until the main
 * socket has its mode, and only then opens to others (0755) so that they
 * reach the read-only socket; nobody else ever sees the main socket with
 * the mode it was bound with.
 */
export async function openControlSockets(
  daemon: SyncDaemon, config: Config, log: (l: string) => void, reload: () => Promise<{ sources: number; file: string }>, shutdown?: () => void,
): Promise<ControlServer[]> {
  const path = config.controlsocket;
  if (path === '/' || path === '') {
    log('Control socket disabled (controlsocket /)');
    return [];
  }
  const dir = dirname(path);
  const dirExisted = await stat(dir).then(() => true, () => false);
  const handlers = daemonHandlers(daemon, { reload, log, shutdown, cmdAllowed: (a) => daemon.cmdAllowed(a) });
  const socketLog = (level: string, m: string): void => { if (level === 'warn' || level === 'error') log(`Control socket: ${m}`); };
  const idleTimeoutMs = controlIdleTimeoutMs(process.env, log);
  let main: ControlServer;
  try {
    main = await startControlServer({ path, mode: CONTROL_SOCKET_MODE, handlers, idleTimeoutMs, log: socketLog, counts: daemon.commandCounts });
    log(`Control socket at ${path}`);
  } catch (e) {
    log(`Cannot open the control socket ${path}: ${messageWithCode(e)}; ntpkit tracking/sources will not reach this daemon`);
    return [];
  }
  const roPath = readOnlySocketPath(path);
  try {
    const ro = await startControlServer({ path: roPath, mode: READ_ONLY_SOCKET_MODE, handlers, readOnly: true, mainPath: path, idleTimeoutMs, log: socketLog, counts: daemon.commandCounts });
    if (!dirExisted) await chmod(dir, 0o755);
    else if (((await stat(dir)).mode & 0o001) === 0) log(`Read-only control socket at ${roPath}, but ${dir} does not let other users reach it (mode ${((await stat(dir)).mode & 0o777).toString(8)})`);
    log(`Read-only control socket at ${roPath}`);
    return [main, ro];
  } catch (e) {
    log(`Cannot open the read-only control socket ${roPath}: ${messageWithCode(e)}; only the main socket serves`);
    return [main];
  }
}

/**
 * chronyd's command endpoints (bindcmdaddress, cmdport, cmdallow/cmddeny),
 * so that chronyc reaches this daemon. They run the same command table as
 * the JSON socket. What cannot be opened is logged, as chronyd logs it.
 */
export async function openChronycEndpoints(daemon: SyncDaemon, config: Config, log: (l: string) => void, reload: () => Promise<{ sources: number; file: string }>, shutdown?: () => void): Promise<CandmServer> {
  const table = new CommandTable(daemonHandlers(daemon, { reload, log, shutdown, cmdAllowed: (a) => daemon.cmdAllowed(a) }), { path: 'chronyc', log: () => {} });
  const server = await startCandmServer({
    endpoints: commandEndpoints(config.command),
    // The daemon's verdicts: cmdallow/cmddeny change them at run time.
    access: { allowed: (a) => daemon.cmdAllowed(a), mayUse: (a) => daemon.mayUseCommandPort(a) },
    context: { snapshot: () => daemon.snapshot(), call: (name, args) => table.call(name, args) },
    counts: daemon.commandCounts,
    log,
  });
  if (server.listening.length > 0) log(`chronyc's command protocol on ${server.listening.join(', ')}`);
  return server;
}

/**
 * A reload's bindcmdaddress, cmdport and cmdallow/cmddeny: the endpoints
 * follow the new lines (see CandmServer.reconfigure); when one cannot be
 * opened the old ones stay and this rejects with the reason, so that the
 * reload fails before anything else changes.
 */
export async function applyChronycEndpoints(server: CandmServer, config: Config, log: (l: string) => void): Promise<void> {
  const before = server.listening.join(', ');
  await server.reconfigure(commandEndpoints(config.command), config.command.access);
  const after = server.listening.join(', ');
  if (after !== before) log(after === '' ? "chronyc's command protocol closed" : `chronyc's command protocol on ${after}`);
}
