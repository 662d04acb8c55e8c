/**
 * The NTP server's wiring: sockets from src/net, the sans-IO responder from
 * src/core, time from src/clock. Per datagram: T2 is the kernel's receive
 * timestamp where the native socket gives one; the transmit timestamp is
 * written at the last moment before the send (by the native socket, in C,
 * right before its sendmmsg; else in JS); the kernel's transmit
 * timestamp, when reported, goes back to the responder so the client's next
 * interleaved request gets it (RFC 9769).
 */
import { randomFillSync } from 'node:crypto';
import { realtime } from '../clock/realtime.js';
import { buildAccessTable } from '../core/access.js';
import { NtpResponder, serverConfig, type ServerConfig as CoreServerConfig, type ServerStats, writeTransmitTimestamp } from '../core/server.js';
import type { TransmitTicket } from '../core/interleave.js';
import { localReferenceState, type SystemState, unsynchronizedState } from '../core/system.js';
import type { ServerConfig } from '../config/server-config.js';
import { openServerSocket, type ServerSocket } from '../net/server-socket.js';
import type { UdpTransportInfo } from '../net/udp-transport.js';
import type { Instant } from '../time/instant.js';

export interface NtpServerOptions {
  readonly config: ServerConfig;
  /** The clock served; realtime() unless a test injects another. */
  readonly now?: () => Instant;
  /** Bind with SO_REUSEPORT, so several worker processes share the port (server-workers.ts). */
  readonly reusePort?: boolean;
  /** Problems that do not stop the server (a socket error), one line each. */
  readonly log?: (line: string) => void;
}

export interface RunningNtpServer {
  readonly endpoints: readonly { readonly address: string; readonly port: number }[];
  readonly transport: UdpTransportInfo;
  /** The precision announced in replies, log2 s. */
  readonly precision: number;
  stats(): ServerStats;
  close(): Promise<void>;
}

/** Unanswered transmit-timestamp tickets kept at most: the kernel may never report some. */
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

export async function startNtpServer(opts: NtpServerOptions): Promise<RunningNtpServer> {
  const { config } = opts;
  const now = opts.now ?? realtime;
  const log = opts.log ?? (() => {});
  const access = buildAccessTable(config.access.map((r) => ({ allow: r.allow, all: r.all, subnet: r.subnet })));
  if (!access.ok) {
    const r = config.access[access.index];
    throw new Error(`${r ? `${r.file}:${r.line}: ` : ''}${access.message}`);
  }
  const coreConfig: CoreServerConfig = serverConfig({ access: access.table, rateLimit: config.rateLimit, xleave: config.xleave, denied: config.denyKod ? 'kod' : 'ignore' });
  const precision = measurePrecision(now);
  const started = now();
  const system: SystemState = config.local ? localReferenceState(config.local.stratum, started, precision) : unsynchronizedState(precision);
  const random = randomSource();
  const responder = new NtpResponder({ seed: random() });
  const pending = new Map<number, TransmitTicket>();

  const sockets: ServerSocket[] = [];
  const onTxTime = (id: number, tx: Instant): void => {
    const ticket = pending.get(id);
    if (ticket === undefined) return;
    pending.delete(id);
    responder.recordTransmit(ticket, tx);
  };
  const addresses = config.bindAddresses.length > 0 ? config.bindAddresses : ['::'];
  try {
    for (const address of addresses) {
      let sock: ServerSocket | undefined = undefined;
      const onMessage = (data: Uint8Array, from: string, port: number, rxTime: Instant | null): void => {
        const t = now();
        const action = responder.handleRequest({
          packet: data, receivedAt: rxTime ?? t, now: t, address: from, port, system, config: coreConfig, random: random(),
        });
        if (action.action !== 'respond' || sock === undefined) return;
        const ticket = action.transmitTicket;
        let sentAt: Instant | null = null;
        let stampOffset = -1;
        if (action.transmitTimestampOffset !== null) {
          // The native socket stamps T3 in C right before sendmmsg (the JS
          // path would make it ~15 us early). Not with an injected clock, and
          // not when a ticket needs the T3 used but no kernel TX report will
          // tell it: then JS stamps and records what it wrote.
          if (sock.stampsTransmit && opts.now === undefined && (ticket === null || sock.txTimestamps)) {
            stampOffset = action.transmitTimestampOffset;
          } else {
            sentAt = now();
            writeTransmitTimestamp(action.reply, sentAt);
          }
        }
        const id = sock.send(action.reply, from, port, stampOffset);
        if (ticket === null) return;
        if (id >= 0) {
          if (pending.size >= MAX_PENDING_TX) pending.delete(pending.keys().next().value as number);
          pending.set(id, ticket);
        } else if (sentAt !== null) {
          responder.recordTransmit(ticket, sentAt);
        }
      };
      sock = await openServerSocket(address, config.port, {
        onMessage, onTxTime, onError: (err) => log(`socket ${address}:${config.port}: ${err.code ?? ''} ${err.message}`),
      }, { reusePort: opts.reusePort ?? false });
      sockets.push(sock);
    }
  } catch (e) {
    await Promise.all(sockets.map((s) => s.close()));
    throw e;
  }
  return {
    endpoints: sockets.map((s) => s.address()),
    transport: (sockets[0] as ServerSocket).info,
    precision,
    stats: () => responder.stats(now()),
    close: async () => { await Promise.all(sockets.map((s) => s.close())); },
  };
}
