/**
 * Modes 6 and 7 share the first octet's version and mode bits with NTP but
 * not the 48-byte header, so they get their own structures. ntpkit serves
 * neither (mode 7 has been abused for amplification); they are parsed so that
 * they can be recognised, counted and, if ever wanted, answered.
 *
 * Mode 6, the control message of RFC 9327 §2 (ntpq), has a 12-byte header:
 *
 *   | LI VN 6 | R E M Opcode | Sequence (16) | Status (16) | Association ID (16)
 *   | Offset (16) | Count (16) | Data (Count octets) | padding, authenticator ...
 *
 * Mode 7, ntpd's private "implementation-specific" message (ntpdc), has an
 * 8-byte header, laid out as ntpd's ntp_request.h defines it:
 *
 *   | R M VN 7 | A Sequence(7) | Implementation | Request code
 *   | Err(4) Item count(12) | MBZ(4) Item size(12) | data ...
 */
import { type Leap, Mode } from './constants.js';
import { parseFirstOctet } from './header.js';
import { fail, ok, type ParseResult } from './result.js';

export const CONTROL_HEADER_LENGTH = 12;
export const PRIVATE_HEADER_LENGTH = 8;

/** A mode 6 control message (RFC 9327). */
export interface ControlMessage {
  readonly kind: 'control';
  readonly leap: Leap;
  readonly version: number;
  /** R: set in responses. */
  readonly response: boolean;
  /** E: the response reports an error. */
  readonly error: boolean;
  /** M: more fragments follow. */
  readonly more: boolean;
  /** 5 bits: 1 read status, 2 read variables, ... */
  readonly opcode: number;
  readonly sequence: number;
  readonly status: number;
  readonly associationId: number;
  /** Offset of this fragment's data in the whole response. */
  readonly offset: number;
  /** The Count octets of data. */
  readonly data: Uint8Array;
  /** Whatever follows the data, raw: padding and an optional authenticator. */
  readonly trailer: Uint8Array;
}

/** A mode 7 private message (ntpdc). */
export interface PrivateMessage {
  readonly kind: 'private';
  readonly response: boolean;
  readonly more: boolean;
  readonly version: number;
  /** A: the request is authenticated. */
  readonly authenticated: boolean;
  /** 7 bits. */
  readonly sequence: number;
  readonly implementation: number;
  readonly requestCode: number;
  /** 4 bits. */
  readonly errorCode: number;
  /** 12 bits. */
  readonly itemCount: number;
  /** 4 bits, zero on the wire when well formed. */
  readonly mbz: number;
  /** 12 bits. */
  readonly itemSize: number;
  /** Everything after the 8-byte header, raw. */
  readonly data: Uint8Array;
}

export type ControlModePacket = ControlMessage | PrivateMessage;

function u16(buf: Uint8Array, at: number): number {
  return ((buf[at] as number) << 8) | (buf[at + 1] as number);
}

/** Parses a mode 6 control message. */
export function parseControlMessage(buf: Uint8Array): ParseResult<ControlMessage> {
  const first = parseFirstOctet(buf);
  if (!first.ok) return first;
  if (first.value.mode !== Mode.Control) return fail('bad-mode', `Cannot parse control message: mode is ${first.value.mode}, not 6`, 0);
  if (buf.length < CONTROL_HEADER_LENGTH) {
    return fail('too-short', `Cannot parse control message: length is ${buf.length} bytes, need ${CONTROL_HEADER_LENGTH}`, buf.length);
  }
  const count = u16(buf, 10);
  if (CONTROL_HEADER_LENGTH + count > buf.length) {
    return fail('too-short', `Cannot parse control message: count is ${count}, but ${buf.length - CONTROL_HEADER_LENGTH} data bytes follow`, 10);
  }
  const b1 = buf[1] as number;
  return ok({
    kind: 'control',
    leap: first.value.leap,
    version: first.value.version,
    response: (b1 & 0x80) !== 0,
    error: (b1 & 0x40) !== 0,
    more: (b1 & 0x20) !== 0,
    opcode: b1 & 0x1f,
    sequence: u16(buf, 2),
    status: u16(buf, 4),
    associationId: u16(buf, 6),
    offset: u16(buf, 8),
    data: buf.slice(CONTROL_HEADER_LENGTH, CONTROL_HEADER_LENGTH + count),
    trailer: buf.slice(CONTROL_HEADER_LENGTH + count),
  });
}

