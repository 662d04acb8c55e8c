/**
 * The NTP server's wiring: sockets from src/net, the sans-IO responder from
 * src/core, time from src/clock. Per datagram: T2 is the kernel's receive
 * timestamp where the native socket gives one; the transmit timestamp is
 * written at the last moment before the send (by the native socket, in C,
 * right before its sendmmsg; else in JS); the kernel's transmit
 * timestamp, when reported, goes back to the responder so the client's next
 * interleaved request gets it (RFC 9769).
 *
 * The native socket delivers each recvmmsg batch in one call, and this loop
 * answers the whole batch: the clock is read once per batch (it only dates
 * the provisional transmit timestamp, which C overwrites, and the root
 * dispersion, which grows by PHI per second).
 */
import { type NtsCookieCodec, NtsServerAuthenticator, withNts } from '../crypto/nts-server.js';
import { randomFillSync } from 'node:crypto';
import { isIP } from 'node:net';
import { realtime } from '../clock/realtime.js';
import { type AccessTable, buildAccessTable } from '../core/server/access.js';
import { clientReports, type ClientReport, formatIPv6 } from '../core/server/client-report.js';
import { clientTime, MAX_CLIENT_SLOTS, MIN_CLIENT_SLOTS } from '../core/server/client-table.js';
import { symmetricRequestAuthenticator } from '../crypto/symmetric-auth.js';
import type { SymmetricKey } from '../crypto/symmetric-mac.js';
import { type QueryStats, withQueryStats } from '../core/server/server-stats.js';
import { NtpResponder, REPLY_LENGTH, type RequestAuthenticator, serverConfig, type ServerConfig as CoreServerConfig, type ServerStats, writeTransmitTimestamp } from '../core/server/server.js';
import type { TransmitTicket } from '../core/server/interleave.js';
import { localReferenceState, type SystemState, unsynchronizedState } from '../core/system.js';
import type { ServerConfig } from '../config/server-config.js';
import { ConfigError } from '../config/diagnostics.js';
import { loadKeyFile } from '../config/keyfile.js';
import { openServerSocket, type ReceivedBatch, type ServerSocket } from '../net/server-socket.js';
import { ProblemLog } from './problem-log.js';
import type { TransmitLatency } from '../net/native-udp.js';
import type { UdpPreferences, UdpTransportInfo } from '../net/udp-socket.js';
import { addSeconds, type Instant } from '../time/instant.js';
import { smoothedReply } from '../core/smoothing.js';

/**
 * The clock a server serves. Kernel packet timestamps are CLOCK_REALTIME
 * readings; `fromRealtime` maps them (and the C-side transmit timestamp, via
 * the difference it gives) onto this clock. src/clock's Clock fits.
 */
export interface ServedClock {
  now(): Instant;
  fromRealtime(t: Instant): Instant;
}

export interface NtpServerOptions {
  readonly config: ServerConfig;
  /** The clock served; CLOCK_REALTIME (realtime()) when absent. */
  readonly clock?: ServedClock;
  /** Bind with SO_REUSEPORT, so several worker processes share the port (server-workers.ts). */
  readonly reusePort?: boolean;
  /**
   * Add the measured latency from the native socket's transmit-timestamp
   * reading to the kernel's transmit timestamp of the reply (sampled from a
   * few replies) to T3, so that T3 is when the reply left. Default true.
   */
  readonly transmitCompensation?: boolean;
  /** The composition root's say in the socket backend (the CLI's NTPKIT_UDP). */
  readonly udp?: UdpPreferences;
  /**
   * Problems that do not stop the server. Those a sender can cause once per
   * packet (a reply the kernel refuses) come at a bounded rate: the first,
   * then one summary line per interval (problem-log.ts).
   */
  readonly log?: (line: string) => void;
  /**
   * Symmetric keys (a loaded keyfile) to check MACs and sign replies with;
   * absent: those of `config.keyfile`; null: none, and requests with a MAC
   * are dropped (as chronyd without a keyfile).
   */
  readonly keys?: ReadonlyMap<number, SymmetricKey> | null;
  /** Replaces the symmetric-key authenticator built from `keys` (e.g. one that also handles NTS). */
  readonly authenticator?: RequestAuthenticator;
  /** NTS-KE's cookie keys (`ntpkit server` with ntsservercert): NTS requests are then answered with NTS, the rest as `keys` says. */
  readonly ntsCookies?: NtsCookieCodec;
}

