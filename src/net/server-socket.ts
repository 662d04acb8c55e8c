/**
 * A listening UDP socket for the NTP server, over either transport: the
 * native socket (kernel receive timestamps for T2, kernel transmit
 * timestamps to report for interleaved mode) or node:dgram (JS-side
 * readings). The server wiring sees one interface and never asks which.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { Instant } from '../time/instant.js';
import { NativeUdpSocket } from './native-udp.js';
import { nativeUdpUnavailable, type UdpTransportInfo } from './udp-transport.js';

export interface ServerSocketHandlers {
  /** A datagram; `rxTime` is the kernel's receive timestamp, or null when there is none (dgram). */
  onMessage(data: Uint8Array, address: string, port: number, rxTime: Instant | null): void;
  /** The kernel's transmit timestamp of the datagram whose send() returned `id`. */
  onTxTime(id: number, txTime: Instant): void;
  onError(err: NodeJS.ErrnoException): void;
}

export interface ServerSocket {
  readonly info: UdpTransportInfo;
  /** Whether send() writes the transmit timestamp itself (at `stampOffset`) as the datagram goes out. */
  readonly stampsTransmit: boolean;
  /** Whether send() returns ids that onTxTime reports (kernel transmit timestamps). */
  readonly txTimestamps: boolean;
  /**
   * Sends a reply; returns the id a later onTxTime will carry, or -1 when none
   * will come. `stampOffset` (>= 0) asks for the transmit timestamp to be
   * written there at the last moment; ignored unless `stampsTransmit`.
   */
  send(data: Uint8Array, address: string, port: number, stampOffset?: number): number;
  address(): { address: string; port: number };
  close(): Promise<void>;
}

/** Which transport servers use here, and why. `NTPKIT_UDP=dgram` forces node:dgram. */
export function serverTransportInfo(): UdpTransportInfo {
  const reason = nativeUdpUnavailable();
  return reason === null ? { kind: 'native-kernel-timestamps' } : { kind: 'dgram', reason };
}

/**
 * Binds address:port. An IPv6 wildcard (`::`) also receives IPv4, as
 * IPv4-mapped addresses. Rejects with the bind error (EADDRINUSE, EACCES...).
 */
export async function openServerSocket(address: string, port: number, h: ServerSocketHandlers, opts: { readonly reusePort?: boolean } = {}): Promise<ServerSocket> {
  const info = serverTransportInfo();
  const family: 4 | 6 = isIP(address) === 6 ? 6 : 4;
  const reusePort = opts.reusePort ?? false;
  return info.kind === 'native-kernel-timestamps'
    ? openNative(info, family, address, port, h, reusePort)
    : openDgram(info, family, address, port, h, reusePort);
}

/** node:dgram learned SO_REUSEPORT in Node 22.12 (and 23.1). */
function dgramHasReusePort(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

function openNative(info: UdpTransportInfo, family: 4 | 6, address: string, port: number, h: ServerSocketHandlers, reusePort: boolean): ServerSocket {
  const sock = new NativeUdpSocket(family, {
    onMessage: (data, from, rxTime) => h.onMessage(data, from.address, from.port, rxTime),
    onTxTime: (id, tx) => h.onTxTime(id, tx),
    onError: (err) => h.onError(err),
  });
  try {
    sock.bind(address, port, { reusePort });
  } catch (e) {
    sock.close();
    throw e;
  }
  return {
    info,
    stampsTransmit: true,
    txTimestamps: sock.txTimestamps,
    send: (data, to, toPort, stampOffset) => sock.send(data, to, toPort, stampOffset ?? -1),
    address: () => sock.address(),
    close: async () => { sock.close(); },
  };
}

async function openDgram(info: UdpTransportInfo, family: 4 | 6, address: string, port: number, h: ServerSocketHandlers, reusePort: boolean): Promise<ServerSocket> {
  if (reusePort && !dgramHasReusePort()) {
    throw Object.assign(new Error(`several workers need SO_REUSEPORT: the native UDP socket (unavailable: ${info.reason ?? 'unknown'}) or Node 22.12+ (this is ${process.version})`), { code: 'ERR_NTPKIT_NO_REUSEPORT' });
  }
  // `reusePort` is unknown to Node 20's types; it exists where dgramHasReusePort() says so.
  const sock = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ...(reusePort ? { reusePort: true } : {}) } as dgram.SocketOptions);
  sock.on('message', (msg, rinfo) => h.onMessage(msg, rinfo.address, rinfo.port, null));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, address, () => { sock.off('error', reject); resolve(); });
  });
  sock.on('error', (err) => h.onError(err as NodeJS.ErrnoException));
  return {
    info,
    stampsTransmit: false,
    txTimestamps: false,
    send: (data, to, toPort) => { sock.send(data, toPort, to); return -1; },
    address: () => sock.address(),
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
}
