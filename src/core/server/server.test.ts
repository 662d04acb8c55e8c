import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { addSeconds, instantFromUnixSeconds } from '../../time/instant.js';
import { toNtpTimestamp } from '../../time/timestamp.js';
import { encodeHeader, type NtpHeader, parseHeader } from '../../proto/header.js';
import { encodePacket, parsePacket } from '../../proto/packet.js';
import { refIdFromCode } from '../../proto/refid.js';
import { type AccessTable, buildAccessTable, DENY_ALL } from './access.js';
import { clientReports } from './client-report.js';
import { clientTime, newClientKey, setClientKey } from './client-table.js';
import { DEFAULT_RATE_LIMIT } from './ratelimit.js';
import {
  NtpResponder, type RequestInput, type RespondAction, type ServerAction, serverConfig, TRANSMIT_TIMESTAMP_OFFSET,
  writeTransmitTimestamp,
} from './server.js';
import { DROP_REASONS } from './server-stats.js';
import { localReferenceState, synchronizedState, unsynchronizedState } from '../system.js';

const T = instantFromUnixSeconds(1_795_000_000.125);
const RX = addSeconds(T, 10);
const NOW = addSeconds(RX, 20e-6);
const LOCAL = localReferenceState(1, T, -25);

function access(...rules: [boolean, string | null][]): AccessTable {
  const r = buildAccessTable(rules.map(([allow, subnet]) => ({ allow, subnet, all: false })));
  assert.ok(r.ok);
  return r.table;
}
const ALLOW_ALL = access([true, null]);
const CONFIG = serverConfig({ access: ALLOW_ALL });

function header(h: Partial<NtpHeader> = {}): NtpHeader {
  return {
    leap: 0, version: 4, mode: 3, stratum: 0, poll: 0, precision: 0, rootDelay: 0, rootDispersion: 0, referenceId: 0,
    referenceTimestamp: 0n, originTimestamp: 0n, receiveTimestamp: 0n, transmitTimestamp: 0x0123456789abcdefn, ...h,
  };
}
const req = (h: Partial<NtpHeader> = {}) => encodeHeader(header(h));

function input(packet: Uint8Array, extra: Partial<RequestInput> = {}): RequestInput {
  return { packet, receivedAt: RX, now: NOW, address: '192.0.2.10', port: 40123, system: LOCAL, config: CONFIG, random: 0xffffffff, ...extra };
}

function respond(a: ServerAction): RespondAction {
  assert.equal(a.action, 'respond', a.action === 'ignore' ? `ignored: ${a.reason}` : '');
  return a as RespondAction;
}

function reasonOf(a: ServerAction): string {
  assert.equal(a.action, 'ignore');
  return a.action === 'ignore' ? a.reason : '';
}

test('a client request gets a mode 4 reply built from the system state (local stratum 1, as chronyd)', () => {
  const r = new NtpResponder({ seed: 1 });
  const a = respond(r.handleRequest(input(req({ poll: 6 }))));
  assert.equal(a.reply.length, 48);
  assert.equal(a.mode, 4);
  assert.equal(a.interleaved, false);
  assert.equal(a.kod, null);
  assert.equal(a.transmitTimestampOffset, TRANSMIT_TIMESTAMP_OFFSET);
  assert.equal(a.transmitTicket, null, 'a basic client (zero origin) costs no transmit timestamp');
  const h = parseHeader(a.reply);
  assert.ok(h.ok);
  assert.deepEqual(h.value, {
    leap: 0, version: 4, mode: 4, stratum: 1, poll: 6, precision: -25, rootDelay: 0, rootDispersion: 0,
    referenceId: 0x7f7f0101, referenceTimestamp: toNtpTimestamp(T), originTimestamp: 0x0123456789abcdefn,
    receiveTimestamp: toNtpTimestamp(RX), transmitTimestamp: toNtpTimestamp(NOW),
  });
  // The IO layer stamps the transmit time just before sending.
  const late = addSeconds(NOW, 3e-6);
  writeTransmitTimestamp(a.reply, late);
  assert.equal(new DataView(a.reply.buffer).getBigUint64(40), toNtpTimestamp(late));
});

