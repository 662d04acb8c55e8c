/**
 * node:dgram behind the UdpSocket interface: no kernel timestamps (rxTime
 * is null, send() numbers nothing) and, for batching callers, a batch of one
 * per message whose reply goes out at once.
 */
import dgram from 'node:dgram';
import type { ReceivedBatch, UdpSocket, UdpSocketHandlers, UdpSocketSetup, UdpTransportInfo } from './udp-socket.js';

/** node:dgram learned SO_REUSEPORT in Node 22.12 (and 23.1). */
export function dgramHasReusePort(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

export function openDgramUdpSocket(family: 4 | 6, h: UdpSocketHandlers, setup: UdpSocketSetup, info: UdpTransportInfo): UdpSocket {
  const reusePort = setup.needs?.reusePort ?? false;
  const v6Only = family === 6 && setup.bind?.v6Only === true;
  // `reusePort` is unknown to Node 20's types; the factory asks for it only where dgramHasReusePort().
  const sock = dgram.createSocket({
    type: family === 6 ? 'udp6' : 'udp4', ...(reusePort ? { reusePort: true } : {}), ...(v6Only ? { ipv6Only: true } : {}),
  } as dgram.SocketOptions);
  let closed = false;
  let failed = 0;
  /** While a bind is pending its error rejects `ready` instead of going to onError. */
  let binding: ((err: Error) => void) | null = null;
  const report = (err: Error): void => { if (!closed) h.onError(err as NodeJS.ErrnoException); };
  const onSent = (err: Error | null): void => {
    if (err) { failed++; report(err); }
  };
  sock.on('error', (err) => { if (binding !== null) binding(err); else report(err); });

  if (setup.needs?.batching === true) {
    const onBatch = h.onBatch;
    if (onBatch === undefined) throw new TypeError('a batching socket needs onBatch');
    let msg: Buffer = Buffer.alloc(0);
    let from: dgram.RemoteInfo = { address: '', family: 'IPv4', port: 0, size: 0 };
    const batch: ReceivedBatch = {
      count: 1,
      data: () => msg,
      address: () => from.address,
      port: () => from.port,
      rxTime: () => null,
      reply: (_i, bytes) => {
        // send() throws for some destinations (port 0: ERR_SOCKET_BAD_PORT) and calls back
        // for others (EACCES for a broadcast address): either way, one failed reply, never
        // an exception out of the receive path.
        try {
          // A copy: dgram may send later, and the caller's buffer is only lent for the call.
          sock.send(Buffer.from(bytes), from.port, from.address, onSent);
        } catch (e) {
          onSent(e as Error);
        }
      },
    };
    sock.on('message', (m, rinfo) => {
      if (closed) return;
      msg = m;
      from = rinfo;
      onBatch(batch);
    });
  } else {
    sock.on('message', (m, rinfo) => { if (!closed) h.onMessage?.(m, rinfo, null); });
  }

  const b = setup.bind;
  const ready = b === undefined
    ? Promise.resolve()
    : new Promise<void>((resolve, reject) => {
      binding = reject;
      sock.bind(b.port, b.address, () => { binding = null; resolve(); });
    });
  // The caller that does not wait for the bind learns of a failure from its sends.
  ready.catch(() => {});
  if (setup.keepAlive === false) sock.unref();

  return {
    info,
    ready,
    txTimestamps: false,
    stampsTransmit: false,
    compensating: false,
    connect: (address, port) => new Promise<void>((resolve, reject) => {
      try {
        sock.connect(port, address, () => resolve());
      } catch (e) {
        reject(e as Error);
      }
    }),
    send: (data, address, port) => {
      if (address === undefined) sock.send(data, onSent);
      else sock.send(data, port, address, onSent);
      return -1;
    },
    setStampDelta: () => {},
    transmitLatency: () => null,
    sendFailures: () => failed,
    address: () => sock.address(),
    close: () => new Promise((resolve) => {
      if (closed) { resolve(); return; }
      closed = true;
      try { sock.close(() => resolve()); } catch { resolve(); }
    }),
  };
}
