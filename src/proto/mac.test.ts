import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { arbMac, fuzzParams } from './arbitraries.test.js';
import { isCryptoNak, macLength, macProblem, parseMac, writeMac } from './mac.js';

function macBytes(keyId: number, digestLength: number): Uint8Array {
  const b = new Uint8Array(4 + digestLength).fill(0xab);
  new DataView(b.buffer).setUint32(0, keyId);
  return b;
}

test('NTPv4 MAC lengths: 20 and 24, or a 4-byte crypto-NAK with key id 0 right after the header', () => {
  for (const n of [16, 20]) {
    const r = parseMac(macBytes(7, n), 4);
    assert.ok(r.ok);
    assert.equal(r.value.keyId, 7);
    assert.equal(r.value.digest.length, n);
  }
  const nak = parseMac(macBytes(0, 0), 4);
  assert.ok(nak.ok && isCryptoNak(nak.value));
  for (const [keyId, n, after] of [[5, 0, false], [0, 0, true], [1, 4, false], [1, 12, false], [1, 24, false], [1, 64, false]] as const) {
    const r = parseMac(macBytes(keyId, n), 4, after);
    assert.ok(!r.ok, `key ${keyId}, digest ${n}`);
    assert.equal(r.reason, 'bad-mac-length');
    assert.match(r.message, /^Cannot parse MAC of \d+ bytes: /);
  }
});

test('NTPv1..v3 MACs: a key id and a digest of 0 to 68 bytes (MD5, SHA1, SHA-2, MS-SNTP)', () => {
  for (const version of [1, 2, 3]) {
    for (const n of [0, 8, 16, 20, 32, 64, 68]) assert.ok(parseMac(macBytes(3, n), version).ok, `v${version} digest ${n}`);
    const long = parseMac(macBytes(3, 72), version);
    assert.ok(!long.ok && long.reason === 'bad-mac-length');
  }
  const odd = parseMac(new Uint8Array(6), 3);
  assert.ok(!odd.ok && /whole 32-bit words/.test(odd.message));
});

test('the key id is unsigned', () => {
  const r = parseMac(macBytes(0xffff_fffe, 16), 4);
  assert.ok(r.ok && r.value.keyId === 0xffff_fffe);
});

test('property: MACs round-trip for every version, and macProblem agrees with parseMac', () => {
  const arb = fc.integer({ min: 1, max: 4 }).chain((v) => fc.tuple(fc.constant(v), fc.boolean()).chain(([version, after]) => arbMac(version, after && version === 4).map((mac) => ({ version, after: after && version === 4, mac }))));
  fc.assert(fc.property(arb, ({ version, after, mac }) => {
    assert.equal(macProblem(mac, version, after), null);
    const out = new Uint8Array(macLength(mac));
    assert.equal(writeMac(mac, out, 0), out.length);
    const r = parseMac(out, version, after);
    assert.ok(r.ok);
    assert.deepEqual(r.value, mac);
  }), fuzzParams(3000));
  fc.assert(fc.property(fc.uint8Array({ maxLength: 90 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), (buf, version, after) => {
    const r = parseMac(buf, version, after);
    if (r.ok) assert.equal(macProblem(r.value, version, after), null);
  }), fuzzParams());
});