test('the provisional transmit timestamp is never before the receive timestamp', () => {
  const a = respond(new NtpResponder({ seed: 1 }).handleRequest(input(req(), { now: addSeconds(RX, -1) })));
  const h = parseHeader(a.reply);
  assert.ok(h.ok && h.value.transmitTimestamp === toNtpTimestamp(RX));
});

test('the reply echoes versions 1 to 4', () => {
  const r = new NtpResponder({ seed: 1 });
  for (const version of [1, 2, 3, 4]) {
    const a = respond(r.handleRequest(input(req({ version }))));
    assert.equal((a.reply[0] as number) >> 3 & 7, version);
    assert.equal((a.reply[0] as number) & 7, 4);
  }
});

test('symmetric active (mode 1) gets symmetric passive (mode 2), unless turned off', () => {
  const r = new NtpResponder({ seed: 1 });
  const a = respond(r.handleRequest(input(req({ mode: 1, leap: 3, transmitTimestamp: 77n }))));
  assert.equal(a.mode, 2);
  const h = parseHeader(a.reply);
  assert.ok(h.ok && h.value.mode === 2 && h.value.originTimestamp === 77n && h.value.stratum === 1);
  assert.equal(reasonOf(r.handleRequest(input(req({ mode: 1 }), { config: serverConfig({ access: ALLOW_ALL, symmetric: false }) }))), 'symmetric-disabled');
});

test('modes 2, 4 and 5 are not requests; 6 and 7 are never answered, whatever their length', () => {
  const r = new NtpResponder({ seed: 1 });
  for (const mode of [2, 4, 5] as const) assert.equal(reasonOf(r.handleRequest(input(req({ mode })))), 'not-a-request');
  for (const b0 of [0x16, 0x17, 0x26, 0x27]) {
    for (const len of [1, 8, 12, 48, 468]) {
      const p = new Uint8Array(len);
      p[0] = b0;
      assert.equal(reasonOf(r.handleRequest(input(p))), 'control-mode');
    }
  }
});

test('NTPv1 mode 0 is a client request (as chronyd), except from port 123; mode 0 in later versions is refused', () => {
  const r = new NtpResponder({ seed: 1 });
  const v1 = req({ version: 1, mode: 3 });
  v1[0] = (v1[0] as number) & 0xf8; // mode 0
  const a = respond(r.handleRequest(input(v1)));
  assert.equal(a.reply[0], (0 << 6) | (1 << 3) | 4);
  assert.equal(v1[0], 0x08, 'the request buffer is not modified');
  assert.equal(reasonOf(r.handleRequest(input(v1, { port: 123 }))), 'bad-mode');
  for (const version of [2, 3, 4]) {
    const p = req({ version });
    p[0] = (p[0] as number) & 0xf8;
    assert.equal(reasonOf(r.handleRequest(input(p))), 'bad-mode');
  }
});

test('versions 0 and 5 to 7, and anything shorter than a header, get nothing', () => {
  const r = new NtpResponder({ seed: 1 });
  for (const v of [0, 5, 6, 7]) {
    const p = req();
    p[0] = (v << 3) | 3;
    assert.equal(reasonOf(r.handleRequest(input(p))), 'bad-version');
  }
  for (const len of [0, 1, 47]) assert.equal(reasonOf(r.handleRequest(input(req().subarray(0, len)))), 'too-short');
});

test('requests with extension fields or a MAC get a plain 48-byte reply; a malformed trailer gets nothing', () => {
  const r = new NtpResponder({ seed: 1 });
  const withField = encodePacket({ header: header(), extensions: [{ type: 0xf323, body: new Uint8Array(24) }], mac: null });
  assert.equal(respond(r.handleRequest(input(withField))).reply.length, 48);
  const withMac = encodePacket({ header: header(), extensions: [], mac: { keyId: 1, digest: new Uint8Array(20) } });
  assert.equal(respond(r.handleRequest(input(withMac))).reply.length, 48);
  const bogus = new Uint8Array(48 + 32);
  bogus.set(req());
  bogus.set([0x12, 0x34, 0xff, 0xfc], 48); // an extension field claiming 65532 bytes
  assert.equal(reasonOf(r.handleRequest(input(bogus))), 'malformed');
  assert.equal(reasonOf(r.handleRequest(input(new Uint8Array([...req(), 1, 2])))), 'malformed');
});

