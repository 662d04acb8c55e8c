/**
 * A whole NTP packet: header, RFC 7822 extension fields, optional trailing MAC.
 * CONTRACT (owned by the proto work): parsePacket/encodePacket are exact inverses
 * on every buffer parsePacket accepts.
 */
import { HEADER_LENGTH, type NtpHeader, parseHeader, writeHeader } from './header.js';
import { fail, ok, type ParseResult } from './result.js';

/** An RFC 7822 extension field. `body` is everything after the 4-byte type/length, padding included. */
export interface ExtensionField {
  readonly type: number;
  readonly body: Uint8Array;
}

/** The trailing message authentication code (RFC 5905 §7.3, RFC 8573): key id and digest. */
export interface Mac {
  readonly keyId: number;
  /** 16 bytes (MD5, AES-CMAC) or 20 (SHA-1); empty for a 4-byte crypto-NAK. */
  readonly digest: Uint8Array;
}

export interface NtpPacket {
  readonly header: NtpHeader;
  readonly extensions: readonly ExtensionField[];
  readonly mac: Mac | null;
}

export interface PacketParseOptions {
  /** Accept modes 6 and 7 (header octet only). Default false: they are rejected. */
  readonly allowControlModes?: boolean;
}

export function parsePacket(buf: Uint8Array, opts: PacketParseOptions = {}): ParseResult<NtpPacket> {
  const h = parseHeader(buf, opts);
  if (!h.ok) return h;
  if (buf.length === HEADER_LENGTH) return ok({ header: h.value, extensions: [], mac: null });
  // TODO(proto): extension fields and MAC per RFC 7822 §7.5.
  return fail('trailing-data', `Cannot parse NTP packet: ${buf.length - HEADER_LENGTH} bytes after the header`, HEADER_LENGTH);
}

export function encodePacket(p: NtpPacket): Uint8Array {
  // TODO(proto): extension fields and MAC.
  const out = new Uint8Array(HEADER_LENGTH);
  writeHeader(p.header, out);
  return out;
}
