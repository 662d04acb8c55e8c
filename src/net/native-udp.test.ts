/**
 * The native UDP socket on loopback: kernel RX/TX timestamps, ICMP errors,
 * IPv6, closing at awkward moments, bad arguments, and that a process using
 * it exits once its sockets are closed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { realtime } from '../clock/realtime.js';
import { runToCompletion } from '../testing/index.js';
import { keepKernelRxStampingOn } from '../testing/kernel-stamping.js';
import type { Instant } from '../time/instant.js';
import { loadNativeUdp, NativeUdpSocket, type NativeUdpHandlers, type NativeUdpPeer } from './native-udp.js';

const load = loadNativeUdp();
const skip = load.ok ? false : load.reason;
const SECOND = 2n ** 32n;
const us = (d: bigint): string => `${(Number(d) / 2 ** 32 * 1e6).toFixed(1)} us`;

test('the native UDP socket loads where the addon is required (NTPKIT_REQUIRE_NATIVE=1 on Linux)', (t) => {
  if (process.env.NTPKIT_REQUIRE_NATIVE !== '1' || process.platform !== 'linux') {
    t.skip(`not required here (NTPKIT_REQUIRE_NATIVE=${process.env.NTPKIT_REQUIRE_NATIVE ?? ''}, ${process.platform})`);
    return;
  }
  assert.ok(load.ok, load.ok ? '' : load.reason);
});

interface Received { data: Buffer; from: NativeUdpPeer; rx: Instant | null; js: Instant }

/**
 * Linux turns RX stamping on for the whole stack when the first socket asks
 * for it (net_enable_timestamp), but through deferred work: packets that
 * arrive before that work has run carry no stamp. While no other socket on
 * the machine has stamping on, a test's first packets can be that early. So
 * one stamping socket stays open for this file, and the tests start once
 * packets arrive stamped; from then on every packet must carry a stamp.
 */
let stopStamping: (() => void) | undefined;
before(async () => {
  if (load.ok) stopStamping = await keepKernelRxStampingOn();
});
after(() => { stopStamping?.(); });

/** A socket that records everything it is told, with realtime() read first thing in each callback. */
function recorder(family: 4 | 6): { sock: NativeUdpSocket; got: Received[]; tx: Map<number, Instant>; errors: NodeJS.ErrnoException[]; next: () => Promise<void> } {
  const got: Received[] = [];
  const tx = new Map<number, Instant>();
  const errors: NodeJS.ErrnoException[] = [];
  let wake: (() => void) | undefined;
  const poke = (): void => { wake?.(); wake = undefined; };
  const handlers: NativeUdpHandlers = {
    onMessage: (data, from, rx) => { const js = realtime(); got.push({ data, from, rx, js }); poke(); },
    onTxTime: (id, t) => { tx.set(id, t); poke(); },
    onError: (err) => { errors.push(err); poke(); },
  };
  const next = (): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no event within 2 s')), 2000);
    wake = () => { clearTimeout(timer); resolve(); };
  });
  return { sock: new NativeUdpSocket(family, handlers), got, tx, errors, next };
}

/** Polls until `cond` holds; the deadline only catches a hang, so it is generous for a busy machine. */
async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function echoServer(family: 4 | 6, address: string): { sock: NativeUdpSocket; got: Received[]; port: number } {
  const got: Received[] = [];
  const sock = new NativeUdpSocket(family, {
    onMessage: (data, from, rx) => { got.push({ data, from, rx, js: realtime() }); sock.send(data, from.address, from.port); },
    onError: (err) => { throw err; },
  });
  sock.bind(address, 0);
  return { sock, got, port: sock.address().port };
}

