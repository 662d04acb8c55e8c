/**
 * The one UDP socket interface that queries, fleet checks, the server and
 * the daemon are built on, and the words a caller uses to ask for what it
 * needs. Two backends provide it: the addon's socket (udp-socket-native.ts:
 * kernel timestamps, recvmmsg batches, SO_REUSEPORT) and node:dgram
 * (udp-socket-dgram.ts: JS-side readings, a batch of one). Which one a caller
 * gets is decided in one place, udp-socket-factory.ts.
 */
import type { Instant } from '../time/instant.js';
import type { TransmitLatency } from './native-udp.js';

export type UdpTransportKind = 'native-kernel-timestamps' | 'dgram';

export interface UdpTransportInfo {
  readonly kind: UdpTransportKind;
  /** Why the fallback is in use, when it is. */
  readonly reason?: string;
}

/**
 * What a caller asks of its socket. Wants (timestamps, batching) fall back
 * to node:dgram with the reason in `info`; reusePort is a hard need, refused
 * with an error where neither backend has it.
 */
export interface UdpNeeds {
  /**
   * Kernel transmit timestamps: of every datagram send() numbers (`each`),
   * or only of those a batch reply sends with a txTag (`on-demand`: a server
   * needs them for interleaved clients alone, and each costs a callback).
   */
  readonly txTimestamps?: 'each' | 'on-demand';
  /** Deliver datagrams in batches (onBatch), replies going out when the batch's call returns. */
  readonly batching?: boolean;
  /** SO_REUSEPORT, so several processes share the port. */
  readonly reusePort?: boolean;
  /**
   * The packet timestamps are compared with realtime() readings, so kernel
   * stamps are only of use while realtime() reads CLOCK_REALTIME itself.
   */
  readonly realtimeScale?: boolean;
  /** The caller's own reason for node:dgram this time (a clock of its own, whose timescale kernel stamps are not on). */
  readonly dgramBecause?: string;
}

/** The composition root's say in the choice (the CLI reads it from the environment). */
export interface UdpPreferences {
  /** Use node:dgram whatever the addon offers; the text is the reason reported. */
  readonly forceDgram?: string;
}

export interface UdpPeer {
  readonly address: string;
  readonly port: number;
}

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

export interface UdpSocketHandlers {
  /** A datagram and the kernel's receive timestamp (CLOCK_REALTIME), or null. Not called with `batching`. */
  onMessage?(data: Uint8Array, from: UdpPeer, rxTime: Instant | null): void;
  /** With `batching`: every wakeup's datagrams in one call. */
  onBatch?(batch: ReceivedBatch): void;
  /** The kernel's transmit timestamp (CLOCK_REALTIME) of the datagram numbered or tagged `id`. */
  onTxTime?(id: number, txTime: Instant): void;
  /** An asynchronous error: ICMP refusals on a connected socket, failed sends. */
  onError(err: NodeJS.ErrnoException): void;
}

/** Where to bind; without it the socket is bound on its first send or connect. */
export interface UdpBinding {
  readonly address: string;
  readonly port: number;
  /** IPV6_V6ONLY on an IPv6 socket. */
  readonly v6Only?: boolean;
  /** SO_BINDTODEVICE: only this interface's traffic (a hard need: the native socket has it, node:dgram does not). */
  readonly device?: string;
}

export interface UdpSocketSetup {
  readonly needs?: UdpNeeds;
  readonly preferences?: UdpPreferences;
  readonly bind?: UdpBinding;
  /** SO_RCVBUF wanted (the native socket; node:dgram keeps the default). */
  readonly recvBufferBytes?: number;
  /** Write latency-compensated transmit timestamps (a native server socket whose TX stamps work). */
  readonly transmitCompensation?: boolean;
  /** Keep the process alive while open (default true). */
  readonly keepAlive?: boolean;
}

export interface UdpSocket {
  readonly info: UdpTransportInfo;
  /** Settles once bound (at once for the native socket); rejects with the bind error. */
  readonly ready: Promise<void>;
  /** Whether kernel transmit timestamps come to onTxTime (as UdpNeeds.txTimestamps asked). */
  readonly txTimestamps: boolean;
  /** Whether batch replies get their transmit timestamp written at `stampOffset` as they go out. */
  readonly stampsTransmit: boolean;
  /** Whether written transmit timestamps are latency-compensated. */
  readonly compensating: boolean;
  /** Connects; later datagrams from anyone else are dropped and ICMP errors reported. */
  connect(address: string, port: number): Promise<void>;
  /**
   * Sends one datagram (to the connected peer without an address). Returns
   * the id a later onTxTime will carry, or -1 when none will come. Throws
   * for what is refused at once (a bad port).
   */
  send(data: Uint8Array, address?: string, port?: number): number;
  /** NTP units added to the transmit timestamps written into batch replies (served clock minus CLOCK_REALTIME). */
  setStampDelta(delta: bigint): void;
  /** The latency compensation in use, per class; null when not compensating. */
  transmitLatency(): TransmitLatency | null;
  /** Datagrams that never left: refused by the kernel or dropped for want of buffer room. */
  sendFailures(): number;
  address(): UdpPeer;
  /** Idempotent; no handler runs after it. */
  close(): Promise<void>;
}
