/**
 * AES-SIV (RFC 5297): deterministic, nonce-misuse-resistant authenticated
 * encryption. NTS (RFC 8915) requires AEAD_AES_SIV_CMAC_256 (IANA AEAD id 15)
 * for its NTP fields and chrony also seals its cookies with it; ids 16 and 17
 * are the same construction with 192- and 256-bit AES halves, so they come
 * for free.
 *
 * Two implementations give the same bytes. node:crypto has no SIV mode, but
 * the OpenSSL Node links does, and the native addon calls it
 * (native/aes_siv.c): about 1 us a message, where the JS one below costs tens
 * (a cipher object per message, a node:crypto call per CMAC block, and the
 * garbage), which made NTS requests cost 20 times chronyd's. The JS one is
 * the fallback where the addon is absent (or NTPKIT_NATIVE=off): S2V on the
 * CMAC of cmac.ts, the encryption node:crypto's AES-CTR. Its SivKey keeps
 * the CMAC state and the CMAC of the zero block across messages, so an owner
 * that keeps the key pays for the ciphers once.
 *
 * Output layout (RFC 5297 §2.6 and RFC 5116): the 16-byte synthetic IV (the
 * tag) followed by the ciphertext, which is as long as the plaintext.
 */
import { createCipheriv, timingSafeEqual } from 'node:crypto';
import { loadNative } from '../clock/native.js';
import { CmacKey, dbl } from './cmac.js';

/** The addon's AES-SIV (native/aes_siv.c); arguments as SivKey.encrypt/decrypt's, the key first. */
export interface NativeSiv {
  sivSeal(key: Uint8Array, plaintext: Uint8Array, associatedData: readonly Uint8Array[], nonce?: Uint8Array): Uint8Array;
  sivOpen(key: Uint8Array, sealed: Uint8Array, associatedData: readonly Uint8Array[], nonce?: Uint8Array): Uint8Array | null;
}

function findNativeSiv(): NativeSiv | null {
  const n = loadNative();
  if (!n.ok) return null;
  const a = n.addon as unknown as Partial<NativeSiv>;
  return typeof a.sivSeal === 'function' && typeof a.sivOpen === 'function' ? (a as NativeSiv) : null;
}

/** Looked up on first use, not at import: `import 'ntpkit'` loads no native code. */
let nativeSivCache: NativeSiv | null | undefined;
function nativeSiv(): NativeSiv | null {
  if (nativeSivCache === undefined) nativeSivCache = findNativeSiv();
  return nativeSivCache;
}

/** Which AES-SIV runs: the addon's OpenSSL one, or the JS fallback. */
export type SivBackend = 'openssl' | 'js';

/** The AES-SIV this process uses by default. */
export function sivBackend(): SivBackend {
  return nativeSiv() ? 'openssl' : 'js';
}

