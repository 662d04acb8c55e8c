/**
 * AES-CMAC (RFC 4493; NIST SP 800-38B) for AES-128, -192 and -256 keys.
 * node:crypto has AES but no CMAC mode, and the npm packages for it are
 * unmaintained, so it is built here on node:crypto's AES. Used by RFC 8573
 * symmetric keys (AES128/AES256 in chrony's keyfile) and by S2V in AES-SIV
 * (RFC 5297), which NTS needs.
 *
 * Speed: creating a node:crypto cipher costs about as much as encrypting
 * 100 blocks, and S2V runs a dozen CMACs per message. So a CmacKey keeps one
 * ECB cipher alive across calls (ECB with padding off returns each block at
 * once), works out its subkeys once, and uses CBC only for long strings. Its
 * owner (an AES-SIV key, a symmetric key) decides how long it lives.
 */
import { type Cipher, createCipheriv } from 'node:crypto';

const BLOCK = 16;
/** The constant R_b of RFC 4493 §2.3 for 128-bit blocks. */
const RB = 0x87;
const ZERO_IV = new Uint8Array(BLOCK);
/** Above this many octets before the last block, one CBC call beats block-by-block ECB calls. */
const CBC_FROM = 8 * BLOCK;

function aesBits(key: Uint8Array): number {
  switch (key.length) {
    case 16: return 128;
    case 24: return 192;
    case 32: return 256;
    default: throw new RangeError(`AES-CMAC needs a 16, 24 or 32-byte key, got ${key.length} bytes`);
  }
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

/** AES-CMAC under one key, with the key's ECB cipher and subkeys kept. */
export class CmacKey {
  readonly #key: Uint8Array;
  readonly #cbcName: string;
  readonly #ecb: Cipher;
  readonly #k1: Uint8Array;
  readonly #k2: Uint8Array;

  /** @throws RangeError for a key that is not 16, 24 or 32 bytes. */
  constructor(key: Uint8Array) {
    const bits = aesBits(key);
    this.#key = Uint8Array.from(key);
    this.#cbcName = `aes-${bits}-cbc`;
    this.#ecb = createCipheriv(`aes-${bits}-ecb`, this.#key, null);
    this.#ecb.setAutoPadding(false);
    // The subkeys of RFC 4493 §2.3.
    this.#k1 = dbl(this.#block(new Uint8Array(BLOCK)));
    this.#k2 = dbl(this.#k1);
  }

  #block(b: Uint8Array): Uint8Array {
    const out = this.#ecb.update(b);
    return new Uint8Array(out.buffer, out.byteOffset, BLOCK);
  }

  /** The 16-byte tag of `data`. */
  mac(data: Uint8Array): Uint8Array {
    const complete = data.length > 0 && data.length % BLOCK === 0;
    const lastStart = data.length === 0 ? 0 : complete ? data.length - BLOCK : data.length - (data.length % BLOCK);
    // X = CBC-MAC of every block but the last (RFC 4493 §2.4 step 6), or zero when there is one block.
    let x: Uint8Array = new Uint8Array(BLOCK);
    if (lastStart > CBC_FROM) {
      const cbc = createCipheriv(this.#cbcName, this.#key, ZERO_IV);
      cbc.setAutoPadding(false);
      const out = cbc.update(data.subarray(0, lastStart));
      x = new Uint8Array(out.subarray(out.length - BLOCK));
    } else {
      for (let off = 0; off < lastStart; off += BLOCK) {
        for (let i = 0; i < BLOCK; i++) x[i] = (x[i] as number) ^ (data[off + i] as number);
        x = this.#block(x);
      }
    }
    const last = new Uint8Array(BLOCK);
    last.set(data.subarray(lastStart));
    if (!complete) last[data.length - lastStart] = 0x80;
    const mask = complete ? this.#k1 : this.#k2;
    for (let i = 0; i < BLOCK; i++) last[i] = (last[i] as number) ^ (mask[i] as number) ^ (x[i] as number);
    return Uint8Array.from(this.#block(last));
  }
}

/** The 16-byte AES-CMAC tag of `data` under `key`, for a key used once. */
export function aesCmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new CmacKey(key).mac(data);
}
