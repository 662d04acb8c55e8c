/**
 * Symmetric-key MACs of classic NTP (RFC 5905 §7.3, RFC 8573), computed as
 * chronyd 4.3 (keys.c, ntp_auth.c) and ntpd compute them:
 * - hash keys (MD5, SHA1, SHA256, SHA384, SHA512): digest = H(key || packet);
 * - AES128 / AES256: digest = AES-CMAC(key, packet) (RFC 8573 §4), 16 octets.
 * `packet` is everything before the MAC: header and any extension fields.
 *
 * NTPv4 caps the MAC at 24 octets (RFC 7822 §3), so chronyd truncates longer
 * digests (SHA256 and up) to 20 octets in NTPv4 packets and checks received
 * ones at that length; NTPv1..v3 MACs carry the whole digest. Digests are
 * compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { aesCmac } from './cmac.js';

export const KEY_TYPES = ['MD5', 'SHA1', 'SHA256', 'SHA384', 'SHA512', 'AES128', 'AES256'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** One symmetric key: its id (1..2^32-1; 0 marks a crypto-NAK), algorithm and secret. */
export interface SymmetricKey {
  readonly id: number;
  readonly type: KeyType;
  readonly key: Uint8Array;
}

/** Longest digest in an NTPv4 MAC (RFC 7822: the MAC is at most 24 octets with its key id). */
export const MAX_V4_DIGEST = 20;
/** node:crypto's names of the hash key types. */
const HASHES: Readonly<Record<Exclude<KeyType, 'AES128' | 'AES256'>, string>> = {
  MD5: 'md5', SHA1: 'sha1', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512',
};

/** The secret length an AES key type needs, octets; null for hash keys (any length). */
export function aesKeyLength(type: KeyType): number | null {
  return type === 'AES128' ? 16 : type === 'AES256' ? 32 : null;
}

/** The full digest of `data` under `key`, before any truncation. */
export function fullDigest(key: SymmetricKey, data: Uint8Array): Uint8Array {
  if (key.type === 'AES128' || key.type === 'AES256') return aesCmac(key.key, data);
  const h = createHash(HASHES[key.type]);
  h.update(key.key);
  h.update(data);
  return new Uint8Array(h.digest());
}

/** The digest as it goes on the wire for a packet of this NTP version (truncated to 20 octets in NTPv4). */
export function macDigest(key: SymmetricKey, data: Uint8Array, version: number): Uint8Array {
  const d = fullDigest(key, data);
  return version >= 4 && d.length > MAX_V4_DIGEST ? d.subarray(0, MAX_V4_DIGEST) : d;
}

/** `packet` followed by the MAC (key id and digest) over it. */
export function appendMac(packet: Uint8Array, key: SymmetricKey, version: number): Uint8Array {
  const d = macDigest(key, packet, version);
  const out = new Uint8Array(packet.length + 4 + d.length);
  out.set(packet, 0);
  new DataView(out.buffer).setUint32(packet.length, key.id >>> 0);
  out.set(d, packet.length + 4);
  return out;
}

/** Whether `digest` is the MAC of `data` under `key` for this version, compared in constant time. */
export function checkDigest(key: SymmetricKey, data: Uint8Array, digest: Uint8Array, version: number): boolean {
  const want = macDigest(key, data, version);
  if (want.length !== digest.length) return false;
  return timingSafeEqual(want, digest);
}
