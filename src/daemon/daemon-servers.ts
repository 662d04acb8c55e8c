/**
 * The daemon's serving side: the NTP server (when an `allow` permits a
 * client) and the NTS-KE service (when the config names a certificate and
 * key), and how a reload swaps them: whole, or not at all.
 */
import type { Clock } from '../clock/clock.js';
import type { Config } from '../config/config.js';
import type { ServerConfig } from '../config/server-config.js';
import type { ClientReport } from '../core/server/client-report.js';
import { type ServerStats, withNtsKeStats } from '../core/server/server-stats.js';
import type { SystemState } from '../core/system.js';
import type { CookieKeyRing } from '../crypto/nts-cookie.js';
import { NtsServerAuthenticator } from '../crypto/nts-server.js';
import type { ConfigResources, KeyTable } from './config-resources.js';
import type { QueryView } from '../core/server/mode6-variables.js';
import { controlQueries } from './control-queries.js';
import { type PeerTraffic, type RunningNtpServer, startNtpServer } from './ntp-server.js';
import { type NtsKeService, startNtsKeService } from './nts-ke-service.js';
import { DaemonRequestAuthenticator } from './request-authenticator.js';
import type { UdpPreferences } from '../net/udp-socket.js';

type NtsCredentials = ConfigResources['ntsServer'];
type Undo = () => Promise<void>;

export interface DaemonServersOptions {
  readonly clock: Clock;
  /** false: never serve, whatever the config says (the library). */
  readonly serving: boolean;
  readonly keys: KeyTable | null;
  readonly ntsCredentials: NtsCredentials;
  readonly log: (line: string) => void;
  /** The composition root's say in the server socket's backend. */
  readonly udp?: UdpPreferences;
  /** NtpServerOptions.transmitCompensation. */
  readonly transmitCompensation?: boolean;
}

/** chrony serves only when some `allow` permits a client, and never on port 0. */
export function servesNtp(c: ServerConfig): boolean {
  return c.port !== 0 && c.access.some((r) => r.allow);
}

/**
 * chronyd opens its server socket for a `peer` even without `allow`
 * (NIO_OpenServerSocket): the peer's packets come and go on the NTP port.
 * Access rules still decide whom the responder answers.
 */
function needsServerSocket(c: Config): boolean {
  return servesNtp(c.server) || (c.server.port !== 0 && c.sources.some((s) => s.options.kind === 'peer'));
}

export class DaemonServers {
  private server: RunningNtpServer | null = null;
  private ke: NtsKeService | null = null;
  /** The certificate and key the KE server presents now. */
  private credentials: NtsCredentials;
  private readonly auth: DaemonRequestAuthenticator;
  private readonly clock: Clock;
  private readonly serving: boolean;
  private readonly log: (line: string) => void;
  private readonly socketOptions: Pick<DaemonServersOptions, 'udp' | 'transmitCompensation'>;
  /** The settings of the server running now. */
  private current: ServerConfig | null = null;
  /** Where configured peers' packets go (the engine), given to every server started. */
  private peers: PeerTraffic | null = null;
  /** What mode 6 queries read (the daemon's state); null: they are not answered. */
  private queryView: (() => QueryView) | null = null;

  constructor(o: DaemonServersOptions) {
    this.socketOptions = { udp: o.udp, transmitCompensation: o.transmitCompensation };
    this.clock = o.clock;
    this.serving = o.serving;
    this.log = o.log;
    this.credentials = o.ntsCredentials;
    this.auth = new DaemonRequestAuthenticator(o.keys);
  }

  get ntpServer(): RunningNtpServer | null {
    return this.server;
  }

  get ntsKe(): NtsKeService | null {
    return this.ke;
  }

  /** Starts what the config asks for; if the NTS-KE service cannot start, nothing stays open. */
  async open(config: Config): Promise<void> {
    if (this.shouldServe(config)) {
      this.server = await this.startServer(config.server);
    } else if (this.serving && config.server.port !== 0) {
      this.log('Not serving NTP: no allow directive permits any client');
    }
    if (this.wantsNtsKe(config)) {
      try {
        this.ke = await this.startNtsKe(config.server, this.credentials);
      } catch (e) {
        await this.server?.close();
        throw e;
      }
      this.auth.nts = new NtsServerAuthenticator({ cookies: this.ke.cookies });
    }
  }

  /** Configured peers' packets that reach the NTP server's port go to `peers`. */
  setPeerTraffic(peers: PeerTraffic): void {
    this.peers = peers;
    this.server?.setPeerTraffic(peers);
  }

  /** Mode 6 queries to the NTP server's port are answered from `view`, under the config's query access rules. */
  setQueryView(view: () => QueryView): void {
    this.queryView = view;
    if (this.server !== null && this.current !== null) this.server.setControlQueries(controlQueries(this.current, view));
  }

  /** Sends a peer's packet from the NTP server's port; false without a server socket for it. */
  sendToPeer(packet: Uint8Array, address: string, port: number): boolean {
    return this.server?.sendToPeer(packet, address, port) ?? false;
  }

  /** Gives the NTP server the sync state to serve (read only when there is a server). */
  refresh(state: () => SystemState): void {
    if (this.server === null) return;
    try {
      this.server.setSystemState(state());
    } catch (e) {
      this.log(`Cannot update the served sync state: ${(e as Error).message}`);
    }
  }

  setKeys(keys: KeyTable | null): void {
    this.auth.setKeys(keys);
  }

