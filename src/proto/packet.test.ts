import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  arbAnyPacket, arbMutatedPacketBytes, arbNoisyPacketBytes, arbNtpPacket, fromHex, fuzzParams, toHex,
} from './arbitraries.test.js';
import { Leap, Mode } from './constants.js';
import { ExtensionFieldType } from './extension.js';
import { HEADER_LENGTH } from './header.js';
import { encodePacket, isNtpPacket, type NtpPacket, packetProblem, parsePacket } from './packet.js';
import type { ParseErrorReason, ParseResult } from './result.js';

// Replies of chronyd 4.3 (`local stratum 1`, `-x`, a keyfile with SHA1, MD5 and
// SHA256 keys) on loopback, 2026-11-23, to hand-made requests whose transmit
// timestamp was 0x0123456789abcdef.
const CHRONYD = {
  plainV4: '240106e700000000000000007f7f0101eeae91fbe53dc3c90123456789abcdefeeae91fd0f69c0d3eeae91fd0f6f7260',
  v3Sha1: '1c0106e700000000000000007f7f0101eeae91fbe53dc3c90123456789abcdefeeae91fd11e2d459eeae91fd11e92320'
    + '00000001f50d05264e624c5366a6f9b89f1f85f9adf864eb',
  v4Md5: '240106e700000000000000007f7f0101eeae91fbe53dc3c90123456789abcdefeeae91fd122ca77beeae91fd1230e2e8'
    + '000000026879b9bad7462c8da2131f953462b71b',
  v3Sha256: '1c0106e700000000000000007f7f0101eeae91fbe53dc3c90123456789abcdefeeae91fd1255882feeae91fd1258b974'
    + '000000032f5959b7a99c14af2ceffb0e3f2bf35bf447a70af36db8b9a01d0b9ede2a227e',
  v4MonoRootSha1: '240106e700000000000000007f7f0101eeae91fbe53dc3c90123456789abcdefeeae91fd12da4f8deeae91fd12dbd3e0'
    + 'f323001cf5bedd9a0000000000000000eeae91fd12da4fdf7869685b'
    + '00000001724dd2c48f9a11a1d854223353abd8819a4392c2',
};
// The request ntpdig (NTPsec) sent on the same day: leap 3, version 4, mode 3, only a transmit timestamp.
const NTPDIG_REQUEST = 'e3000000000000000000000000000000000000000000000000000000000000000000000000000000eeae9205ab477800';

function mustParse(hex: string): NtpPacket {
  const r = parsePacket(fromHex(hex));
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.value;
}

function assertFails(r: ParseResult<unknown>, reason: ParseErrorReason, message?: RegExp): void {
  assert.equal(r.ok, false, 'expected a parse error');
  if (r.ok) return;
  assert.equal(r.reason, reason, r.message);
  assert.match(r.message, /^Cannot parse /);
  if (message) assert.match(r.message, message);
}

test('a chronyd server reply parses into every header field', () => {
  const p = mustParse(CHRONYD.plainV4);
  assert.deepEqual(p, {
    header: {
      leap: Leap.NoWarning, version: 4, mode: Mode.Server, stratum: 1, poll: 6, precision: -25,
      rootDelay: 0, rootDispersion: 0, referenceId: 0x7f7f0101,
      referenceTimestamp: 0xeeae91fbe53dc3c9n, originTimestamp: 0x0123456789abcdefn,
      receiveTimestamp: 0xeeae91fd0f69c0d3n, transmitTimestamp: 0xeeae91fd0f6f7260n,
    },
    extensions: [],
    mac: null,
  });
  assert.equal(toHex(encodePacket(p)), CHRONYD.plainV4);
});

test('an ntpdig request: first octet 0xe3 is leap 3, version 4, client mode', () => {
  const p = mustParse(NTPDIG_REQUEST);
  assert.equal(p.header.leap, Leap.Unsynchronized);
  assert.equal(p.header.version, 4);
  assert.equal(p.header.mode, Mode.Client);
  assert.equal(p.header.transmitTimestamp, 0xeeae9205ab477800n);
  assert.equal(p.header.originTimestamp, 0n);
  assert.equal(toHex(encodePacket(p)), NTPDIG_REQUEST);
});

