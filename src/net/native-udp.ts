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
  /** A datagram, with the kernel's receive timestamp; null when the kernel gave none. Not called in batch mode. */
  onMessage(data: Buffer, from: NativeUdpPeer, rxTime: Instant | null): void;
  /**
   * The kernel's transmit timestamp of the datagram that send() numbered
   * `id`; on a `txOnDemand` socket, of the datagram sent with txTag `id`.
   */
  onTxTime?(id: number, txTime: Instant): void;
  /** An asynchronous error, such as ECONNREFUSED after ICMP port unreachable (connected sockets). */
  onError(err: NodeJS.ErrnoException): void;
}

/** Where the batch memory holds what: byte offsets and sizes, and the indices of the per-datagram Int32 fields. */
interface BatchLayout {
  readonly size: number; readonly slots: number; readonly inOffset: number; readonly inSlot: number;
  readonly rxOffset: number; readonly metaOffset: number; readonly metaInts: number; readonly outOffset: number; readonly outSlot: number;
  readonly len: number; readonly port: number; readonly family: number; readonly hasRx: number; readonly rxEra: number;
  readonly replyLen: number; readonly stamp: number; readonly tag: number; readonly addr: number;
}

/** The class the addon exports (see the header of native/udp_socket.c). */
interface RawUdpSocket {
  readonly rxTimestamps: boolean;
  readonly txTimestamps: boolean;
  bind(address: string, port: number, reusePort?: boolean, v6Only?: boolean): void;
  connect(address: string, port: number): void;
  send(data: Uint8Array, address?: string, port?: number, stampOffset?: number, txTag?: number): number;
  batchLayout?(): BatchLayout;
  enableBatch?(memory: ArrayBuffer): void;
  setStampDelta?(delta: bigint): void;
  setTransmitCompensation?(on: boolean): void;
  transmitLatency?(): TransmitLatency;
  droppedSends(): number;
  setRecvBufferSize(bytes: number): number;
  bindDevice?(iface: string): void;
  address(): { address: string; port: number; family: 'IPv4' | 'IPv6' };
  close(): void;
  ref(): void;
  unref(): void;
}
type RawUdpSocketClass = new (family: 4 | 6, onEvent: (type: number, a?: unknown, b?: unknown, c?: unknown, d?: unknown) => void, txOnDemand?: boolean) => RawUdpSocket;

const EV_MESSAGE = 0;
const EV_TX = 1;
const EV_ERROR = 2;
const EV_BATCH = 3;

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
  const proto = (cls as { prototype: Partial<RawUdpSocket> }).prototype;
  if (typeof proto.enableBatch !== 'function' || typeof proto.setStampDelta !== 'function') {
    return { ok: false, reason: 'Cannot use the native UDP socket: the addon predates batch delivery (stale build? run scripts/build-native.sh)' };
  }
  return { ok: true, UdpSocket: cls as RawUdpSocketClass };
}

/** A median latency, ns, and the samples it rests on (0: none yet, ns is then 0). */
export interface LatencyEstimate { readonly ns: number; readonly samples: number }

/**
 * The latency from the C-side transmit timestamp's reading to the kernel's
 * transmit timestamp of the same datagram, in two classes: the first
 * datagram sent after a batch's callback (cold caches: about twice as long
 * on loopback) and the others.
 */
export interface TransmitLatency { readonly first: LatencyEstimate; readonly rest: LatencyEstimate }

export interface NativeUdpOptions {
  /**
   * Kernel transmit timestamps only for datagrams sent with a `txTag`, and
   * reported with that tag, instead of one for every datagram numbered by
   * send(). Each costs an error-queue read and a callback; a server needs
   * them only for interleaved clients. Default false.
   */
  readonly txOnDemand?: boolean;
}

/**
 * One recvmmsg batch (batch mode, NativeUdpSocket.enableBatch): memory shared
 * with the addon, valid only during the onBatch call. Datagram i is read with
 * the accessors; a reply to its source is written with reply(), and all the
 * replies go out when onBatch returns, each transmit timestamp written in C
 * just before its datagram's send. No Buffer, string or object is made per
 * datagram, except the views data() and addressOctets() return.
 */
