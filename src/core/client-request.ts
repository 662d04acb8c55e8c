/**
 * The requests a client sends: basic (data-minimized) and interleaved. Both
 * the daemon's sources and the one-shot query build them here.
 */
import { type Instant } from '../time/instant.js';
import { toNtpTimestamp, type NtpTimestamp } from '../time/timestamp.js';
import { Leap, Mode } from '../proto/constants.js';
import { encodeHeader, type NtpHeader } from '../proto/header.js';
import type { ServedParams } from './system.js';

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

/** Bits of a peer packet's transmit timestamp below a microsecond, random as chronyd makes those below its precision. */
const FUZZ_BITS = 0xfffn;

/** `t` on the wire with `fuzz`'s low bits (FUZZ_BITS) in place of its own. */
export function fuzzedTransmit(t: Instant, fuzz: bigint): NtpTimestamp {
  return (toNtpTimestamp(t) & ~FUZZ_BITS) | (fuzz & FUZZ_BITS);
}

/**
 * Rewrites the transmit timestamp of a peer's packet (48 bytes, no MAC) to
 * `t`, just before it leaves: the peer measures with it, and the engine
 * built the packet earlier. Keeps its random bits; returns the new value.
 */
export function restampSymmetric(packet: Uint8Array, t: Instant): NtpTimestamp {
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const stamped = fuzzedTransmit(t, view.getBigUint64(40));
  view.setBigUint64(40, stamped);
  return stamped;
}

/**
 * A symmetric active packet (mode 1, RFC 5905 §8 and §9): unlike a client
 * request it carries our sync state (`served`), since the peer may
 * synchronize to us, and the three timestamps of the basic symmetric
 * exchange: origin is the peer's last transmit timestamp, receive when that
 * packet reached us, and transmit our own send time, which the peer echoes
 * as its origin.
 */
export function buildSymmetricPacket(version: number, served: ServedParams, poll: number, origin: NtpTimestamp, receive: NtpTimestamp, transmit: NtpTimestamp): Uint8Array {
  return encodeHeader({
    ...served,
    version,
    mode: Mode.SymmetricActive,
    poll,
    originTimestamp: origin,
    receiveTimestamp: receive,
    transmitTimestamp: transmit,
  });
}