for (const [family, address] of [[4, '127.0.0.1'], [6, '::1']] as const) {
  test(`IPv${family} ${address}: kernel RX stamps are never after the callback's realtime() and close to it; TX stamps lie within send()`, { skip }, async () => {
    const server = echoServer(family, address);
    const client = recorder(family);
    try {
      assert.equal(client.sock.rxTimestamps, true);
      assert.equal(client.sock.txTimestamps, true);
      client.sock.connect(address, server.port);
      const local = client.sock.address();
      assert.equal(local.address, address);
      assert.equal(local.family, family === 4 ? 'IPv4' : 'IPv6');
      const sends: { before: Instant; after: Instant; id: number }[] = [];
      const n = 20;
      for (let i = 0; i < n; i++) {
        const before = realtime();
        const id = client.sock.send(Buffer.from(`datagram ${i}`));
        sends.push({ before, after: realtime(), id });
        await until(() => client.got.length > i, `echo ${i}`);
      }
      assert.deepEqual(sends.map((s) => s.id), [...Array(n).keys()], 'TX ids count datagrams from 0');
      assert.deepEqual(client.got.map((g) => g.data.toString()), [...Array(n).keys()].map((i) => `datagram ${i}`));
      for (const [i, g] of client.got.entries()) {
        assert.deepEqual(g.from, { address, port: server.port });
        assert.ok(g.rx !== null, `echo ${i} has a kernel RX timestamp`);
        const s = sends[i]!;
        // Causality: the kernel stamped the echo after our send began and before JS saw it.
        assert.ok(g.rx > s.before, `rx ${us(g.rx - s.before)} after the send began`);
        assert.ok(g.rx <= g.js, `rx is ${us(g.rx - g.js)} after the callback's realtime()`);
        // The server's own RX stamps obey the same bounds.
        const sv = server.got[i]!;
        assert.ok(sv.rx !== null && sv.rx > s.before && sv.rx <= sv.js);
        // Loopback stamps TX inside sendmsg(), before the server's RX stamp of the same datagram.
        const t = client.tx.get(s.id);
        assert.ok(t !== undefined, `TX stamp of datagram ${i}`);
        assert.ok(s.before <= t && t <= s.after, `tx ${us(t - s.before)} into a send that took ${us(s.after - s.before)}`);
        assert.ok(t <= sv.rx, `tx ${us(t - sv.rx)} after the server's rx`);
      }
      // Every TX stamp reached JS before the reply that followed it (error queue drained first).
      assert.equal(client.tx.size, n);
      assert.deepEqual(client.errors, []);
    } finally {
      client.sock.close();
      server.sock.close();
    }
  });

  test(`IPv${family}: a connected socket reports ECONNREFUSED from a closed port`, { skip }, async () => {
    const probe = new NativeUdpSocket(family, { onMessage: () => {}, onError: () => {} });
    probe.bind(address, 0);
    const port = probe.address().port;
    probe.close(); // nothing listens there now: the kernel answers ICMP port unreachable
    const client = recorder(family);
    try {
      client.sock.connect(address, port);
      client.sock.send(Buffer.from('anyone?'));
      await until(() => client.errors.length > 0, 'ECONNREFUSED');
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(client.errors.length, 1, 'reported once');
      const e = client.errors[0]!;
      assert.equal(e.code, 'ECONNREFUSED');
      assert.equal(e.errno, -111);
      assert.match(e.message, new RegExp(`ECONNREFUSED ${family === 4 ? address : `\\[${address}\\]`}:${port}`));
      assert.equal(client.got.length, 0);
      // Unconnected, a socket hears no ICMP errors (as with node:dgram): a server is not told of every client gone.
      const loose = recorder(family);
      try {
        loose.sock.send(Buffer.from('anyone?'), address, port);
        await until(() => loose.tx.size === 1, 'the TX stamp');
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(loose.errors, []);
      } finally {
        loose.sock.close();
      }
      // The socket stays usable: connected again, to a live server, it gets its echo.
      const server = echoServer(family, address);
      try {
        client.sock.connect(address, server.port);
        client.sock.send(Buffer.from('still there'));
        await until(() => client.got.length === 1, 'the echo');
        assert.equal(client.got[0]?.data.toString(), 'still there');
        assert.equal(client.errors.length, 1);
      } finally {
        server.sock.close();
      }
    } finally {
      client.sock.close();
    }
  });
}

