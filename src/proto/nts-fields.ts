/**
 * The NTS extension fields of an NTP packet (RFC 8915 §5.3-5.7):
 *
 * - Unique Identifier (0x0104): at least 32 random octets the server echoes,
 *   binding a reply to its request;
 * - NTS Cookie (0x0204): one cookie per request, from NTS-KE or an earlier reply;
 * - NTS Cookie Placeholder (0x0304): asks for one more cookie; as long as a cookie;
 * - NTS Authenticator and Encrypted Extension Fields (0x0404), last:
 *
 *     | Nonce Length (16) | Ciphertext Length (16) |
 *     | Nonce, padded to 4 octets                  |
 *     | Ciphertext, padded to 4 octets             |
 *     | Additional Padding                         |
 *
 *   The AEAD's associated data is the packet from its first octet up to the
 *   start of this field; its plaintext is more extension fields (the new
 *   cookies of a reply). RFC 8915 §5.6 asks for the nonce and the additional
 *   padding to take at least 16 octets together, whatever the nonce length,
 *   as chronyd checks: that also keeps a reply no larger than its request.
 *
 * This module only encodes and parses; the AEAD lives in src/crypto (pure
 * layers cannot reach node:crypto). Parsers never throw on input: they return
 * a named reason, which the server counts and the fuzzer exercises.
 */
import {
  EXTENSION_HEADER_LENGTH, type ExtensionField, ExtensionFieldType, extensionFieldLength,
  MIN_EXTENSION_FIELD_LENGTH, parseExtensionField, writeExtensionField,
} from './extension.js';
import { HEADER_LENGTH } from './header.js';

/** RFC 8915 §5.3: a unique identifier holds at least 32 octets. */
export const MIN_UNIQUE_ID_LENGTH = 32;
/** RFC 8915 §5.6: nonce plus additional padding take at least 16 octets. */
export const MIN_UNPADDED_NONCE_LENGTH = 16;
/** Nonce Length and Ciphertext Length words of an Authenticator body. */
const AUTH_LENGTHS = 4;

/** Why NTS fields were rejected. Stable names: they become counters and fuzz-test expectations. */
export type NtsFieldError =
  | 'bad-extension-field'     // the fields after the header do not parse as RFC 7822 fields
  | 'missing-unique-id'
  | 'duplicate-unique-id'
  | 'short-unique-id'         // fewer than 32 octets
  | 'missing-authenticator'
  | 'authenticator-not-last'  // fields or a MAC follow the Authenticator: they would be unauthenticated
  | 'bad-authenticator';      // lengths that do not fit the field, or too little nonce and padding

export interface NtsFieldFailure {
  readonly ok: false;
  readonly reason: NtsFieldError;
  /** "Cannot parse NTS fields: ..." */
  readonly message: string;
}

export type NtsFieldResult<T> = { readonly ok: true; readonly value: T } | NtsFieldFailure;

function failure(reason: NtsFieldError, detail: string): NtsFieldFailure {
  return { ok: false, reason, message: `Cannot parse NTS fields: ${detail}` };
}

/** The body of an NTS Authenticator and Encrypted Extension Fields field. */
export interface NtsAuthenticator {
  readonly nonce: Uint8Array;
  /** The AEAD output (for AES-SIV: the 16-octet tag, then the encrypted fields). */
  readonly ciphertext: Uint8Array;
}

