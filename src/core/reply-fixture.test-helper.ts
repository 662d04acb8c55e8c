/** A server's reply to the request with cookie COOKIE sent at T1, for the reply and estimate tests. */
import { addSeconds, instantFromUnixNanos, type Instant } from '../time/instant.js';
import { toNtpTimestamp } from '../time/timestamp.js';
import { Leap, Mode } from '../proto/constants.js';
import { type NtpHeader } from '../proto/header.js';

export const COOKIE = 0x0123_4567_89ab_cdefn;
export const T1 = instantFromUnixNanos(1_790_000_000_000_000_000n);

export function reply(over: Partial<NtpHeader> = {}, t1: Instant = T1, serverAhead = 0.25): NtpHeader {
  const t2 = addSeconds(t1, serverAhead + 0.001);
  return {
    leap: Leap.NoWarning, version: 4, mode: Mode.Server, stratum: 1, poll: 0, precision: -25,
    rootDelay: 0, rootDispersion: 0x10, referenceId: 0x4c4f434c,
    referenceTimestamp: toNtpTimestamp(addSeconds(t2, -10)),
    originTimestamp: COOKIE,
    receiveTimestamp: toNtpTimestamp(t2),
    transmitTimestamp: toNtpTimestamp(addSeconds(t2, 0.00001)),
    ...over,
  };
}