export class NativeUdpBatch {
  /** Datagrams in this batch. */
  count = 0;
  readonly #L: BatchLayout;
  readonly #bytes: Uint8Array;
  readonly #meta: Int32Array;
  readonly #rx: BigUint64Array;

  /** @internal */
  constructor(layout: BatchLayout, memory: ArrayBuffer) {
    this.#L = layout;
    this.#bytes = new Uint8Array(memory);
    this.#meta = new Int32Array(memory, layout.metaOffset, layout.slots * layout.metaInts);
    this.#rx = new BigUint64Array(memory, layout.rxOffset, layout.slots);
  }

  /** The payload of datagram i (a view into the shared memory: copy it to keep it). */
  data(i: number): Uint8Array {
    const L = this.#L;
    const at = L.inOffset + i * L.inSlot;
    return this.#bytes.subarray(at, at + (this.#meta[i * L.metaInts + L.len] as number));
  }

  /** 4 or 6: the family of datagram i's source address. */
  family(i: number): number { return this.#meta[i * this.#L.metaInts + this.#L.family] as number; }

  /** The source address of datagram i as 4 or 16 octets (network order; IPv4-mapped stays 16). */
  address(i: number): Uint8Array {
    const L = this.#L;
    const at = L.metaOffset + 4 * (i * L.metaInts + L.addr);
    return this.#bytes.subarray(at, at + (this.family(i) === 4 ? 4 : 16));
  }

  port(i: number): number { return this.#meta[i * this.#L.metaInts + this.#L.port] as number; }

  /** The kernel's receive timestamp of datagram i, or null when it gave none. */
  rxTime(i: number): Instant | null {
    const L = this.#L, m = i * L.metaInts;
    if (this.#meta[m + L.hasRx] === 0) return null;
    const low = this.#rx[i] as bigint;
    const era = this.#meta[m + L.rxEra] as number;
    return era === 0 ? low : low + (BigInt(era) << 64n);
  }

  /**
   * Queues `bytes` (at most replyCapacity) as the reply to datagram i's
   * source. `stampOffset` >= 0: the transmit timestamp is written there in C
   * just before the send (plus the socket's stamp delta and compensation).
   * `txTag` >= 0 asks for the kernel's transmit timestamp, reported to
   * onTxTime with that tag. Returns false, sending nothing, if too long.
   */
  reply(i: number, bytes: Uint8Array, stampOffset = -1, txTag = -1): boolean {
    const L = this.#L;
    if (bytes.length > L.outSlot) return false;
    this.#bytes.set(bytes, L.outOffset + i * L.outSlot);
    const m = i * L.metaInts;
    this.#meta[m + L.replyLen] = bytes.length;
    this.#meta[m + L.stamp] = stampOffset;
    this.#meta[m + L.tag] = txTag;
    return true;
  }

  /** The longest reply reply() takes. */
  get replyCapacity(): number { return this.#L.outSlot; }
}

/**
 * A non-blocking UDP socket polled on Node's event loop. Like a node:dgram
 * socket, it keeps the process alive until close() (or unref()). Methods
 * throw Node-style errors (`code` 'ECONNREFUSED', 'ERR_SOCKET_BAD_PORT', ...);
 * none is called back after close().
 */
export class NativeUdpSocket {
  readonly #raw: RawUdpSocket;
  #batch: NativeUdpBatch | null = null;
  #onBatch: ((batch: NativeUdpBatch) => void) | null = null;

  /** Throws when the addon is unavailable (check loadNativeUdp() first) or socket() fails. */
  constructor(family: 4 | 6, handlers: NativeUdpHandlers, opts: NativeUdpOptions = {}) {
    const load = loadNativeUdp();
    if (!load.ok) throw new Error(load.reason);
    const { onMessage, onTxTime, onError } = handlers;
    this.#raw = new load.UdpSocket(family, (type, a, b, c, d) => {
      if (type === EV_BATCH) {
        const batch = this.#batch as NativeUdpBatch;
        batch.count = a as number;
        (this.#onBatch as (b: NativeUdpBatch) => void)(batch);
      } else if (type === EV_MESSAGE) onMessage(a as Buffer, { address: b as string, port: c as number }, (d as Instant | undefined) ?? null);
      else if (type === EV_TX) { if (b !== undefined) onTxTime?.(a as number, b as Instant); }
      else if (type === EV_ERROR) onError(a as NodeJS.ErrnoException);
    }, opts.txOnDemand ?? false);
  }

  /**
   * Batch mode, for servers: from now on each recvmmsg batch (up to 32
   * datagrams) comes to `onBatch` in one call instead of one onMessage per
   * datagram, and the replies written with batch.reply() go out when it
   * returns. Needs a `txOnDemand` socket (or one without TX timestamps). The
   * shared memory is about 2 MiB, touched only as far as datagrams fill it.
   */
  enableBatch(onBatch: (batch: NativeUdpBatch) => void): void {
    const raw = this.#raw as Required<RawUdpSocket>;
    const layout = raw.batchLayout();
    const memory = new ArrayBuffer(layout.size);
    raw.enableBatch(memory);
    this.#batch = new NativeUdpBatch(layout, memory);
    this.#onBatch = onBatch;
  }

  /**
   * NTP units (2^-32 s) added to every transmit timestamp written in C: the
   * served clock minus CLOCK_REALTIME, when the served clock is not the
   * kernel's. Default 0.
   */
  setStampDelta(delta: bigint): void { (this.#raw as Required<RawUdpSocket>).setStampDelta(delta); }

  /**
   * Adds the measured latency from the transmit timestamp's reading to the
   * kernel's transmit timestamp of the same datagram (the median over a
   * sample of the datagrams stamped in C, per class: see TransmitLatency) to
   * every stamp written, so that it is the time the datagram left.
   * `txOnDemand` sockets only.
   */
  setTransmitCompensation(on: boolean): void { (this.#raw as Required<RawUdpSocket>).setTransmitCompensation(on); }

  /** That latency, measured whether or not it is added (once compensation has been on). */
  transmitLatency(): TransmitLatency { return (this.#raw as Required<RawUdpSocket>).transmitLatency(); }

  /** Whether datagrams arrive with kernel receive timestamps. */
  get rxTimestamps(): boolean { return this.#raw.rxTimestamps; }
  /** Whether send() numbers datagrams whose kernel transmit timestamps onTxTime will report. */
  get txTimestamps(): boolean { return this.#raw.txTimestamps; }

  /**
   * bind(2); port 0 picks a free port. `reusePort` sets SO_REUSEPORT first, so
   * several sockets (one per worker) can share the port, the kernel spreading
   * datagrams across them; each of them must set it.
   */
  bind(address: string, port = 0, opts: { readonly reusePort?: boolean; readonly v6Only?: boolean } = {}): void {
    this.#raw.bind(address, port, opts.reusePort ?? false, opts.v6Only ?? false);
  }
  /**
   * SO_BINDTODEVICE (chrony's binddevice, bindacqdevice), before bind(): the
   * socket receives only what arrives through `iface` and sends only through
   * it. Throws (ENODEV for an unknown interface) as setsockopt fails.
   */
  bindDevice(iface: string): void {
    const raw = this.#raw;
    if (raw.bindDevice === undefined) throw Object.assign(new Error('the native addon has no bindDevice() (stale build? run sh scripts/build-native.sh)'), { code: 'ERR_NTPKIT_STALE_ADDON' });
    raw.bindDevice(iface);
  }
  /** connect(2): the kernel then drops datagrams from anyone else and reports ICMP errors (onError). */
  connect(address: string, port: number): void { this.#raw.connect(address, port); }

  /**
   * Sends one datagram (to the connected peer, or to address:port). Returns
   * the id its onTxTime report will carry, or -1 when none will come (and
   * always -1 on a `txOnDemand` socket: there, `txTag` >= 0 asks for the
   * transmit timestamp, which onTxTime reports with that tag).
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
  send(data: Uint8Array, address?: string, port?: number, stampOffset = -1, txTag = -1): number {
    return address === undefined ? this.#raw.send(data, undefined, undefined, stampOffset, txTag) : this.#raw.send(data, address, port, stampOffset, txTag);
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
