/** The 48-byte NTP header of RFC 5905 §7.3. */
import type { NtpShort } from '../time/short.js';
import type { NtpTimestamp } from '../time/timestamp.js';
import { type Leap, type Mode, MAX_VERSION, MIN_VERSION } from './constants.js';
import { fail, ok, type ParseResult } from './result.js';

export const HEADER_LENGTH = 48;

/** Every field of the header, raw as on the wire except for unpacking. */
export interface NtpHeader {
  readonly leap: Leap;
  /** 1..4 */
  readonly version: number;
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

/**
 * Parses the first 48 bytes. Modes 6 and 7 use other layouts and are refused
 * unless `allowControlModes` is set, in which case only the first octet's
 * fields are meaningful.
 */
export function parseHeader(buf: Uint8Array, opts: { allowControlModes?: boolean } = {}): ParseResult<NtpHeader> {
  if (buf.length < 1) return fail('too-short', 'Cannot parse NTP header: the packet is empty', 0);
  const b0 = buf[0] as number;
  const version = (b0 >> 3) & 7;
  const mode = (b0 & 7) as Mode;
  if (version < MIN_VERSION || version > MAX_VERSION) {
    return fail('bad-version', `Cannot parse NTP header: version is ${version}, expected 1 to 4`, 0);
  }
  if (mode === 0) return fail('bad-mode', 'Cannot parse NTP header: mode is 0 (reserved)', 0);
  if ((mode === 6 || mode === 7) && !opts.allowControlModes) {
    return fail('control-mode', `Cannot parse NTP header: mode ${mode} (${mode === 6 ? 'control' : 'private'}) is not served`, 0);
  }
  if (buf.length < HEADER_LENGTH) {
    return fail('too-short', `Cannot parse NTP header: length is ${buf.length} bytes, need ${HEADER_LENGTH}`, buf.length);
  }
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return ok({
    leap: (b0 >> 6) as Leap,
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

/** Writes the header into `out` at `offset` (48 bytes). Values are masked to their field widths. */
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