/** The NTS view of one packet, as a server or client needs it. */
export interface NtsPacketFields {
  /** The Unique Identifier's body (padding included, as the peer sent it), or null when absent. */
  readonly uniqueId: Uint8Array | null;
  /** Bodies of the NTS Cookie fields outside the encrypted part, in order. */
  readonly cookies: readonly Uint8Array[];
  /** Body lengths of the Cookie Placeholder fields outside the encrypted part. */
  readonly placeholderLengths: readonly number[];
  /** The Authenticator, or null when absent. */
  readonly authenticator: NtsAuthenticator | null;
  /** Offset of the Authenticator field: the associated data is packet[0, authOffset). -1 when absent. */
  readonly authOffset: number;
  /** Other extension fields, which NTS does not interpret. */
  readonly others: readonly ExtensionField[];
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Parses the body of an NTS Authenticator field (everything after its type/length word). */
export function parseNtsAuthenticator(body: Uint8Array): NtsFieldResult<NtsAuthenticator> {
  if (body.length < AUTH_LENGTHS) return failure('bad-authenticator', `an Authenticator body of ${body.length} octets has no room for its two lengths`);
  const nonceLength = ((body[0] as number) << 8) | (body[1] as number);
  const ciphertextLength = ((body[2] as number) << 8) | (body[3] as number);
  const needed = AUTH_LENGTHS + Math.max(pad4(nonceLength), MIN_UNPADDED_NONCE_LENGTH) + pad4(ciphertextLength);
  if (needed > body.length) {
    return failure('bad-authenticator',
      `nonce length ${nonceLength} and ciphertext length ${ciphertextLength} need a body of ${needed} octets (nonce and padding at least ${MIN_UNPADDED_NONCE_LENGTH}), it has ${body.length}`);
  }
  const nonceStart = AUTH_LENGTHS;
  const ctStart = nonceStart + pad4(nonceLength);
  return {
    ok: true,
    value: { nonce: body.slice(nonceStart, nonceStart + nonceLength), ciphertext: body.slice(ctStart, ctStart + ciphertextLength) },
  };
}

/**
 * Finds the NTS fields of an NTP packet (header then extension fields; the
 * caller has checked the header). At most one Unique Identifier, and the
 * Authenticator, when present, must be the last thing in the packet. Whether
 * the fields a role needs are present is the caller's check.
 */
export function parseNtsPacketFields(packet: Uint8Array): NtsFieldResult<NtsPacketFields> {
  let uniqueId: Uint8Array | null = null;
  const cookies: Uint8Array[] = [];
  const placeholderLengths: number[] = [];
  const others: ExtensionField[] = [];
  let authenticator: NtsAuthenticator | null = null;
  let authOffset = -1;
  let pos = HEADER_LENGTH;
  while (pos < packet.length) {
    if (authenticator) return failure('authenticator-not-last', `${packet.length - pos} octets follow the Authenticator at offset ${authOffset}`);
    const r = parseExtensionField(packet, pos, { minLength: MIN_EXTENSION_FIELD_LENGTH });
    if (!r.ok) return failure('bad-extension-field', r.message);
    const { field, length } = r.value;
    switch (field.type) {
      case ExtensionFieldType.NtsUniqueIdentifier:
        if (uniqueId) return failure('duplicate-unique-id', `a second Unique Identifier at offset ${pos}`);
        if (field.body.length < MIN_UNIQUE_ID_LENGTH) {
          return failure('short-unique-id', `the Unique Identifier at offset ${pos} has ${field.body.length} octets, fewer than ${MIN_UNIQUE_ID_LENGTH}`);
        }
        uniqueId = field.body;
        break;
      case ExtensionFieldType.NtsCookie:
        cookies.push(field.body);
        break;
      case ExtensionFieldType.NtsCookiePlaceholder:
        placeholderLengths.push(field.body.length);
        break;
      case ExtensionFieldType.NtsAuthenticator: {
        const a = parseNtsAuthenticator(field.body);
        if (!a.ok) return a;
        authenticator = a.value;
        authOffset = pos;
        break;
      }
      default:
        others.push(field);
    }
    pos += length;
  }
  return { ok: true, value: { uniqueId, cookies, placeholderLengths, authenticator, authOffset, others } };
}

/** The encrypted part of an Authenticator: cookies (replies) and any other fields, parsed with the 4-octet minimum chronyd uses there. */
export interface NtsEncryptedFields {
  readonly cookies: readonly Uint8Array[];
  readonly others: readonly ExtensionField[];
}

/** Parses a decrypted Authenticator plaintext: extension fields back to back. */
export function parseNtsPlaintext(plaintext: Uint8Array): NtsFieldResult<NtsEncryptedFields> {
  const cookies: Uint8Array[] = [];
  const others: ExtensionField[] = [];
  for (let pos = 0; pos < plaintext.length;) {
    const r = parseExtensionField(plaintext, pos, { minLength: EXTENSION_HEADER_LENGTH });
    if (!r.ok) return failure('bad-extension-field', `in the encrypted fields: ${r.message}`);
    if (r.value.field.type === ExtensionFieldType.NtsCookie) cookies.push(r.value.field.body);
    else others.push(r.value.field);
    pos += r.value.length;
  }
  return { ok: true, value: { cookies, others } };
}

/** A Unique Identifier field. @throws RangeError below 32 octets or not a multiple of 4. */
export function uniqueIdField(id: Uint8Array): ExtensionField {
  if (id.length < MIN_UNIQUE_ID_LENGTH || id.length % 4 !== 0) {
    throw new RangeError(`Cannot encode NTS Unique Identifier: ${id.length} octets, need a multiple of 4 and at least ${MIN_UNIQUE_ID_LENGTH}`);
  }
  return { type: ExtensionFieldType.NtsUniqueIdentifier, body: id };
}

function checkCookieLength(what: string, n: number): void {
  // Cookies from chronyd and ntpkit are multiples of 4; a field cannot carry
  // other lengths without padding that the server would take as cookie bytes.
  if (n === 0 || n % 4 !== 0 || n + EXTENSION_HEADER_LENGTH < MIN_EXTENSION_FIELD_LENGTH || n > 0xfffc - EXTENSION_HEADER_LENGTH) {
    throw new RangeError(`Cannot encode NTS ${what}: a cookie of ${n} octets is not a multiple of 4 between 12 and 65528`);
  }
}

/** An NTS Cookie field. @throws RangeError for a cookie length a field cannot carry as is. */
export function cookieField(cookie: Uint8Array): ExtensionField {
  checkCookieLength('Cookie', cookie.length);
  return { type: ExtensionFieldType.NtsCookie, body: cookie };
}

/** A Cookie Placeholder for a cookie of `length` octets (RFC 8915 §5.5: zeros, as long as the cookie). */
export function cookiePlaceholderField(length: number): ExtensionField {
  checkCookieLength('Cookie Placeholder', length);
  return { type: ExtensionFieldType.NtsCookiePlaceholder, body: new Uint8Array(length) };
}

/**
 * An Authenticator field around an AEAD output. The nonce is zero-padded to
 * 4 octets and, with the additional padding, to at least 16.
 * @throws RangeError when a length does not fit the 16-bit fields.
 */
export function authenticatorField(nonce: Uint8Array, ciphertext: Uint8Array): ExtensionField {
  const bodyLength = AUTH_LENGTHS + Math.max(pad4(nonce.length), MIN_UNPADDED_NONCE_LENGTH) + pad4(ciphertext.length);
  if (nonce.length > 0xffff || ciphertext.length > 0xffff || bodyLength + EXTENSION_HEADER_LENGTH > 0xfffc) {
    throw new RangeError(`Cannot encode NTS Authenticator: nonce ${nonce.length} and ciphertext ${ciphertext.length} octets do not fit a field`);
  }
  const body = new Uint8Array(bodyLength);
  body[0] = nonce.length >> 8;
  body[1] = nonce.length & 0xff;
  body[2] = ciphertext.length >> 8;
  body[3] = ciphertext.length & 0xff;
  body.set(nonce, AUTH_LENGTHS);
  body.set(ciphertext, AUTH_LENGTHS + pad4(nonce.length));
  return { type: ExtensionFieldType.NtsAuthenticator, body };
}

/** Octets an Authenticator field takes for this nonce and ciphertext length (for size budgets). */
export function authenticatorFieldLength(nonceLength: number, ciphertextLength: number): number {
  return EXTENSION_HEADER_LENGTH + AUTH_LENGTHS + Math.max(pad4(nonceLength), MIN_UNPADDED_NONCE_LENGTH) + pad4(ciphertextLength);
}

/** `prefix` followed by the fields, encoded. The caller has built valid fields (the helpers above). */
export function appendExtensionFields(prefix: Uint8Array, fields: readonly ExtensionField[]): Uint8Array {
  let total = prefix.length;
  for (const f of fields) total += extensionFieldLength(f);
  const out = new Uint8Array(total);
  out.set(prefix);
  let pos = prefix.length;
  for (const f of fields) pos += writeExtensionField(f, out, pos);
  return out;
}
