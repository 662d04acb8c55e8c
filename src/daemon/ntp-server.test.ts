/**
 * The server under bad input, on both transports: it must not crash or hang,
 * never answer with more bytes than it was sent, count every drop by reason,
 * and keep serving a valid client throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fc from 'fast-check';
import { loadServerConfig } from '../config/load.js';
import { buildClientRequest } from '../core/query.js';
import { queryServer } from '../net/query.js';
import { freeUdpPort } from '../testing/index.js';
import { loadNativeUdp } from '../net/native-udp.js';
import { UDP_TRANSPORT_ENV } from '../net/udp-transport.js';
import { realtime } from '../clock/realtime.js';
import { synchronizedState, unsynchronizedState } from '../core/system.js';
import { Leap } from '../proto/constants.js';
import { addSeconds, type Instant } from '../time/instant.js';
import { toNtpTimestamp } from '../time/timestamp.js';
import { measurePrecision, startNtpServer } from './ntp-server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function badPackets(): Uint8Array[] {
  const valid = buildClientRequest(4, 0x1122334455667788n);
  const out: Uint8Array[] = [];
  for (let n = 0; n < 48; n += 7) out.push(valid.slice(0, n)); // truncated headers, the empty datagram too
  for (const vn of [0, 5, 6, 7]) { const p = valid.slice(); p[0] = (vn << 3) | 3; out.push(p); } // bad versions
  for (const mode of [6, 7]) { // ntpq / ntpdc requests, short and full size
    const p = new Uint8Array(12); p[0] = (2 << 3) | mode; out.push(p);
    const q = valid.slice(); q[0] = (4 << 3) | mode; out.push(q);
  }
  for (const len of [0x0000, 0x0002, 0x0010, 0xfffc]) { // v4 with an extension field of bogus length, oversized datagram
    const p = new Uint8Array(1400); p.set(valid); p[48] = 0x01; p[49] = 0x04; p[50] = len >> 8; p[51] = len & 0xff; out.push(p);
  }
  out.push(new Uint8Array(1400).fill(0xe3)); // looks like v4 client mode, then nonsense
  fc.sample(fc.uint8Array({ minLength: 0, maxLength: 600 }), { numRuns: 200, seed: 42 }).forEach((b) => out.push(b));
  fc.sample(fc.tuple(fc.nat({ max: 47 }), fc.nat({ max: 255 })), { numRuns: 100, seed: 7 }).forEach(([i, v]) => { // valid request, one byte mutated
    const p = valid.slice(); p[i] = v; out.push(p);
  });
  return out;
}

const transports: [string, string | undefined][] = [['native', undefined], ['dgram', 'dgram']];
for (const [name, env] of transports) {
  test(`${name} transport: bad input is dropped and counted, replies never exceed requests, a valid client is served throughout`, {
    skip: name === 'native' && !loadNativeUdp().ok ? 'native UDP unavailable' : false,
  }, async () => {
    const saved = process.env[UDP_TRANSPORT_ENV];
    if (env === undefined) delete process.env[UDP_TRANSPORT_ENV]; else process.env[UDP_TRANSPORT_ENV] = env;
    const port = await freeUdpPort('127.0.0.1');
    const { config } = loadServerConfig(undefined, ['bindaddress 127.0.0.1', `port ${port}`, 'allow 127.0.0.0/8', 'local stratum 2']);
    const server = await startNtpServer({ config });
    if (saved === undefined) delete process.env[UDP_TRANSPORT_ENV]; else process.env[UDP_TRANSPORT_ENV] = saved;
    const good = dgram.createSocket('udp4');
    const attacker = dgram.createSocket('udp4');
    let ticker: NodeJS.Timeout | undefined;
    try {
      assert.equal(server.transport.kind, name === 'native' ? 'native-kernel-timestamps' : 'dgram');
      let goodSent = 0;
      let goodAnswered = 0;
      good.on('message', (m) => { if (m.length === 48 && ((m[0] as number) & 7) === 4) goodAnswered++; });
      ticker = setInterval(() => { goodSent++; good.send(buildClientRequest(4, BigInt(goodSent)), port, '127.0.0.1'); }, 10);

      let lastSentLength = -1;
      const oversized: string[] = [];
      let replies = 0;
      attacker.on('message', (m) => {
        replies++;
        if (m.length > lastSentLength) oversized.push(`${m.length}-byte reply to a ${lastSentLength}-byte request`);
      });
      const bad = badPackets();
      for (const p of bad) {
        lastSentLength = p.length;
        attacker.send(p, port, '127.0.0.1');
        await sleep(2); // one request in flight at a time, so each reply is matched to its request
      }
      await sleep(50);
      clearInterval(ticker);
      await sleep(50);

      assert.deepEqual(oversized, []);
      const s = server.stats();
      assert.equal(s.ntpPacketsReceived, bad.length + goodSent);
      assert.equal(s.ntpPacketsReplied, goodAnswered + replies);
      assert.ok(s.ntpPacketsDropped >= bad.length - replies - 5, `dropped ${s.ntpPacketsDropped} of ${bad.length} bad`);
      for (const reason of ['too-short', 'bad-version', 'control-mode'] as const) {
        assert.ok(((s.droppedByReason as Record<string, number>)[reason] ?? 0) > 0, `nothing dropped as ${reason}: ${JSON.stringify(s.droppedByReason)}`);
      }
      assert.ok(goodSent > 20);
      assert.equal(goodAnswered, goodSent, `the valid client got ${goodAnswered} of ${goodSent} answers`);
    } finally {
      clearInterval(ticker);
      good.close();
      attacker.close();
      await server.close();
    }
  });
}

test('precision is the log2 of one clock reading, within chrony\'s range', () => {
  const p = measurePrecision();
  assert.ok(Number.isInteger(p) && p <= 0 && p >= -30, String(p));
  let t = 0n;
  assert.equal(measurePrecision(() => (t += 2n ** 22n)), -10); // 2^22 ticks = 2^-10 s per reading
});

test('a port in use is a clear error, and nothing is left open', async () => {
  const holder = dgram.createSocket('udp4');
  await new Promise<void>((r) => holder.bind(0, '127.0.0.1', r));
  try {
    const { config } = loadServerConfig(undefined, ['bindaddress 127.0.0.1', `port ${holder.address().port}`, 'allow']);
    await assert.rejects(startNtpServer({ config }), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE');
  } finally {
    holder.close();
  }
});

test('denied clients are ignored, or get a DENY kiss-o\'-death with denykod', async () => {
  for (const denykod of [false, true]) {
    const port = await freeUdpPort('127.0.0.1');
    const lines = ['bindaddress 127.0.0.1', `port ${port}`, 'allow 10/8', 'local stratum 1', ...(denykod ? ['denykod'] : [])];
    const server = await startNtpServer({ config: loadServerConfig(undefined, lines).config });
    try {
      const r = await queryServer(`127.0.0.1:${port}`, { samples: 1, timeoutMs: 500 });
      assert.equal(r.error?.code, denykod ? 'kod' : 'timeout', JSON.stringify(r.error));
      if (denykod) assert.equal(r.error?.kissCode, 'DENY');
      assert.equal(server.stats().droppedByReason.denied, denykod ? 0 : 1);
      assert.equal(server.stats().kodSent.DENY, denykod ? 1 : 0);
    } finally {
      await server.close();
    }
  }
});

for (const [name, env] of transports) {
  test(`${name} transport: a served clock that is not CLOCK_REALTIME maps T2 and T3 onto it; setSystemState changes what replies carry`, {
    skip: name === 'native' && !loadNativeUdp().ok ? 'native UDP unavailable' : false,
  }, async () => {
    const saved = process.env[UDP_TRANSPORT_ENV];
    if (env === undefined) delete process.env[UDP_TRANSPORT_ENV]; else process.env[UDP_TRANSPORT_ENV] = env;
    const port = await freeUdpPort('127.0.0.1');
    const { config } = loadServerConfig(undefined, ['bindaddress 127.0.0.1', `port ${port}`, 'allow 127.0.0.0/8', 'local stratum 2']);
    // 2.5 s ahead of the kernel's clock, as a VirtualClock might be.
    const AHEAD = 2.5;
    const clock = { now: () => addSeconds(realtime(), AHEAD), fromRealtime: (t: Instant) => addSeconds(t, AHEAD) };
    const server = await startNtpServer({ config, clock });
    if (saved === undefined) delete process.env[UDP_TRANSPORT_ENV]; else process.env[UDP_TRANSPORT_ENV] = saved;
    try {
      const r = await queryServer(`127.0.0.1:${port}`, { samples: 4, timeoutMs: 1000 });
      assert.ok(r.estimate, JSON.stringify(r.error));
      const { offset, delay } = r.estimate.best;
      // Both T2 and T3 on the served clock: the offset is the 2.5 s, and the
      // delay stays a loopback delay (a T3 left on CLOCK_REALTIME would make it -2.5 s).
      assert.ok(Math.abs(offset - AHEAD) < 1e-3, `offset ${offset} s`);
      assert.ok(delay >= 0 && delay < 5e-3, `delay ${delay} s`);
      assert.equal(r.estimate.header.stratum, 2);

      const refTime = addSeconds(realtime(), AHEAD - 10);
      const state = synchronizedState({ leap: Leap.NoWarning, stratum: 3, referenceId: 0xc0000201, referenceTime: refTime, rootDelay: 0.002, rootDispersion: 0.001, precision: server.precision });
      server.setSystemState(state);
      assert.equal(server.systemState(), state);
      const s = await queryServer(`127.0.0.1:${port}`, { samples: 1, timeoutMs: 1000 });
      assert.ok(s.estimate, JSON.stringify(s.error));
      assert.equal(s.estimate.header.stratum, 3);
      assert.equal(s.estimate.header.referenceId, 0xc0000201);
      assert.equal(s.estimate.header.referenceTimestamp, toNtpTimestamp(refTime));
      assert.ok(Math.abs(s.estimate.rootDelay - 0.002) < 1e-4, String(s.estimate.rootDelay));

      server.setSystemState(unsynchronizedState(server.precision));
      const u = await queryServer(`127.0.0.1:${port}`, { samples: 1, timeoutMs: 1000 });
      // chronyd's unsynchronized answer: leap 3, stratum 0 (which a client reads as a kiss code 0).
      const h = u.samples[0]?.header;
      assert.equal(h?.leap, Leap.Unsynchronized, JSON.stringify(u.error));
      assert.equal(h?.stratum, 0);
    } finally {
      await server.close();
    }
  });
}

test('without bindaddress the server listens on 0.0.0.0 and on :: (IPv6-only), and answers both families', async () => {
  const port = await freeUdpPort('127.0.0.1');
  const { config } = loadServerConfig(undefined, [`port ${port}`, 'allow', 'local stratum 1']);
  const server = await startNtpServer({ config });
  try {
    assert.deepEqual(server.endpoints.map((e) => e.address).sort(), ['0.0.0.0', '::']);
    assert.ok(server.endpoints.every((e) => e.port === port));
    for (const target of [`127.0.0.1:${port}`, `[::1]:${port}`]) {
      const r = await queryServer(target, { samples: 1, timeoutMs: 1000 });
      assert.ok(r.estimate, `${target}: ${JSON.stringify(r.error)}`);
    }
    assert.equal(server.stats().ntpPacketsReplied, 2);
  } finally {
    await server.close();
  }
});

test('the native server compensates its transmit timestamps unless told not to', { skip: loadNativeUdp().ok ? false : 'native UDP unavailable' }, async () => {
  for (const transmitCompensation of [true, false]) {
    const port = await freeUdpPort('127.0.0.1');
    const { config } = loadServerConfig(undefined, ['bindaddress 127.0.0.1', `port ${port}`, 'allow', 'local stratum 1']);
    const server = await startNtpServer({ config, transmitCompensation });
    try {
      const r = await queryServer(`127.0.0.1:${port}`, { samples: 3, timeoutMs: 1000 });
      assert.ok(r.estimate, JSON.stringify(r.error));
      const c = server.transmitCompensation();
      if (!transmitCompensation) assert.equal(c, null);
      // One request at a time: every reply is the first of its batch.
      else assert.ok(c !== null && c.first.samples > 0 && c.first.ns > 0 && c.first.ns < 1e6, JSON.stringify(c));
    } finally {
      await server.close();
    }
  }
});
