import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { startUdpRelay, type UdpRelay } from './udp-relay.js';

// The relay is tested against a plain echo server: no external tools needed.
let echo: dgram.Socket;
let echoPort = 0;
const seenByServer: { bytes: Buffer; from: string }[] = [];

before(async () => {
  echo = dgram.createSocket('udp4');
  echo.on('message', (m, r) => {
    seenByServer.push({ bytes: m, from: `${r.address}:${r.port}` });
    // Reply with the datagram reversed, so the two directions differ.
    echo.send(Buffer.from(m).reverse(), r.port, r.address);
  });
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
  echoPort = echo.address().port;
});
after(() => echo.close());

async function client(): Promise<{ sock: dgram.Socket; port: number; ask: (relay: UdpRelay, b: Uint8Array, timeoutMs?: number) => Promise<Buffer | null> }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const ask = (relay: UdpRelay, b: Uint8Array, timeoutMs = 1000): Promise<Buffer | null> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        sock.off('message', on);
        resolve(null);
      }, timeoutMs);
      const on = (m: Buffer): void => {
        clearTimeout(timer);
        sock.off('message', on);
        resolve(m);
      };
      sock.on('message', on);
      sock.send(b, relay.port, relay.address);
    });
  return { sock, port: sock.address().port, ask };
}

test('forwards both ways and records every datagram with direction, bytes and client', async () => {
  const relay = await startUdpRelay({ target: { address: '127.0.0.1', port: echoPort } });
  const c = await client();
  try {
    const reply = await c.ask(relay, Uint8Array.of(1, 2, 3));
    assert.deepEqual(reply, Buffer.from([3, 2, 1]));
    const recs = relay.records();
    assert.equal(recs.length, 2);
    assert.deepEqual(recs.map((r) => [r.seq, r.direction, [...r.bytes]]), [[0, 'to-server', [1, 2, 3]], [1, 'to-client', [3, 2, 1]]]);
    for (const r of recs) {
      assert.deepEqual(r.client, { address: '127.0.0.1', port: c.port });
      assert.equal(r.delayMs, 0);
      assert.deepEqual(r.forwarded, r.bytes);
    }
    assert.ok((recs[1] as (typeof recs)[number]).receivedAtNs > (recs[0] as (typeof recs)[number]).receivedAtNs);
  } finally {
    c.sock.close();
    await relay.stop();
  }
});

test('each client gets its own upstream socket, so replies go back to the right one', async () => {
  const relay = await startUdpRelay({ target: { address: '127.0.0.1', port: echoPort } });
  const a = await client();
  const b = await client();
  try {
    seenByServer.length = 0;
    const [ra, rb] = await Promise.all([a.ask(relay, Uint8Array.of(10, 11)), b.ask(relay, Uint8Array.of(20, 21))]);
    assert.deepEqual(ra, Buffer.from([11, 10]));
    assert.deepEqual(rb, Buffer.from([21, 20]));
    assert.equal(new Set(seenByServer.map((s) => s.from)).size, 2);
    await a.ask(relay, Uint8Array.of(12, 13));
    assert.equal(new Set(seenByServer.map((s) => s.from)).size, 2, 'a client keeps its upstream socket');
  } finally {
    a.sock.close();
    b.sock.close();
    await relay.stop();
  }
});

test('drop, mutate and delay hooks', async () => {
  const relay = await startUdpRelay({
    target: { address: '127.0.0.1', port: echoPort },
    drop: (d) => d.direction === 'to-server' && d.bytes[0] === 0xdd,
    mutate: (d) => (d.direction === 'to-server' && d.bytes[0] === 0xaa ? d.bytes.subarray(0, 1) : undefined),
    delayMs: (d) => (d.direction === 'to-client' && d.bytes.at(-1) === 0xee ? 150 : 0),
  });
  const c = await client();
  try {
    assert.equal(await c.ask(relay, Uint8Array.of(0xdd, 1), 300), null, 'dropped');
    const dropped = relay.records().at(-1);
    assert.equal(dropped?.forwarded, null);

    assert.deepEqual(await c.ask(relay, Uint8Array.of(0xaa, 1, 2)), Buffer.from([0xaa]), 'truncated to one byte on the way in');
    assert.deepEqual([...(relay.records().find((r) => r.bytes[0] === 0xaa)?.bytes ?? [])], [0xaa, 1, 2], 'records the original bytes');

    const t0 = process.hrtime.bigint();
    assert.deepEqual(await c.ask(relay, Uint8Array.of(0xee, 5)), Buffer.from([5, 0xee]));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.ok(ms >= 140, `delayed reply came after ${ms} ms`);
    assert.equal(relay.records().at(-1)?.delayMs, 150);
  } finally {
    c.sock.close();
    await relay.stop();
  }
});

test('waitFor resolves with past or future records and times out clearly', async () => {
  const relay = await startUdpRelay({ target: { address: '127.0.0.1', port: echoPort } });
  const c = await client();
  try {
    const future = relay.waitFor((r) => r.direction === 'to-client');
    await c.ask(relay, Uint8Array.of(7));
    assert.deepEqual([...(await future).bytes], [7]);
    assert.equal((await relay.waitFor((r) => r.direction === 'to-server')).seq, 0);
    await assert.rejects(relay.waitFor(() => false, 50), /no matching datagram within 50 ms/);
    relay.clear();
    assert.equal(relay.records().length, 0);
  } finally {
    c.sock.close();
    await relay.stop();
  }
});

test('stop() closes the listening socket', async () => {
  const relay = await startUdpRelay({ target: { address: '127.0.0.1', port: echoPort } });
  await relay.stop();
  await relay.stop();
  const again = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    again.once('error', reject);
    again.bind(relay.port, relay.address, resolve);
  });
  again.close();
});

test('precise delays: a datagram is never forwarded before its delay, each way', async () => {
  const relay = await startUdpRelay({ target: { address: '127.0.0.1', port: echoPort }, precise: true, delayMs: () => 3.25 });
  const c = await client();
  try {
    for (let i = 0; i < 5; i++) {
      const t0 = process.hrtime.bigint();
      const reply = await c.ask(relay, Buffer.from([i, 1, 2]), 5000);
      const took = Number(process.hrtime.bigint() - t0) / 1e6;
      assert.ok(reply !== null, 'no reply');
      // Held 3.25 ms on the way there and again on the way back.
      assert.ok(took >= 6.5, `round trip ${took} ms`);
    }
    for (const r of relay.records()) assert.equal(r.delayMs, 3.25);
  } finally {
    c.sock.close();
    await relay.stop();
  }
});
