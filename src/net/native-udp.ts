/**
 * A UDP socket from the native addon (native/udp_socket.c) whose datagrams
 * carry the kernel's software timestamps: RX as the packet entered the stack,
 * TX as the driver took it. A JS-side reading in a 'message' callback is late
 * by the whole path up to the callback; these are not. Linux only; where the
 * addon is missing or predates this class, loadNativeUdp() says why and
 * callers use node:dgram.
 */
import { loadNative } from '../clock/native.js';
import type { Instant } from '../time/instant.js';

export interface NativeUdpPeer {
  readonly address: string;
  readonly port: number;
}

export interface NativeUdpHandlers {
  /** A datagram, with the kernel's receive timestamp; null when the kernel gave none. */
  onMessage(data: Buffer, from: NativeUdpPeer, rxTime: Instant | null): void;
  /** The kernel's transmit timestamp of the datagram that send() numbered `id`. */
  onTxTime?(id: number, txTime: Instant): void;
  /** An asynchronous error, such as ECONNREFUSED after ICMP port unreachable (connected sockets). */
  onError(err: NodeJS.ErrnoException): void;
}

/** The class the addon exports (see the header of native/udp_socket.c). */
interface RawUdpSocket {
  readonly rxTimestamps: boolean;
  readonly txTimestamps: boolean;
  bind(address: string, port: number, reusePort?: boolean): void;
  connect(address: string, port: number): void;
  send(data: Uint8Array, address?: string, port?: number, stampOffset?: number): number;
  droppedSends(): number;
  setRecvBufferSize(bytes: number): number;
  address(): { address: string; port: number; family: 'IPv4' | 'IPv6' };
  close(): void;
  ref(): void;
  unref(): void;
}
type RawUdpSocketClass = new (family: 4 | 6, onEvent: (type: number, a?: unknown, b?: unknown, c?: unknown, d?: unknown) => void) => RawUdpSocket;

const EV_MESSAGE = 0;
const EV_TX = 1;
const EV_ERROR = 2;

export type NativeUdpLoad =
  | { readonly ok: true; readonly UdpSocket: RawUdpSocketClass }
  | { readonly ok: false; readonly reason: string };

let cached: NativeUdpLoad | undefined;

/** The addon's socket class, loaded once; never throws. */
export function loadNativeUdp(): NativeUdpLoad {
  cached ??= tryLoad();
  return cached;
}

function tryLoad(): NativeUdpLoad {
  if (process.platform !== 'linux') return { ok: false, reason: `kernel-timestamped UDP is Linux-only, this is ${process.platform}` };
  const n = loadNative();
  if (!n.ok) return { ok: false, reason: n.reason };
  const cls = (n.addon as unknown as { UdpSocket?: unknown }).UdpSocket;
  if (typeof cls !== 'function') return { ok: false, reason: 'Cannot use the native UDP socket: the addon has no UdpSocket (stale build?)' };
  return { ok: true, UdpSocket: cls as RawUdpSocketClass };
}

/**
 * A non-blocking UDP socket polled on Node's event loop. Like a node:dgram
 * socket, it keeps the process alive until close() (or unref()). Methods
 * throw Node-style errors (`code` 'ECONNREFUSED', 'ERR_SOCKET_BAD_PORT', ...);
 * none is called back after close().
 */
export class NativeUdpSocket {
  readonly #raw: RawUdpSocket;

  /** Throws when the addon is unavailable (check loadNativeUdp() first) or socket() fails. */
  constructor(family: 4 | 6, handlers: NativeUdpHandlers) {
    const load = loadNativeUdp();
    if (!load.ok) throw new Error(load.reason);
    const { onMessage, onTxTime, onError } = handlers;
    this.#raw = new load.UdpSocket(family, (type, a, b, c, d) => {
      if (type === EV_MESSAGE) onMessage(a as Buffer, { address: b as string, port: c as number }, (d as Instant | undefined) ?? null);
      else if (type === EV_TX) { if (b !== undefined) onTxTime?.(a as number, b as Instant); }
      else if (type === EV_ERROR) onError(a as NodeJS.ErrnoException);
    });
  }

  /** Whether datagrams arrive with kernel receive timestamps. */
  get rxTimestamps(): boolean { return this.#raw.rxTimestamps; }
  /** Whether send() numbers datagrams whose kernel transmit timestamps onTxTime will report. */
  get txTimestamps(): boolean { return this.#raw.txTimestamps; }

  /**
   * bind(2); port 0 picks a free port. `reusePort` sets SO_REUSEPORT first, so
   * several sockets (one per worker) can share the port, the kernel spreading
   * datagrams across them; each of them must set it.
   */
  bind(address: string, port = 0, opts: { readonly reusePort?: boolean } = {}): void { this.#raw.bind(address, port, opts.reusePort ?? false); }
  /** connect(2): the kernel then drops datagrams from anyone else and reports ICMP errors (onError). */
  connect(address: string, port: number): void { this.#raw.connect(address, port); }

  /**
   * Sends one datagram (to the connected peer, or to address:port). Returns
   * the id its onTxTime report will carry, or -1 when none will come.
   *
   * `stampOffset` (>= 0): the C side writes the NTP timestamp of
   * CLOCK_REALTIME (RFC 5905 section 6, era-wrapped: the low 64 bits of the
   * Instant) at that offset immediately before the datagram goes to the
   * kernel, so a transmit timestamp is not early by the JS path.
   *
   * Called from inside this socket's handlers, the datagram is copied and
   * queued; the queue goes out in one sendmmsg when the handlers of the
   * received batch have returned. Errors of queued sends come to onError
   * (nothing is thrown); a send the kernel refuses (full buffer) is dropped
   * and counted in droppedSends(). close() in a handler drops the queue.
   */
  send(data: Uint8Array, address?: string, port?: number, stampOffset = -1): number {
    return address === undefined ? this.#raw.send(data, undefined, undefined, stampOffset) : this.#raw.send(data, address, port, stampOffset);
  }

  /**
   * Sets the kernel receive buffer (SO_RCVBUFFORCE where permitted, else
   * SO_RCVBUF, which rmem_max caps); returns the size the kernel reports.
   * A server needs room for what arrives while JS is busy elsewhere.
   */
  setRecvBufferSize(bytes: number): number { return this.#raw.setRecvBufferSize(bytes); }

  /** Queued datagrams that never went out (EAGAIN/ENOBUFS, a send error, close() before the flush). */
  droppedSends(): number { return this.#raw.droppedSends(); }

  address(): { address: string; port: number; family: 'IPv4' | 'IPv6' } { return this.#raw.address(); }

  /** Idempotent. No handler runs after it returns; the descriptor closes once libuv lets go of it. */
  close(): void { this.#raw.close(); }
  ref(): void { this.#raw.ref(); }
  unref(): void { this.#raw.unref(); }
}
