/**
 * How a one-shot query moves one request and its reply: a connected UDP
 * socket per exchange, and the two timestamps the offset is made of. The
 * native socket (native-udp.ts) gives the kernel's own send and arrival
 * times; node:dgram can only give realtime() readings taken around the JS
 * calls, where the arrival reading is late by the kernel-to-callback path
 * (about 16 us measured on loopback, bench/query-accuracy), all of it offset error.
 */
import dgram from 'node:dgram';
import { realtime, realtimeInfo } from '../clock/realtime.js';
import type { Instant } from '../time/instant.js';
import { loadNativeUdp, NativeUdpSocket } from './native-udp.js';

export type UdpTransportKind = 'native-kernel-timestamps' | 'dgram';

export interface UdpTransportInfo {
  readonly kind: UdpTransportKind;
  /** Why the fallback is in use, when it is. */
  readonly reason?: string;
}

/** The environment variable that forces node:dgram when set to `dgram`. */
export const UDP_TRANSPORT_ENV = 'NTPKIT_UDP';

/** A timestamp, and whether the kernel took it (false: a realtime() reading in JS). */
export interface PacketTime {
  readonly time: Instant;
  readonly kernel: boolean;
}

export interface SentRequest {
  /** t1: the kernel's transmit timestamp once it is known, else the reading taken just before the send. */
  transmitTime(): PacketTime;
}

export interface ExchangeHandlers {
  /** The socket is connected: build the request now and send it (once). */
  onReady(send: (data: Uint8Array) => SentRequest): void;
  /** A datagram from the peer, and t4. */
  onReply(data: Uint8Array, arrival: PacketTime): void;
  /** ECONNREFUSED and friends; the exchange is over. */
  onError(err: NodeJS.ErrnoException): void;
}

export interface Exchange {
  /** Idempotent; no handler runs after it. */
  close(): void;
}

export interface UdpTransport {
  readonly info: UdpTransportInfo;
  /** A socket connected to address:port. Handlers never run before open() returns. */
  open(family: 4 | 6, address: string, port: number, handlers: ExchangeHandlers): Exchange;
}

/** node:dgram, with `now()` read just before send() and first thing in the 'message' callback. */
export function dgramTransport(now: () => Instant = realtime, reason?: string): UdpTransport {
  return {
    info: reason === undefined ? { kind: 'dgram' } : { kind: 'dgram', reason },
    open(family, address, port, h) {
      const sock = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
      let closed = false;
      sock.on('message', (msg) => {
        const t4 = now(); // first thing: every statement before this is error in the offset
        if (!closed) h.onReply(msg, { time: t4, kernel: false });
      });
      sock.on('error', (err: NodeJS.ErrnoException) => { if (!closed) h.onError(err); });
      sock.connect(port, address, () => {
        if (closed) return;
        h.onReady((data) => {
          const t1 = now();
          sock.send(data, (err) => { if (err && !closed) h.onError(err); });
          return { transmitTime: () => ({ time: t1, kernel: false }) };
        });
      });
      return { close() { if (!closed) { closed = true; sock.close(); } } };
    },
  };
}

/** The addon's socket: t4 is the kernel's RX timestamp, t1 its TX timestamp when that arrives. */
export function nativeTransport(): UdpTransport {
  return {
    info: { kind: 'native-kernel-timestamps' },
    open(family, address, port, h) {
      let closed = false;
      const fail = (err: unknown): void => { if (!closed) h.onError(err as NodeJS.ErrnoException); };
      const txTimes = new Map<number, Instant>();
      let sock: NativeUdpSocket;
      try {
        sock = new NativeUdpSocket(family, {
          onMessage: (data, _from, rx) => {
            // Without a kernel stamp (none configured yet for this packet), the dgram way: read now.
            const arrival = rx === null ? { time: realtime(), kernel: false } : { time: rx, kernel: true };
            if (!closed) h.onReply(data, arrival);
          },
          onTxTime: (id, t) => { txTimes.set(id, t); },
          onError: fail,
        });
      } catch (err) {
        process.nextTick(fail, err);
        return { close() { closed = true; } };
      }
      // Like dgram's connect callback, onReady comes later: open() has returned by then.
      process.nextTick(() => {
        if (closed) return;
        try {
          sock.connect(address, port);
        } catch (err) {
          fail(err);
          return;
        }
        h.onReady((data) => {
          const before = realtime();
          let id = -1;
          try {
            id = sock.send(data);
          } catch (err) {
            process.nextTick(fail, err);
          }
          return {
            transmitTime: () => {
              const tx = txTimes.get(id);
              // A stamp from before the send cannot be this datagram's: keep the reading.
              return tx !== undefined && tx >= before ? { time: tx, kernel: true } : { time: before, kernel: false };
            },
          };
        });
      });
      return { close() { if (!closed) { closed = true; sock.close(); } } };
    },
  };
}

/**
 * The native socket when the addon has it, else node:dgram. node:dgram also
 * when `NTPKIT_UDP=dgram` asks for it, when a caller injects its own clock
 * (kernel stamps could not be on its timescale), and when realtime() itself
 * is the hrtime fallback: the packets are then stamped by the clock the
 * report names.
 */
export function chooseUdpTransport(opts: { readonly now?: () => Instant } = {}): UdpTransport {
  if (opts.now !== undefined) return dgramTransport(opts.now, 'a clock was injected (QueryOptions.now)');
  const forcedOrMissing = nativeUdpUnavailable();
  if (forcedOrMissing !== null) return dgramTransport(realtime, forcedOrMissing);
  const clock = realtimeInfo();
  if (clock.kind !== 'clock_gettime') return dgramTransport(realtime, 'the real-time clock is the hrtime fallback');
  return nativeTransport();
}

/**
 * Why the native socket cannot be used here (`NTPKIT_UDP=dgram`, or the addon
 * lacks it), or null when it can. Clients and servers both decide by this.
 */
export function nativeUdpUnavailable(): string | null {
  if (process.env[UDP_TRANSPORT_ENV] === 'dgram') return `${UDP_TRANSPORT_ENV}=dgram forces it`;
  const load = loadNativeUdp();
  return load.ok ? null : load.reason;
}
