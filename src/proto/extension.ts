/**
 * NTPv4 extension fields (RFC 5905 §7.5 as updated by RFC 7822 §3):
 *
 *   | Field Type (16) | Length (16) | Value ... padding to a 4-octet boundary |
 *
 * Length counts the whole field, the 4-octet type/length word included. It is
 * a multiple of 4 and at least 16. Where the field is the last in a packet
 * without a MAC it must be at least 28, so that it cannot be mistaken for a
 * 20- or 24-octet MAC: packet.ts applies that rule, as it knows what follows.
 */
import { fail, ok, type ParseResult } from './result.js';

/** An RFC 7822 extension field. `body` is everything after the 4-byte type/length, padding included. */
export interface ExtensionField {
  readonly type: number;
  readonly body: Uint8Array;
}

/** Field types this code knows by name (IANA "NTP Extension Field Types" and chrony's experimental ones). */
export const ExtensionFieldType = {
  /** RFC 8915 §5.3: random data the server echoes, binding reply to request (>= 32 octets). */
  NtsUniqueIdentifier: 0x0104,
  /** RFC 8915 §5.4: an NTS cookie from NTS-KE or an earlier reply. */
  NtsCookie: 0x0204,
  /** RFC 8915 §5.5: asks the server for one more cookie; body as long as a cookie. */
  NtsCookiePlaceholder: 0x0304,
  /** RFC 8915 §5.6: nonce, AEAD ciphertext and encrypted extension fields; it authenticates everything before it. */
  NtsAuthenticator: 0x0404,
  /** RFC 7821: UDP checksum complement. */
  ChecksumComplement: 0x2005,
  /** chrony's experimental "monotonic root" field (magic 0xF5BEDD9A): root delay/dispersion and a monotonic receive timestamp. */
  ChronyMonoRoot: 0xf323,
  /** chrony's experimental network correction field (magic 0x07AC2CEB): PTP transparent-clock corrections. */
  ChronyNetCorrection: 0xf324,
} as const;
export type ExtensionFieldType = (typeof ExtensionFieldType)[keyof typeof ExtensionFieldType];

export const EXTENSION_FIELD_NAMES: Readonly<Record<number, string>> = {
  [ExtensionFieldType.NtsUniqueIdentifier]: 'nts-unique-identifier',
  [ExtensionFieldType.NtsCookie]: 'nts-cookie',
  [ExtensionFieldType.NtsCookiePlaceholder]: 'nts-cookie-placeholder',
  [ExtensionFieldType.NtsAuthenticator]: 'nts-authenticator',
  [ExtensionFieldType.ChecksumComplement]: 'checksum-complement',
  [ExtensionFieldType.ChronyMonoRoot]: 'chrony-mono-root',
  [ExtensionFieldType.ChronyNetCorrection]: 'chrony-net-correction',
};

/** The 4-octet type/length word. */
export const EXTENSION_HEADER_LENGTH = 4;
/** RFC 7822 §3: the shortest extension field in an NTP packet. */
export const MIN_EXTENSION_FIELD_LENGTH = 16;
/** RFC 7822 §3: the shortest last extension field of a packet without a MAC. */
export const MIN_LAST_EXTENSION_FIELD_LENGTH = 28;
/** The Length field is 16 bits and a multiple of 4. */
export const MAX_EXTENSION_FIELD_LENGTH = 0xfffc;

export interface ExtensionFieldParseOptions {
  /**
   * The minimum field length, default 16 (RFC 7822). Fields nested inside the
   * ciphertext of an NTS Authenticator are not NTP packet fields: chrony parses
   * them with only the 4-octet header as minimum, so NTS passes 4 there.
   */
  readonly minLength?: number;
}

/** One parsed field and the number of octets it occupies. */
export interface ParsedExtensionField {
  readonly field: ExtensionField;
  readonly length: number;
}

/**
 * Parses the extension field at `offset`. It must fit inside `buf`, and its
 * Length must be a multiple of 4 and at least `minLength`.
 */
