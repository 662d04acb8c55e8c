/**
 * Whether a datagram is a valid reply to our request, and the sample it
 * gives (the checks of RFC 5905 §8 and §7.4, and interleaved mode of
 * RFC 9769). Every rejection has a stable name.
 */
import { type Instant } from '../time/instant.js';
import { fromNtpTimestamp, type NtpTimestamp } from '../time/timestamp.js';
import { Leap, Mode, STRATUM_UNSYNCHRONIZED } from '../proto/constants.js';
import { type NtpHeader } from '../proto/header.js';
import { kissCode } from '../proto/kiss.js';
import { parsePacket } from '../proto/packet.js';
import { computeSample, type Sample } from './sample.js';

/** Why a reply was not usable. Stable names: they appear in JSON output and select exit codes. */
export type ReplyRejection =
  | 'truncated'          // shorter than an NTP header: cut off on the way, or a broken server
  | 'not-ntp'            // does not parse as NTP at all (bad version, reserved mode, bad trailing fields)
  | 'wrong-mode'         // not a server-mode (4) reply (a peer's: not mode 1 or 2)
  | 'origin-mismatch'    // origin timestamp is not our cookie: stale, spoofed or not a reply to us
  | 'kod'                // kiss-o'-death (stratum 0), see kissCode
  | 'unsynchronized'     // leap 3 or stratum >= 16: the server has no time to give
  | 'bogus-timestamps';  // zero receive/transmit time, or transmit before receive

export interface ReplyContext {
  readonly cookie: NtpTimestamp;
  /** When the request left, on our clock. */
  readonly t1: Instant;
  /** When the reply arrived, on our clock. */
  readonly t4: Instant;
  /** Our timestamping precision, seconds. */
  readonly clientPrecision: number;
  /** Symmetric mode: the packet is a peer's, mode 1 (active) or 2 (passive), not a server's mode 4. */
  readonly symmetric?: boolean;
  /**
   * Interleaved mode (RFC 9769): the previous exchange. A reply whose origin
   * is `receiveCookie` (the receive field we sent) is interleaved: its
   * transmit field is the real departure of the previous reply, and the
   * sample is the previous exchange's (t1, t2 and t4 given here).
   */
  readonly interleaved?: {
    readonly receiveCookie: NtpTimestamp;
    readonly t1: Instant;
    readonly t2: Instant;
    readonly t4: Instant;
  };
}

export type ReplyVerdict =
  | { readonly ok: true; readonly header: NtpHeader; readonly sample: Sample; readonly interleaved?: boolean }
  | {
    readonly ok: false;
    readonly rejection: ReplyRejection;
    readonly message: string;
    /** The 4-character code of a KoD. */
    readonly kissCode?: string;
    readonly header?: NtpHeader;
  };

/** Judges one reply to one request (the checks of RFC 5905 §8 and §7.4). */
export function evaluateReply(packet: Uint8Array, ctx: ReplyContext): ReplyVerdict {
  const parsed = parsePacket(packet);
  if (!parsed.ok) {
    const rejection = parsed.reason === 'too-short' ? 'truncated' : 'not-ntp';
    return { ok: false, rejection, message: `not a valid NTP reply: ${parsed.message} (${packet.length} bytes)` };
  }
  const h = parsed.value.header;
  if (ctx.symmetric === true ? h.mode !== Mode.SymmetricActive && h.mode !== Mode.SymmetricPassive : h.mode !== Mode.Server) {
    const expected = ctx.symmetric === true ? '1 or 2 (symmetric)' : '4 (server)';
    return { ok: false, rejection: 'wrong-mode', message: `reply has mode ${h.mode}, expected ${expected}`, header: h };
  }
  const il = ctx.interleaved;
  const interleaved = il !== undefined && il.receiveCookie !== 0n && h.originTimestamp === il.receiveCookie && h.originTimestamp !== ctx.cookie;
  if (h.originTimestamp !== ctx.cookie && !interleaved) {
    return {
      ok: false, rejection: 'origin-mismatch', header: h,
      message: `reply's origin timestamp 0x${h.originTimestamp.toString(16).padStart(16, '0')} does not match the request's 0x${ctx.cookie.toString(16).padStart(16, '0')}`,
    };
  }
  if (h.stratum === 0) {
    const code = kissCode(h) ?? '????';
    return { ok: false, rejection: 'kod', kissCode: code, header: h, message: `kiss-o'-death ${code}` };
  }
  if (h.leap === Leap.Unsynchronized || h.stratum >= STRATUM_UNSYNCHRONIZED) {
    return {
      ok: false, rejection: 'unsynchronized', header: h,
      message: `server is not synchronized (leap ${h.leap}, stratum ${h.stratum})`,
    };
  }
  if (h.receiveTimestamp === 0n || h.transmitTimestamp === 0n || h.transmitTimestamp === ctx.cookie) {
    return { ok: false, rejection: 'bogus-timestamps', header: h, message: 'reply has a zero or echoed receive/transmit timestamp' };
  }
  // Era resolution around our own send time (RFC 5905 §6): correct while the
  // server is within 68 years of us.
  if (interleaved && il) {
    // This reply's transmit field is when the PREVIOUS reply really left.
    const t3 = fromNtpTimestamp(h.transmitTimestamp, il.t1);
    if (t3 < il.t2) {
      return { ok: false, rejection: 'bogus-timestamps', header: h, message: 'interleaved reply: previous reply transmitted before its request was received' };
    }
    const sample = computeSample({ t1: il.t1, t2: il.t2, t3, t4: il.t4 }, ctx.clientPrecision, 2 ** h.precision);
    return { ok: true, header: h, sample, interleaved: true };
  }
  const t2 = fromNtpTimestamp(h.receiveTimestamp, ctx.t1);
  const t3 = fromNtpTimestamp(h.transmitTimestamp, ctx.t1);
  if (t3 < t2) {
    return { ok: false, rejection: 'bogus-timestamps', header: h, message: 'reply was transmitted before the request was received' };
  }
  const sample = computeSample({ t1: ctx.t1, t2, t3, t4: ctx.t4 }, ctx.clientPrecision, 2 ** h.precision);
  return { ok: true, header: h, sample };
}
