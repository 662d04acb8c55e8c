/**
 * `createServer()`: the library's friendly front to startNtpServer(). Plain
 * options instead of a ServerConfig, with defaults that serve at once (every
 * client allowed; the local clock at chrony's `local` stratum 10), or the
 * time of a SyncedClock with its real sync state:
 *
 *     const clock = await createSyncedClock({ servers: ['time.example'] });
 *     const server = await createServer({ port: 1123, clock });
 */
import type { SyncedClock } from './synced-clock.js';
import { loadServerConfig } from '../config/load.js';
import { localReferenceState, type SystemState } from '../core/system.js';
import { type RunningNtpServer, startNtpServer } from './ntp-server.js';
import type { UdpPreferences } from '../net/udp-socket.js';

export interface CreateServerOptions {
  /** UDP port (default 123, which needs root or CAP_NET_BIND_SERVICE). */
  readonly port?: number;
  /** Address(es) to serve on (default: every address). */
  readonly address?: string | readonly string[];
  /** Subnets to serve, chrony `allow` syntax ('192.0.2.0/24', 'all'). Default: everyone. */
  readonly allow?: readonly string[];
  /** Subnets not to serve, applied after `allow`. */
  readonly deny?: readonly string[];
  /**
   * Serve the local clock at this stratum when nothing better is known
   * (chrony `local stratum N`). Default 10 without `clock`; with `clock`,
   * none: replies say unsynchronized until the clock synchronizes.
   */
  readonly localStratum?: number | null;
  /** chrony `ratelimit` options, e.g. 'interval 1 burst 16'. Default: none. */
  readonly rateLimit?: string;
  /** More chrony.conf server lines (port, bindaddress, allow, deny, local, ratelimit, xleave). */
  readonly config?: string;
  /** Serve this clock's time with its sync state (stratum, refid, root delay/dispersion) instead of the system clock's. */
  readonly clock?: SyncedClock;
  /** Non-fatal problems (socket errors), one line each. */
  readonly log?: (line: string) => void;
  /** The socket backend: `{ forceDgram: reason }` for node:dgram whatever the addon offers. */
  readonly udp?: UdpPreferences;
}

/** Starts an NTP server; rejects with a ConfigError on bad options, or with the bind error. */
export async function createServer(o: CreateServerOptions = {}): Promise<RunningNtpServer> {
  const lines: string[] = [];
  if (o.port !== undefined) lines.push(`port ${o.port}`);
  for (const a of typeof o.address === 'string' ? [o.address] : (o.address ?? [])) lines.push(`bindaddress ${a}`);
  for (const a of o.allow ?? ['all']) lines.push(a === 'all' ? 'allow all' : `allow ${a}`);
  for (const d of o.deny ?? []) lines.push(d === 'all' ? 'deny all' : `deny ${d}`);
  const stratum = o.localStratum === undefined ? (o.clock === undefined ? 10 : null) : o.localStratum;
  if (stratum !== null) lines.push(`local stratum ${stratum}`);
  if (o.rateLimit !== undefined) lines.push(`ratelimit ${o.rateLimit}`.trim());
  if (o.config !== undefined) for (const l of o.config.split('\n')) lines.push(l);
  const { config } = loadServerConfig(undefined, lines);
  const clock = o.clock;
  const server = await startNtpServer({ config, ...(clock ? { clock: clock.serverClock() } : {}), ...(o.log ? { log: o.log } : {}), ...(o.udp ? { udp: o.udp } : {}) });
  if (clock === undefined) return server;
  let local: SystemState | null = null;
  const feed = (): void => {
    const state = clock.systemState();
    // `local` stands in while the clock is unsynchronized, as in the daemon.
    if (state.kind === 'unsynchronized' && stratum !== null) {
      local ??= localReferenceState(stratum, clock.now(), server.precision);
      server.setSystemState(local);
      return;
    }
    local = null;
    server.setSystemState(state);
  };
  feed();
  const off = clock.onStateChange(feed);
  const close = server.close.bind(server);
  server.close = async () => { off(); await close(); };
  return server;
}