export function parseExtensionField(
  buf: Uint8Array, offset: number, opts: ExtensionFieldParseOptions = {},
): ParseResult<ParsedExtensionField> {
  const minLength = Math.max(opts.minLength ?? MIN_EXTENSION_FIELD_LENGTH, EXTENSION_HEADER_LENGTH);
  const what = `Cannot parse extension field at offset ${offset}`;
  if (!Number.isInteger(offset) || offset < 0 || offset + EXTENSION_HEADER_LENGTH > buf.length) {
    return fail('bad-field-length', `${what}: its type and length need 4 bytes, ${Math.max(0, buf.length - offset)} remain`, offset);
  }
  const type = ((buf[offset] as number) << 8) | (buf[offset + 1] as number);
  const length = ((buf[offset + 2] as number) << 8) | (buf[offset + 3] as number);
  if (length % 4 !== 0) return fail('bad-field-length', `${what}: length ${length} is not a multiple of 4`, offset);
  if (length < minLength) return fail('bad-field-length', `${what}: length ${length} is below the minimum of ${minLength}`, offset);
  if (offset + length > buf.length) {
    return fail('bad-field-length', `${what}: length ${length} runs past the end (${buf.length - offset} bytes remain)`, offset);
  }
  // A copy, so the field outlives a receive buffer the caller may reuse.
  return ok({ field: { type, body: buf.slice(offset + EXTENSION_HEADER_LENGTH, offset + length) }, length });
}

/**
 * Parses a buffer made of extension fields only, back to back, such as the
 * plaintext of an NTS Authenticator (RFC 8915 §5.6).
 */
export function parseExtensionFieldList(buf: Uint8Array, opts: ExtensionFieldParseOptions = {}): ParseResult<ExtensionField[]> {
  const fields: ExtensionField[] = [];
  for (let pos = 0; pos < buf.length;) {
    const r = parseExtensionField(buf, pos, opts);
    if (!r.ok) return r;
    fields.push(r.value.field);
    pos += r.value.length;
  }
  return ok(fields);
}

/** Octets the field occupies on the wire. */
export function extensionFieldLength(f: ExtensionField): number {
  return EXTENSION_HEADER_LENGTH + f.body.length;
}

/**
 * Why `f` cannot be encoded exactly with the given minimum length (type out of
 * 16 bits, body not padded to 4 octets, too short or too long); null if it can.
 */
export function extensionFieldProblem(f: ExtensionField, minLength = MIN_EXTENSION_FIELD_LENGTH): string | null {
  if (!Number.isInteger(f.type) || f.type < 0 || f.type > 0xffff) return `type ${f.type} is not a 16-bit value`;
  const len = extensionFieldLength(f);
  if (len % 4 !== 0) return `length ${len} is not a multiple of 4 (pad the body)`;
  if (len < Math.max(minLength, EXTENSION_HEADER_LENGTH)) return `length ${len} is below the minimum of ${minLength}`;
  if (len > MAX_EXTENSION_FIELD_LENGTH) return `length ${len} does not fit the 16-bit length field`;
  return null;
}

/** Writes the field at `offset`; returns the octets written. The caller has checked extensionFieldProblem(). */
export function writeExtensionField(f: ExtensionField, out: Uint8Array, offset: number): number {
  const len = extensionFieldLength(f);
  out[offset] = (f.type >> 8) & 0xff;
  out[offset + 1] = f.type & 0xff;
  out[offset + 2] = (len >> 8) & 0xff;
  out[offset + 3] = len & 0xff;
  out.set(f.body, offset + EXTENSION_HEADER_LENGTH);
  return len;
}

/**
 * Encodes fields back to back (e.g. an NTS plaintext).
 * @throws RangeError if a field fails extensionFieldProblem() with `minLength`.
 */
export function encodeExtensionFieldList(fields: readonly ExtensionField[], minLength = MIN_EXTENSION_FIELD_LENGTH): Uint8Array {
  let total = 0;
  for (const f of fields) {
    const problem = extensionFieldProblem(f, minLength);
    if (problem) throw new RangeError(`Cannot encode extension field: ${problem}`);
    total += extensionFieldLength(f);
  }
  const out = new Uint8Array(total);
  let pos = 0;
  for (const f of fields) pos += writeExtensionField(f, out, pos);
  return out;
}

/**
 * The body length for `valueLength` octets of value: rounded up to whole
 * 32-bit words and to at least `minLength - 4`, the rest being zero padding.
 */
export function paddedBodyLength(valueLength: number, minLength = MIN_EXTENSION_FIELD_LENGTH): number {
  const padded = Math.ceil(valueLength / 4) * 4;
  return Math.max(padded, minLength - EXTENSION_HEADER_LENGTH);
}
