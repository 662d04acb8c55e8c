/** The 48-byte NTP header of RFC 5905 §7.3. */
import type { NtpShort } from '../time/short.js';
import type { NtpTimestamp } from '../time/timestamp.js';
import { type Leap, MAX_VERSION, MIN_VERSION, Mode, MODE_NAMES } from './constants.js';
import { fail, ok, type ParseResult } from './result.js';

export const HEADER_LENGTH = 48;

/** Every field of the header, raw as on the wire except for unpacking. */
export interface NtpHeader {
  readonly leap: Leap;
  /** 1..4 */
  readonly version: number;
  /** 1..5 (modes 6 and 7 have other layouts, see control.ts). */
  readonly mode: Mode;
  /** 0 (kiss / unspecified), 1 (primary), 2..15 (secondary), 16 (unsynchronized); 17..255 reserved. */
  readonly stratum: number;
  /** log2 seconds, signed 8-bit. */
  readonly poll: number;
  /** log2 seconds, signed 8-bit. */
  readonly precision: number;
  readonly rootDelay: NtpShort;
  readonly rootDispersion: NtpShort;
  /** Raw 32-bit reference id; interpret with refid.ts. */
  readonly referenceId: number;
  readonly referenceTimestamp: NtpTimestamp;
  readonly originTimestamp: NtpTimestamp;
  readonly receiveTimestamp: NtpTimestamp;
  readonly transmitTimestamp: NtpTimestamp;
}

/** The fields of the first octet, which every NTP message shares whatever its mode. */
export interface FirstOctet {
  readonly leap: Leap;
  readonly version: number;
  readonly mode: Mode;
}

/**
 * Checks the first octet of any NTP message: non-empty, version 1 to 4, mode
 * not 0. Modes 6 and 7 pass: callers decide about them.
 */
export function parseFirstOctet(buf: Uint8Array): ParseResult<FirstOctet> {
  if (buf.length < 1) return fail('too-short', 'Cannot parse NTP packet: the packet is empty', 0);
  const b0 = buf[0] as number;
  const version = (b0 >> 3) & 7;
  const mode = (b0 & 7) as Mode;
  if (version < MIN_VERSION || version > MAX_VERSION) {
    return fail('bad-version', `Cannot parse NTP packet: version is ${version}, expected 1 to 4`, 0);
  }
  if (mode === Mode.Reserved) return fail('bad-mode', 'Cannot parse NTP packet: mode is 0 (reserved)', 0);
  return ok({ leap: (b0 >> 6) as Leap, version, mode });
}

/** Whether a mode uses the RFC 9327 control (6) or ntpdc private (7) layout rather than the header's. */
export function isControlMode(mode: number): mode is 6 | 7 {
  return mode === Mode.Control || mode === Mode.Private;
}

/**
 * Parses the 48-byte header at the start of `buf` (bytes after it are the
 * caller's business; see parsePacket). Modes 6 and 7 do not have this layout
 * (an RFC 9327 control message is as short as 12 bytes), so they are refused
 * here with `control-mode`, even when shorter than 48 bytes; parsePacket can
 * accept them as control messages.
 */
export function parseHeader(buf: Uint8Array): ParseResult<NtpHeader> {
  const first = parseFirstOctet(buf);
  if (!first.ok) return first;
  const { leap, version, mode } = first.value;
  if (isControlMode(mode)) {
    return fail('control-mode', `Cannot parse NTP header: mode ${mode} (${MODE_NAMES[mode]}) is not a time packet`, 0);
  }
  if (buf.length < HEADER_LENGTH) {
    return fail('too-short', `Cannot parse NTP header: length is ${buf.length} bytes, need ${HEADER_LENGTH}`, buf.length);
  }
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return ok({
    leap,
    version,
    mode,
    stratum: v.getUint8(1),
    poll: v.getInt8(2),
    precision: v.getInt8(3),
    rootDelay: v.getUint32(4),
    rootDispersion: v.getUint32(8),
    referenceId: v.getUint32(12),
    referenceTimestamp: v.getBigUint64(16),
    originTimestamp: v.getBigUint64(24),
    receiveTimestamp: v.getBigUint64(32),
    transmitTimestamp: v.getBigUint64(40),
  });
}

const U32 = 0xffff_ffff;
const U64 = (1n << 64n) - 1n;

function intIn(x: number, lo: number, hi: number): boolean {
  return Number.isInteger(x) && x >= lo && x <= hi;
}

/**
 * Why `h` would not survive writeHeader → parseHeader unchanged (a field out
 * of its wire range, or a mode without this layout); null if it would.
 */
export function headerProblem(h: NtpHeader): string | null {
  if (!intIn(h.leap, 0, 3)) return `leap ${h.leap} is not 0..3`;
  if (!intIn(h.version, MIN_VERSION, MAX_VERSION)) return `version ${h.version} is not 1..4`;
  if (!intIn(h.mode, 1, 5)) return `mode ${h.mode} is not 1..5`;
  if (!intIn(h.stratum, 0, 255)) return `stratum ${h.stratum} is not 0..255`;
  if (!intIn(h.poll, -128, 127)) return `poll ${h.poll} is not a signed 8-bit value`;
  if (!intIn(h.precision, -128, 127)) return `precision ${h.precision} is not a signed 8-bit value`;
  for (const [name, x] of [['root delay', h.rootDelay], ['root dispersion', h.rootDispersion], ['reference id', h.referenceId]] as const) {
    if (!intIn(x, 0, U32)) return `${name} ${x} is not an unsigned 32-bit value`;
  }
  for (const [name, t] of [
    ['reference', h.referenceTimestamp], ['origin', h.originTimestamp],
    ['receive', h.receiveTimestamp], ['transmit', h.transmitTimestamp],
  ] as const) {
    if (typeof t !== 'bigint' || t < 0n || t > U64) return `${name} timestamp ${String(t)} is not an unsigned 64-bit value`;
  }
  return null;
}

/**
 * Writes the header into `out` at `offset` (48 bytes). Values are masked to
 * their field widths; headerProblem() tells whether anything would be lost.
 */
export function writeHeader(h: NtpHeader, out: Uint8Array, offset = 0): void {
  const v = new DataView(out.buffer, out.byteOffset + offset, HEADER_LENGTH);
  v.setUint8(0, ((h.leap & 3) << 6) | ((h.version & 7) << 3) | (h.mode & 7));
  v.setUint8(1, h.stratum & 0xff);
  v.setInt8(2, h.poll);
  v.setInt8(3, h.precision);
  v.setUint32(4, h.rootDelay >>> 0);
  v.setUint32(8, h.rootDispersion >>> 0);
  v.setUint32(12, h.referenceId >>> 0);
  v.setBigUint64(16, BigInt.asUintN(64, h.referenceTimestamp));
  v.setBigUint64(24, BigInt.asUintN(64, h.originTimestamp));
  v.setBigUint64(32, BigInt.asUintN(64, h.receiveTimestamp));
  v.setBigUint64(40, BigInt.asUintN(64, h.transmitTimestamp));
}

/** A new 48-byte buffer holding the header. */
export function encodeHeader(h: NtpHeader): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH);
  writeHeader(h, out);
  return out;
}
