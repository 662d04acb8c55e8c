/**
 * A whole NTP packet: header, RFC 7822 extension fields, optional trailing MAC.
 * CONTRACT (owned by the proto work): parsePacket/encodePacket are exact inverses
 * on every buffer parsePacket accepts, and parsePacket(encodePacket(p)) equals p
 * for every p that packetProblem() passes.
 *
 * What follows the 48-byte header is told apart as chronyd does (ntp_core.c
 * parse_packet), which is the deterministic reading RFC 7822 §3 makes possible:
 * - the packet length must be a multiple of 4 (all fields are 32-bit words);
 * - NTPv1..v3 have no extension fields: anything after the header is a MAC;
 * - NTPv4: 4 bytes right after the header are a crypto-NAK (key id 0). Then,
 *   walking forward: 20 or 24 remaining bytes are the MAC; fewer than 28 are an
 *   error (too short for a MAC and for a last extension field); otherwise the
 *   next bytes must be an extension field of at least 16 octets.
 * So a packet without a MAC must end with a field of at least 28 octets, which
 * RFC 7822 requires; NTS packets meet it as their Authenticator field is last
 * and chronyd pads it to at least 28 octets.
 */
import {
  type ControlModePacket, controlModePacketProblem, encodeControlModePacket, parseControlMessage,
  parsePrivateMessage,
} from './control.js';
import { Mode } from './constants.js';
import {
  type ExtensionField, extensionFieldLength, extensionFieldProblem, MIN_EXTENSION_FIELD_LENGTH,
  MIN_LAST_EXTENSION_FIELD_LENGTH, parseExtensionField, writeExtensionField,
} from './extension.js';
import { HEADER_LENGTH, headerProblem, isControlMode, type NtpHeader, parseFirstOctet, parseHeader, writeHeader } from './header.js';
import { CRYPTO_NAK_LENGTH, type Mac, macLength, macProblem, MAX_V4_MAC_LENGTH, MIN_V4_MAC_LENGTH, parseMac, writeMac } from './mac.js';
import { fail, ok, type ParseResult } from './result.js';

export type { ExtensionField } from './extension.js';
export type { Mac } from './mac.js';

export interface NtpPacket {
  readonly header: NtpHeader;
  readonly extensions: readonly ExtensionField[];
  readonly mac: Mac | null;
}

export interface PacketParseOptions {
  /**
   * Accept modes 6 and 7, returned as a ControlMessage (mode 6, RFC 9327) or
   * PrivateMessage (mode 7, ntpdc) instead of an NtpPacket. Default false:
   * they are rejected with reason `control-mode`, whatever their length.
   */
  readonly allowControlModes?: boolean;
}

/** Whether a parse result value is an NTP time packet rather than a mode 6/7 message. */
export function isNtpPacket(p: NtpPacket | ControlModePacket): p is NtpPacket {
  return !('kind' in p);
}

/** Parses everything after the header of an NtpPacket of this version. */
function parseTrailer(buf: Uint8Array, version: number): ParseResult<Pick<NtpPacket, 'extensions' | 'mac'>> {
  const rest = buf.length - HEADER_LENGTH;
  if (rest === 0) return ok({ extensions: [], mac: null });
  if (rest % 4 !== 0) {
    return fail('trailing-data', `Cannot parse NTP packet: ${rest} bytes follow the header, not a whole number of 32-bit words`, HEADER_LENGTH);
  }
  if (version < 4 || rest === CRYPTO_NAK_LENGTH) {
    const mac = parseMac(buf.subarray(HEADER_LENGTH), version);
    return mac.ok ? ok({ extensions: [], mac: mac.value }) : { ...mac, offset: HEADER_LENGTH };
  }
  const extensions: ExtensionField[] = [];
  let pos = HEADER_LENGTH;
  while (pos < buf.length) {
    const remaining = buf.length - pos;
    if (remaining >= MIN_V4_MAC_LENGTH && remaining <= MAX_V4_MAC_LENGTH) {
      const mac = parseMac(buf.subarray(pos), version, extensions.length > 0);
      return mac.ok ? ok({ extensions, mac: mac.value }) : { ...mac, offset: pos };
    }
    if (remaining < MIN_LAST_EXTENSION_FIELD_LENGTH) {
      return fail('bad-mac-length',
        `Cannot parse NTP packet: ${remaining} bytes at offset ${pos} are neither a MAC (20 or 24 bytes) nor a last extension field (28 bytes or more)`, pos);
    }
    const ef = parseExtensionField(buf, pos, { minLength: MIN_EXTENSION_FIELD_LENGTH });
    if (!ef.ok) return ef;
    extensions.push(ef.value.field);
    pos += ef.value.length;
  }
  return ok({ extensions, mac: null });
}

