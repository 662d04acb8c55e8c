import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type SivBackend, SivKey, sivBackend, sivDecrypt, sivEncrypt, sivKeyLength, SIV_TAG_LENGTH } from './aes-siv.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('RFC 5297 A.1: deterministic authenticated encryption', () => {
  const key = hex('fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff');
  const ad = hex('10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627');
  const plaintext = hex('11223344 55667788 99aabbcc ddee');
  const sealed = sivEncrypt(key, plaintext, [ad]);
  assert.equal(toHex(sealed), '85632d07c6e8f37f950acd320a2ecc93' + '40c02b9690c4dc04daef7f6afe5c');
  assert.deepEqual(sivDecrypt(key, sealed, [ad]), plaintext);
});

test('RFC 5297 A.2: nonce-based authenticated encryption, two AD strings and a nonce', () => {
  const key = hex('7f7e7d7c 7b7a7978 77767574 73727170 40414243 44454647 48494a4b 4c4d4e4f');
  const ad1 = hex('00112233 44556677 8899aabb ccddeeff deaddada deaddada ffeeddcc bbaa9988 77665544 33221100');
  const ad2 = hex('10203040 50607080 90a0');
  const nonce = hex('09f91102 9d74e35b d84156c5 635688c0');
  const plaintext = hex(`74686973 20697320 736f6d65 20706c61 696e7465 78742074 6f20656e 63727970
    74207573 696e6720 5349562d 414553`);
  const sealed = sivEncrypt(key, plaintext, [ad1, ad2], nonce);
  assert.equal(toHex(sealed), (`7bdb6e3b 432667eb 06f4d14b ff2fbd0f cb900f2f ddbe4043 26601965 c889bf17
    dba77ceb 094fa663 b7a3f748 ba8af829 ea64ad54 4a272e9c 485b62a3 fd5c0d`).replace(/\s+/g, ''));
  assert.deepEqual(sivDecrypt(key, sealed, [ad1, ad2], nonce), plaintext);
  // The nonce is a distinct S2V string: passing it as AD instead gives the same result, dropping it does not.
  assert.deepEqual(sivDecrypt(key, sealed, [ad1, ad2, nonce]), plaintext);
  assert.equal(sivDecrypt(key, sealed, [ad1, ad2]), null);
});

test('key lengths: ids 15, 16, 17 take 32, 48, 64 bytes; other lengths throw', () => {
  assert.equal(sivKeyLength(15), 32);
  assert.equal(sivKeyLength(16), 48);
  assert.equal(sivKeyLength(17), 64);
  assert.equal(sivKeyLength(30), null);
  assert.throws(() => sivEncrypt(new Uint8Array(16), new Uint8Array(1)), /32, 48 or 64-byte key, got 16/);
  assert.throws(() => sivDecrypt(new Uint8Array(33), new Uint8Array(20)), RangeError);
});

test('a sealed message shorter than the tag is rejected', () => {
  assert.equal(sivDecrypt(new Uint8Array(32), new Uint8Array(SIV_TAG_LENGTH - 1)), null);
});

const keyArb = fc.constantFrom(32, 48, 64).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: 0, maxLength: max });

test('property: decrypt(encrypt(p)) == p for every key size, AD vector, nonce and length', () => {
  fc.assert(fc.property(keyArb, bytes(70), fc.array(bytes(40), { maxLength: 3 }), fc.option(bytes(20), { nil: undefined }),
    (key, p, ad, nonce) => {
      const sealed = sivEncrypt(key, p, ad, nonce);
      assert.equal(sealed.length, p.length + SIV_TAG_LENGTH);
      assert.deepEqual(sivDecrypt(key, sealed, ad, nonce), p);
    }), { numRuns: 300 });
});

// At least 8 bytes of plaintext: with none, the CTR half of the key takes no part and a flip there changes
// nothing; with n bytes, a flip there still decrypts to the same plaintext (and passes) with probability
// 2^-8n, as the new keystream may match the old one by chance: 1 in 256 for one byte, which failed a run.
test('property: any bit flipped in the tag, ciphertext, AD, nonce or key is rejected', () => {
  fc.assert(fc.property(keyArb, fc.uint8Array({ minLength: 8, maxLength: 50 }), fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.uint8Array({ minLength: 1, maxLength: 16 }),
    fc.nat(), fc.nat(7), fc.constantFrom('sealed', 'ad', 'nonce', 'key'),
    (key, p, ad, nonce, at, bit, where) => {
      const sealed = sivEncrypt(key, p, [ad], nonce);
      const flip = (b: Uint8Array): Uint8Array => { const c = Uint8Array.from(b); const i = at % c.length; c[i] = (c[i] as number) ^ (1 << bit); return c; };
      const r = where === 'sealed' ? sivDecrypt(key, flip(sealed), [ad], nonce)
        : where === 'ad' ? sivDecrypt(key, sealed, [flip(ad)], nonce)
          : where === 'nonce' ? sivDecrypt(key, sealed, [ad], flip(nonce))
            : sivDecrypt(flip(key), sealed, [ad], nonce);
      assert.equal(r, null);
    }), { numRuns: 400 });
});