test('a v3 reply with a 24-byte SHA1 MAC', () => {
  const p = mustParse(CHRONYD.v3Sha1);
  assert.equal(p.header.version, 3);
  assert.deepEqual(p.extensions, []);
  assert.ok(p.mac);
  assert.equal(p.mac.keyId, 1);
  assert.equal(toHex(p.mac.digest), 'f50d05264e624c5366a6f9b89f1f85f9adf864eb');
  assert.equal(toHex(encodePacket(p)), CHRONYD.v3Sha1);
});

test('a v4 reply with a 20-byte MD5 MAC', () => {
  const p = mustParse(CHRONYD.v4Md5);
  assert.ok(p.mac);
  assert.equal(p.mac.keyId, 2);
  assert.equal(p.mac.digest.length, 16);
  assert.equal(toHex(encodePacket(p)), CHRONYD.v4Md5);
});

test('a v3 reply with an untruncated SHA256 MAC (36 bytes): v3 carries any MAC up to 72 bytes', () => {
  const p = mustParse(CHRONYD.v3Sha256);
  assert.ok(p.mac);
  assert.equal(p.mac.keyId, 3);
  assert.equal(p.mac.digest.length, 32);
  assert.equal(toHex(encodePacket(p)), CHRONYD.v3Sha256);
});

test('a v4 reply with chrony\'s experimental extension field and a SHA1 MAC', () => {
  const p = mustParse(CHRONYD.v4MonoRootSha1);
  assert.equal(p.extensions.length, 1);
  const ef = p.extensions[0];
  assert.ok(ef);
  assert.equal(ef.type, ExtensionFieldType.ChronyMonoRoot);
  assert.equal(ef.body.length, 24);
  assert.equal(toHex(ef.body.subarray(0, 4)), 'f5bedd9a');
  assert.ok(p.mac);
  assert.equal(p.mac.keyId, 1);
  assert.equal(p.mac.digest.length, 20);
  assert.equal(toHex(encodePacket(p)), CHRONYD.v4MonoRootSha1);
});

test('versions 1 to 4 parse; 0 and 5..7 do not', () => {
  const base = fromHex(CHRONYD.plainV4);
  for (let v = 0; v < 8; v++) {
    const b = Uint8Array.from(base);
    b[0] = (v << 3) | Mode.Server;
    const r = parsePacket(b);
    if (v >= 1 && v <= 4) assert.ok(r.ok && r.value.header.version === v);
    else assertFails(r, 'bad-version', new RegExp(`version is ${v}`));
  }
});

test('data after a v4 header must be an extension field or a MAC', () => {
  const header = CHRONYD.plainV4;
  const cases: [string, ParseErrorReason, RegExp][] = [
    ['00', 'trailing-data', /1 bytes follow the header/],
    ['000000', 'trailing-data', /3 bytes/],
    ['00000007', 'bad-mac-length', /crypto-NAK, whose key id must be 0/],
    ['0000000000000000', 'bad-mac-length', /8 bytes at offset 48 are neither a MAC/],
    ['00'.repeat(16), 'bad-mac-length', /16 bytes/],
    // A 16-byte field alone: the last field without a MAC must have 28 bytes (RFC 7822).
    ['01020010' + '00'.repeat(12), 'bad-mac-length', /last extension field \(28 bytes or more\)/],
    // Field lengths: not a multiple of 4, below 16, past the end.
    ['01020022' + '00'.repeat(28), 'bad-field-length', /length 34 is not a multiple of 4/],
    ['0102000c' + '00'.repeat(28), 'bad-field-length', /length 12 is below the minimum of 16/],
    ['01020000' + '00'.repeat(28), 'bad-field-length', /length 0 is below/],
    ['01020040' + '00'.repeat(28), 'bad-field-length', /length 64 runs past the end \(32 bytes remain\)/],
    // A good 16-byte field followed by 12 bytes that are nothing.
    ['01020010' + '00'.repeat(12) + '00'.repeat(12), 'bad-mac-length', /12 bytes at offset 64/],
    // A 4-byte crypto-NAK only counts right after the header.
    ['0204001c' + '11'.repeat(24) + '00000000', 'bad-mac-length', /4 bytes at offset 76/],
  ];
  for (const [tail, reason, message] of cases) {
    assertFails(parsePacket(fromHex(header + tail)), reason, message);
  }
});