test('poll: the request\'s, at least -19, or at least the rate-limit interval', () => {
  const r = new NtpResponder({ seed: 1 });
  const poll = (p: number, cfg = CONFIG) => respond(r.handleRequest(input(req({ poll: p }), { config: cfg }))).reply[2] as number << 24 >> 24;
  assert.equal(poll(0), 0);
  assert.equal(poll(17), 17);
  assert.equal(poll(-100), -19);
  const limited = serverConfig({ access: ALLOW_ALL, rateLimit: { ...DEFAULT_RATE_LIMIT, interval: 2, burst: 255 } });
  assert.equal(poll(0, limited), 2);
  assert.equal(poll(7, limited), 7);
});

test('unsynchronized: chronyd 4.3\'s leap 3 / stratum 0 reply, or silence when so configured', () => {
  const r = new NtpResponder({ seed: 1 });
  const a = respond(r.handleRequest(input(req(), { system: unsynchronizedState(-25) })));
  const h = parseHeader(a.reply);
  assert.ok(h.ok);
  assert.deepEqual(
    [h.value.leap, h.value.stratum, h.value.referenceId, h.value.referenceTimestamp, h.value.rootDelay, h.value.rootDispersion],
    [3, 0, 0, 0n, 0x10000, 0x10000],
  );
  const quiet = serverConfig({ access: ALLOW_ALL, unsynchronized: 'ignore' });
  assert.equal(reasonOf(r.handleRequest(input(req(), { system: unsynchronizedState(-25), config: quiet }))), 'unsynchronized');
  // A synchronized state is served whatever that option says.
  const synced = synchronizedState({ leap: 1, stratum: 2, referenceId: 0xc0000201, referenceTime: T, rootDelay: 0.01, rootDispersion: 0.002, precision: -22 });
  const s = parseHeader(respond(r.handleRequest(input(req(), { system: synced, config: quiet }))).reply);
  assert.ok(s.ok && s.value.leap === 1 && s.value.stratum === 2 && s.value.referenceId === 0xc0000201 && s.value.precision === -22);
});

test('access control: nothing is served by default; denied clients are ignored or get a DENY KoD', () => {
  const r = new NtpResponder({ seed: 1 });
  assert.equal(reasonOf(r.handleRequest(input(req(), { config: serverConfig({ access: DENY_ALL }) }))), 'denied');
  const acl = access([true, '192.0.2.0/24'], [false, '192.0.2.128/25']);
  const cfg = serverConfig({ access: acl });
  assert.equal(respond(r.handleRequest(input(req(), { address: '192.0.2.1', config: cfg }))).kod, null);
  assert.equal(respond(r.handleRequest(input(req(), { address: '::ffff:192.0.2.1', config: cfg }))).kod, null);
  assert.equal(reasonOf(r.handleRequest(input(req(), { address: '192.0.2.200', config: cfg }))), 'denied');
  assert.equal(reasonOf(r.handleRequest(input(req(), { address: '2001:db8::1', config: cfg }))), 'denied');
  assert.equal(reasonOf(r.handleRequest(input(req(), { address: 'garbage', config: cfg }))), 'bad-address');
  const kod = respond(r.handleRequest(input(req(), { address: '192.0.2.200', config: { ...cfg, denied: 'kod' } })));
  assert.equal(kod.kod, 'DENY');
  const h = parseHeader(kod.reply);
  assert.ok(h.ok);
  assert.deepEqual([h.value.leap, h.value.stratum, h.value.referenceId, h.value.originTimestamp], [3, 0, refIdFromCode('DENY'), 0x0123456789abcdefn]);
  assert.equal(r.counters.kodSent.DENY, 1);
});

