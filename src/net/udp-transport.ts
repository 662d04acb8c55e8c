/**
 * How a one-shot query moves one request and its reply: a connected UDP
 * socket per exchange, and the two timestamps the offset is made of. The
 * native socket (native-udp.ts) gives the kernel's own send and arrival
 * times; node:dgram can only give realtime() readings taken around the JS
 * calls, where the arrival reading is late by the kernel-to-callback path
 * (about 16 us measured on loopback, bench/query-accuracy), all of it offset error.
 */
import { realtime } from '../clock/realtime.js';
import type { Instant } from '../time/instant.js';
import { chooseUdpBackend, openUdpSocket } from './udp-socket-factory.js';
import type { UdpNeeds, UdpPreferences, UdpSocket, UdpTransportInfo } from './udp-socket.js';
import { type PacketTime, type SentRequest, TransmitTimes } from './transmit-times.js';

export type { UdpTransportInfo, UdpTransportKind } from './udp-socket.js';
export type { PacketTime, SentRequest } from './transmit-times.js';

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

export interface UdpTransportOptions {
  /** The clock that timestamps packets (default realtime()); another one means node:dgram, kernel stamps not being on its timescale. */
  readonly now?: () => Instant;
  /** The composition root's say (UdpPreferences). */
  readonly udp?: UdpPreferences;
}

/**
 * What a client that measures with t1 and t4 asks of its socket, the clock
 * its JS-side readings come from, and the composition root's preference.
 * `injected` names the option a caller's own clock came through.
 */
export function measuringClient(opts: UdpTransportOptions, injected: string): { needs: UdpNeeds; now: () => Instant; preferences: UdpPreferences } {
  return {
    needs: { txTimestamps: 'each', realtimeScale: true, ...(opts.now !== undefined ? { dgramBecause: `a clock was injected${injected}` } : {}) },
    now: opts.now ?? realtime,
    preferences: opts.udp ?? {},
  };
}

/**
 * The transport a query uses: the native socket when the addon has it, else
 * node:dgram. node:dgram also when the composition root forces it, when a
 * caller injects its own clock, and when realtime() itself is the hrtime
 * fallback: the packets are then stamped by the clock the report names.
 */
export function chooseUdpTransport(opts: UdpTransportOptions = {}): UdpTransport {
  const { needs, now, preferences } = measuringClient(opts, ' (QueryOptions.now)');
  const info = chooseUdpBackend(needs, preferences);
  return {
    info,
    open(family, address, port, h) {
      let closed = false;
      let sock: UdpSocket | null = null;
      const fail = (err: unknown): void => { if (!closed) h.onError(err as NodeJS.ErrnoException); };
      const times = new TransmitTimes(now);
      // Like dgram's connect callback, onReady comes later: open() has returned by then.
      process.nextTick(() => {
        if (closed) return;
        try {
          sock = openUdpSocket(family, {
            onMessage: (data, _from, rx) => {
              // first thing: without a kernel stamp every statement before this reading is error in the offset
              const arrival = times.arrival(rx);
              if (!closed) h.onReply(data, arrival);
            },
            onTxTime: (id, t) => times.kernelSent(id, t),
            onError: fail,
          }, { needs, preferences });
        } catch (err) {
          fail(err);
          return;
        }
        const s = sock;
        s.connect(address, port).then(() => {
          if (closed) return;
          h.onReady((data) => times.send(() => s.send(data), fail));
        }, fail);
      });
      return { close() { if (!closed) { closed = true; void sock?.close(); } } };
    },
  };
}