/** Parses a mode 7 private message. */
export function parsePrivateMessage(buf: Uint8Array): ParseResult<PrivateMessage> {
  const first = parseFirstOctet(buf);
  if (!first.ok) return first;
  if (first.value.mode !== Mode.Private) return fail('bad-mode', `Cannot parse private message: mode is ${first.value.mode}, not 7`, 0);
  if (buf.length < PRIVATE_HEADER_LENGTH) {
    return fail('too-short', `Cannot parse private message: length is ${buf.length} bytes, need ${PRIVATE_HEADER_LENGTH}`, buf.length);
  }
  const b0 = buf[0] as number;
  const b1 = buf[1] as number;
  const errItems = u16(buf, 4);
  const mbzSize = u16(buf, 6);
  return ok({
    kind: 'private',
    response: (b0 & 0x80) !== 0,
    more: (b0 & 0x40) !== 0,
    version: first.value.version,
    authenticated: (b1 & 0x80) !== 0,
    sequence: b1 & 0x7f,
    implementation: buf[2] as number,
    requestCode: buf[3] as number,
    errorCode: errItems >> 12,
    itemCount: errItems & 0xfff,
    mbz: mbzSize >> 12,
    itemSize: mbzSize & 0xfff,
    data: buf.slice(PRIVATE_HEADER_LENGTH),
  });
}

function intIn(x: number, lo: number, hi: number): boolean {
  return Number.isInteger(x) && x >= lo && x <= hi;
}

/** Why the message would not encode and parse back unchanged; null if it would. */
export function controlModePacketProblem(p: ControlModePacket): string | null {
  if (!intIn(p.version, 1, 4)) return `version ${p.version} is not 1..4`;
  if (p.kind === 'control') {
    if (!intIn(p.leap, 0, 3)) return `leap ${p.leap} is not 0..3`;
    if (!intIn(p.opcode, 0, 31)) return `opcode ${p.opcode} is not 5 bits`;
    for (const [name, x] of [['sequence', p.sequence], ['status', p.status], ['association id', p.associationId], ['offset', p.offset]] as const) {
      if (!intIn(x, 0, 0xffff)) return `${name} ${x} is not 16 bits`;
    }
    if (p.data.length > 0xffff) return `${p.data.length} data bytes do not fit the 16-bit count`;
    return null;
  }
  if (!intIn(p.sequence, 0, 0x7f)) return `sequence ${p.sequence} is not 7 bits`;
  if (!intIn(p.implementation, 0, 255)) return `implementation ${p.implementation} is not 8 bits`;
  if (!intIn(p.requestCode, 0, 255)) return `request code ${p.requestCode} is not 8 bits`;
  if (!intIn(p.errorCode, 0, 15)) return `error code ${p.errorCode} is not 4 bits`;
  if (!intIn(p.mbz, 0, 15)) return `mbz ${p.mbz} is not 4 bits`;
  if (!intIn(p.itemCount, 0, 0xfff)) return `item count ${p.itemCount} is not 12 bits`;
  if (!intIn(p.itemSize, 0, 0xfff)) return `item size ${p.itemSize} is not 12 bits`;
  return null;
}

/**
 * Encodes a mode 6 or 7 message; the exact inverse of the parsers.
 * @throws RangeError if controlModePacketProblem() reports a problem.
 */
export function encodeControlModePacket(p: ControlModePacket): Uint8Array {
  const problem = controlModePacketProblem(p);
  if (problem) throw new RangeError(`Cannot encode ${p.kind} message: ${problem}`);
  if (p.kind === 'control') {
    const out = new Uint8Array(CONTROL_HEADER_LENGTH + p.data.length + p.trailer.length);
    const v = new DataView(out.buffer);
    v.setUint8(0, (p.leap << 6) | (p.version << 3) | Mode.Control);
    v.setUint8(1, (p.response ? 0x80 : 0) | (p.error ? 0x40 : 0) | (p.more ? 0x20 : 0) | p.opcode);
    v.setUint16(2, p.sequence);
    v.setUint16(4, p.status);
    v.setUint16(6, p.associationId);
    v.setUint16(8, p.offset);
    v.setUint16(10, p.data.length);
    out.set(p.data, CONTROL_HEADER_LENGTH);
    out.set(p.trailer, CONTROL_HEADER_LENGTH + p.data.length);
    return out;
  }
  const out = new Uint8Array(PRIVATE_HEADER_LENGTH + p.data.length);
  const v = new DataView(out.buffer);
  v.setUint8(0, (p.response ? 0x80 : 0) | (p.more ? 0x40 : 0) | (p.version << 3) | Mode.Private);
  v.setUint8(1, (p.authenticated ? 0x80 : 0) | p.sequence);
  v.setUint8(2, p.implementation);
  v.setUint8(3, p.requestCode);
  v.setUint16(4, (p.errorCode << 12) | p.itemCount);
  v.setUint16(6, (p.mbz << 12) | p.itemSize);
  out.set(p.data, PRIVATE_HEADER_LENGTH);
  return out;
}