test('DENY KoDs are themselves rate limited', () => {
  const r = new NtpResponder({ seed: 1 });
  const cfg = serverConfig({ access: DENY_ALL, denied: 'kod', rateLimit: DEFAULT_RATE_LIMIT });
  const results = Array.from({ length: 20 }, () => r.handleRequest(input(req(), { config: cfg })));
  assert.equal(results.filter((a) => a.action === 'respond').length, 8);
  assert.equal(r.counters.dropped.denied, 12);
});

test('rate limiting: drops are counted, and `kod` turns some into RATE kiss-o\'-death replies', () => {
  const r = new NtpResponder({ seed: 1 });
  const cfg = serverConfig({ access: ALLOW_ALL, rateLimit: { ...DEFAULT_RATE_LIMIT, kod: 1 } });
  const verdicts = Array.from({ length: 10 }, () => r.handleRequest(input(req(), { config: cfg, random: 0b111 })));
  assert.equal(verdicts.filter((a) => a.action === 'respond').length, 8);
  assert.equal(r.counters.dropped['rate-limited'], 2);
  // Leak bits (low 2) non-zero: limited; KoD bit (the next one) zero: RATE.
  const kod = respond(r.handleRequest(input(req({ version: 3 }), { config: cfg, random: 0b001 })));
  assert.equal(kod.kod, 'RATE');
  assert.equal(kod.transmitTicket, null);
  const h = parseHeader(kod.reply);
  assert.ok(h.ok);
  assert.deepEqual([h.value.leap, h.value.version, h.value.mode, h.value.stratum, h.value.referenceId], [3, 3, 4, 0, refIdFromCode('RATE')]);
  assert.equal(r.counters.kodSent.RATE, 1);
  // Another client is unaffected.
  assert.equal(r.handleRequest(input(req(), { config: cfg, random: 0b111, address: '192.0.2.11' })).action, 'respond');
});

test('interleaved mode: the third request of an xleave client gets the real transmit time of the second reply', () => {
  const r = new NtpResponder({ seed: 1 });
  const t1 = respond(r.handleRequest(input(req({ transmitTimestamp: 111n }), { receivedAt: RX })));
  assert.equal(t1.transmitTicket, null);
  const rx1 = toNtpTimestamp(RX);
  // Second request: origin = our receive timestamp; receive = a client cookie.
  const rx2i = addSeconds(RX, 1);
  const t2 = respond(r.handleRequest(input(req({ originTimestamp: rx1, receiveTimestamp: 222n, transmitTimestamp: 223n }), { receivedAt: rx2i, now: addSeconds(rx2i, 1e-5) })));
  assert.equal(t2.interleaved, false, 'nothing held for the first reply yet');
  assert.ok(t2.transmitTicket);
  const realTx2 = addSeconds(rx2i, 31e-6);
  assert.ok(r.recordTransmit(t2.transmitTicket, realTx2));
  const rx3i = addSeconds(RX, 2);
  const t3 = respond(r.handleRequest(input(req({ originTimestamp: toNtpTimestamp(rx2i), receiveTimestamp: 333n, transmitTimestamp: 334n }), { receivedAt: rx3i })));
  assert.equal(t3.interleaved, true);
  assert.equal(t3.transmitTimestampOffset, null, 'the IO layer must not overwrite an interleaved transmit timestamp');
  const h = parseHeader(t3.reply);
  assert.ok(h.ok);
  assert.equal(h.value.originTimestamp, 333n, 'origin = the request\'s receive field');
  assert.equal(h.value.receiveTimestamp, toNtpTimestamp(rx3i));
  assert.equal(h.value.transmitTimestamp, toNtpTimestamp(realTx2));
  assert.equal(r.counters.interleaved, 1);
  // Without the transmit report, or with xleave off, replies stay basic.
  assert.ok(t3.transmitTicket);
  const t4 = respond(r.handleRequest(input(req({ originTimestamp: toNtpTimestamp(rx3i), receiveTimestamp: 444n, transmitTimestamp: 445n }), { receivedAt: addSeconds(RX, 3) })));
  assert.equal(t4.interleaved, false);
  const off = serverConfig({ access: ALLOW_ALL, xleave: false });
  const t5 = respond(r.handleRequest(input(req({ originTimestamp: toNtpTimestamp(addSeconds(RX, 3)), receiveTimestamp: 5n, transmitTimestamp: 6n }), { config: off })));
  assert.equal(t5.interleaved, false);
  assert.equal(t5.transmitTicket, null);
  const s = r.stats(addSeconds(RX, 4));
  assert.equal(s.interleavedNtpPackets, 1);
  assert.equal(s.ntpTimestampsHeld, 1);
});