/**
 * The daemon's symmetric peers, whose packets (modes 1 and 2) arrive at the
 * server's port and go to the engine instead of the responder, as chronyd
 * hands a configured peer's packets to its association: an unknown sender's
 * mode 1 is answered in passive mode by the responder.
 */
export interface PeerTraffic {
  /** Whether `address` (text) and `port` are a configured peer's. */
  isPeer(address: string, port: number): boolean;
  /**
   * A peer's datagram (a copy), its kernel receive time (CLOCK_REALTIME) or
   * null, and the address it came to, unless the socket is a wildcard's.
   */
  deliver(data: Uint8Array, address: string, port: number, rxTime: Instant | null, localAddress: string | undefined): void;
}

/**
 * The daemon's mode 6 responder (ntpq): mode 6 datagrams that reach the
 * server's port go to it instead of the NTP responder, which never answers
 * them. What it answers is sent back from the same socket.
 */
export interface ControlQueries {
  /** The datagrams answering one mode 6 datagram (none: dropped, and counted). */
  answer(packet: Uint8Array, address: string | Uint8Array, port: number): readonly Uint8Array[];
  stats(): QueryStats;
}

export interface RunningNtpServer {
  readonly endpoints: readonly { readonly address: string; readonly port: number }[];
  readonly transport: UdpTransportInfo;
  /** The precision announced in replies, log2 s. */
  readonly precision: number;
  stats(): ServerStats;
  /** The client table as chronyc clients shows it (clients with at least `minHits` requests). O(client slots). */
  clients(minHits?: number): ClientReport[];
  /**
   * Replaces the system state that replies carry (stratum, refid, leap, root
   * delay and dispersion, reference time): the daemon feeds its sync state
   * here. The state's precision is sent as it is.
   */
  setSystemState(state: SystemState): void;
  /** The system state replies carry now. */
  systemState(): SystemState;
  /** Hands configured peers' packets to `peers` (null: to nobody; the responder answers them as unknown peers). */
  setPeerTraffic(peers: PeerTraffic | null): void;
  /** Hands mode 6 datagrams to `queries` (null: the NTP responder drops them as control-mode). */
  setControlQueries(queries: ControlQueries | null): void;
  /**
   * chronyc allow/deny: the access rules from the next request on; the
   * client log and counters stay. Throws, changing nothing, on a subnet that does not parse.
   */
  setAccess(rules: ServerConfig['access']): void;
  /**
   * Sends a peer's packet from the server's socket of the address's family
   * (where the peer expects it); false when there is none.
   * @throws as the socket's send does (a bad port).
   */
  sendToPeer(data: Uint8Array, address: string, port: number): boolean;
  /** The transmit-timestamp compensation of the first socket (see NtpServerOptions), or null when none is applied. */
  transmitCompensation(): TransmitLatency | null;
  close(): Promise<void>;
}

/** Mode 1 or 2: a symmetric peer's packet. */
function isSymmetric(packet: Uint8Array): boolean {
  const mode = packet.length > 0 ? (packet[0] as number) & 7 : 0;
  return mode === 1 || mode === 2;
}

/** Mode 6: an ntpq query. */
function isControlQuery(packet: Uint8Array): boolean {
  return packet.length > 0 && ((packet[0] as number) & 7) === 6;
}

/** A batch's source address as text (the native socket gives octets). */
function addressText(a: Uint8Array | string): string {
  if (typeof a === 'string') return a;
  return a.length === 4 ? a.join('.') : formatIPv6(a);
}

/** Unanswered transmit-timestamp tickets kept at most: the kernel may never report some (power of two). */
const MAX_PENDING_TX = 4096;

