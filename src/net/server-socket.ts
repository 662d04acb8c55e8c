/**
 * A listening UDP socket for the NTP server, over either backend: the
 * native socket (kernel receive timestamps for T2, T3 written in C just
 * before the send, kernel transmit timestamps on demand for interleaved
 * mode) or node:dgram (JS-side readings). The server wiring sees one
 * interface and never asks which.
 *
 * Datagrams come in batches: the native socket hands over a whole recvmmsg
 * batch in one call, through memory shared with the addon, and sends the
 * replies when the call returns; node:dgram makes a batch of each message.
 * Per request, the per-datagram JS<->C crossings (a callback with a Buffer,
 * an address string and a BigInt in; a send() with a string out) cost far
 * more than answering it.
 */
import { isIP } from 'node:net';
import type { Instant } from '../time/instant.js';
import type { TransmitLatency } from './native-udp.js';
import { chooseUdpBackend, openBoundUdpSocket } from './udp-socket-factory.js';
import type { ReceivedBatch, UdpNeeds, UdpPreferences, UdpTransportInfo } from './udp-socket.js';

export type { ReceivedBatch } from './udp-socket.js';

export interface ServerSocketHandlers {
  onBatch(batch: ReceivedBatch): void;
  /** The kernel's transmit timestamp (CLOCK_REALTIME) of the reply sent with `txTag`. */
  onTxTime(txTag: number, txTime: Instant): void;
  onError(err: NodeJS.ErrnoException): void;
}

export interface ServerSocket {
  readonly info: UdpTransportInfo;
  /** Whether reply() writes the transmit timestamp itself (at `stampOffset`) as the datagram goes out. */
  readonly stampsTransmit: boolean;
  /** Whether replies sent with a txTag get their kernel transmit timestamp reported. */
  readonly txTimestamps: boolean;
  /** NTP units added to the transmit timestamps the socket writes: served clock minus CLOCK_REALTIME. */
  setStampDelta(delta: bigint): void;
  /**
   * The compensation added to written transmit timestamps: the measured
   * latency from their reading to the kernel's transmit timestamp, per
   * class; null when the socket does not compensate.
   */
  transmitCompensation(): TransmitLatency | null;
  /**
   * Replies that never left, since the socket opened: refused by the kernel
   * (a destination it will not send to, such as a broadcast address, each
   * also reported to onError), or dropped for want of room in the send buffer.
   */
  sendFailures(): number;
  /**
   * Sends a datagram that answers nothing (a symmetric peer's packet leaves
   * from the server's port, where the peer expects it). No kernel transmit
   * timestamp is reported for it. Throws for what is refused at once.
   */
  send(data: Uint8Array, address: string, port: number): void;
  address(): { address: string; port: number };
  close(): Promise<void>;
}

export interface ServerSocketOptions {
  /** SO_REUSEPORT, so several workers share the port. */
  readonly reusePort?: boolean;
  /** IPV6_V6ONLY on an IPv6 socket: IPv4 clients then go to an IPv4 socket of their own. */
  readonly v6Only?: boolean;
  /** Write measured-latency-compensated transmit timestamps (native only). Default true. */
  readonly transmitCompensation?: boolean;
  /** The composition root's say in the backend. */
  readonly udp?: UdpPreferences;
  /** chrony's binddevice: SO_BINDTODEVICE on the socket (native only). */
  readonly device?: string;
}

/** What a server asks of its socket. */
const SERVER_NEEDS: UdpNeeds = { txTimestamps: 'on-demand', batching: true };

/**
 * The default receive buffer holds a few ms of requests at 50k/s; a GC
 * pause or a timer must not cost replies. Capped by rmem_max unless root.
 */
const RECV_BUFFER = 4 << 20;

/** Which transport servers use here, and why. */
export function serverTransportInfo(udp: UdpPreferences = {}): UdpTransportInfo {
  return chooseUdpBackend(SERVER_NEEDS, udp);
}

/**
 * Binds address:port. An IPv6 wildcard (`::`) also receives IPv4, as
 * IPv4-mapped addresses, unless `v6Only`. Rejects with the bind error
 * (EADDRINUSE, EACCES...).
 */
export async function openServerSocket(address: string, port: number, h: ServerSocketHandlers, opts: ServerSocketOptions = {}): Promise<ServerSocket> {
  const family: 4 | 6 = isIP(address) === 6 ? 6 : 4;
  const sock = await openBoundUdpSocket(family, { onBatch: (b) => h.onBatch(b), onTxTime: (tag, tx) => h.onTxTime(tag, tx), onError: (err) => h.onError(err) }, {
    needs: { ...SERVER_NEEDS, reusePort: opts.reusePort ?? false },
    preferences: opts.udp ?? {},
    bind: { address, port, v6Only: opts.v6Only ?? false, ...(opts.device === undefined ? {} : { device: opts.device }) },
    recvBufferBytes: RECV_BUFFER,
    transmitCompensation: opts.transmitCompensation ?? true,
  });
  return {
    info: sock.info,
    stampsTransmit: sock.stampsTransmit,
    txTimestamps: sock.txTimestamps,
    setStampDelta: (d) => sock.setStampDelta(d),
    transmitCompensation: () => sock.transmitLatency(),
    sendFailures: () => sock.sendFailures(),
    send: (data, address, port) => { sock.send(data, address, port); },
    address: () => sock.address(),
    close: () => sock.close(),
  };
}