test('interleaved state is per client address', () => {
  const r = new NtpResponder({ seed: 1 });
  const a = respond(r.handleRequest(input(req({ originTimestamp: 9n, receiveTimestamp: 1n, transmitTimestamp: 2n }), { address: '192.0.2.20' })));
  assert.ok(a.transmitTicket && r.recordTransmit(a.transmitTicket, addSeconds(RX, 1e-5)));
  const other = respond(r.handleRequest(input(req({ originTimestamp: toNtpTimestamp(RX), receiveTimestamp: 3n, transmitTimestamp: 4n }), { address: '192.0.2.21' })));
  assert.equal(other.interleaved, false);
  const same = respond(r.handleRequest(input(req({ originTimestamp: toNtpTimestamp(RX), receiveTimestamp: 3n, transmitTimestamp: 4n }), { address: '192.0.2.20' })));
  assert.equal(same.interleaved, true);
});

test('every packet is counted once: received = replied + dropped, by named reason', () => {
  const r = new NtpResponder({ seed: 1 });
  const packets = [req(), req({ mode: 4 }), req().subarray(0, 10), req({ mode: 1 }), new Uint8Array(48)];
  for (const p of packets) r.handleRequest(input(p));
  r.handleRequest(input(req(), { config: serverConfig({ access: DENY_ALL }) }));
  const s = r.stats(NOW);
  assert.equal(s.ntpPacketsReceived, 6);
  assert.equal(s.ntpPacketsReplied, 2);
  assert.equal(s.ntpPacketsDropped, 4);
  assert.deepEqual(
    Object.entries(s.droppedByReason).filter(([, n]) => n > 0),
    [['too-short', 1], ['bad-version', 1], ['not-a-request', 1], ['denied', 1]],
  );
});

test('source port 0 and non-unicast sources get nothing, whatever they sent, and are counted by name', () => {
  const r = new NtpResponder({ seed: 1 });
  const cfg = serverConfig({ access: ALLOW_ALL, denied: 'kod', rateLimit: DEFAULT_RATE_LIMIT });
  // Port 0 is judged first: even a request that would be malformed or denied is `bad-port`.
  assert.equal(reasonOf(r.handleRequest(input(req(), { port: 0 }))), 'bad-port');
  assert.equal(reasonOf(r.handleRequest(input(req().subarray(0, 10), { port: 0 }))), 'bad-port');
  assert.equal(reasonOf(r.handleRequest(input(req(), { port: 0, config: { ...cfg, access: DENY_ALL } }))), 'bad-port');
  const groups = [
    '0.0.0.0', '0.1.2.3', '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255', '::ffff:224.0.1.1', '::ffff:255.255.255.255',
    'ff02::1', 'ff05::101', '::', new Uint8Array([255, 255, 255, 255]), new Uint8Array([224, 0, 0, 1]), new Uint8Array(16),
  ];
  for (const address of groups) {
    // A DENY KoD would be sent to a denied client: not to a group.
    for (const config of [cfg, { ...cfg, access: DENY_ALL }]) {
      assert.equal(reasonOf(r.handleRequest(input(req(), { address, config }))), 'not-unicast', String(address));
    }
  }
  assert.equal(r.clients.used(), 0, 'a dropped source takes no client record');
  for (const address of ['1.0.0.0', '223.255.255.255', '127.9.12.1', '::1', '::ffff:192.0.2.1', '2001:db8::1', 'fe80::1']) {
    assert.equal(respond(r.handleRequest(input(req(), { address, port: 1 }))).kod, null, address);
  }
  const s = r.stats(NOW);
  assert.equal(s.droppedByReason['bad-port'], 3);
  assert.equal(s.droppedByReason['not-unicast'], 2 * groups.length);
  assert.equal(s.ntpPacketsReceived, s.ntpPacketsReplied + s.ntpPacketsDropped);
});

