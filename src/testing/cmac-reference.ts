/**
 * AES-CMAC (RFC 4493) written the plain way, block by block as §2.4 states
 * it: an oracle for tests, independent of the product's structure
 * (crypto/cmac.ts keeps ciphers and subkeys, and switches to CBC for long
 * strings). node:crypto has AES but no CMAC.
 */
import { createCipheriv } from 'node:crypto';

export function referenceAesCmac(key: Uint8Array, msg: Uint8Array): Uint8Array {
  const aes = (block: Uint8Array): Uint8Array => {
    const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null).setAutoPadding(false);
    return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
  };
  const dbl = (b: Uint8Array): Uint8Array => {
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++) out[i] = ((b[i]! << 1) | (i < 15 ? b[i + 1]! >> 7 : 0)) & 0xff;
    if (b[0]! & 0x80) out[15]! ^= 0x87;
    return out;
  };
  const k1 = dbl(aes(new Uint8Array(16)));
  const k2 = dbl(k1);
  const n = Math.max(1, Math.ceil(msg.length / 16));
  const last = new Uint8Array(16);
  const tail = msg.subarray((n - 1) * 16);
  last.set(tail);
  if (tail.length === 16) for (let i = 0; i < 16; i++) last[i]! ^= k1[i]!;
  else {
    last[tail.length] = 0x80;
    for (let i = 0; i < 16; i++) last[i]! ^= k2[i]!;
  }
  let x: Uint8Array = new Uint8Array(16);
  for (let b = 0; b < n; b++) {
    const block = b === n - 1 ? last : msg.subarray(b * 16, b * 16 + 16);
    x = aes(x.map((v, i) => v ^ block[i]!));
  }
  return x;
}