/**
 * The precision to announce: log2 of the time one clock reading takes, as
 * chronyd measures it (its minimum over a few readings), so clients weigh
 * our timestamps correctly.
 */
export function measurePrecision(now: () => Instant = realtime): number {
  let best = Infinity;
  for (let i = 0; i < 100; i++) {
    const a = now();
    const b = now();
    if (b > a) best = Math.min(best, Number(b - a) / 2 ** 32);
  }
  if (!Number.isFinite(best)) best = 1e-9;
  return Math.max(-30, Math.min(0, Math.ceil(Math.log2(best))));
}

/** Random 32-bit values for the rate limiter, drawn from node:crypto in blocks to keep it off the per-packet path. */
function randomSource(): () => number {
  const block = new Uint32Array(1024);
  let i = block.length;
  return () => {
    if (i === block.length) { randomFillSync(block); i = 0; }
    return block[i++] as number;
  };
}

/** Tickets waiting for their kernel transmit timestamp, by tag: a ring, so the oldest are forgotten first. */
class PendingTransmits {
  readonly #tickets: (TransmitTicket | undefined)[] = new Array<TransmitTicket | undefined>(MAX_PENDING_TX);
  readonly #tags = new Int32Array(MAX_PENDING_TX).fill(-1);
  #next = 0;

  /** Files a ticket; returns its tag. */
  add(ticket: TransmitTicket): number {
    const tag = this.#next;
    this.#next = (this.#next + 1) & 0x7fffffff;
    const at = tag & (MAX_PENDING_TX - 1);
    this.#tickets[at] = ticket;
    this.#tags[at] = tag;
    return tag;
  }

