/**
 * Golden vectors: packets captured from real chronyd 4.3 and ntpdig (NTPsec
 * 1.2.2) on loopback (src/proto/fixtures/, made by src/testing/capture-golden.ts).
 *
 * For every packet: parsePacket accepts it, encodePacket gives back the exact
 * bytes, the header agrees with an independent decoding written here, and the
 * fields are what the capture scenario implies (who sent it, in which mode,
 * with which MAC or extension fields, as a reply to which request).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { referenceAesCmac } from '../testing/cmac-reference.js';
import { encodePacket, type NtpPacket, parsePacket } from './packet.js';

// Tests run from dist/; the fixtures live in the source tree.
const FIXTURES = fileURLToPath(new URL('../../src/proto/fixtures/', import.meta.url));

interface GoldenPacket {
  index: number;
  exchange: number;
  description: string;
  producer: string;
  direction: 'client-to-server' | 'server-to-client' | 'broadcast';
  capturedAt: string;
  length: number;
  hex: string;
}

interface GoldenFixture {
  scenario: string;
  description: string;
  capturedAt: string;
  command: string;
  setup: Record<string, string>;
  packets: GoldenPacket[];
}

/** Every scenario capture-golden.ts produces; a missing file fails the suite. */
const SCENARIOS = [
  'ntpdig-chronyd', 'ntpdig-mac', 'chronyd-client', 'chronyd-client-v3', 'chronyd-xleave',
  'chronyd-mac-sha1', 'chronyd-mac-md5', 'chronyd-mac-aes128', 'chronyd-extfield', 'chronyd-extfield-mac',
  'chronyd-nts', 'chronyd-nts-nak', 'chronyd-faketime', 'chronyd-peer', 'chronyd-broadcast',
];

function load(): GoldenFixture[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(FIXTURES + f, 'utf8')) as GoldenFixture);
}

function bytesOf(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** The header decoded by hand (RFC 5905 §7.3), as an oracle independent of header.ts. */
function oracle(b: Uint8Array) {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    leap: b[0]! >> 6,
    version: (b[0]! >> 3) & 7,
    mode: b[0]! & 7,
    stratum: b[1]!,
    poll: v.getInt8(2),
    precision: v.getInt8(3),
    rootDelay: v.getUint32(4),
    rootDispersion: v.getUint32(8),
    referenceId: v.getUint32(12),
    referenceTimestamp: v.getBigUint64(16),
    originTimestamp: v.getBigUint64(24),
    receiveTimestamp: v.getBigUint64(32),
    transmitTimestamp: v.getBigUint64(40),
  };
}

/** chronyd's refid for `local` reference mode: 127.127.1.1, ntpd's old LOCAL(0) clock address. */
const REFID_LOCAL = 0x7f7f0101;
const KISS_NTSN = 0x4e54534e; // "NTSN", RFC 8915 §5.7
const EF_F323 = 0xf323; // chrony's experimental field (chrony.conf `extfield F323`)
const EF_NTS_UID = 0x0104;
const EF_NTS_COOKIE = 0x0204;
const EF_NTS_AUTH = 0x0404;

/** What follows the header, per scenario and packet: what the capture set up, not what parsing found. */
interface Trailer {
  extensions: { type: number; bodyLength: number }[];
  mac: { keyId: number; digestLength: number } | null;
}

const NONE: Trailer = { extensions: [], mac: null };

function expectedTrailer(scenario: string, p: GoldenPacket): Trailer | 'nts' {
  switch (scenario) {
    case 'ntpdig-mac': {
      // One ntpdig run per key: -a 1 (SHA1), -a 2 (MD5), -a 3 (AES-128 CMAC).
      const keyId = p.exchange + 1;
      return { extensions: [], mac: { keyId, digestLength: keyId === 1 ? 20 : 16 } };
    }
    case 'chronyd-mac-sha1':
      return { extensions: [], mac: { keyId: 1, digestLength: 20 } };
    case 'chronyd-mac-md5':
      return { extensions: [], mac: { keyId: 2, digestLength: 16 } };
    case 'chronyd-mac-aes128':
      return { extensions: [], mac: { keyId: 3, digestLength: 16 } };
    case 'chronyd-extfield':
      return { extensions: [{ type: EF_F323, bodyLength: 24 }], mac: null };
    case 'chronyd-extfield-mac':
      return { extensions: [{ type: EF_F323, bodyLength: 24 }], mac: { keyId: 1, digestLength: 20 } };
    case 'chronyd-nts':
    case 'chronyd-nts-nak':
      return 'nts';
    default:
      return NONE;
  }
}