test('replies the IO layer could not send move from replied to send-failed', () => {
  const r = new NtpResponder({ seed: 1 });
  for (let i = 0; i < 5; i++) respond(r.handleRequest(input(req())));
  r.recordSendFailures(2);
  r.recordSendFailures(0);
  const s = r.stats(NOW);
  assert.deepEqual([s.ntpPacketsReceived, s.ntpPacketsReplied, s.ntpPacketsDropped, s.droppedByReason['send-failed']], [5, 3, 2, 2]);
});

// ---- Properties ----

// Every request captured from chronyd and ntpdig (src/proto/fixtures), as mutation seeds.
const FIXTURES = fileURLToPath(new URL('../../../src/proto/fixtures/', import.meta.url));
const CAPTURED: Uint8Array[] = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).flatMap((f) => {
  const fixture = JSON.parse(readFileSync(FIXTURES + f, 'utf8')) as { packets: { direction: string; hex: string }[] };
  return fixture.packets.filter((p) => p.direction === 'client-to-server').map((p) => new Uint8Array(Buffer.from(p.hex, 'hex')));
});

const packetArb = fc.oneof(
  fc.uint8Array({ maxLength: 600 }),
  // Valid-looking headers with random fields and random trailers.
  fc.tuple(fc.uint8Array({ minLength: 48, maxLength: 48 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 200 }))
    .map(([h, version, mode, tail]) => {
      const p = new Uint8Array(48 + tail.length);
      p.set(h);
      p[0] = ((h[0] as number) & 0xc0) | (version << 3) | mode;
      p.set(tail, 48);
      return p;
    }),
  // Real requests, mutated.
  fc.tuple(fc.constantFrom(...CAPTURED), fc.array(fc.tuple(fc.nat({ max: 300 }), fc.nat({ max: 255 })), { maxLength: 6 }), fc.nat({ max: 300 }), fc.boolean())
    .map(([base, edits, cut, truncate]) => {
      const p = truncate ? base.slice(0, cut) : base.slice();
      for (const [i, v] of edits) if (i < p.length) p[i] = v;
      return p;
    }),
);

const systemArb = fc.constantFrom(LOCAL, unsynchronizedState(-20), localReferenceState(10, T, -18),
  synchronizedState({ leap: 0, stratum: 3, referenceId: 1, referenceTime: T, rootDelay: 0.5, rootDispersion: 0.25, precision: -20 }));

const configArb = fc.record({
  rateLimit: fc.option(fc.record({ interval: fc.integer({ min: -19, max: 12 }), burst: fc.integer({ min: 1, max: 255 }), leak: fc.integer({ min: 1, max: 4 }), kod: fc.integer({ min: 0, max: 4 }) })),
  xleave: fc.boolean(),
  denied: fc.constantFrom('ignore' as const, 'kod' as const),
  symmetric: fc.boolean(),
  unsynchronized: fc.constantFrom('reply' as const, 'ignore' as const),
  acl: fc.constantFrom(ALLOW_ALL, DENY_ALL, access([true, '192.0.2.0/25'])),
}).map(({ acl, ...c }) => serverConfig({ access: acl, ...c }));

test('the captured requests are there to mutate', () => {
  assert.ok(CAPTURED.length >= 20, `${CAPTURED.length} captured requests`);
});

