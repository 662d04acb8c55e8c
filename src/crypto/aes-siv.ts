/**
 * AES-SIV (RFC 5297): deterministic, nonce-misuse-resistant authenticated
 * encryption. NTS (RFC 8915) requires AEAD_AES_SIV_CMAC_256 (IANA AEAD id 15)
 * for its NTP fields and chrony also seals its cookies with it; ids 16 and 17
 * are the same construction with 192- and 256-bit AES halves, so they come
 * for free. node:crypto has no SIV mode, so S2V is built on the CMAC of
 * cmac.ts and the encryption is node:crypto's AES-CTR.
 *
 * Speed: creating a node:crypto cipher costs about as much as encrypting
 * 100 blocks, and a naive S2V creates a dozen per message. So the CMAC here
 * keeps one ECB cipher per key, alive across calls (ECB with padding off
 * returns each block at once), works out its subkeys once, and uses CBC only
 * for long strings; the last few keys stay cached, which serves the NTS
 * server's cookie master key. cmac.ts remains the reference it is tested against.
 *
 * Output layout (RFC 5297 §2.6 and RFC 5116): the 16-byte synthetic IV (the
 * tag) followed by the ciphertext, which is as long as the plaintext.
 */
import { type Cipher, createCipheriv, timingSafeEqual } from 'node:crypto';
import { dbl } from './cmac.js';

const BLOCK = 16;
/** Length of the synthetic IV (the authentication tag) that prefixes every ciphertext. */
export const SIV_TAG_LENGTH = 16;
/** RFC 5297 §2.6 limits S2V to 126 strings; the nonce and plaintext take two. */
export const MAX_SIV_ASSOCIATED_DATA = 126 - 2;

/** IANA "AEAD Algorithms" ids of the SIV modes (RFC 5297 §6). */
export const AeadId = {
  AES_SIV_CMAC_256: 15,
  AES_SIV_CMAC_384: 16,
  AES_SIV_CMAC_512: 17,
} as const;

/** Key length in bytes for each supported AEAD id (two AES keys of equal size). */
export const SIV_KEY_LENGTHS: Readonly<Record<number, number>> = {
  [AeadId.AES_SIV_CMAC_256]: 32,
  [AeadId.AES_SIV_CMAC_384]: 48,
  [AeadId.AES_SIV_CMAC_512]: 64,
};

/** The key length of an AEAD id, or null when the id is not an SIV mode this code implements. */
export function sivKeyLength(aeadId: number): number | null {
  return SIV_KEY_LENGTHS[aeadId] ?? null;
}

function splitKey(key: Uint8Array): { macKey: CmacKey; ctrKey: Uint8Array; ctr: string } {
  let bits: number;
  switch (key.length) {
    case 32: bits = 128; break;
    case 48: bits = 192; break;
    case 64: bits = 256; break;
    default: throw new RangeError(`AES-SIV needs a 32, 48 or 64-byte key, got ${key.length} bytes`);
  }
  const half = key.length / 2;
  return { macKey: cmacKey(key.subarray(0, half), `aes-${bits}-cbc`), ctrKey: key.subarray(half), ctr: `aes-${bits}-ctr` };
}

/** AES-CMAC (RFC 4493) under one key, with the key's ECB cipher and subkeys kept. */
class CmacKey {
  private readonly ecb: Cipher;
  private readonly k1: Uint8Array;
  private readonly k2: Uint8Array;
  /** CMAC of the zero block: S2V's first value, the same for every message. */
  readonly zeroMac: Uint8Array;

  constructor(private readonly key: Uint8Array, private readonly cbcName: string) {
    this.ecb = createCipheriv(cbcName.replace('cbc', 'ecb'), key, null);
    this.ecb.setAutoPadding(false);
    this.k1 = dbl(this.block(new Uint8Array(BLOCK)));
    this.k2 = dbl(this.k1);
    this.zeroMac = this.mac(new Uint8Array(BLOCK));
  }

  private block(b: Uint8Array): Uint8Array {
    const out = this.ecb.update(b);
    return new Uint8Array(out.buffer, out.byteOffset, BLOCK);
  }

  mac(data: Uint8Array): Uint8Array {
    const complete = data.length > 0 && data.length % BLOCK === 0;
    const lastStart = data.length === 0 ? 0 : complete ? data.length - BLOCK : data.length - (data.length % BLOCK);
    let x: Uint8Array = new Uint8Array(BLOCK);
    if (lastStart > CBC_FROM) {
      const cbc = createCipheriv(this.cbcName, this.key, ZERO_IV);
      cbc.setAutoPadding(false);
      const out = cbc.update(data.subarray(0, lastStart));
      x = new Uint8Array(out.subarray(out.length - BLOCK));
    } else {
      for (let off = 0; off < lastStart; off += BLOCK) {
        for (let i = 0; i < BLOCK; i++) x[i] = (x[i] as number) ^ (data[off + i] as number);
        x = this.block(x);
      }
    }
    const last = new Uint8Array(BLOCK);
    last.set(data.subarray(lastStart));
    if (!complete) last[data.length - lastStart] = 0x80;
    const mask = complete ? this.k1 : this.k2;
    for (let i = 0; i < BLOCK; i++) last[i] = (last[i] as number) ^ (mask[i] as number) ^ (x[i] as number);
    return Uint8Array.from(this.block(last));
  }
}

