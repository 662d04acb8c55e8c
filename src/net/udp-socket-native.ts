/**
 * The addon's socket (native-udp.ts) behind the UdpSocket interface. Every
 * step is synchronous, so `ready` is settled before the caller sees it.
 */
import { NativeUdpSocket } from './native-udp.js';
import type { UdpSocket, UdpSocketHandlers, UdpSocketSetup } from './udp-socket.js';

export function openNativeUdpSocket(family: 4 | 6, h: UdpSocketHandlers, setup: UdpSocketSetup): UdpSocket {
  const needs = setup.needs ?? {};
  let closed = false;
  const sock = new NativeUdpSocket(family, {
    onMessage: (data, from, rx) => { if (!closed) h.onMessage?.(data, from, rx); },
    onTxTime: (id, tx) => { if (!closed) h.onTxTime?.(id, tx); },
    onError: (err) => { if (!closed) h.onError(err); },
  }, { txOnDemand: needs.txTimestamps === 'on-demand' });
  let compensating = false;
  try {
    const b = setup.bind;
    if (b?.device !== undefined) sock.bindDevice(b.device);
    if (b !== undefined) sock.bind(b.address, b.port, { reusePort: needs.reusePort ?? false, v6Only: b.v6Only ?? false });
    if (setup.recvBufferBytes !== undefined) sock.setRecvBufferSize(setup.recvBufferBytes);
    if (needs.batching === true) {
      const onBatch = h.onBatch;
      if (onBatch === undefined) throw new TypeError('a batching socket needs onBatch');
      sock.enableBatch((batch) => { if (!closed) onBatch(batch); });
    }
    if (setup.transmitCompensation === true && sock.txTimestamps) {
      sock.setTransmitCompensation(true);
      compensating = true;
    }
  } catch (e) {
    sock.close();
    throw e;
  }
  if (setup.keepAlive === false) sock.unref();
  return {
    info: { kind: 'native-kernel-timestamps' },
    ready: Promise.resolve(),
    txTimestamps: needs.txTimestamps !== undefined && sock.txTimestamps,
    stampsTransmit: true,
    compensating,
    connect: async (address, port) => { sock.connect(address, port); },
    send: (data, address, port) => sock.send(data, address, port),
    setStampDelta: (d) => sock.setStampDelta(d),
    transmitLatency: () => (compensating ? sock.transmitLatency() : null),
    sendFailures: () => sock.droppedSends(),
    address: () => sock.address(),
    close: async () => { closed = true; sock.close(); },
  };
}
