/**
 * The sans-IO engine of a one-shot query (the job of `ntpdate -q`, `sntp`
 * and `chronyd -Q`): it builds client requests, judges replies, picks each
 * server's best sample and gives the combined verdict. The IO layer sends,
 * receives and timestamps; everything it decides is here.
 */
import { type Instant } from '../time/instant.js';
import { shortToSeconds } from '../time/short.js';
import { fromNtpTimestamp, type NtpTimestamp } from '../time/timestamp.js';
import { Leap, Mode, STRATUM_UNSYNCHRONIZED } from '../proto/constants.js';
import { encodeHeader, type NtpHeader } from '../proto/header.js';
import { kissCode } from '../proto/kiss.js';
import { parsePacket } from '../proto/packet.js';
import { computeSample, offsetJitter, rootDistance, type Sample } from './sample.js';
import { combine, intersect } from './select.js';

/**
 * A client request that reveals nothing about the client (RFC 9109 §3 spirit,
 * draft-ietf-ntp-data-minimization): every field zero but version and mode,
 * and a random 64-bit transmit timestamp that serves only as a cookie the
 * server must echo in its origin field. The real send time stays local.
 */
export function buildClientRequest(version: number, cookie: NtpTimestamp): Uint8Array {
  const header: NtpHeader = {
    leap: Leap.NoWarning,
    version,
    mode: Mode.Client,
    stratum: 0,
    poll: 0,
    precision: 0,
    rootDelay: 0,
    rootDispersion: 0,
    referenceId: 0,
    referenceTimestamp: 0n,
    originTimestamp: 0n,
    receiveTimestamp: 0n,
    transmitTimestamp: cookie,
  };
  return encodeHeader(header);
}

/**
 * A client request in interleaved mode (RFC 9769 §2, chrony's `xleave`):
 * the origin field carries the server's receive timestamp of its previous
 * reply to us and the receive field our receive timestamp of that reply, so
 * the server can answer with the real transmit time of that reply. The
 * transmit field stays a random cookie, as in the basic request; a server
 * that does not do interleaved mode answers it as a basic request.
 */
export function buildInterleavedRequest(version: number, cookie: NtpTimestamp, origin: NtpTimestamp, receive: NtpTimestamp): Uint8Array {
  const buf = buildClientRequest(version, cookie);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  view.setBigUint64(24, origin);
  view.setBigUint64(32, receive);
  return buf;
}

/** Why a reply was not usable. Stable names: they appear in JSON output and select exit codes. */
export type ReplyRejection =
  | 'truncated'          // shorter than an NTP header: cut off on the way, or a broken server
  | 'not-ntp'            // does not parse as NTP at all (bad version, reserved mode, bad trailing fields)
  | 'wrong-mode'         // not a server-mode (4) reply
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
  if (h.mode !== Mode.Server) {
    return { ok: false, rejection: 'wrong-mode', message: `reply has mode ${h.mode}, expected 4 (server)`, header: h };
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

/** What one server's valid replies amount to. */
export interface ServerEstimate {
  /** The reply whose sample is used. */
  readonly header: NtpHeader;
  /** The minimum-delay sample (the clock filter's choice, RFC 5905 §10). */
  readonly best: Sample;
  /** Index of `best` among the valid samples given. */
  readonly bestIndex: number;
  /** RMS of the other samples' offsets around the best one, seconds. */
  readonly jitter: number;
  readonly rootDelay: number;
  readonly rootDispersion: number;
  /** λ, seconds: the half-width of the correctness interval. */
  readonly rootDistance: number;
}

export function estimateServer(replies: readonly { header: NtpHeader; sample: Sample }[]): ServerEstimate | null {
  if (replies.length === 0) return null;
  let bestIndex = 0;
  replies.forEach((r, i) => {
    if (r.sample.delay < (replies[bestIndex] as typeof r).sample.delay) bestIndex = i;
  });
  const { header, sample: best } = replies[bestIndex] as (typeof replies)[number];
  const jitter = offsetJitter(replies.map((r) => r.sample.offset), best.offset);
  const rootDelay = shortToSeconds(header.rootDelay);
  const rootDispersion = shortToSeconds(header.rootDispersion);
  return {
    header, best, bestIndex, jitter, rootDelay, rootDispersion,
    rootDistance: rootDistance({ delay: best.delay, dispersion: best.dispersion, rootDelay, rootDispersion, jitter }),
  };
}

export type CombinedVerdict =
  | {
    readonly ok: true;
    /** Indices (into the estimates given) of servers whose intervals meet the intersection. */
    readonly agree: readonly number[];
    readonly falsetickers: readonly number[];
    readonly interval: { readonly low: number; readonly high: number };
    /** Distance-weighted mean offset of the agreeing servers, seconds. */
    readonly offset: number;
    readonly jitter: number;
  }
  | { readonly ok: false; readonly reason: 'no-majority' };

/** The combined verdict over several servers' estimates. */
export function combineServers(estimates: readonly ServerEstimate[]): CombinedVerdict {
  const candidates = estimates.map((e) => ({ offset: e.best.offset, distance: e.rootDistance }));
  const x = intersect(candidates);
  if (!x.ok) return x;
  const { offset, jitter } = combine(x.truechimers.map((i) => candidates[i] as (typeof candidates)[number]));
  return { ok: true, agree: x.truechimers, falsetickers: x.falsetickers, interval: { low: x.low, high: x.high }, offset, jitter };
}
