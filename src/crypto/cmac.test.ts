import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { referenceAesCmac } from '../testing/cmac-reference.js';
import { aesCmac, CmacKey, dbl } from './cmac.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const MESSAGE = hex(`6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51
  30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710`);

test('RFC 4493 §4 test vectors (AES-128): 0, 16, 40 and 64-byte messages', () => {
  const key = hex('2b7e1516 28aed2a6 abf71588 09cf4f3c');
  assert.equal(toHex(aesCmac(key, MESSAGE.subarray(0, 0))), 'bb1d6929e95937287fa37d129b756746');
  assert.equal(toHex(aesCmac(key, MESSAGE.subarray(0, 16))), '070a16b46b4d4144f79bdd9dd04a287c');
  assert.equal(toHex(aesCmac(key, MESSAGE.subarray(0, 40))), 'dfa66747de9ae63030ca32611497c827');
  assert.equal(toHex(aesCmac(key, MESSAGE)), '51f0bebf7e3b9d92fc49741779363cfe');
});

test('RFC 4493 §4 subkeys: K1 and K2 come from doubling AES(K, 0)', () => {
  const l = hex('7df76b0c 1ab899b3 3e42f047 b91b546f');
  assert.equal(toHex(dbl(l)), 'fbeed618357133667c85e08f7236a8de');
  assert.equal(toHex(dbl(dbl(l))), 'f7ddac306ae266ccf90bc11ee46d513b');
});

test('NIST SP 800-38B examples for AES-256 (D.3): 0 and 64-byte messages', () => {
  const key = hex('603deb10 15ca71be 2b73aef0 857d7781 1f352c07 3b6108d7 2d9810a3 0914dff4');
  assert.equal(toHex(aesCmac(key, MESSAGE.subarray(0, 0))), '028962f61b7bf89efc6b551f4667d983');
  assert.equal(toHex(aesCmac(key, MESSAGE)), 'e1992190549f6ed5696a2c056c315410');
});

test('agrees with OpenSSL\'s CMAC on random keys and messages of every length class', { skip: !hasOpensslMac() && 'openssl 3 (mac command) not installed' }, () => {
  fc.assert(fc.property(
    fc.constantFrom(16, 32), fc.uint8Array({ minLength: 0, maxLength: 80 }), fc.uint8Array({ minLength: 32, maxLength: 32 }),
    (keyLen, data, keyBytes) => {
      const key = keyBytes.subarray(0, keyLen);
      const ours = toHex(aesCmac(key, data));
      const theirs = execFileSync('openssl', ['mac', '-cipher', keyLen === 16 ? 'AES-128-CBC' : 'AES-256-CBC', '-macopt', `hexkey:${toHex(key)}`, '-in', '-', 'CMAC'], { input: data }).toString().trim().toLowerCase();
      assert.equal(ours, theirs);
    }), { numRuns: 40 });
});

test('keys of other lengths are refused', () => {
  assert.throws(() => aesCmac(new Uint8Array(20), new Uint8Array(1)), /16, 24 or 32-byte key/);
});

function hasOpensslMac(): boolean {
  try {
    execFileSync('openssl', ['mac', '-help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('property: a CmacKey kept across messages (block by block, CBC for long ones) equals the block-by-block reference on every length class', () => {
  fc.assert(fc.property(fc.constantFrom(16, 24, 32).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })), fc.uint8Array({ maxLength: 300 }), (key, data) => {
    const kept = new CmacKey(key);
    assert.equal(toHex(kept.mac(data)), toHex(referenceAesCmac(key, data)));
    // Again, on the same key's state.
    assert.equal(toHex(kept.mac(data)), toHex(referenceAesCmac(key, data)));
    assert.equal(toHex(aesCmac(key, data)), toHex(referenceAesCmac(key, data)));
  }), { numRuns: 300 });
});
