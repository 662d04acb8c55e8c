/**
 * The configuration `ntpkit daemon` uses when run without `-f`: the cloud's
 * NTP servers, the set that answers where the machine runs (server-set.ts),
 * and nothing that needs root. No drift file (there
 * is no writable state directory to assume), no `makestep` (a user's daemon
 * without -f disciplines the virtual clock, where a step changes nothing
 * anyone else sees, so the chrony default of slewing is kept), a control
 * socket the user may create, and the metrics/dashboard HTTP server on
 * loopback only. contrib/ntpkit.conf has both lists for a real install.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONTROLSOCKET } from './config.js';
import { type ServerSet, serversOf, VPC_SERVERS } from './server-set.js';

/** The name built-in config diagnostics carry instead of a file name. */
export const BUILT_IN_CONFIG_NAME = '(built-in)';

/** The servers of the cloud documentation's chrony.conf (its VPC endpoints). */
export const SEED_SERVERS: readonly string[] = VPC_SERVERS;

/** The source options the seeds give every server. */
export const SEED_SERVER_OPTIONS = 'minpoll 4 maxpoll 10 iburst';

export interface SocketPathContext {
  /** The effective uid; undefined where the platform has none (Windows). */
  readonly uid?: number;
  readonly env: Readonly<Record<string, string | undefined>>;
}

function hostContext(): SocketPathContext {
  return { uid: process.getuid?.(), env: process.env };
}

/**
 * Where a daemon started by this user puts its control socket: root gets the
 * system path (/run/ntpkit/ntpkit.sock, as the packaged unit's
 * RuntimeDirectory provides); another user gets $XDG_RUNTIME_DIR/ntpkit/
 * (private to the user, cleaned at logout), else /tmp/ntpkit-<uid>/.
 */
export function defaultUserSocketPath(ctx: SocketPathContext = hostContext()): string {
  if (ctx.uid === 0) return DEFAULT_CONTROLSOCKET;
  const xdg = ctx.env.XDG_RUNTIME_DIR;
  // The XDG spec says to ignore a relative value.
  if (xdg !== undefined && xdg.startsWith('/')) return join(xdg, 'ntpkit', 'ntpkit.sock');
  if (ctx.uid === undefined) return join(tmpdir(), 'ntpkit', 'ntpkit.sock');
  return `/tmp/ntpkit-${ctx.uid}/ntpkit.sock`;
}

/**
 * Where clients (`ntpkit check`) look for the daemon by default: the system
 * socket when it exists (a packaged daemon, asked by a monitoring user),
 * else where this user's own daemon without -f would listen.
 */
export function defaultClientSocketPath(exists: (path: string) => boolean, ctx: SocketPathContext = hostContext()): string {
  return exists(DEFAULT_CONTROLSOCKET) ? DEFAULT_CONTROLSOCKET : defaultUserSocketPath(ctx);
}

/** The built-in configuration's text (chrony.conf syntax) for a given control socket and server set. */
export function builtInConfigText(socketPath: string = defaultUserSocketPath(), set: ServerSet = 'public'): string {
  return [
    "# ntpkit's built-in configuration, used by `ntpkit daemon` without -f.",
    set === 'vpc'
      ? "# Alibaba Cloud's VPC-internal NTP servers (this is one of its instances), polled every 16 s to 17 min."
      : "# Alibaba Cloud's public NTP servers, polled every 16 s to 17 min.",
    ...serversOf(set).map((h) => `server ${h} ${SEED_SERVER_OPTIONS}`),
    '# The control socket for ntpkit tracking, sources, check...',
    `controlsocket ${socketPath}`,
    '# Prometheus metrics and the dashboard, on loopback only.',
    'httpaddress 127.0.0.1',
    '',
  ].join('\n');
}
