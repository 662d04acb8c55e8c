/**
 * The server socket alone, on both transports, answering every datagram
 * whatever its source: a reply that cannot be sent (port 0, a broadcast
 * address) is a counted failure reported to onError, never an exception out
 * of the receive path. The responder drops such requests before they get
 * here; this is the layer under it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { freeUdpPort, requireSpoofing, sendSpoofed } from '../testing/index.js';
import { loadNativeUdp } from './native-udp.js';
import { openServerSocket } from './server-socket.js';
import { environmentSwitches, UDP_TRANSPORT_ENV } from '../cli/environment-switches.js';

const ADDRESS = '127.0.12.24';

for (const transport of ['dgram', 'native'] as const) {
  test(`${transport}: replies to port 0 and to a broadcast address fail, are counted and reported, and the socket serves on`, {
    skip: transport === 'native' && !loadNativeUdp().ok ? 'native UDP unavailable' : false,
  }, async (t) => {
    if (!requireSpoofing(t)) return;
    const { udp } = environmentSwitches(transport === 'dgram' ? { [UDP_TRANSPORT_ENV]: 'dgram' } : {});

    const port = await freeUdpPort(ADDRESS);
    const errors: string[] = [];
    const sources: string[] = [];
    const sock = await openServerSocket(ADDRESS, port, {
      onBatch: (b) => {
        for (let i = 0; i < b.count; i++) {
          sources.push(`${String(b.address(i))}:${b.port(i)}`);
          b.reply(i, new Uint8Array(48), -1, -1);
        }
      },
      onTxTime: () => {},
      onError: (e) => errors.push(e.code ?? e.message),
    }, { udp });
    t.after(() => sock.close());
    assert.equal(sock.info.kind, transport === 'dgram' ? 'dgram' : 'native-kernel-timestamps');
    const payload = new Uint8Array(48);
    await sendSpoofed([
      { source: '127.9.12.5', sourcePort: 0, destination: ADDRESS, destinationPort: port, payload },
      { source: '127.255.255.255', sourcePort: 123, destination: ADDRESS, destinationPort: port, payload },
    ]);
    const deadline = Date.now() + 10_000;
    while (sock.sendFailures() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(sources.length, 2, sources.join(' '));
    assert.equal(sock.sendFailures(), 2);
    // node:dgram says ERR_SOCKET_BAD_PORT and EACCES; sendmmsg reports the first failure of each batch (EINVAL, EACCES).
    assert.ok(errors.length >= 1 && errors.length <= 2, errors.join(' '));
    assert.ok(errors.every((e) => ['ERR_SOCKET_BAD_PORT', 'EINVAL', 'EACCES'].includes(e)), errors.join(' '));
    // A normal client still gets its reply.
    const client = dgram.createSocket('udp4');
    t.after(() => client.close());
    await new Promise<void>((r) => client.bind(0, '127.0.12.29', r));
    const reply = new Promise<Buffer>((r) => client.once('message', r));
    client.send(payload, port, ADDRESS);
    assert.equal((await reply).length, 48);
    assert.equal(sock.sendFailures(), 2);
  });
}
