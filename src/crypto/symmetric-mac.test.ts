import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { aesCmac } from './cmac.js';
import { appendMac, checkDigest, fullDigest, KEY_TYPES, macDigest, MAX_V4_DIGEST, type SymmetricKey } from './symmetric-mac.js';

const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const key = (type: SymmetricKey['type'], k: Uint8Array, id = 1): SymmetricKey => ({ id, type, key: k });

test('hash keys digest H(key || packet) with node:crypto, AES keys use AES-CMAC(key, packet)', () => {
  const data = hex('230000000000000000000000000000000000000000000000000000000000000000000000000000001234567890abcdef');
  const k = hex('0123456789abcdef0123456789abcdef');
  for (const [type, alg] of [['MD5', 'md5'], ['SHA1', 'sha1'], ['SHA256', 'sha256'], ['SHA384', 'sha384'], ['SHA512', 'sha512']] as const) {
    assert.deepEqual(fullDigest(key(type, k), data), new Uint8Array(createHash(alg).update(k).update(data).digest()), type);
  }
  assert.deepEqual(fullDigest(key('AES128', k), data), aesCmac(k, data));
  const k32 = new Uint8Array(32).fill(7);
  assert.deepEqual(fullDigest(key('AES256', k32), data), aesCmac(k32, data));
});

test('NTPv4 MACs are cut to 20 octets (RFC 7822: the MAC is at most 24), NTPv3 ones carry the whole digest', () => {
  const data = new Uint8Array(48);
  const lengths: Record<string, [number, number]> = {
    MD5: [16, 16], SHA1: [20, 20], SHA256: [20, 32], SHA384: [20, 48], SHA512: [20, 64], AES128: [16, 16], AES256: [16, 16],
  };
  for (const type of KEY_TYPES) {
    const k = key(type, new Uint8Array(type === 'AES256' ? 32 : 16).fill(1));
    assert.equal(macDigest(k, data, 4).length, lengths[type]?.[0], type);
    assert.equal(macDigest(k, data, 3).length, lengths[type]?.[1], type);
    assert.ok(macDigest(k, data, 4).length <= MAX_V4_DIGEST);
  }
});

test('appendMac then checkDigest round-trips; any flipped bit, another key or another length fails', () => {
  fc.assert(fc.property(
    fc.constantFrom(...KEY_TYPES), fc.uint8Array({ minLength: 48, maxLength: 96 }), fc.integer({ min: 1, max: 0xffffffff }), fc.nat(),
    (type, body, id, flip) => {
      const k = key(type, new Uint8Array(type === 'AES256' ? 32 : 16).map((_, i) => i * 7 + 1), id);
      const signed = appendMac(body, k, 4);
      const d = macDigest(k, body, 4);
      assert.equal(signed.length, body.length + 4 + d.length);
      assert.equal(new DataView(signed.buffer).getUint32(body.length), id);
      const digest = signed.subarray(body.length + 4);
      assert.ok(checkDigest(k, body, digest, 4));
      const bad = signed.slice();
      const at = flip % bad.length;
      bad[at] = (bad[at] as number) ^ 1;
      if (at >= body.length + 4) assert.ok(!checkDigest(k, body, bad.subarray(body.length + 4), 4));
      else if (at < body.length) assert.ok(!checkDigest(k, bad.subarray(0, body.length), digest, 4));
      const other = { ...k, key: k.key.map((b) => b ^ 0x80) };
      assert.ok(!checkDigest(other, body, digest, 4));
      assert.ok(!checkDigest(k, body, digest.subarray(0, digest.length - 4), 4));
    }), { numRuns: 300 });
});