/**
 * Parses an NTP packet. Errors are values with a reason (see result.ts); this
 * never throws. With `allowControlModes`, mode 6 and 7 messages come back as
 * ControlMessage / PrivateMessage (tell them apart with isNtpPacket).
 */
export function parsePacket(buf: Uint8Array, opts?: PacketParseOptions & { readonly allowControlModes?: false }): ParseResult<NtpPacket>;
export function parsePacket(buf: Uint8Array, opts: PacketParseOptions): ParseResult<NtpPacket | ControlModePacket>;
export function parsePacket(buf: Uint8Array, opts: PacketParseOptions = {}): ParseResult<NtpPacket | ControlModePacket> {
  const first = parseFirstOctet(buf);
  if (!first.ok) return first;
  if (opts.allowControlModes && isControlMode(first.value.mode)) {
    return first.value.mode === Mode.Control ? parseControlMessage(buf) : parsePrivateMessage(buf);
  }
  const h = parseHeader(buf);
  if (!h.ok) return h;
  const t = parseTrailer(buf, h.value.version);
  if (!t.ok) return t;
  return ok({ header: h.value, extensions: t.value.extensions, mac: t.value.mac });
}

/**
 * Why `p` would not come back unchanged from parsePacket(encodePacket(p)):
 * a header field out of range, extension fields before NTPv4, a field shorter
 * than RFC 7822 allows (16, or 28 for the last one without a MAC), or a MAC
 * length not allowed for the version. Null when the packet is sound.
 */
export function packetProblem(p: NtpPacket | ControlModePacket): string | null {
  if (!isNtpPacket(p)) return controlModePacketProblem(p);
  const hp = headerProblem(p.header);
  if (hp) return `header: ${hp}`;
  const { version } = p.header;
  const n = p.extensions.length;
  if (n > 0 && version < 4) return `NTPv${version} packets have no extension fields`;
  for (let i = 0; i < n; i++) {
    const f = p.extensions[i] as ExtensionField;
    const last = i === n - 1 && p.mac === null;
    const problem = extensionFieldProblem(f, last ? MIN_LAST_EXTENSION_FIELD_LENGTH : MIN_EXTENSION_FIELD_LENGTH);
    if (problem) return `extension field ${i}${last ? ' (last, no MAC)' : ''}: ${problem}`;
  }
  if (p.mac) {
    const mp = macProblem(p.mac, version, n > 0);
    if (mp) return `MAC: ${mp}`;
  }
  return null;
}

/**
 * Encodes a packet (or a mode 6/7 message); the exact inverse of parsePacket.
 * @throws RangeError if packetProblem() reports a problem, rather than send
 *   bytes that would parse as something else.
 */
export function encodePacket(p: NtpPacket | ControlModePacket): Uint8Array {
  if (!isNtpPacket(p)) return encodeControlModePacket(p);
  const problem = packetProblem(p);
  if (problem) throw new RangeError(`Cannot encode NTP packet: ${problem}`);
  let length = HEADER_LENGTH;
  for (const f of p.extensions) length += extensionFieldLength(f);
  if (p.mac) length += macLength(p.mac);
  const out = new Uint8Array(length);
  writeHeader(p.header, out);
  let pos = HEADER_LENGTH;
  for (const f of p.extensions) pos += writeExtensionField(f, out, pos);
  if (p.mac) writeMac(p.mac, out, pos);
  return out;
}
