/**
 * The legacy MAC that may end an NTP packet (RFC 5905 §7.3, RFC 8573): a
 * 32-bit key id followed by a digest.
 *
 * Which lengths are a MAC (the rules chronyd applies when it parses a packet):
 * - NTPv4: 20 or 24 octets, a 16-octet (MD5, AES-128-CMAC) or 20-octet
 *   (SHA-1, or a longer hash truncated) digest. RFC 7822 caps the v4 MAC at 24
 *   octets so it can be told apart from extension fields. A lone 4-octet key
 *   id of 0 right after the header is a crypto-NAK (RFC 5905: a MAC made of
 *   key id 0 and no digest, telling the peer its authentication failed).
 * - NTPv1 to v3 have no extension fields: everything after the header is the
 *   MAC, whose digest may be 0 to 68 octets (DES-CBC's 8, MD5's 16, SHA-2
 *   digests untruncated, MS-SNTP's 68-octet extended authenticator).
 */
import { fail, ok, type ParseResult } from './result.js';

/** The trailing message authentication code (RFC 5905 §7.3, RFC 8573): key id and digest. */
export interface Mac {
  readonly keyId: number;
  /** 16 bytes (MD5, AES-CMAC) or 20 (SHA-1) in NTPv4; empty for a 4-byte crypto-NAK. */
  readonly digest: Uint8Array;
}

export const KEY_ID_LENGTH = 4;
/** NTPv4 MAC lengths, key id included: 20 and 24 (RFC 7822 §3: at most 24). */
export const MIN_V4_MAC_LENGTH = 20;
export const MAX_V4_MAC_LENGTH = 24;
/** A crypto-NAK: a key id of 0 and no digest. */
export const CRYPTO_NAK_LENGTH = 4;
/** NTPv1..v3: the longest MAC accepted, the 72 octets of an MS-SNTP ExtendedAuthenticator. */
export const MAX_LEGACY_MAC_LENGTH = 72;

/** Whether the MAC is a crypto-NAK (key id 0, no digest). */
export function isCryptoNak(mac: Mac): boolean {
  return mac.keyId === 0 && mac.digest.length === 0;
}

/**
 * Parses `bytes` (everything that follows the header and any extension
 * fields) as the MAC of a packet of the given version.
 * @param afterExtensions true when extension fields precede it; a crypto-NAK
 *   can only follow the header directly, as in chronyd.
 */
export function parseMac(bytes: Uint8Array, version: number, afterExtensions = false): ParseResult<Mac> {
  const n = bytes.length;
  const what = `Cannot parse MAC of ${n} bytes`;
  if (n < KEY_ID_LENGTH || n % 4 !== 0) {
    return fail('bad-mac-length', `${what}: a MAC is a 4-byte key id and a digest of whole 32-bit words`);
  }
  const keyId = (((bytes[0] as number) << 24) | ((bytes[1] as number) << 16) | ((bytes[2] as number) << 8) | (bytes[3] as number)) >>> 0;
  const mac = { keyId, digest: bytes.slice(KEY_ID_LENGTH) };
  if (version < 4) {
    return n <= MAX_LEGACY_MAC_LENGTH ? ok(mac) : fail('bad-mac-length', `${what}: NTPv${version} MACs are at most ${MAX_LEGACY_MAC_LENGTH} bytes`);
  }
  if (n === CRYPTO_NAK_LENGTH && !afterExtensions) {
    return keyId === 0 ? ok(mac) : fail('bad-mac-length', `${what}: a 4-byte MAC is a crypto-NAK, whose key id must be 0, not ${keyId}`);
  }
  if (n >= MIN_V4_MAC_LENGTH && n <= MAX_V4_MAC_LENGTH) return ok(mac);
  return fail('bad-mac-length', `${what}: an NTPv4 MAC is 20 or 24 bytes (RFC 7822)${afterExtensions ? '' : ', or 4 for a crypto-NAK'}`);
}

/** Octets the MAC occupies on the wire. */
export function macLength(mac: Mac): number {
  return KEY_ID_LENGTH + mac.digest.length;
}

/**
 * Why `mac` would not parse back unchanged at the end of a packet of this
 * version; null if it would.
 */
export function macProblem(mac: Mac, version: number, afterExtensions = false): string | null {
  if (!Number.isInteger(mac.keyId) || mac.keyId < 0 || mac.keyId > 0xffff_ffff) return `key id ${mac.keyId} is not an unsigned 32-bit value`;
  const n = macLength(mac);
  if (n % 4 !== 0) return `digest length ${mac.digest.length} is not a multiple of 4`;
  if (version < 4) return n <= MAX_LEGACY_MAC_LENGTH ? null : `an NTPv${version} MAC is at most ${MAX_LEGACY_MAC_LENGTH} bytes`;
  if (n === CRYPTO_NAK_LENGTH && !afterExtensions) return mac.keyId === 0 ? null : 'a crypto-NAK has key id 0';
  if (n >= MIN_V4_MAC_LENGTH && n <= MAX_V4_MAC_LENGTH) return null;
  return `an NTPv4 MAC is 20 or 24 bytes${afterExtensions ? ' after extension fields' : ', or a 4-byte crypto-NAK'}, not ${n}`;
}

/** Writes the MAC at `offset`; returns the octets written. */
export function writeMac(mac: Mac, out: Uint8Array, offset: number): number {
  const k = mac.keyId >>> 0;
  out[offset] = k >>> 24;
  out[offset + 1] = (k >>> 16) & 0xff;
  out[offset + 2] = (k >>> 8) & 0xff;
  out[offset + 3] = k & 0xff;
  out.set(mac.digest, offset + KEY_ID_LENGTH);
  return macLength(mac);
}