function parsed(p: GoldenPacket): NtpPacket {
  const r = parsePacket(bytesOf(p.hex));
  assert.ok(r.ok, r.ok ? '' : `${r.reason}: ${r.message}`);
  return r.value;
}

/** Seconds between two NTP timestamps (b - a), era-safe for nearby values. */
function secondsBetween(a: bigint, b: bigint): number {
  return Number(BigInt.asIntN(64, b - a)) / 2 ** 32;
}

/** AES-CMAC (RFC 4493), the AES128 MAC of RFC 8573: the block-by-block oracle, independent of crypto/cmac.ts. */
const aesCmac = referenceAesCmac;

/** Keys from a chrony keyfile ("ID TYPE HEX:..."), as the capture used them. */
function chronyKeys(text: string): Map<number, { type: string; key: Uint8Array }> {
  const keys = new Map<number, { type: string; key: Uint8Array }>();
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(\S+)\s+HEX:([0-9A-Fa-f]+)$/.exec(line.trim());
    if (m) keys.set(Number(m[1]), { type: m[2]!, key: bytesOf(m[3]!) });
  }
  return keys;
}

/** The MAC digest RFC 5905 §7.3 / RFC 8573 defines: H(key || data) for MD5 and SHA1, AES-CMAC(key, data) for AES128. */
function expectedDigest(type: string, key: Uint8Array, data: Uint8Array): Uint8Array {
  if (type === 'AES128') return aesCmac(key, data);
  return new Uint8Array(createHash(type === 'SHA1' ? 'sha1' : 'md5').update(key).update(data).digest());
}

test('the AES-CMAC used to check the fixtures matches RFC 4493 §4 examples 1 and 2', () => {
  const k = bytesOf('2b7e151628aed2a6abf7158809cf4f3c');
  assert.deepEqual(aesCmac(k, new Uint8Array(0)), bytesOf('bb1d6929e95937287fa37d129b756746'));
  assert.deepEqual(aesCmac(k, bytesOf('6bc1bee22e409f96e93d7e117393172a')), bytesOf('070a16b46b4d4144f79bdd9dd04a287c'));
});

const fixtures = load();

test('every golden scenario has a fixture with packets', () => {
  const have = new Set(fixtures.map((f) => f.scenario));
  assert.deepEqual(SCENARIOS.filter((s) => !have.has(s)), []);
  for (const f of fixtures) assert.ok(f.packets.length >= 2, `${f.scenario} has ${f.packets.length} packets`);
});

for (const fx of fixtures) {
  for (const p of fx.packets) {
    test(`${fx.scenario} #${p.index}: ${p.producer}: parses, re-encodes exactly, header matches`, () => {
      const bytes = bytesOf(p.hex);
      assert.equal(bytes.length, p.length);
      const pkt = parsed(p);
      assert.deepEqual(encodePacket(pkt), bytes, 'encodePacket(parsePacket(bytes)) must give the same bytes');
      assert.deepEqual({ ...pkt.header }, oracle(bytes));

      const want = expectedTrailer(fx.scenario, p);
      if (want === 'nts') return; // checked per exchange below
      assert.deepEqual(
        pkt.extensions.map((e) => ({ type: e.type, bodyLength: e.body.length })),
        want.extensions,
      );
      assert.deepEqual(pkt.mac && { keyId: pkt.mac.keyId, digestLength: pkt.mac.digest.length }, want.mac);
      if (want.mac) {
        // The digest is the packet's last bytes, right after the key id, and it
        // authenticates everything before the key id with the capture's key.
        const digestStart = bytes.length - want.mac.digestLength;
        assert.deepEqual(pkt.mac?.digest, bytes.subarray(digestStart));
        const k = chronyKeys(fx.setup.keyfile ?? '').get(want.mac.keyId);
        assert.ok(k, `fixture setup has no key ${want.mac.keyId}`);
        assert.deepEqual(expectedDigest(k.type, k.key, bytes.subarray(0, digestStart - 4)), bytes.subarray(digestStart));
      }
    });
  }

  test(`${fx.scenario}: fields match the capture scenario`, () => {
    const pkts = fx.packets.map((p) => ({ meta: p, pkt: parsed(p) }));
    const exchanges = new Map<number, { req?: NtpPacket; rep?: NtpPacket }>();
    for (const { meta, pkt } of pkts) {
      const e = exchanges.get(meta.exchange) ?? {};
      if (meta.direction === 'client-to-server') e.req = pkt;
      else e.rep = pkt;
      exchanges.set(meta.exchange, e);
    }
    checkScenario(fx.scenario, pkts, [...exchanges.values()]);
  });
}