  take(tag: number): TransmitTicket | undefined {
    const at = tag & (MAX_PENDING_TX - 1);
    if (this.#tags[at] !== tag) return undefined;
    this.#tags[at] = -1;
    const t = this.#tickets[at];
    this.#tickets[at] = undefined;
    return t;
  }
}

/** `ntpkit server`'s keyfile (chrony format), or null; throws with every file:line problem. */
async function keysOf(config: ServerConfig): Promise<ReadonlyMap<number, SymmetricKey> | null> {
  if (config.keyfile === null) return null;
  const r = await loadKeyFile(config.keyfile, 'chrony');
  if (r.keys === null) throw new ConfigError(r.errors, r.warnings);
  return r.keys;
}

/** chronyd's clientlog.c: one record per this many bytes of `clientloglimit`. */
const CLIENTLOG_RECORD_BYTES = 128;

/**
 * The client table's size for `clientloglimit` bytes, as chronyd sizes its
 * own (a power of two, 524288 bytes giving 4096 records), within what the
 * table allows; undefined (ntpkit's default) when no limit is set.
 */
export function clientSlotsFor(limit: number | null): number | undefined {
  if (limit === null) return undefined;
  const slots = 2 ** Math.floor(Math.log2(Math.max(1, Math.floor(limit / CLIENTLOG_RECORD_BYTES))));
  return Math.min(MAX_CLIENT_SLOTS, Math.max(MIN_CLIENT_SLOTS, slots));
}

/** chrony's default when no bindaddress is given: every IPv4 and every IPv6 address, on separate sockets. */
const DEFAULT_BIND = ['0.0.0.0', '::'];

export async function startNtpServer(opts: NtpServerOptions): Promise<RunningNtpServer> {
  const { config } = opts;
  const clock = opts.clock;
  const now = clock ? () => clock.now() : realtime;
  const log = opts.log ?? (() => {});
  const accessTable = (rules: ServerConfig['access']): AccessTable => {
    const access = buildAccessTable(rules.map((r) => ({ allow: r.allow, all: r.all, subnet: r.subnet })));
    if (!access.ok) {
      const r = rules[access.index];
      throw new Error(`${r ? `${r.file}:${r.line}: ` : ''}${access.message}`);
    }
    return access.table;
  };
  const access = { table: accessTable(config.access) };
  const symmetric = opts.authenticator ?? symmetricRequestAuthenticator(opts.keys !== undefined ? opts.keys : await keysOf(config));
  const authenticator: RequestAuthenticator = opts.ntsCookies === undefined ? symmetric : withNts(new NtsServerAuthenticator({ cookies: opts.ntsCookies }), symmetric);
  let coreConfig: CoreServerConfig = serverConfig({
    access: access.table, rateLimit: config.rateLimit, xleave: config.xleave, denied: config.denyKod ? 'kod' : 'ignore', authenticator,
  });
  const precision = measurePrecision(now);
  const started = now();
  let system: SystemState = config.local ? localReferenceState(config.local.stratum, started, precision) : unsynchronizedState(precision);
  const random = randomSource();
  const responder = new NtpResponder({ seed: random(), reuseReply: true, clientSlots: clientSlotsFor(config.clientLogLimit) });
  const pending = new PendingTransmits();
  const transmitCompensation = opts.transmitCompensation ?? true;
  let peers: PeerTraffic | null = null;
  let queries: ControlQueries | null = null;

  const sockets: ServerSocket[] = [];
  const problems: ProblemLog[] = [];
  /** Send failures already moved into the responder's counters, per socket. */
  const failuresSeen: number[] = [];
  const countSendFailures = (): void => {
    sockets.forEach((sock, i) => {
      const n = sock.sendFailures();
      responder.recordSendFailures(n - (failuresSeen[i] ?? 0));
      failuresSeen[i] = n;
    });
  };
  const onTxTime = (tag: number, tx: Instant): void => {
    const ticket = pending.take(tag);
    if (ticket === undefined) return;
    const t = clock ? clock.fromRealtime(tx) : tx;
    // The interleaved reply carries this stamp: on the served (smoothed) timescale like the others.
    responder.recordTransmit(ticket, addSeconds(t, smoothedReply(system, t).shift));
  };

  /** Answers one batch on `sock`. */
  const serve = (sock: ServerSocket, b: ReceivedBatch): void => {
    let t: Instant;
    const r = realtime();
    t = clock ? clock.fromRealtime(r) : r;
    // With smoothtime the batch is served on the smoothed timescale: one offset for the batch,
    // as chronyd takes one per reply (ntp_core.c), in the state and every timestamp.
    const served = smoothedReply(system, t);
    const shift = served.shift;
    const onServed = (i: Instant): Instant => (shift === 0 ? i : addSeconds(i, shift));
    // One reading maps this batch: the C-side T3 is CLOCK_REALTIME plus this delta.
    sock.setStampDelta(onServed(t) - r);
    t = onServed(t);
    const cStamps = sock.stampsTransmit;
    for (let i = 0; i < b.count; i++) {
      const rx = b.rxTime(i);
      const packet = b.data(i);
      if (queries !== null && isControlQuery(packet)) {
        const out = queries.answer(packet, b.address(i), b.port(i));
        if (out.length > 0) {
          const address = addressText(b.address(i));
          const port = b.port(i);
          // After the batch, as a peer's packets: the batch's buffers are the socket's until it returns.
          queueMicrotask(() => {
            for (const d of out) {
              try { sock.send(d, address, port); } catch (e) { log(`mode 6 reply to ${address}:${port}: ${(e as Error).message}`); }
            }
          });
        }
        continue;
      }
      if (peers !== null && isSymmetric(packet)) {
        const address = addressText(b.address(i));
        const port = b.port(i);
        if (peers.isPeer(address, port)) {
          const p = peers;
          const data = packet.slice();
          const bound = sock.address().address;
          const local = bound === '0.0.0.0' || bound === '::' ? undefined : bound;
          // After the batch: the engine may send at once, and the batch's buffers are not ours to reuse.
          queueMicrotask(() => p.deliver(data, address, port, rx, local));
          continue;
        }
      }
      // A MAC or NTS fields: the reply is signed with its transmit timestamp in it, so that one
      // must be read now, not at the start of the batch (nothing rewrites it at the send).
      const at = packet.length > REPLY_LENGTH ? onServed(clock ? clock.fromRealtime(realtime()) : realtime()) : t;
      const action = responder.handleRequest({
        packet, receivedAt: rx === null ? t : onServed(clock ? clock.fromRealtime(rx) : rx), now: at,
        address: b.address(i), port: b.port(i), system: served.state, config: coreConfig, random: random(),
      });
      if (action.action !== 'respond') continue;
      const ticket = action.transmitTicket;
      let sentAt: Instant | null = null;
      let stampOffset = -1;
      if (action.transmitTimestampOffset !== null) {
        // The native socket stamps T3 in C right before the send (the JS
        // path would make it ~15 us early). When a ticket needs the T3 used
        // but no kernel TX report will tell it, JS stamps and records what it wrote.
        if (cStamps && (ticket === null || sock.txTimestamps)) {
          stampOffset = action.transmitTimestampOffset;
        } else {
          sentAt = onServed(now());
          writeTransmitTimestamp(action.reply, sentAt);
        }
      }
      let tag = -1;
      if (ticket !== null) {
        if (sock.txTimestamps) tag = pending.add(ticket);
        else if (sentAt !== null) responder.recordTransmit(ticket, sentAt);
      }
      b.reply(i, action.reply, stampOffset, tag);
    }
  };

  const explicit = config.bindAddresses.length > 0;
  const addresses = explicit ? config.bindAddresses : DEFAULT_BIND;
  try {
    for (const address of addresses) {
      let sock: ServerSocket | undefined = undefined;
      const onBatch = (b: ReceivedBatch): void => { if (sock !== undefined) serve(sock, b); };
      const where = `socket ${address}:${config.port}`;
      const problem = new ProblemLog(log, where);
      try {
        sock = await openServerSocket(address, config.port, {
          onBatch, onTxTime, onError: (err) => problem.report(err.code ?? 'error', `${where}: ${err.code ?? ''} ${err.message}`),
        }, {
          reusePort: opts.reusePort ?? false, v6Only: !explicit, transmitCompensation, udp: opts.udp ?? {},
          ...(config.bindDevice === null ? {} : { device: config.bindDevice }),
        });
      } catch (e) {
        // Without bindaddress, a host without IPv6 still serves IPv4 (as chronyd does).
        const code = (e as NodeJS.ErrnoException).code;
        if (!explicit && address === '::' && sockets.length > 0 && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) {
          log(`not serving IPv6: ${(e as Error).message}`);
          continue;
        }
        throw e;
      }
      sockets.push(sock);
      problems.push(problem);
    }
  } catch (e) {
    await Promise.all(sockets.map((s) => s.close()));
    throw e;
  }
  return {
    endpoints: sockets.map((s) => s.address()),
    transport: (sockets[0] as ServerSocket).info,
    precision,
    stats: () => {
      countSendFailures();
      const s = responder.stats(now());
      return queries === null ? s : withQueryStats(s, queries.stats());
    },
    clients: (minHits = 0) => clientReports(responder.clients, clientTime(now()), minHits),
    setSystemState: (state) => { system = state; },
    systemState: () => system,
    transmitCompensation: () => (sockets[0] as ServerSocket).transmitCompensation(),
    setPeerTraffic: (p) => { peers = p; },
    setControlQueries: (q) => { queries = q; },
    setAccess: (rules) => { coreConfig = { ...coreConfig, access: accessTable(rules) }; },
    sendToPeer: (data, address, port) => {
      const family = isIP(address) === 6 ? 6 : 4;
      // An IPv6 wildcard socket that is not v6-only takes IPv4 too, as mapped addresses.
      const sock = sockets.find((s) => isIP(s.address().address) === family) ?? sockets.find((s) => s.address().address === '::');
      if (sock === undefined) return false;
      sock.send(data, family === 4 && isIP(sock.address().address) === 6 ? `::ffff:${address}` : address, port);
      return true;
    },
    close: async () => {
      await Promise.all(sockets.map((s) => s.close()));
      countSendFailures();
      for (const p of problems) p.close();
    },
  };
}
