/**
 * A listening UDP socket for the NTP server, over either transport: the
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
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { Instant } from '../time/instant.js';
import { NativeUdpSocket, type TransmitLatency } from './native-udp.js';
import { nativeUdpUnavailable, type UdpTransportInfo } from './udp-transport.js';

/** The datagrams of one wakeup; valid only during the onBatch call. */
export interface ReceivedBatch {
  readonly count: number;
  /** Datagram i's payload (a view that the next batch overwrites: copy it to keep it). */
  data(i: number): Uint8Array;
  /** Its source address: 4 or 16 octets (native) or text (dgram). */
  address(i: number): Uint8Array | string;
  port(i: number): number;
  /** The kernel's receive timestamp (CLOCK_REALTIME), or null when there is none (dgram). */
  rxTime(i: number): Instant | null;
  /**
   * Sends `bytes` to datagram i's source: when onBatch returns (native), or
   * at once (dgram). `stampOffset` >= 0 asks for the transmit timestamp to be
   * written there at the last moment (ignored unless the socket
   * `stampsTransmit`); `txTag` >= 0 asks for the kernel's transmit timestamp,
   * reported to onTxTime with that tag (ignored unless `txTimestamps`).
   */
  reply(i: number, bytes: Uint8Array, stampOffset: number, txTag: number): void;
}

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
}

/** Which transport servers use here, and why. `NTPKIT_UDP=dgram` forces node:dgram. */
export function serverTransportInfo(): UdpTransportInfo {
  const reason = nativeUdpUnavailable();
  return reason === null ? { kind: 'native-kernel-timestamps' } : { kind: 'dgram', reason };
}

/**
 * Binds address:port. An IPv6 wildcard (`::`) also receives IPv4, as
 * IPv4-mapped addresses, unless `v6Only`. Rejects with the bind error
 * (EADDRINUSE, EACCES...).
 */
export async function openServerSocket(address: string, port: number, h: ServerSocketHandlers, opts: ServerSocketOptions = {}): Promise<ServerSocket> {
  const info = serverTransportInfo();
  const family: 4 | 6 = isIP(address) === 6 ? 6 : 4;
  return info.kind === 'native-kernel-timestamps'
    ? openNative(info, family, address, port, h, opts)
    : openDgram(info, family, address, port, h, opts);
}

/** node:dgram learned SO_REUSEPORT in Node 22.12 (and 23.1). */
function dgramHasReusePort(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

function openNative(info: UdpTransportInfo, family: 4 | 6, address: string, port: number, h: ServerSocketHandlers, opts: ServerSocketOptions): ServerSocket {
  const sock = new NativeUdpSocket(family, {
    onMessage: () => {}, // batch mode: never called
    onTxTime: (tag, tx) => h.onTxTime(tag, tx),
    onError: (err) => h.onError(err),
  }, { txOnDemand: true });
  let compensating = false;
  try {
    sock.bind(address, port, { reusePort: opts.reusePort ?? false, v6Only: opts.v6Only ?? false });
    // The default receive buffer holds a few ms of requests at 50k/s; a GC
    // pause or a timer must not cost replies. Capped by rmem_max unless root.
    sock.setRecvBufferSize(4 << 20);
    sock.enableBatch((b) => h.onBatch(b));
    if ((opts.transmitCompensation ?? true) && sock.txTimestamps) {
      sock.setTransmitCompensation(true);
      compensating = true;
    }
  } catch (e) {
    sock.close();
    throw e;
  }
  return {
    info,
    stampsTransmit: true,
    txTimestamps: sock.txTimestamps,
    setStampDelta: (d) => sock.setStampDelta(d),
    transmitCompensation: () => (compensating ? sock.transmitLatency() : null),
    sendFailures: () => sock.droppedSends(),
    address: () => sock.address(),
    close: async () => { sock.close(); },
  };
}

async function openDgram(info: UdpTransportInfo, family: 4 | 6, address: string, port: number, h: ServerSocketHandlers, opts: ServerSocketOptions): Promise<ServerSocket> {
  const reusePort = opts.reusePort ?? false;
  if (reusePort && !dgramHasReusePort()) {
    throw Object.assign(new Error(`several workers need SO_REUSEPORT: the native UDP socket (unavailable: ${info.reason ?? 'unknown'}) or Node 22.12+ (this is ${process.version})`), { code: 'ERR_NTPKIT_NO_REUSEPORT' });
  }
  // `reusePort` is unknown to Node 20's types; it exists where dgramHasReusePort() says so.
  const sock = dgram.createSocket({
    type: family === 6 ? 'udp6' : 'udp4', ...(reusePort ? { reusePort: true } : {}), ...(opts.v6Only && family === 6 ? { ipv6Only: true } : {}),
  } as dgram.SocketOptions);
  // A batch of one per message, replying at once.
  let msg: Buffer = Buffer.alloc(0);
  let from: dgram.RemoteInfo | null = null;
  let failed = 0;
  const onSent = (err: Error | null): void => {
    if (err) { failed++; h.onError(err as NodeJS.ErrnoException); }
  };
  const batch: ReceivedBatch = {
    count: 1,
    data: () => msg,
    address: () => (from as dgram.RemoteInfo).address,
    port: () => (from as dgram.RemoteInfo).port,
    rxTime: () => null,
    reply: (_i, bytes) => {
      const f = from as dgram.RemoteInfo;
      // send() throws for some destinations (port 0: ERR_SOCKET_BAD_PORT) and calls back
      // for others (EACCES for a broadcast address): either way, one failed reply, never
      // an exception out of the receive path.
      try {
        // A copy: dgram may send later, and the caller's buffer is only lent for the call.
        sock.send(Buffer.from(bytes), f.port, f.address, onSent);
      } catch (e) {
        onSent(e as Error);
      }
    },
  };
  sock.on('message', (m, rinfo) => {
    msg = m;
    from = rinfo;
    h.onBatch(batch);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, address, () => { sock.off('error', reject); resolve(); });
  });
  sock.on('error', (err) => h.onError(err as NodeJS.ErrnoException));
  return {
    info,
    stampsTransmit: false,
    txTimestamps: false,
    setStampDelta: () => {},
    transmitCompensation: () => null,
    sendFailures: () => failed,
    address: () => sock.address(),
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
}