test('property: truncated or extended ciphertext is rejected', () => {
  fc.assert(fc.property(keyArb, fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.boolean(), (key, p, extend) => {
    const sealed = sivEncrypt(key, p, [], new Uint8Array(16));
    const changed = extend ? Uint8Array.from([...sealed, 0]) : sealed.subarray(0, sealed.length - 1);
    assert.equal(sivDecrypt(key, changed, [], new Uint8Array(16)), null);
  }), { numRuns: 100 });
});

test('SivKey instances kept across messages do not mix keys up: many keys in turn, each decrypts only its own messages', () => {
  const keys = Array.from({ length: 10 }, (_, i) => new SivKey(new Uint8Array(32).fill(i + 1)));
  const sealed = keys.map((k, i) => k.encrypt(new Uint8Array([i]), [], new Uint8Array(16)));
  for (let round = 0; round < 3; round++) {
    keys.forEach((k, i) => {
      assert.deepEqual(k.decrypt(sealed[i] as Uint8Array, [], new Uint8Array(16)), new Uint8Array([i]));
      assert.equal(k.decrypt(sealed[(i + 1) % keys.length] as Uint8Array, [], new Uint8Array(16)), null);
      assert.deepEqual(sivDecrypt(new Uint8Array(32).fill(i + 1), sealed[i] as Uint8Array, [], new Uint8Array(16)), new Uint8Array([i]), 'a kept key and a one-off agree');
    });
  }
});

// Both implementations: the addon's (native/aes_siv.c, on OpenSSL's AES) and the JS fallback.
const nativeSkip = sivBackend() === 'openssl' ? false : 'the native addon with AES-SIV is not loaded';
const backends: readonly [SivBackend, string | false][] = [['js', false], ['openssl', nativeSkip]];

test('the addon\'s AES-SIV is what runs where the addon is required (NTPKIT_REQUIRE_NATIVE=1 on Linux)', (t) => {
  if (process.env.NTPKIT_REQUIRE_NATIVE !== '1' || process.platform !== 'linux') {
    t.skip('NTPKIT_REQUIRE_NATIVE is not 1');
    return;
  }
  assert.equal(sivBackend(), 'openssl');
});

for (const [backend, skip] of backends) {
  test(`${backend}: RFC 5297 A.1 and A.2 vectors, and forgeries rejected`, { skip }, () => {
    const k1 = new SivKey(hex('fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff'), backend);
    const ad = hex('10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627');
    const p1 = hex('11223344 55667788 99aabbcc ddee');
    const s1 = k1.encrypt(p1, [ad]);
    assert.equal(toHex(s1), '85632d07c6e8f37f950acd320a2ecc93' + '40c02b9690c4dc04daef7f6afe5c');
    assert.deepEqual(k1.decrypt(s1, [ad]), p1);
    const k2 = new SivKey(hex('7f7e7d7c 7b7a7978 77767574 73727170 40414243 44454647 48494a4b 4c4d4e4f'), backend);
    const ad1 = hex('00112233 44556677 8899aabb ccddeeff deaddada deaddada ffeeddcc bbaa9988 77665544 33221100');
    const ad2 = hex('10203040 50607080 90a0');
    const nonce = hex('09f91102 9d74e35b d84156c5 635688c0');
    const p2 = hex(`74686973 20697320 736f6d65 20706c61 696e7465 78742074 6f20656e 63727970
      74207573 696e6720 5349562d 414553`);
    const s2 = k2.encrypt(p2, [ad1, ad2], nonce);
    assert.equal(toHex(s2), (`7bdb6e3b 432667eb 06f4d14b ff2fbd0f cb900f2f ddbe4043 26601965 c889bf17
      dba77ceb 094fa663 b7a3f748 ba8af829 ea64ad54 4a272e9c 485b62a3 fd5c0d`).replace(/\s+/g, ''));
    assert.deepEqual(k2.decrypt(s2, [ad1, ad2], nonce), p2);
    assert.equal(k2.decrypt(s2, [ad1, ad2]), null);
    const forged = Uint8Array.from(s2);
    forged[20] = (forged[20] as number) ^ 1;
    assert.equal(k2.decrypt(forged, [ad1, ad2], nonce), null);
    assert.equal(k2.decrypt(s2.subarray(0, SIV_TAG_LENGTH - 1), [ad1, ad2], nonce), null);
    assert.throws(() => new SivKey(new Uint8Array(16), backend), RangeError);
  });
}

test('property: the addon and the JS fallback give the same bytes and open each other\'s, empty plaintexts (chronyd\'s requests) and long ones included', { skip: nativeSkip }, () => {
  fc.assert(fc.property(keyArb, fc.oneof(bytes(0), bytes(40), bytes(3000)), fc.array(fc.oneof(bytes(40), bytes(300)), { maxLength: 3 }), fc.option(bytes(20), { nil: undefined }),
    (key, p, ad, nonce) => {
      const js = new SivKey(key, 'js');
      const native = new SivKey(key, 'openssl');
      const a = js.encrypt(p, ad, nonce);
      const b = native.encrypt(p, ad, nonce);
      assert.equal(toHex(b), toHex(a));
      assert.equal(b.constructor, Uint8Array);
      assert.deepEqual(native.decrypt(a, ad, nonce), p);
      assert.deepEqual(js.decrypt(b, ad, nonce), p);
      const forged = Uint8Array.from(b);
      forged[0] = (forged[0] as number) ^ 0x80;
      assert.equal(native.decrypt(forged, ad, nonce), null);
    }), { numRuns: 300 });
});