  /**
   * A reload's servers: each bind with its undoing, run in reverse if a
   * later one fails, so a rejected reload leaves the running servers, and the
   * certificate they present, as they were.
   */
  async apply(current: Config, next: Config, res: ConfigResources): Promise<void> {
    const prev = { ke: this.ke, nts: this.auth.nts, credentials: this.credentials };
    const undo: Undo[] = [];
    try {
      // A peer added or removed can open or close the server socket with the server settings unchanged.
      if (JSON.stringify(stripPositions(next.server)) !== JSON.stringify(stripPositions(current.server)) || this.shouldServe(next) !== this.shouldServe(current)) {
        // Stop first: the new server usually wants the same address and port.
        await this.server?.close();
        this.server = null;
        undo.push(async () => {
          await this.server?.close();
          this.server = this.shouldServe(current) ? await this.startServer(current.server) : null;
        });
        if (this.shouldServe(next)) this.server = await this.startServer(next.server);
      }
      await this.swapNtsKe(current, next, res, prev, undo);
    } catch (e) {
      for (const u of undo.reverse()) {
        await u().catch((err: Error) => this.log(`Cannot restore the running configuration's servers: ${err.message}`));
      }
      this.auth.nts = prev.nts;
      this.credentials = prev.credentials;
      throw e;
    }
  }

  /**
   * chronyc allow/deny at run time: the running server takes `next`'s rules
   * in place (its client log and counters stay); as chronyd keeps its server
   * socket open only while some address is allowed, the server starts when a
   * rule first lets a client in and stops when none does.
   */
  async setAccess(next: Config): Promise<void> {
    const want = this.shouldServe(next);
    if (this.server !== null && want) {
      this.server.setAccess(next.server.access);
      this.current = next.server;
    } else if (this.server === null && want) {
      this.server = await this.startServer(next.server);
    } else if (this.server !== null) {
      await this.server.close();
      this.server = null;
      this.current = null;
      this.log('Not serving NTP: no allow rule permits any client');
    }
  }

  clients(minHits?: number): ClientReport[] | null {
    return this.server?.clients(minHits) ?? null;
  }

  stats(): ServerStats | null {
    const s = this.server?.stats() ?? null;
    return s === null || this.ke === null ? s : withNtsKeStats(s, this.ke.stats());
  }

  async close(): Promise<void> {
    await this.server?.close();
    this.server = null;
    await this.ke?.close();
    this.ke = null;
  }

  private shouldServe(c: Config): boolean {
    return this.serving && needsServerSocket(c);
  }

  private wantsNtsKe(c: Config): boolean {
    return this.serving && c.server.nts.serverCerts.length > 0;
  }

  private async startServer(c: ServerConfig): Promise<RunningNtpServer> {
    const s = await startNtpServer({
      config: c,
      authenticator: this.auth,
      clock: this.clock,
      ...this.socketOptions,
      log: (l) => this.log(`NTP server: ${l}`),
    });
    s.setPeerTraffic(this.peers);
    this.current = c;
    if (this.queryView !== null) s.setControlQueries(controlQueries(c, this.queryView));
    const where = s.endpoints.map((e) => `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}`).join(', ');
    this.log(`Serving NTP on ${where} from the ${this.clock.kind} clock (${s.transport.kind === 'native-kernel-timestamps' ? 'kernel timestamps' : `node:dgram: ${s.transport.reason ?? 'fallback'}`})`);
    return s;
  }

  private startNtsKe(c: ServerConfig, credentials: NtsCredentials, ring?: CookieKeyRing): Promise<NtsKeService> {
    if (credentials === null) throw new Error('Cannot start NTS-KE: no certificate and key loaded');
    return startNtsKeService({ nts: c.nts, credentials, ring, bindAddresses: c.bindAddresses, ntpPort: c.port, log: (l) => this.log(l) });
  }

  /**
   * The NTS-KE side of a reload. With the same listening settings, the
   * servers stay open and take the (re-read) certificate and key for new
   * connections; otherwise they are restarted, on the same cookie keys
   * while those are kept in the same place. Pushes its undoing to `undo`.
   */
  private async swapNtsKe(current: Config, next: Config, res: ConfigResources, prev: { ke: NtsKeService | null; credentials: NtsCredentials }, undo: Undo[]): Promise<void> {
    const want = this.wantsNtsKe(next);
    if (!want && prev.ke === null) return;
    const creds = res.ntsServer;
    const prevCreds = prev.credentials;
    if (want && creds !== null && prev.ke !== null && prevCreds !== null && sameKeListeners(current.server, next.server)) {
      const running = prev.ke;
      running.setCredentials(creds);
      this.credentials = creds;
      undo.push(async () => { running.setCredentials(prevCreds); });
      return;
    }
    const old = prev.ke;
    const oldRing = old?.cookies;
    const sameKeys = old !== null && next.server.nts.dumpDir === current.server.nts.dumpDir && next.server.nts.rotate === current.server.nts.rotate;
    await old?.close();
    this.ke = null;
    this.auth.nts = null;
    undo.push(async () => {
      await this.ke?.close();
      this.ke = old === null ? null : await this.startNtsKe(current.server, prevCreds, oldRing);
      this.auth.nts = this.ke === null ? null : new NtsServerAuthenticator({ cookies: this.ke.cookies });
    });
    if (want) {
      this.ke = await this.startNtsKe(next.server, creds, sameKeys ? oldRing : undefined);
      this.auth.nts = new NtsServerAuthenticator({ cookies: this.ke.cookies });
      this.credentials = creds;
    }
  }
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