/** Buffer to a plain Uint8Array view (callers compare with Uint8Arrays). */
function plain(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

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

/**
 * One AES-SIV key and the cipher state it needs, for as long as its owner
 * keeps it (a cookie codec's master key, an NTS association's session keys):
 * nothing outlives the owner or its key rotation.
 */
export class SivKey {
  /** Set on the native path: the whole key, which OpenSSL takes per message. */
  readonly #key: Uint8Array | null = null;
  readonly #native: NativeSiv | null;
  readonly #mac: CmacKey | null = null;
  readonly #ctrKey: Uint8Array = new Uint8Array(0);
  readonly #ctrName: string = '';
  /** CMAC of the zero block: S2V's first value, the same for every message. */
  readonly #zeroMac: Uint8Array = new Uint8Array(0);

  /**
   * `backend` picks an implementation (tests run both); by default the
   * addon's when it is loaded.
   * @throws RangeError for a key that is not 32, 48 or 64 bytes, Error for backend 'openssl' without the addon.
   */
  constructor(key: Uint8Array, backend: SivBackend = sivBackend()) {
    let bits: number;
    switch (key.length) {
      case 32: bits = 128; break;
      case 48: bits = 192; break;
      case 64: bits = 256; break;
      default: throw new RangeError(`AES-SIV needs a 32, 48 or 64-byte key, got ${key.length} bytes`);
    }
    if (backend === 'openssl') {
      const n = nativeSiv();
      if (n === null) throw new Error('AES-SIV: the native addon with OpenSSL\'s SIV is not loaded');
      this.#native = n;
      this.#key = Uint8Array.from(key);
      return;
    }
    this.#native = null;
    const half = key.length / 2;
    this.#mac = new CmacKey(key.subarray(0, half));
    this.#ctrKey = Uint8Array.from(key.subarray(half));
    this.#ctrName = `aes-${bits}-ctr`;
    this.#zeroMac = this.#mac.mac(new Uint8Array(BLOCK));
  }

  /**
   * Encrypts `plaintext`; returns the 16-byte SIV followed by the ciphertext.
   * With a `nonce` this is the RFC 5116 AEAD interface (S2V over AD..., N, P)
   * that NTS uses; without one it is deterministic encryption (RFC 5297 §3).
   */
  encrypt(plaintext: Uint8Array, associatedData: readonly Uint8Array[] = [], nonce?: Uint8Array): Uint8Array {
    if (this.#native) return plain(this.#native.sivSeal(this.#key as Uint8Array, plaintext, checkAd(associatedData), nonce));
    const siv = s2v(this.#mac as CmacKey, this.#zeroMac, components(associatedData, nonce, plaintext));
    const out = new Uint8Array(SIV_TAG_LENGTH + plaintext.length);
    out.set(siv);
    out.set(ctrCrypt(this.#ctrName, this.#ctrKey, siv, plaintext), SIV_TAG_LENGTH);
    return out;
  }

  /**
   * Decrypts the output of encrypt() (SIV then ciphertext) with the same
   * associated data and nonce. null when it is shorter than a tag or does
   * not authenticate: nothing of a forged message is returned.
   */
  decrypt(sealed: Uint8Array, associatedData: readonly Uint8Array[] = [], nonce?: Uint8Array): Uint8Array | null {
    if (sealed.length < SIV_TAG_LENGTH) return null;
    if (this.#native) {
      const p = this.#native.sivOpen(this.#key as Uint8Array, sealed, checkAd(associatedData), nonce);
      return p === null ? null : plain(p);
    }
    const siv = sealed.subarray(0, SIV_TAG_LENGTH);
    const plaintext = ctrCrypt(this.#ctrName, this.#ctrKey, siv, sealed.subarray(SIV_TAG_LENGTH));
    const expected = s2v(this.#mac as CmacKey, this.#zeroMac, components(associatedData, nonce, plaintext));
    // Constant time, so that a forger learns nothing from how long a reject takes.
    if (!timingSafeEqual(expected, siv)) {
      plaintext.fill(0);
      return null;
    }
    return plaintext;
  }
}

function xorInto(target: Uint8Array, offset: number, b: Uint8Array): void {
  for (let i = 0; i < b.length; i++) target[offset + i] = (target[offset + i] as number) ^ (b[i] as number);
}

/** S2V (RFC 5297 §2.4): a PRF over a vector of strings, the last being the plaintext. */
function s2v(macKey: CmacKey, zeroMac: Uint8Array, strings: readonly Uint8Array[]): Uint8Array {
  let d: Uint8Array = Uint8Array.from(zeroMac);
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

function checkAd(associatedData: readonly Uint8Array[]): readonly Uint8Array[] {
  if (associatedData.length > MAX_SIV_ASSOCIATED_DATA) {
    throw new RangeError(`AES-SIV takes at most ${MAX_SIV_ASSOCIATED_DATA} associated data strings, got ${associatedData.length}`);
  }
  return associatedData;
}

function components(associatedData: readonly Uint8Array[], nonce: Uint8Array | undefined, plaintext: Uint8Array): Uint8Array[] {
  checkAd(associatedData);
  return nonce === undefined ? [...associatedData, plaintext] : [...associatedData, nonce, plaintext];
}

/**
 * SivKey.encrypt under `key`, for a key used once.
 * @throws RangeError for a key that is not 32, 48 or 64 bytes.
 */
export function sivEncrypt(key: Uint8Array, plaintext: Uint8Array, associatedData: readonly Uint8Array[] = [], nonce?: Uint8Array): Uint8Array {
  // The addon keeps no per-key state, so a key used once costs it nothing more.
  const n = nativeSiv();
  if (n && isSivKeyLength(key)) return plain(n.sivSeal(key, plaintext, checkAd(associatedData), nonce));
  return new SivKey(key).encrypt(plaintext, associatedData, nonce);
}

/**
 * SivKey.decrypt under `key`, for a key used once.
 * @throws RangeError for a key that is not 32, 48 or 64 bytes.
 */
export function sivDecrypt(key: Uint8Array, sealed: Uint8Array, associatedData: readonly Uint8Array[] = [], nonce?: Uint8Array): Uint8Array | null {
  const n = nativeSiv();
  if (n && isSivKeyLength(key)) {
    if (sealed.length < SIV_TAG_LENGTH) return null;
    const p = n.sivOpen(key, sealed, checkAd(associatedData), nonce);
    return p === null ? null : plain(p);
  }
  return new SivKey(key).decrypt(sealed, associatedData, nonce);
}

/** A key length the addon takes; any other goes through SivKey, which throws the RangeError. */
function isSivKeyLength(key: Uint8Array): boolean {
  return key.length === 32 || key.length === 48 || key.length === 64;
}