test('the errors carry the offset where parsing stopped', () => {
  const r = parsePacket(fromHex(CHRONYD.plainV4 + '01020010' + '00'.repeat(12) + '00'.repeat(12)));
  assert.ok(!r.ok);
  assert.equal(r.offset, 64);
});

test('what follows a v4 header: crypto-NAK, MAC, fields, fields then MAC', () => {
  const h = CHRONYD.plainV4;
  const nak = mustParse(h + '00000000');
  assert.deepEqual(nak.mac, { keyId: 0, digest: new Uint8Array(0) });
  const ef28 = '0204001c' + '11'.repeat(24);
  const ef16 = '03040010' + '22'.repeat(12);
  const one = mustParse(h + ef28);
  assert.deepEqual(one.extensions, [{ type: 0x0204, body: fromHex('11'.repeat(24)) }]);
  assert.equal(one.mac, null);
  const two = mustParse(h + ef16 + ef28);
  assert.deepEqual(two.extensions.map((e) => e.type), [0x0304, 0x0204]);
  const withMac = mustParse(h + ef16 + '0000002a' + 'ab'.repeat(20));
  assert.deepEqual(withMac.extensions.map((e) => e.body.length), [12]);
  assert.equal(withMac.mac?.keyId, 42);
});

test('a v3 packet carries only a MAC: bytes that would be an extension field in v4 are a MAC', () => {
  const ef28 = '0204001c' + '11'.repeat(24);
  const v3 = Uint8Array.from(fromHex(CHRONYD.plainV4 + ef28));
  v3[0] = (3 << 3) | Mode.Server;
  const r = parsePacket(v3);
  assert.ok(r.ok);
  assert.deepEqual(r.value.extensions, []);
  assert.equal(r.value.mac?.keyId, 0x0204001c);
  const tooLong = Uint8Array.from([...v3, ...new Uint8Array(48)]);
  assertFails(parsePacket(tooLong), 'bad-mac-length', /NTPv3 MACs are at most 72 bytes/);
});

test('modes 6 and 7 are refused by default, even short; allowed they come back as their own messages', () => {
  const ntpqReadvar = fromHex('160200010000000000000000');
  assertFails(parsePacket(ntpqReadvar), 'control-mode', /mode 6 \(control\)/);
  const r = parsePacket(ntpqReadvar, { allowControlModes: true });
  assert.ok(r.ok);
  assert.ok(!isNtpPacket(r.value));
  assert.equal(r.value.kind, 'control');
  const monlist = fromHex('1700032a' + '00'.repeat(4));
  assertFails(parsePacket(monlist), 'control-mode', /mode 7 \(private\)/);
  const m = parsePacket(monlist, { allowControlModes: true });
  assert.ok(m.ok && !isNtpPacket(m.value) && m.value.kind === 'private');
  // A time packet still parses as one with the option set.
  const t = parsePacket(fromHex(CHRONYD.plainV4), { allowControlModes: true });
  assert.ok(t.ok && isNtpPacket(t.value));
});

test('short and empty buffers are too short; mode 0 is refused', () => {
  assertFails(parsePacket(new Uint8Array(0)), 'too-short', /empty/);
  assertFails(parsePacket(fromHex(CHRONYD.plainV4).subarray(0, 47)), 'too-short', /length is 47 bytes, need 48/);
  assertFails(parsePacket(fromHex('20' + '00'.repeat(47))), 'bad-mode');
});

test('parsing copies field bodies and digests, so a reused receive buffer cannot change them', () => {
  const buf = fromHex(CHRONYD.v4MonoRootSha1);
  const p = mustParse(CHRONYD.v4MonoRootSha1);
  const r = parsePacket(buf);
  assert.ok(r.ok);
  buf.fill(0);
  assert.deepEqual(r.value, p);
});

