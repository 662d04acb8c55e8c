/**
 * The requests a client sends: basic (data-minimized) and interleaved. Both
 * the daemon's sources and the one-shot query build them here.
 */
import { type NtpTimestamp } from '../time/timestamp.js';
import { Leap, Mode } from '../proto/constants.js';
import { encodeHeader, type NtpHeader } from '../proto/header.js';

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
