/**
 * One unconnected UDP socket per address family for querying many servers
 * at once (`ntpkit fleet`): a thousand hosts must not cost a thousand
 * sockets. Replies are told apart by their source address and port, and by
 * the random origin cookie (fleet-query.ts). Over the native socket t1 and t4
 * are the kernel's timestamps; over node:dgram, realtime() readings around
 * the JS calls (see udp-transport.ts for what that costs).
 */
import { type PacketTime, type SentDatagram, TransmitTimes } from './transmit-times.js';
import { chooseUdpBackend, openUdpSocket } from './udp-socket-factory.js';
import type { UdpTransportInfo } from './udp-socket.js';
import { measuringClient, type UdpTransportOptions } from './udp-transport.js';

export type { SentDatagram } from './transmit-times.js';

export interface SharedSocketHandlers {
  /** A datagram from address:port, and t4. */
  onReply(data: Uint8Array, address: string, port: number, arrival: PacketTime): void;
  /** A socket-level error; the socket keeps going (on an unconnected socket nothing is per-peer). */
  onError(err: NodeJS.ErrnoException): void;
}

export interface SharedSocket {
  send(data: Uint8Array, address: string, port: number): SentDatagram;
  close(): void;
}

export interface SharedTransport {
  readonly info: UdpTransportInfo;
  open(family: 4 | 6, h: SharedSocketHandlers): SharedSocket;
}

/** Replies to a burst of requests arrive together; they must not overflow the default buffer. */
const RECV_BUFFER = 1 << 20;

/** Chosen as chooseUdpTransport() chooses for one-shot queries. */
export function chooseSharedTransport(opts: UdpTransportOptions = {}): SharedTransport {
  const { needs, now, preferences } = measuringClient(opts, '');
  return {
    info: chooseUdpBackend(needs, preferences),
    open(family, h) {
      const times = new TransmitTimes(now);
      const sock = openUdpSocket(family, {
        onMessage: (data, from, rx) => {
          const arrival = times.arrival(rx); // first thing: see TransmitTimes
          h.onReply(data, from.address, from.port, arrival);
        },
        onTxTime: (id, t) => times.kernelSent(id, t),
        onError: (err) => h.onError(err),
      }, { needs, preferences, bind: { address: family === 6 ? '::' : '0.0.0.0', port: 0, v6Only: family === 6 }, recvBufferBytes: RECV_BUFFER });
      return {
        send: (data, address, port) => times.send(() => sock.send(data, address, port)),
        close: () => { void sock.close(); },
      };
    },
  };
}