test('close() inside a message callback stops delivery of datagrams already queued', { skip }, async () => {
  const calls: string[] = [];
  const server = new NativeUdpSocket(4, {
    onMessage: (data) => { calls.push(data.toString()); server.close(); },
    onError: (err) => { throw err; },
  });
  server.bind('127.0.0.1', 0);
  const port = server.address().port;
  const client = new NativeUdpSocket(4, { onMessage: () => {}, onError: () => {} });
  try {
    // All ten are queued in the kernel before the event loop polls the server once.
    for (let i = 0; i < 10; i++) client.send(Buffer.from(`d${i}`), '127.0.0.1', port);
    await until(() => calls.length > 0, 'the first datagram');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(calls, ['d0']);
    assert.throws(() => server.send(Buffer.from('x'), '127.0.0.1', port), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
    assert.throws(() => server.address(), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
    server.close(); // idempotent
  } finally {
    client.close();
    server.close();
  }
});

test('close() right after send(), with the reply and the TX stamp still pending: no handler runs', { skip }, async () => {
  const server = echoServer(4, '127.0.0.1');
  let calls = 0;
  try {
    for (let i = 0; i < 50; i++) {
      const c = new NativeUdpSocket(4, { onMessage: () => { calls++; }, onTxTime: () => { calls++; }, onError: () => { calls++; } });
      c.connect('127.0.0.1', server.port);
      c.send(Buffer.from('ping'));
      c.close();
    }
    await until(() => server.got.length === 50, 'the server to see every ping');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(calls, 0);
  } finally {
    server.sock.close();
  }
});

test('opening and closing many sockets leaks no file descriptors', { skip }, async () => {
  const fds = (): number => readdirSync('/proc/self/fd').length;
  const server = echoServer(4, '127.0.0.1');
  try {
    const before = fds();
    for (let i = 0; i < 300; i++) {
      const c = recorder(i % 2 ? 4 : 6);
      if (i % 2) {
        c.sock.connect('127.0.0.1', server.port);
        c.sock.send(Buffer.from('x'));
        await until(() => c.got.length === 1, 'echo');
      }
      c.sock.close();
    }
    // Descriptors close in libuv's close callbacks, on a later loop turn.
    await until(() => fds() <= before + 2, `the descriptors to close (${before} before, ${fds()} now)`);
  } finally {
    server.sock.close();
  }
});

test('reusePort lets several sockets share a port; without it the second bind is EADDRINUSE', { skip }, () => {
  const open = (): NativeUdpSocket => new NativeUdpSocket(4, { onMessage: () => {}, onError: () => {} });
  const a = open();
  const b = open();
  const c = open();
  try {
    a.bind('127.0.0.1', 0, { reusePort: true });
    const port = a.address().port;
    b.bind('127.0.0.1', port, { reusePort: true });
    assert.equal(b.address().port, port);
    assert.throws(() => c.bind('127.0.0.1', port), { code: 'EADDRINUSE', syscall: 'bind' });
    assert.throws(() => (c as unknown as { bind(...a: unknown[]): void }).bind('127.0.0.1', port, { reusePort: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' });
  } finally {
    a.close();
    b.close();
    c.close();
  }
});

test('bad arguments throw errors, never crash', { skip }, () => {
  assert.ok(load.ok);
  const Raw = load.UdpSocket as unknown as new (...args: unknown[]) => unknown;
  assert.throws(() => new Raw(5, () => {}), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => new Raw('4', () => {}), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => new Raw(4), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => new Raw(4, 'not a function'), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => (load.UdpSocket as unknown as (...a: unknown[]) => unknown)(4, () => {}), TypeError);
  const s = new NativeUdpSocket(4, { onMessage: () => {}, onError: () => {} });
  const raw = s as unknown as { bind(...a: unknown[]): void; connect(...a: unknown[]): void; send(...a: unknown[]): number };
  try {
    assert.throws(() => s.bind('::1', 0), { code: 'ERR_INVALID_ARG_VALUE', message: /Cannot parse an IPv4 address: current value is '::1'/ });
    assert.throws(() => s.bind('1.2.3.4.5', 0), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => s.bind('127.0.0.1\0junk', 0), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => s.bind('x'.repeat(10_000), 0), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => raw.bind(1234, 0), { code: 'ERR_INVALID_ARG_TYPE' });
    for (const port of [-1, 65536, 1.5, NaN, Infinity]) assert.throws(() => s.bind('127.0.0.1', port), { code: 'ERR_SOCKET_BAD_PORT' }, String(port));
    assert.throws(() => raw.bind('127.0.0.1', '123'), { code: 'ERR_SOCKET_BAD_PORT' });
    assert.throws(() => raw.connect('127.0.0.1'), { code: 'ERR_SOCKET_BAD_PORT' });
    assert.throws(() => raw.send('text'), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => raw.send(new Uint16Array(4)), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => raw.send(), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => s.send(Buffer.from('x')), { code: 'EDESTADDRREQ' }, 'neither connected nor given a destination');
    assert.throws(() => s.send(new Uint8Array(70_000), '127.0.0.1', 9), { code: 'EMSGSIZE' });
    assert.throws(() => s.bind('192.0.2.1', 0), { code: 'EADDRNOTAVAIL', syscall: 'bind' });
  } finally {
    s.close();
  }
  const v6 = new NativeUdpSocket(6, { onMessage: () => {}, onError: () => {} });
  try {
    assert.throws(() => v6.bind('127.0.0.1', 0), { code: 'ERR_INVALID_ARG_VALUE', message: /IPv6 address/ });
    assert.throws(() => v6.bind('fe80::1%no-such-interface0', 0), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => v6.bind('::1%', 0), { code: 'ERR_INVALID_ARG_VALUE' });
  } finally {
    v6.close();
  }
  // The class's methods on a plain object.
  const proto = (load.UdpSocket as unknown as { prototype: Record<string, (...a: unknown[]) => unknown> }).prototype;
  for (const m of ['bind', 'connect', 'send', 'address', 'close', 'ref', 'unref']) assert.throws(() => proto[m]!.call({}), TypeError, m);
});

/** Runs an ES module as a child node process, with imports resolved next to this test file. */
async function child(source: string, env: Record<string, string> = {}, timeoutMs = 10_000): Promise<{ code: number | null; out: string; timedOut: boolean }> {
  const here = new URL('.', import.meta.url).href;
  const code = source.replaceAll('@here/', here);
  const r = await runToCompletion(process.execPath, ['--input-type=module', '-e', code], { env, timeoutMs });
  return { code: r.status.code, out: r.stdout + r.stderr, timedOut: r.timedOut };
}

test('a process exits by itself once its sockets are closed, and not before', { skip }, async () => {
  const exchange = `
    import { NativeUdpSocket } from '@here/native-udp.js';
    const server = new NativeUdpSocket(6, { onMessage: (d, f) => server.send(d, f.address, f.port), onError: (e) => { throw e; } });
    server.bind('::1', 0);
    const client = new NativeUdpSocket(6, {
      onMessage: (d) => { console.log('got', d.toString()); CLOSE },
      onError: (e) => { throw e; },
    });
    client.connect('::1', server.address().port);
    client.send(Buffer.from('hello'));
  `;
  const closed = await child(exchange.replace('CLOSE', 'client.close(); server.close();'));
  assert.equal(closed.timedOut, false, closed.out);
  assert.equal(closed.code, 0, closed.out);
  assert.match(closed.out, /got hello/);
  // Left open, a socket keeps the event loop alive, as a node:dgram socket does...
  const open = await child(exchange.replace('CLOSE', ''), {}, 1500);
  assert.equal(open.timedOut, true, `exited by itself with the socket open: ${open.out}`);
  // ...unless unref()'d; then the environment's cleanup closes it at exit.
  const unref = await child(exchange.replace('CLOSE', 'client.unref(); server.unref();'));
  assert.equal(unref.timedOut, false, unref.out);
  assert.equal(unref.code, 0, unref.out);
});

test('a worker that ends with sockets open, and a throwing handler, do not crash the process', { skip }, async () => {
  const r = await child(`
    import { Worker } from 'node:worker_threads';
    import { NativeUdpSocket } from '@here/native-udp.js';
    const w = new Worker(\`
      import { parentPort } from 'node:worker_threads';
      import { NativeUdpSocket } from '@here/native-udp.js';
      const socks = [4, 6, 4].map((f) => { const s = new NativeUdpSocket(f, { onMessage() {}, onError() {} }); s.bind(f === 4 ? '127.0.0.1' : '::1', 0); return s; });
      socks[0].connect('127.0.0.1', socks[2].address().port);
      socks[0].send(Buffer.from('x'));
      parentPort.postMessage('open');
    \`, { eval: true });
    await new Promise((r) => w.once('message', r));
    await w.terminate();
    // A handler that throws is an uncaught exception, like a throwing EventEmitter listener.
    const seen = new Promise((r) => process.once('uncaughtException', r));
    const s = new NativeUdpSocket(4, { onMessage: () => { throw new Error('boom'); }, onError: () => {} });
    s.bind('127.0.0.1', 0);
    const c = new NativeUdpSocket(4, { onMessage() {}, onError() {} });
    c.send(Buffer.from('x'), '127.0.0.1', s.address().port);
    console.log('caught', (await seen).message);
    s.close(); c.close();
  `);
  assert.equal(r.timedOut, false, r.out);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /caught boom/);
});

const MASK64 = (1n << 64n) - 1n;
/** The wire NTP timestamp at `off`, as the low 64 bits of an Instant (same era as now). */
const stampAt = (b: Uint8Array, off: number): bigint => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off);
const low64 = (i: Instant): bigint => i & MASK64;

test('stampOffset outside a callback: the NTP timestamp written is after send() began and before the receiver\'s kernel RX', { skip }, async () => {
  const server = recorder(4);
  const client = recorder(4);
  try {
    server.sock.bind('127.0.0.1', 0);
    const port = server.sock.address().port;
    const before: bigint[] = [];
    for (let i = 0; i < 20; i++) {
      const b = new Uint8Array(48).fill(0xaa);
      before.push(low64(realtime()));
      client.sock.send(b, '127.0.0.1', port, 40);
      await until(() => server.got.length > i, `datagram ${i}`);
      // The caller's buffer carries the stamp too: nothing was copied on this path.
      assert.equal(stampAt(b, 40), stampAt(server.got[i]!.data, 40));
    }
    for (const [i, g] of server.got.entries()) {
      assert.equal(g.data.length, 48);
      assert.ok(g.data.subarray(0, 40).every((x) => x === 0xaa), 'only the 8 bytes at the offset change');
      const st = stampAt(g.data, 40);
      assert.ok(g.rx !== null);
      assert.ok(st >= before[i]!, `stamp ${us(st - before[i]!)} after send() began`);
      assert.ok(st <= low64(g.rx), `stamp ${us(st - low64(g.rx))} after the receiver's RX`);
    }
    // Without a stampOffset the bytes go out as given.
    client.sock.send(new Uint8Array(48), '127.0.0.1', port);
    await until(() => server.got.length === 21, 'the unstamped datagram');
    assert.equal(stampAt(server.got[20]!.data, 40), 0n);
  } finally {
    client.sock.close();
    server.sock.close();
  }
});

test('a burst of 200 requests from 5 sockets: every one answered from the callback, stamped late, with unique reported TX ids', { skip }, async () => {
  interface Sent { id: number; before: bigint; handlerEnd: bigint; port: number; seq: number }
  const sent: Sent[] = [];
  const serverTx = new Map<number, Instant>();
  const server = new NativeUdpSocket(4, {
    onMessage: (data, from) => {
      const reply = new Uint8Array(48);
      reply.set(data.subarray(0, 8));
      const before = low64(realtime());
      const id = server.send(reply, from.address, from.port, 40);
      const seq = new DataView(data.buffer, data.byteOffset).getUint32(0);
      // Queued, not sent: the stamp goes on after this handler returns.
      sent.push({ id, before, handlerEnd: low64(realtime()), port: from.port, seq });
    },
    onTxTime: (id, t) => { serverTx.set(id, t); },
    onError: (err) => { throw err; },
  });
  server.bind('127.0.0.1', 0);
  const port = server.address().port;
  const clients = Array.from({ length: 5 }, () => recorder(4));
  try {
    for (const c of clients) c.sock.connect('127.0.0.1', port);
    // All 200 are in the server's receive queue before the loop polls it once.
    for (let i = 0; i < 200; i++) {
      const req = new Uint8Array(48);
      new DataView(req.buffer).setUint32(0, i);
      clients[i % 5]!.sock.send(req);
    }
    await until(() => clients.reduce((n, c) => n + c.got.length, 0) === 200, 'all 200 replies');
    await until(() => serverTx.size === 200, 'the server\'s 200 TX reports');
    assert.equal(server.droppedSends(), 0);
    assert.equal(sent.length, 200);
    assert.equal(new Set(sent.map((s) => s.id)).size, 200, 'TX ids are unique');
    assert.deepEqual([...serverTx.keys()].sort((a, b) => a - b), [...Array(200).keys()], 'every id is reported');
    const bySeq = new Map(sent.map((s) => [s.seq, s]));
    const seen = new Set<number>();
    for (const c of clients) {
      for (const g of c.got) {
        const seq = new DataView(g.data.buffer, g.data.byteOffset).getUint32(0);
        assert.ok(!seen.has(seq), `reply ${seq} once`);
        seen.add(seq);
        const s = bySeq.get(seq)!;
        assert.equal(seq % 5, clients.indexOf(c), 'reply to the socket that asked');
        const st = stampAt(g.data, 40);
        assert.ok(g.rx !== null);
        assert.ok(st >= s.handlerEnd, `reply ${seq}: stamp ${us(st - s.handlerEnd)} after its handler's last realtime()`);
        assert.ok(st <= low64(g.rx), `reply ${seq}: stamp ${us(st - low64(g.rx))} after the client's RX`);
        const tx = serverTx.get(s.id)!;
        assert.ok(st <= low64(tx), `reply ${seq}: stamp ${us(st - low64(tx))} after the kernel's TX stamp`);
      }
    }
    assert.equal(seen.size, 200);
  } finally {
    for (const c of clients) c.sock.close();
    server.close();
  }
});

test('close() inside the callback with sends queued: they are dropped, nothing else runs', { skip }, async () => {
  let calls = 0;
  const server = new NativeUdpSocket(4, {
    onMessage: (data, from) => {
      calls++;
      server.send(data, from.address, from.port, 0);
      server.send(data, from.address, from.port);
      server.close();
      assert.throws(() => server.send(data, from.address, from.port), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
    },
    onTxTime: () => { calls++; },
    onError: () => { calls++; },
  });
  server.bind('127.0.0.1', 0);
  const port = server.address().port;
  const client = recorder(4);
  try {
    for (let i = 0; i < 5; i++) client.sock.send(new Uint8Array(48), '127.0.0.1', port);
    await until(() => calls > 0, 'the first request');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(calls, 1);
    assert.equal(server.droppedSends(), 2);
    assert.equal(client.got.length, 0, 'no reply left');
  } finally {
    client.sock.close();
    server.close();
  }
});

test('a bad stampOffset throws and sends nothing', { skip }, () => {
  const s = new NativeUdpSocket(4, { onMessage: () => {}, onError: () => {} });
  try {
    s.bind('127.0.0.1', 0);
    const { port } = s.address();
    for (const off of [41, 48, -2, 1.5, Number.NaN]) {
      assert.throws(() => s.send(new Uint8Array(48), '127.0.0.1', port, off), { code: 'ERR_OUT_OF_RANGE' }, `offset ${off}`);
    }
    assert.throws(() => s.send(new Uint8Array(4), '127.0.0.1', port, 0), { code: 'ERR_OUT_OF_RANGE' });
    assert.equal(s.send(new Uint8Array(48), '127.0.0.1', port, 40), 0, 'the failures used no TX id');
  } finally {
    s.close();
  }
});

test('setRecvBufferSize grows the receive buffer as far as the kernel lets it, and rejects nonsense', { skip }, () => {
  const s = new NativeUdpSocket(4, { onMessage: () => {}, onError: () => {} });
  try {
    const small = s.setRecvBufferSize(64 * 1024);
    const big = s.setRecvBufferSize(4 * 1024 * 1024);
    assert.ok(small >= 64 * 1024 && big >= small, `${small} then ${big} bytes`);
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => s.setRecvBufferSize(bad), { code: 'ERR_OUT_OF_RANGE' });
  } finally {
    s.close();
  }
  assert.throws(() => s.setRecvBufferSize(1 << 20), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
});

/**
 * A batch-mode server (txOnDemand) that answers every datagram with a 48-byte reply stamped at 40, tagging the seq
 * numbers `tagged` says. `ends` has, by seq, realtime() read after the callback wrote every reply of the batch.
 */
function batchServer(tagged: (seq: number) => boolean = () => false): {
  sock: NativeUdpSocket; batches: number[]; seen: { seq: number; family: number; octets: number[]; port: number; rx: Instant | null; js: Instant }[];
  tx: Map<number, Instant>; ends: Map<number, Instant>; port: number;
} {
  const batches: number[] = [];
  const seen: { seq: number; family: number; octets: number[]; port: number; rx: Instant | null; js: Instant }[] = [];
  const tx = new Map<number, Instant>();
  const ends = new Map<number, Instant>();
  const sock = new NativeUdpSocket(4, { onMessage: () => { throw new Error('onMessage in batch mode'); }, onTxTime: (tag, t) => { tx.set(tag, t); }, onError: (e) => { throw e; } }, { txOnDemand: true });
  sock.bind('127.0.0.1', 0);
  sock.enableBatch((b) => {
    const js = realtime();
    batches.push(b.count);
    const first = seen.length;
    for (let i = 0; i < b.count; i++) {
      const d = b.data(i);
      const seq = new DataView(d.buffer, d.byteOffset).getUint32(0);
      seen.push({ seq, family: b.family(i), octets: [...b.address(i)], port: b.port(i), rx: b.rxTime(i), js });
      const reply = new Uint8Array(48);
      reply.set(d.subarray(0, 8));
      assert.equal(b.reply(i, reply, 40, tagged(seq) ? seq : -1), true);
    }
    const end = realtime();
    for (const x of seen.slice(first)) ends.set(x.seq, end);
  });
  return { sock, batches, seen, tx, ends, port: sock.address().port };
}

test('batch mode: a burst comes in few callbacks, with sources as octets and kernel RX stamps; replies go back stamped late', { skip }, async () => {
  const server = batchServer();
  const clients = [recorder(4), recorder(4)];
  try {
    for (const c of clients) c.sock.connect('127.0.0.1', server.port);
    const before = low64(realtime());
    for (let i = 0; i < 100; i++) {
      const req = new Uint8Array(48);
      new DataView(req.buffer).setUint32(0, i);
      clients[i % 2]!.sock.send(req);
    }
    await until(() => clients[0]!.got.length + clients[1]!.got.length === 100, 'all 100 replies');
    assert.equal(server.seen.length, 100);
    assert.ok(server.batches.length < 100 && Math.max(...server.batches) > 1, `batches of ${server.batches.join(',')}`);
    const ports = clients.map((c) => c.sock.address().port);
    for (const s of server.seen) {
      assert.equal(s.family, 4);
      assert.deepEqual(s.octets, [127, 0, 0, 1]);
      assert.equal(s.port, ports[s.seq % 2]);
      assert.ok(s.rx !== null && before <= low64(s.rx) && s.rx <= s.js, `rx ${s.rx}: not between the burst's start ${before} and the callback ${s.js}`);
    }
    for (const c of clients) {
      for (const g of c.got) {
        const st = stampAt(g.data, 40);
        assert.ok(g.rx !== null);
        assert.ok(st >= before && st <= low64(g.rx), `stamp ${us(st - low64(g.rx))} from the client's RX`);
      }
    }
    assert.equal(server.tx.size, 0, 'no TX stamp was asked for');
  } finally {
    for (const c of clients) c.sock.close();
    server.sock.close();
  }
});

test('txOnDemand: only replies sent with a tag get a kernel TX stamp, reported with that tag', { skip }, async () => {
  const server = batchServer((seq) => seq % 3 === 0);
  const client = recorder(4);
  try {
    client.sock.connect('127.0.0.1', server.port);
    for (let i = 0; i < 30; i++) {
      const req = new Uint8Array(48);
      new DataView(req.buffer).setUint32(0, i);
      client.sock.send(req);
      await until(() => client.got.length === i + 1, `reply ${i}`);
    }
    await until(() => server.tx.size === 10, 'the 10 tagged TX stamps');
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual([...server.tx.keys()].sort((a, b) => a - b), [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
    for (const g of client.got) {
      const seq = new DataView(g.data.buffer, g.data.byteOffset).getUint32(0);
      const t = server.tx.get(seq);
      if (t === undefined) continue;
      // T3 is read before the send, the kernel stamps on the way out, the client's kernel after.
      assert.ok(stampAt(g.data, 40) <= low64(t) && low64(t) <= low64(g.rx!), `reply ${seq}`);
    }
    // Outside batch mode too: send() with a tag.
    const direct = new Map<number, Instant>();
    const s = new NativeUdpSocket(4, { onMessage: () => {}, onTxTime: (tag, t) => direct.set(tag, t), onError: (e) => { throw e; } }, { txOnDemand: true });
    try {
      s.bind('127.0.0.1', 0);
      assert.equal(s.send(new Uint8Array(8), '127.0.0.1', client.sock.address().port), -1);
      assert.equal(s.send(new Uint8Array(8), '127.0.0.1', client.sock.address().port, -1, 77), -1);
      await until(() => direct.size === 1, 'the tagged stamp');
      assert.deepEqual([...direct.keys()], [77]);
    } finally {
      s.close();
    }
  } finally {
    client.sock.close();
    server.sock.close();
  }
});

test('setStampDelta shifts the C-side transmit stamps; transmit compensation adds the read-to-wire latency estimate in force', { skip }, async () => {
  let tagAll = false;
  const server = batchServer(() => tagAll);
  const client = recorder(4);
  let seq = 0;
  /**
   * One request and its reply. The C side reads the clock for T3 after the batch callback wrote the
   * reply (`end`) and before the kernel stamped the reply on its way out (`tx`, when tagged) or the
   * client's kernel received it (`rx`); `before` is read before the request was sent.
   */
  const exchange = async (): Promise<{ stamp: bigint; before: bigint; end: bigint; tx: bigint | null; rx: bigint }> => {
    const n = seq++;
    const req = new Uint8Array(48);
    new DataView(req.buffer).setUint32(0, n);
    const start = client.got.length;
    const before = low64(realtime());
    client.sock.send(req);
    // A tagged reply's TX stamp comes in the same error-queue read that feeds the latency estimate:
    // once it is here, the estimate the next reply gets is the one transmitLatency() reports.
    await until(() => client.got.length === start + 1 && (!tagAll || server.tx.has(n)), `reply ${n}${tagAll ? ' and its TX stamp' : ''}`);
    const g = client.got[start]!;
    const tx = server.tx.get(n);
    return { stamp: stampAt(g.data, 40), before, end: low64(server.ends.get(n)!), tx: tx === undefined ? null : low64(tx), rx: low64(g.rx!) };
  };
  const ntp = (ns: number): bigint => BigInt(Math.round(ns * 2 ** 32 / 1e9));
  // ns -> NTP conversions of the C side and of this check may round differently, by a unit each.
  const ROUNDING = 2n;
  try {
    client.sock.connect('127.0.0.1', server.port);
    server.sock.setStampDelta(1000n * SECOND);
    for (let i = 0; i < 5; i++) {
      const r = await exchange();
      const t3 = r.stamp - 1000n * SECOND;
      assert.ok(r.before <= t3 + ROUNDING && t3 <= r.rx + ROUNDING, `stamp - 1000 s is ${us(t3 - r.before)} after the request was sent, ${us(r.rx - t3)} before the reply arrived`);
    }
    server.sock.setStampDelta(0n);
    assert.throws(() => server.sock.setStampDelta(1n << 64n), { code: 'ERR_OUT_OF_RANGE' });
    assert.deepEqual(server.sock.transmitLatency(), { first: { ns: 0, samples: 0 }, rest: { ns: 0, samples: 0 } });
    // From here every reply is tagged: its kernel TX stamp is a latency sample, and bounds the T3 reading.
    tagAll = true;
    server.sock.setTransmitCompensation(true);
    // Until a first sample counts (one over 1 ms, on a busy machine, is discarded), nothing is added.
    for (let i = 0; server.sock.transmitLatency().first.samples === 0; i++) {
      assert.ok(i < 1000, `no latency sample in ${i} exchanges: ${JSON.stringify(server.sock.transmitLatency())}`);
      await exchange();
    }
    const lat = server.sock.transmitLatency().first;
    assert.ok(lat.ns > 0 && lat.ns <= 1e6, `an estimate the addon keeps (samples over 1 ms are discarded): ${JSON.stringify(lat)}`);
    // Compensated and plain exchanges interleaved. One request at a time, so every reply is the first of its
    // batch: a compensated T3 is the clock read between `end` and `tx`, plus exactly the estimate in force.
    let compensated = 0;
    for (let i = 0; i < 40; i++) {
      const on = i % 2 === 0;
      server.sock.setTransmitCompensation(on);
      const inForce = on ? server.sock.transmitLatency().first.ns : 0;
      const r = await exchange();
      assert.ok(r.tx !== null);
      const read = r.stamp - ntp(inForce);
      assert.ok(r.end <= read + ROUNDING && read <= r.tx + ROUNDING,
        `exchange ${i} (${on ? `compensated by ${inForce} ns` : 'plain'}): stamp less compensation ${us(read - r.end)} after the callback ended, ${us(r.tx - read)} before the kernel TX stamp`);
      if (on) compensated++;
    }
    assert.equal(compensated, 20);
    // A burst: the later replies of a batch are measured as a class of their own (sampled by the addon, untagged).
    tagAll = false;
    server.sock.setTransmitCompensation(true);
    const c2 = recorder(4);
    try {
      c2.sock.connect('127.0.0.1', server.port);
      for (let round = 0; round < 300 && server.sock.transmitLatency().rest.samples === 0; round++) {
        const start = c2.got.length;
        for (let i = 0; i < 20; i++) c2.sock.send(new Uint8Array(48));
        await until(() => c2.got.length === start + 20, 'a burst of replies');
      }
      const rest = server.sock.transmitLatency().rest;
      assert.ok(rest.samples > 0 && rest.ns > 0 && rest.ns <= 1e6, JSON.stringify(rest));
    } finally {
      c2.sock.close();
    }
    const plainSock = new NativeUdpSocket(4, { onMessage: () => {}, onError: () => {} });
    try {
      assert.throws(() => plainSock.setTransmitCompensation(true), { code: 'ERR_INVALID_STATE' });
      assert.throws(() => plainSock.enableBatch(() => {}), { code: 'ERR_INVALID_STATE' });
      assert.throws(() => plainSock.send(new Uint8Array(8), '127.0.0.1', 9, -1, 1), { code: 'ERR_OUT_OF_RANGE' });
    } finally {
      plainSock.close();
    }
  } finally {
    client.sock.close();
    server.sock.close();
  }
});

test('close() inside a batch callback: its replies and the rest of the burst are dropped', { skip }, async () => {
  let calls = 0;
  const sock = new NativeUdpSocket(4, { onMessage: () => {}, onError: () => { calls++; } }, { txOnDemand: true });
  sock.bind('127.0.0.1', 0);
  sock.enableBatch((b) => { calls++; b.reply(0, new Uint8Array(48), 40); sock.close(); });
  const client = recorder(4);
  try {
    client.sock.connect('127.0.0.1', sock.address().port);
    for (let i = 0; i < 50; i++) client.sock.send(new Uint8Array(48));
    await until(() => calls > 0, 'the first batch');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(calls, 1);
    assert.equal(client.got.length, 0);
  } finally {
    client.sock.close();
    sock.close();
  }
});

test('v6Only: `::` and `0.0.0.0` share a port only when the IPv6 socket is IPv6-only', { skip }, () => {
  const open = (f: 4 | 6): NativeUdpSocket => new NativeUdpSocket(f, { onMessage: () => {}, onError: () => {} });
  const v4 = open(4), dual = open(6), v6 = open(6);
  try {
    v4.bind('0.0.0.0', 0);
    const { port } = v4.address();
    assert.throws(() => dual.bind('::', port), { code: 'EADDRINUSE' });
    v6.bind('::', port, { v6Only: true });
    assert.equal(v6.address().port, port);
  } finally {
    v4.close();
    dual.close();
    v6.close();
  }
});

test('txOnDemand: after a tagged send fails, later tagged replies still get their own TX stamps', { skip }, async () => {
  const tx = new Map<number, Instant>();
  const errors: NodeJS.ErrnoException[] = [];
  let seq = 0;
  const sock = new NativeUdpSocket(4, { onMessage: () => {}, onTxTime: (tag, t) => tx.set(tag, t), onError: (e) => errors.push(e) }, { txOnDemand: true });
  sock.bind('127.0.0.1', 0);
  sock.enableBatch((b) => {
    for (let i = 0; i < b.count; i++) {
      const n = seq++;
      // The third request also makes a tagged send fail (port 0: EINVAL), after the kernel numbered two stamps.
      if (n === 2) sock.send(new Uint8Array(48), '127.0.0.1', 0, 40, 999);
      const reply = new Uint8Array(48);
      new DataView(reply.buffer).setUint32(0, n);
      b.reply(i, reply, 40, n);
    }
  });
  const client = recorder(4);
  try {
    client.sock.connect('127.0.0.1', sock.address().port);
    for (let i = 0; i < 12; i++) {
      client.sock.send(new Uint8Array(48));
      await until(() => client.got.length === i + 1, `reply ${i}`);
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(errors[0]?.code, 'EINVAL');
    assert.ok(!tx.has(999));
    // Each reported stamp lies between its own reply's T3 and the client's RX: it is that reply's.
    let paired = 0;
    for (const g of client.got) {
      const n = new DataView(g.data.buffer, g.data.byteOffset).getUint32(0);
      const t = tx.get(n);
      if (t === undefined) continue;
      paired++;
      assert.ok(stampAt(g.data, 40) <= low64(t) && low64(t) <= low64(g.rx!), `reply ${n}: stamp paired with another datagram`);
    }
    // Stamps stop until the next wakeup resets the kernel's count, then resume.
    assert.ok(tx.has(0) && tx.has(1) && tx.has(11) && paired >= 8, `stamped: ${[...tx.keys()].join(',')}`);
  } finally {
    client.sock.close();
    sock.close();
  }
});