test('packetProblem names what would not survive encoding; encodePacket refuses it', () => {
  const p = mustParse(CHRONYD.plainV4);
  const ok = packetProblem(p);
  assert.equal(ok, null);
  const bad: [NtpPacket, RegExp][] = [
    [{ ...p, header: { ...p.header, stratum: 256 } }, /stratum 256/],
    [{ ...p, header: { ...p.header, mode: Mode.Control } }, /mode 6/],
    [{ ...p, header: { ...p.header, originTimestamp: -1n } }, /origin timestamp/],
    [{ ...p, extensions: [{ type: 1, body: new Uint8Array(12) }] }, /last, no MAC.*below the minimum of 28/],
    [{ ...p, extensions: [{ type: 1, body: new Uint8Array(26) }] }, /not a multiple of 4/],
    [{ ...p, extensions: [{ type: 0x10000, body: new Uint8Array(24) }] }, /type 65536/],
    [{ ...p, mac: { keyId: 1, digest: new Uint8Array(32) } }, /20 or 24 bytes/],
    [{ ...p, extensions: [{ type: 1, body: new Uint8Array(24) }], mac: { keyId: 0, digest: new Uint8Array(0) } }, /after extension fields/],
    [{ header: { ...p.header, version: 3 }, extensions: [{ type: 1, body: new Uint8Array(24) }], mac: null }, /NTPv3 packets have no extension fields/],
  ];
  for (const [packet, message] of bad) {
    assert.match(packetProblem(packet) ?? '', message);
    assert.throws(() => encodePacket(packet), (e: unknown) => e instanceof RangeError && /^Cannot encode NTP packet: /.test(e.message));
  }
});

test('fuzz: random bytes never make parsePacket throw, and what it accepts re-encodes exactly', () => {
  fc.assert(fc.property(arbNoisyPacketBytes(), fc.boolean(), (buf, allowControlModes) => {
    const r = parsePacket(buf, { allowControlModes });
    if (r.ok) assert.deepEqual(encodePacket(r.value), buf);
    else assert.match(r.message, /^Cannot parse /);
  }), fuzzParams());
});

test('fuzz: mutated valid packets never make parsePacket throw, and what it accepts re-encodes exactly', () => {
  fc.assert(fc.property(arbMutatedPacketBytes(), fc.boolean(), (buf, allowControlModes) => {
    const r = parsePacket(buf, { allowControlModes });
    if (r.ok) assert.deepEqual(encodePacket(r.value), buf);
    else assert.match(r.message, /^Cannot parse /);
  }), fuzzParams());
});

test('property: parse(encode(p)) deep-equals p, and encode → parse → encode gives the same bytes', () => {
  fc.assert(fc.property(arbAnyPacket(), (p) => {
    assert.equal(packetProblem(p), null);
    const bytes = encodePacket(p);
    const r = parsePacket(bytes, { allowControlModes: true });
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.deepEqual(r.value, p);
    assert.deepEqual(encodePacket(r.value), bytes);
  }), fuzzParams(2000));
});

test('property: generated NTP packets use every layout (so the round trip above covers them)', () => {
  const seen = new Set<string>();
  fc.assert(fc.property(arbNtpPacket(), (p) => {
    const layout = `${p.header.version < 4 ? 'v3' : 'v4'} ef=${Math.min(p.extensions.length, 2)} mac=${p.mac === null ? 'none' : p.mac.digest.length === 0 ? 'nak' : 'yes'}`;
    seen.add(layout);
    assert.ok(encodePacket(p).length >= HEADER_LENGTH);
  }), { numRuns: 2000 });
  for (const l of ['v3 ef=0 mac=none', 'v3 ef=0 mac=yes', 'v4 ef=0 mac=none', 'v4 ef=0 mac=nak', 'v4 ef=0 mac=yes', 'v4 ef=1 mac=none', 'v4 ef=2 mac=yes']) {
    assert.ok(seen.has(l), `no generated packet with layout ${l}: ${[...seen].join(', ')}`);
  }
});