type Captured = { meta: GoldenPacket; pkt: NtpPacket }[];

function checkScenario(scenario: string, pkts: Captured, exchanges: { req?: NtpPacket; rep?: NtpPacket }[]): void {
  const pairs = exchanges.filter((e): e is { req: NtpPacket; rep: NtpPacket } => !!e.req && !!e.rep);

  // A chronyd server reply in basic mode: synchronized stratum 1 from `local`,
  // same version as asked, origin echoing the request's transmit timestamp.
  const basicReply = (req: NtpPacket, rep: NtpPacket, mode = 4): void => {
    assert.equal(rep.header.mode, mode);
    assert.equal(rep.header.version, req.header.version);
    assert.equal(rep.header.leap, 0);
    assert.equal(rep.header.stratum, 1);
    assert.equal(rep.header.referenceId, REFID_LOCAL);
    assert.ok(rep.header.precision < 0);
    assert.equal(rep.header.originTimestamp, req.header.transmitTimestamp);
    assert.ok(rep.header.receiveTimestamp <= rep.header.transmitTimestamp);
  };
  // ntpdig's request (NTPsec SyncPacket defaults): LI 3 (unsynchronized), stratum 0, its real send time as transmit.
  const ntpdigRequest = (req: NtpPacket): void => {
    assert.deepEqual([req.header.leap, req.header.version, req.header.mode, req.header.stratum], [3, 4, 3, 0]);
    assert.equal(req.header.originTimestamp, 0n);
    assert.notEqual(req.header.transmitTimestamp, 0n);
  };
  // chronyd's client request (RFC 9109 style): stratum 0, random transmit cookie.
  const chronydRequest = (req: NtpPacket, version = 4): void => {
    assert.deepEqual([req.header.version, req.header.mode, req.header.stratum], [version, 3, 0]);
    assert.notEqual(req.header.transmitTimestamp, 0n);
  };

  switch (scenario) {
    case 'ntpdig-chronyd':
    case 'ntpdig-mac':
      assert.ok(pairs.length >= (scenario === 'ntpdig-mac' ? 3 : 2));
      for (const { req, rep } of pairs) {
        ntpdigRequest(req);
        basicReply(req, rep);
      }
      if (scenario === 'ntpdig-mac') {
        // chronyd answers with the key the request was signed with.
        for (const { req, rep } of pairs) assert.equal(rep.mac?.keyId, req.mac?.keyId);
      }
      return;
    case 'chronyd-client':
    case 'chronyd-client-v3':
    case 'chronyd-mac-sha1':
    case 'chronyd-mac-md5':
    case 'chronyd-mac-aes128':
    case 'chronyd-extfield':
    case 'chronyd-extfield-mac': {
      const version = scenario === 'chronyd-client-v3' ? 3 : 4;
      assert.ok(pairs.length >= 2);
      for (const { req, rep } of pairs) {
        chronydRequest(req, version);
        // Basic mode: chronyd's client leaves origin and receive zero.
        assert.equal(req.header.originTimestamp, 0n);
        assert.equal(req.header.receiveTimestamp, 0n);
        basicReply(req, rep);
      }
      return;
    }
    case 'chronyd-xleave': {
      let interleaved = 0;
      for (const { req, rep } of pairs) {
        chronydRequest(req);
        if (rep.header.originTimestamp === req.header.transmitTimestamp) {
          basicReply(req, rep);
          continue;
        }
        // Interleaved reply: origin echoes the request's receive field, and the
        // transmit timestamp is the previous reply's, so it precedes this receive.
        interleaved++;
        assert.notEqual(req.header.originTimestamp, 0n);
        assert.equal(rep.header.originTimestamp, req.header.receiveTimestamp);
        assert.ok(rep.header.transmitTimestamp < rep.header.receiveTimestamp);
        assert.deepEqual([rep.header.mode, rep.header.stratum, rep.header.referenceId], [4, 1, REFID_LOCAL]);
      }
      // Interleaved requests name the previous reply's receive timestamp as origin.
      for (let i = 1; i < pairs.length; i++) {
        const { req } = pairs[i]!;
        if (req.header.originTimestamp !== 0n) assert.equal(req.header.originTimestamp, pairs[i - 1]!.rep.header.receiveTimestamp);
      }
      assert.ok(interleaved >= 2, `${interleaved} interleaved replies`);
      return;
    }
    case 'chronyd-nts': {
      assert.ok(pairs.length >= 2);
      for (const { req, rep } of pairs) {
        chronydRequest(req);
        basicReply(req, rep);
        assert.equal(req.mac, null);
        assert.equal(rep.mac, null);
        const reqTypes = req.extensions.map((e) => e.type);
        assert.equal(reqTypes[0], EF_NTS_UID);
        assert.ok(reqTypes.includes(EF_NTS_COOKIE));
        assert.equal(reqTypes.at(-1), EF_NTS_AUTH, 'the Authenticator is the last field (RFC 8915 §5.6)');
        assert.deepEqual(rep.extensions.map((e) => e.type), [EF_NTS_UID, EF_NTS_AUTH]);
        assert.ok(req.extensions[0]!.body.length >= 32, 'unique identifier of at least 32 octets (RFC 8915 §5.3)');
        assert.deepEqual(rep.extensions[0]!.body, req.extensions[0]!.body, 'reply echoes the unique identifier');
      }
      return;
    }
    case 'chronyd-nts-nak': {
      const [{ req, rep }] = pairs as [{ req: NtpPacket; rep: NtpPacket }];
      assert.deepEqual(req.extensions.map((e) => e.type), [EF_NTS_UID, EF_NTS_COOKIE, EF_NTS_AUTH]);
      // Kiss-o'-death NTSN: stratum 0, the kiss code in the refid, UID echoed, nothing else.
      assert.deepEqual([rep.header.mode, rep.header.stratum, rep.header.referenceId], [4, 0, KISS_NTSN]);
      assert.equal(rep.header.leap, 3);
      assert.equal(rep.header.originTimestamp, req.header.transmitTimestamp);
      assert.deepEqual(rep.extensions.map((e) => e.type), [EF_NTS_UID]);
      assert.deepEqual(rep.extensions[0]!.body, req.extensions[0]!.body);
      assert.equal(rep.mac, null);
      return;
    }
    case 'chronyd-faketime': {
      const [{ req, rep }] = pairs as [{ req: NtpPacket; rep: NtpPacket }];
      ntpdigRequest(req);
      basicReply(req, rep);
      // ntpdig sends its real clock; the server's clock runs 2.5 s ahead (FAKETIME=+2.5).
      const ahead = secondsBetween(req.header.transmitTimestamp, rep.header.receiveTimestamp);
      assert.ok(Math.abs(ahead - 2.5) < 0.1, `server receive is ${ahead} s after the request's transmit`);
      return;
    }
    case 'chronyd-peer': {
      assert.ok(pairs.length >= 2);
      for (const { req, rep } of pairs) {
        assert.equal(req.header.mode, 1);
        basicReply(req, rep, 2);
      }
      // Once synchronized, the active peer advertises stratum 2 and its source's IPv4 address as refid.
      const last = pairs.at(-1)!.req.header;
      assert.equal(last.stratum, 2);
      assert.equal(last.referenceId >>> 24, 127);
      return;
    }
    case 'chronyd-broadcast':
      for (const { pkt, meta } of pkts) {
        assert.equal(meta.direction, 'broadcast');
        assert.deepEqual([pkt.header.mode, pkt.header.version, pkt.header.stratum, pkt.header.referenceId], [5, 4, 1, REFID_LOCAL]);
        assert.equal(pkt.header.originTimestamp, 0n);
        assert.equal(pkt.header.receiveTimestamp, 0n);
        assert.notEqual(pkt.header.transmitTimestamp, 0n);
      }
      return;
    default:
      assert.fail(`no expectations written for scenario ${scenario}`);
  }
}