test('property: any datagram gets a named verdict, never an exception, and never a reply larger than itself', () => {
  const r = new NtpResponder({ seed: 42, clientSlots: 64 });
  fc.assert(fc.property(
    packetArb, systemArb, configArb, fc.constantFrom('192.0.2.1', '192.0.2.200', '2001:db8::5', '::ffff:192.0.2.3', 'x'),
    fc.integer({ min: 0, max: 65535 }), fc.nat({ max: 0xffffffff }), fc.bigInt({ min: 0n, max: 1n << 40n }),
    (packet, system, config, address, port, random, jitter) => {
      const copy = packet.slice();
      const a = r.handleRequest({ packet, receivedAt: RX + jitter, now: NOW + jitter, address, port, system, config, random });
      assert.deepEqual(packet, copy, 'the request is not modified');
      if (a.action === 'ignore') {
        assert.ok(DROP_REASONS.includes(a.reason));
        return;
      }
      assert.ok(packet.length >= 48);
      assert.equal(a.reply.length, 48);
      assert.ok(a.reply.length <= packet.length);
      const p = parsePacket(a.reply);
      assert.ok(p.ok, 'the reply parses');
      const h = p.value.header;
      assert.equal(h.mode, a.mode);
      assert.ok(h.mode === 4 || h.mode === 2);
      // The request parses as a v1..v4 client (possibly v1 mode 0) or symmetric packet.
      const req0 = packet.slice(0, 48);
      if (((req0[0] as number) & 7) === 0) req0[0] = (req0[0] as number) | 3;
      const rq = parseHeader(req0);
      assert.ok(rq.ok);
      assert.equal(h.version, rq.value.version);
      assert.equal(h.originTimestamp, a.interleaved ? rq.value.receiveTimestamp : rq.value.transmitTimestamp);
      assert.equal(h.receiveTimestamp, toNtpTimestamp(RX + jitter));
      if (a.kod) assert.ok(h.stratum === 0 && h.leap === 3);
    },
  ), { numRuns: 3000 });
  const s = r.stats(NOW);
  assert.equal(s.ntpPacketsReceived, s.ntpPacketsReplied + s.ntpPacketsDropped);
  assert.ok(r.clients.used() <= 64);
});

test('a legitimate client polling every 16 s is always answered during a flood from 1M spoofed addresses', () => {
  const r = new NtpResponder({ seed: 0xfeed });
  const cfg = serverConfig({ access: ALLOW_ALL, rateLimit: DEFAULT_RATE_LIMIT });
  const packet = req();
  const spoofed = new Uint8Array(4);
  let legitServed = 0;
  let legitPolls = 0;
  let legitEvicted = 0;
  const legit = newClientKey();
  setClientKey(legit, '198.51.100.7');
  let state = 1;
  const rate = 20_000;
  for (let i = 0; i < 1_000_000; i++) {
    const at = addSeconds(RX, i / rate);
    // Spread over 64.0.0.0/2: unicast, as a spoofer who wants replies sent would pick.
    const a = ((((0x0a000000 + i * 2654435761) >>> 0) & 0x3fffffff) | 0x40000000) >>> 0;
    spoofed[0] = a >>> 24; spoofed[1] = (a >>> 16) & 0xff; spoofed[2] = (a >>> 8) & 0xff; spoofed[3] = a & 0xff;
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    r.handleRequest({ packet, receivedAt: at, now: at, address: spoofed, port: 123, system: LOCAL, config: cfg, random: state });
    if (i % (16 * rate) === 0) {
      if (legitPolls++ > 0 && r.clients.find(legit) < 0) legitEvicted++;
      const v = r.handleRequest({ packet, receivedAt: at, now: at, address: '198.51.100.7', port: 50000, system: LOCAL, config: cfg, random: state });
      if (v.action === 'respond' && v.kod === null) legitServed++;
    }
  }
  assert.equal(legitPolls, 4);
  assert.equal(legitServed, legitPolls);
  assert.equal(legitEvicted, 3, 'between polls, the flood replaced the legitimate client\'s record');
  assert.ok(r.clients.recordsDropped > 900_000);
  assert.equal(r.clients.slots, 65536);
  assert.equal(r.stats(RX).ntpPacketsReceived, 1_000_004);
});

test("without rate limiting each client's request interval is still estimated (chronyc clients' Int); '-' only after one request", () => {
  const r = new NtpResponder({ seed: 1 });
  for (let i = 0; i < 6; i++) respond(r.handleRequest(input(req(), { receivedAt: addSeconds(RX, 16 * i), address: '192.0.2.7' })));
  respond(r.handleRequest(input(req(), { address: '192.0.2.8' })));
  const rows = clientReports(r.clients, clientTime(addSeconds(RX, 100)));
  assert.deepEqual(rows.map((c) => [c.address, c.ntpInterval, c.ntpTimeoutInterval]), [['192.0.2.7', 4, null], ['192.0.2.8', null, null]]);
});
