/**
 * One unconnected UDP socket per address family for querying many servers
 * at once (`ntpkit fleet`): a thousand hosts must not cost a thousand
 * sockets. Replies are told apart by their source address and port, and by
 * the random origin cookie (fleet-query.ts). Over the native socket t1 and t4
 * are the kernel's timestamps; over node:dgram, realtime() readings around
 * the JS calls (see udp-transport.ts for what that costs).
 */
import dgram from 'node:dgram';
import { realtime, realtimeInfo } from '../clock/realtime.js';
import type { Instant } from '../time/instant.js';
import { NativeUdpSocket } from './native-udp.js';
import { nativeUdpUnavailable, type PacketTime, type SentRequest, type UdpTransportInfo } from './udp-transport.js';

export interface SharedSocketHandlers {
  /** A datagram from address:port, and t4. */
  onReply(data: Uint8Array, address: string, port: number, arrival: PacketTime): void;
  /** A socket-level error; the socket keeps going (on an unconnected socket nothing is per-peer). */
  onError(err: NodeJS.ErrnoException): void;
}

export interface SentDatagram extends SentRequest {
  /** Forgets the transmit timestamp kept for this datagram. */
  release(): void;
}

export interface SharedSocket {
  send(data: Uint8Array, address: string, port: number): SentDatagram;
  close(): void;
}

export interface SharedTransport {
  readonly info: UdpTransportInfo;
  open(family: 4 | 6, h: SharedSocketHandlers): SharedSocket;
}

/** node:dgram: `now()` read just before send() and first thing in the 'message' callback. */
export function sharedDgramTransport(now: () => Instant = realtime, reason?: string): SharedTransport {
  return {
    info: reason === undefined ? { kind: 'dgram' } : { kind: 'dgram', reason },
    open(family, h) {
      const sock = dgram.createSocket(family === 6 ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
      let closed = false;
      sock.on('message', (msg, rinfo) => {
        const t4 = now(); // first thing: every statement before this is error in the offset
        if (!closed) h.onReply(msg, rinfo.address, rinfo.port, { time: t4, kernel: false });
      });
      sock.on('error', (err: NodeJS.ErrnoException) => { if (!closed) h.onError(err); });
      return {
        send(data, address, port) {
          const t1 = now();
          sock.send(data, port, address, (err) => { if (err && !closed) h.onError(err); });
          return { transmitTime: () => ({ time: t1, kernel: false }), release: () => {} };
        },
        close() { if (!closed) { closed = true; sock.close(); } },
      };
    },
  };
}

/** The addon's socket: t4 is the kernel's RX timestamp, t1 its TX timestamp once reported. */
export function sharedNativeTransport(): SharedTransport {
  return {
    info: { kind: 'native-kernel-timestamps' },
    open(family, h) {
      let closed = false;
      const txTimes = new Map<number, Instant>();
      const sock = new NativeUdpSocket(family, {
        onMessage: (data, from, rx) => {
          const arrival = rx === null ? { time: realtime(), kernel: false } : { time: rx, kernel: true };
          if (!closed) h.onReply(data, from.address, from.port, arrival);
        },
        onTxTime: (id, t) => { if (!closed) txTimes.set(id, t); },
        onError: (err) => { if (!closed) h.onError(err); },
      });
      try {
        sock.bind(family === 6 ? '::' : '0.0.0.0', 0, { v6Only: family === 6 });
        // Replies to a burst of requests arrive together; they must not overflow the default buffer.
        sock.setRecvBufferSize(1 << 20);
      } catch (e) {
        sock.close();
        throw e;
      }
      return {
        send(data, address, port) {
          const before = realtime();
          const id = sock.send(data, address, port);
          return {
            transmitTime: () => {
              const tx = txTimes.get(id);
              // A stamp from before the send cannot be this datagram's: keep the reading.
              return tx !== undefined && tx >= before ? { time: tx, kernel: true } : { time: before, kernel: false };
            },
            release: () => { txTimes.delete(id); },
          };
        },
        close() { if (!closed) { closed = true; sock.close(); } },
      };
    },
  };
}

/** Chosen as chooseUdpTransport() chooses for one-shot queries. */
export function chooseSharedTransport(opts: { readonly now?: () => Instant } = {}): SharedTransport {
  if (opts.now !== undefined) return sharedDgramTransport(opts.now, 'a clock was injected');
  const missing = nativeUdpUnavailable();
  if (missing !== null) return sharedDgramTransport(realtime, missing);
  if (realtimeInfo().kind !== 'clock_gettime') return sharedDgramTransport(realtime, 'the real-time clock is the hrtime fallback');
  return sharedNativeTransport();
}
