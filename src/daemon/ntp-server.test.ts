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
import { buildClientRequest } from '../core/client-request.js';
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
import { assertOffsetNear, TX_COMPENSATION_MAX, waitUntil } from '../testing/bounds.js';

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
    try {
      assert.equal(server.transport.kind, name === 'native' ? 'native-kernel-timestamps' : 'dgram');
      let goodSent = 0;
      let goodAnswered = 0;
      good.on('message', (m) => { if (m.length === 48 && ((m[0] as number) & 7) === 4) goodAnswered++; });

      let inFlight = -1;
      const oversized: string[] = [];
      let replies = 0;
      attacker.on('message', (m) => {
        replies++;
        if (m.length > inFlight) oversized.push(`${m.length}-byte reply to a ${inFlight}-byte request`);
      });
      const bad = badPackets();
      for (const [i, p] of bad.entries()) {
        // The valid client asks between the bad requests, all through the attack.
        if (i % 8 === 0) good.send(buildClientRequest(4, BigInt(++goodSent)), port, '127.0.0.1');
        // One bad request in flight at a time, so a reply is matched to its request: the
        // server either drops it (only the attacker's requests are dropped) or answers it.
        const dropped0 = server.stats().ntpPacketsDropped;
        const replies0 = replies;
        inFlight = p.length;
        attacker.send(p, port, '127.0.0.1');
        await waitUntil(() => server.stats().ntpPacketsDropped > dropped0 || replies > replies0, `the server to drop or answer bad request ${i} (${p.length} bytes)`, 10_000, 1);
      }
      // Everything sent has arrived and every answer is in: then the counts are exact.
      await waitUntil(() => server.stats().ntpPacketsReceived === bad.length + goodSent && goodAnswered === goodSent
        && server.stats().ntpPacketsReplied === goodAnswered + replies,
      `every request counted and answered (received ${server.stats().ntpPacketsReceived} of ${bad.length + goodSent}, valid client answered ${goodAnswered} of ${goodSent})`, 10_000);

      assert.deepEqual(oversized, []);
      const s = server.stats();
      assert.equal(s.ntpPacketsReceived, bad.length + goodSent);
      assert.equal(s.ntpPacketsReplied, goodAnswered + replies);
      assert.equal(s.ntpPacketsDropped, bad.length - replies, `dropped ${s.ntpPacketsDropped} of ${bad.length} bad, ${replies} answered`);
      for (const reason of ['too-short', 'bad-version', 'control-mode'] as const) {
        assert.ok(((s.droppedByReason as Record<string, number>)[reason] ?? 0) > 0, `nothing dropped as ${reason}: ${JSON.stringify(s.droppedByReason)}`);
      }
      assert.equal(goodSent, Math.ceil(bad.length / 8));
      assert.equal(goodAnswered, goodSent, `the valid client got ${goodAnswered} of ${goodSent} answers`);
    } finally {
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
      // Silence is waited out for 0.5 s; a kiss gets as long as a busy machine needs to deliver it.
      const r = await queryServer(`127.0.0.1:${port}`, { samples: 1, timeoutMs: denykod ? 10_000 : 500 });
      assert.equal(r.error?.code, denykod ? 'kod' : 'timeout', JSON.stringify(r.error));
      if (denykod) assert.equal(r.error?.kissCode, 'DENY');
      // The request may still be queued when the client gives up: wait for the server to have seen it.
      await waitUntil(() => server.stats().ntpPacketsReceived === 1, 'the request to reach the server', 10_000);
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
      // Both T2 and T3 on the served clock: the offset is the 2.5 s within half the round trip, and the delay
      // is not negative, beyond what a late compensated T3 can take off it (a T3 left on CLOCK_REALTIME would make it -2.5 s).
      assertOffsetNear(offset, AHEAD, delay, 'the served clock', { late: TX_COMPENSATION_MAX });
      assert.ok(delay >= -TX_COMPENSATION_MAX, `delay ${delay} s`);
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
      const r = await queryServer(`127.0.0.1:${port}`, { samples: 3, intervalMs: 20, timeoutMs: 5000 });
      assert.ok(r.estimate, JSON.stringify(r.error));
      if (!transmitCompensation) {
        assert.equal(server.transmitCompensation(), null);
        continue;
      }
      // One request at a time: every reply is the first of its batch. A sample over 1 ms (a busy
      // machine) is discarded, so more queries may be needed before one counts.
      for (const end = Date.now() + 30_000; (server.transmitCompensation()?.first.samples ?? 0) === 0;) {
        assert.ok(Date.now() < end, `no transmit latency sample: ${JSON.stringify(server.transmitCompensation())}`);
        await queryServer(`127.0.0.1:${port}`, { samples: 1, timeoutMs: 5000 });
      }
      const c = server.transmitCompensation();
      // The estimate is a median of samples the addon keeps only up to 1 ms (TX_COMPENSATION_MAX).
      assert.ok(c !== null && c.first.ns > 0 && c.first.ns <= TX_COMPENSATION_MAX * 1e9, JSON.stringify(c));
    } finally {
      await server.close();
    }
  }
});