/** Above this many octets before the last block, one CBC call beats block-by-block ECB calls. */
const CBC_FROM = 8 * BLOCK;
const ZERO_IV = new Uint8Array(BLOCK);
/** Recently used CMAC keys, oldest first; a handful covers the server's master keys. */
const CACHE_SIZE = 4;
const cache = new Map<string, CmacKey>();

function cmacKey(key: Uint8Array, cbcName: string): CmacKey {
  const id = Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
  let k = cache.get(id);
  if (k) {
    cache.delete(id);
  } else {
    k = new CmacKey(Uint8Array.from(key), cbcName);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }
  cache.set(id, k);
  return k;
}

/** The CMAC that S2V runs on; exported for the test against cmac.ts. */
export function sivCmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  const name = key.length === 16 ? 'aes-128-cbc' : key.length === 24 ? 'aes-192-cbc' : key.length === 32 ? 'aes-256-cbc' : null;
  if (!name) throw new RangeError(`AES-CMAC needs a 16, 24 or 32-byte key, got ${key.length} bytes`);
  return cmacKey(key, name).mac(data);
}

function xorInto(target: Uint8Array, offset: number, b: Uint8Array): void {
  for (let i = 0; i < b.length; i++) target[offset + i] = (target[offset + i] as number) ^ (b[i] as number);
}

/** S2V (RFC 5297 §2.4): a PRF over a vector of strings, the last being the plaintext. */
function s2v(macKey: CmacKey, strings: readonly Uint8Array[]): Uint8Array {
  let d: Uint8Array = Uint8Array.from(macKey.zeroMac);
  for (let i = 0; i < strings.length - 1; i++) {
    const mac = macKey.mac(strings[i] as Uint8Array);
    d = dbl(d);
    xorInto(d, 0, mac);
  }
  const last = strings[strings.length - 1] as Uint8Array;
  let t: Uint8Array;
  if (last.length >= BLOCK) {
    // xorend: D is folded into the last 16 bytes of the final string.
    t = Uint8Array.from(last);
    xorInto(t, t.length - BLOCK, d);
  } else {
    t = dbl(d);
    const padded = new Uint8Array(BLOCK);
    padded.set(last);
    padded[last.length] = 0x80;
    xorInto(t, 0, padded);
  }
  return macKey.mac(t);
}

function ctrCrypt(name: string, ctrKey: Uint8Array, siv: Uint8Array, data: Uint8Array): Uint8Array {
  // RFC 5297 §2.5: bits 31 and 63 of the counter are cleared, so that 32- and
  // 64-bit counter implementations interoperate with the 128-bit increment.
  const q = Uint8Array.from(siv);
  q[8] = (q[8] as number) & 0x7f;
  q[12] = (q[12] as number) & 0x7f;
  const c = createCipheriv(name, ctrKey, q);
  return new Uint8Array(c.update(data));
}

function components(associatedData: readonly Uint8Array[], nonce: Uint8Array | undefined, plaintext: Uint8Array): Uint8Array[] {
  if (associatedData.length > MAX_SIV_ASSOCIATED_DATA) {
    throw new RangeError(`AES-SIV takes at most ${MAX_SIV_ASSOCIATED_DATA} associated data strings, got ${associatedData.length}`);
  }
  return nonce === undefined ? [...associatedData, plaintext] : [...associatedData, nonce, plaintext];
}

/**
 * Encrypts `plaintext`; returns the 16-byte SIV followed by the ciphertext.
 * With a `nonce` this is the RFC 5116 AEAD interface (S2V over AD..., N, P)
 * that NTS uses; without one it is deterministic encryption (RFC 5297 §3).
 * @throws RangeError for a key that is not 32, 48 or 64 bytes.
 */
export function sivEncrypt(key: Uint8Array, plaintext: Uint8Array, associatedData: readonly Uint8Array[] = [], nonce?: Uint8Array): Uint8Array {
  const { macKey, ctrKey, ctr } = splitKey(key);
  const siv = s2v(macKey, components(associatedData, nonce, plaintext));
  const out = new Uint8Array(SIV_TAG_LENGTH + plaintext.length);
  out.set(siv);
  out.set(ctrCrypt(ctr, ctrKey, siv, plaintext), SIV_TAG_LENGTH);
  return out;
}

/**
 * Decrypts the output of sivEncrypt (SIV then ciphertext) with the same
 * associated data and nonce. null when it is shorter than a tag or does not
 * authenticate: nothing of a forged message is returned.
 * @throws RangeError for a key that is not 32, 48 or 64 bytes.
 */
export function sivDecrypt(key: Uint8Array, sealed: Uint8Array, associatedData: readonly Uint8Array[] = [], nonce?: Uint8Array): Uint8Array | null {
  const { macKey, ctrKey, ctr } = splitKey(key);
  if (sealed.length < SIV_TAG_LENGTH) return null;
  const siv = sealed.subarray(0, SIV_TAG_LENGTH);
  const plaintext = ctrCrypt(ctr, ctrKey, siv, sealed.subarray(SIV_TAG_LENGTH));
  const expected = s2v(macKey, components(associatedData, nonce, plaintext));
  // Constant time, so that a forger learns nothing from how long a reject takes.
  if (!timingSafeEqual(expected, siv)) {
    plaintext.fill(0);
    return null;
  }
  return plaintext;
}
