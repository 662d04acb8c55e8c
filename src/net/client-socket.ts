/**
 * The daemon's client socket: unconnected, on an ephemeral port unless
 * acquisitionport/bindacqaddress say otherwise, bound to bindacqdevice's interface when given, one per address family. Every datagram goes up to the engine, which matches it to
 * a source or drops it (it knows the addresses and the request cookies).
 */
import { isIP } from 'node:net';
import type { Instant } from '../time/instant.js';
import { openBoundUdpSocket } from './udp-socket-factory.js';
import type { UdpNeeds, UdpPreferences, UdpTransportInfo } from './udp-socket.js';

/** A datagram socket the daemon sends requests from. */
export interface ClientSocket {
  readonly info: UdpTransportInfo;
  /** Sends; returns an id a later onTxTime will carry, or -1 when no kernel TX stamp will come. */
  send(data: Uint8Array, address: string, port: number): number;
  close(): Promise<void>;
}

export interface ClientSocketHandlers {
  /** `rxTime`: the kernel's CLOCK_REALTIME receive stamp, or null (then the driver reads the clock). */
  onMessage(data: Uint8Array, address: string, port: number, rxTime: Instant | null): void;
  /** The kernel's CLOCK_REALTIME transmit stamp of datagram `id`. */
  onTxTime(id: number, txTime: Instant): void;
  onError(err: NodeJS.ErrnoException): void;
}

export type ClientSocketFactory = (family: 4 | 6, handlers: ClientSocketHandlers) => Promise<ClientSocket>;

/** What the daemon's polls ask of their socket. */
const CLIENT_NEEDS: UdpNeeds = { txTimestamps: 'each' };

export interface ClientSocketOptions {
  /** Keep the process alive for the socket (default true; the library passes false). */
  readonly keepAlive?: boolean;
  /** The composition root's say in the backend. */
  readonly udp?: UdpPreferences;
  /** chrony's acquisitionport, bindacqaddress and bindacqdevice; default: an ephemeral port on every address, any interface. */
  readonly bind?: { readonly port: number; readonly addresses: readonly string[]; readonly device?: string | null };
}

/** An unconnected socket on an ephemeral port, from the socket factory. */
export async function openClientSocket(family: 4 | 6, h: ClientSocketHandlers, opts: ClientSocketOptions = {}): Promise<ClientSocket> {
  const device = opts.bind?.device ?? null;
  const sock = await openBoundUdpSocket(family, {
    onMessage: (data, from, rx) => h.onMessage(data, from.address, from.port, rx),
    onTxTime: (id, tx) => h.onTxTime(id, tx),
    onError: (err) => h.onError(err),
  }, {
    needs: CLIENT_NEEDS,
    preferences: opts.udp ?? {},
    bind: {
      address: opts.bind?.addresses.find((a) => isIP(a) === family) ?? (family === 6 ? '::' : '0.0.0.0'),
      port: opts.bind?.port ?? 0,
      ...(device === null ? {} : { device }),
    },
    keepAlive: opts.keepAlive ?? true,
  });
  return { info: sock.info, send: (data, address, port) => sock.send(data, address, port), close: () => sock.close() };
}

/** A factory bound to the options, for EngineDriver. */
export function clientSocketFactory(opts: ClientSocketOptions = {}): ClientSocketFactory {
  return (family, h) => openClientSocket(family, h, opts);
}
