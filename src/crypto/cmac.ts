/**
 * AES-CMAC (RFC 4493; NIST SP 800-38B) for AES-128, -192 and -256 keys.
 * node:crypto has AES but no CMAC mode, and the npm packages for it are
 * unmaintained, so it is built here on node:crypto's AES: the first n-1
 * blocks through AES-CBC with a zero IV (one native call), the last block
 * masked with the derived subkey K1 (complete) or K2 (padded) and encrypted.
 * Used by RFC 8573 symmetric keys (AES128/AES256 in chrony's keyfile) and by
 * S2V in AES-SIV (RFC 5297), which NTS needs.
 */
import { createCipheriv } from 'node:crypto';

const BLOCK = 16;
/** The constant R_b of RFC 4493 §2.3 for 128-bit blocks. */
const RB = 0x87;
const ZERO_IV = new Uint8Array(BLOCK);

function ecbName(key: Uint8Array): string {
  switch (key.length) {
    case 16: return 'aes-128-ecb';
    case 24: return 'aes-192-ecb';
    case 32: return 'aes-256-ecb';
    default: throw new RangeError(`AES-CMAC needs a 16, 24 or 32-byte key, got ${key.length} bytes`);
  }
}

/** One block through AES (ECB of a single block). */
export function aesBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv(ecbName(key), key, null);
  c.setAutoPadding(false);
  return new Uint8Array(c.update(block));
}

/** Doubling in GF(2^128) (RFC 4493 §2.3, RFC 5297's dbl()). */
export function dbl(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(BLOCK);
  let carry = 0;
  for (let i = BLOCK - 1; i >= 0; i--) {
    const v = b[i] as number;
    out[i] = ((v << 1) | carry) & 0xff;
    carry = v >>> 7;
  }
  if (((b[0] as number) & 0x80) !== 0) out[BLOCK - 1] = (out[BLOCK - 1] as number) ^ RB;
  return out;
}

/** The two subkeys of RFC 4493 §2.3. */
function subkeys(key: Uint8Array): { k1: Uint8Array; k2: Uint8Array } {
  const l = aesBlock(key, new Uint8Array(BLOCK));
  const k1 = dbl(l);
  return { k1, k2: dbl(k1) };
}

/** The 16-byte AES-CMAC tag of `data` under `key`. */
export function aesCmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  const { k1, k2 } = subkeys(key);
  const complete = data.length > 0 && data.length % BLOCK === 0;
  const lastStart = data.length === 0 ? 0 : complete ? data.length - BLOCK : data.length - (data.length % BLOCK);
  // X = CBC-MAC of every block but the last (RFC 4493 §2.4 step 6), or zero when there is one block.
  let x: Uint8Array = new Uint8Array(BLOCK);
  if (lastStart > 0) {
    const name = ecbName(key).replace('ecb', 'cbc');
    const cbc = createCipheriv(name, key, ZERO_IV);
    cbc.setAutoPadding(false);
    const out = cbc.update(data.subarray(0, lastStart));
    x = new Uint8Array(out.subarray(out.length - BLOCK));
  }
  const last = new Uint8Array(BLOCK);
  const tail = data.subarray(lastStart);
  last.set(tail);
  if (!complete) last[tail.length] = 0x80;
  const mask = complete ? k1 : k2;
  for (let i = 0; i < BLOCK; i++) last[i] = (last[i] as number) ^ (mask[i] as number) ^ (x[i] as number);
  return aesBlock(key, last);
}
