/**
 * Kiss-o'-death codes (RFC 5905 §7.4): a packet with stratum 0 carries a
 * four-character ASCII code in its refid instead of a reference.
 */
import { Mode, STRATUM_KISS } from './constants.js';
import type { NtpHeader } from './header.js';
import { refIdAscii, refIdFromCode } from './refid.js';

/** The registered kiss codes and what they mean (RFC 5905 Figure 13; NTSN from RFC 8915 §5.7). */
export const KISS_CODES = {
  ACST: 'The association belongs to a unicast server.',
  AUTH: 'Server authentication failed.',
  AUTO: 'Autokey sequence failed.',
  BCST: 'The association belongs to a broadcast server.',
  CRYP: 'Cryptographic authentication or identification failed.',
  DENY: 'Access denied by remote server.',
  DROP: 'Lost peer in symmetric mode.',
  RSTR: 'Access denied due to local policy.',
  INIT: 'The association has not yet synchronized for the first time.',
  MCST: 'The association belongs to a dynamically discovered server.',
  NKEY: 'No key found. Either the key was never installed or is not trusted.',
  NTSN: 'NTS negative acknowledgment: the server could not validate the NTS cookie or authenticate the request.',
  RATE: 'Rate exceeded. The server has temporarily denied access because the client exceeded the rate threshold.',
  RMOT: 'Alteration of association from a remote host running ntpdc.',
  STEP: 'A step change in system time has occurred, but the association has not yet resynchronized.',
} as const;
export type KissCode = keyof typeof KISS_CODES;

/**
 * What a kiss code asks of a client (RFC 5905 §7.4):
 * - `refused`: DENY and RSTR, the server refuses this client. The RFC says to
 *   stop sending to it; chronyd keeps polling (the access list may change)
 *   and lets the interval grow, and so does ntpkit's engine (core/engine/source.ts);
 * - `reduce-rate`: RATE, send less often;
 * - `nts-nak`: NTSN (RFC 8915 §5.7), the server rejected the NTS cookie; the client
 *   needs fresh cookies, from NTS-KE if it has none left;
 * - `informational`: every other code, including unknown ones.
 */
export type KissAction = 'refused' | 'reduce-rate' | 'nts-nak' | 'informational';

export function isKnownKissCode(code: string): code is KissCode {
  return Object.prototype.hasOwnProperty.call(KISS_CODES, code);
}

/** The RFC description of a code, or a generic text for an unregistered one. */
export function describeKissCode(code: string): string {
  return isKnownKissCode(code) ? KISS_CODES[code] : `Unregistered kiss code ${JSON.stringify(code)}.`;
}

/** What this code asks of a client (RFC 5905 §7.4). */
export function kissAction(code: string): KissAction {
  switch (code) {
    case 'DENY':
    case 'RSTR':
      return 'refused';
    case 'RATE':
      return 'reduce-rate';
    case 'NTSN':
      return 'nts-nak';
    default:
      return 'informational';
  }
}

/**
 * Whether a header is a kiss-o'-death a client must act on: a server reply
 * (mode 4) with stratum 0. Broadcast and symmetric packets are out of scope
 * here: the symmetric and broadcast engines judge stratum 0 themselves.
 */
export function isKissOfDeath(header: Pick<NtpHeader, 'mode' | 'stratum'>): boolean {
  return header.mode === Mode.Server && header.stratum === STRATUM_KISS;
}

/**
 * The kiss code of a stratum-0 header, as ASCII ("RATE"); null if the stratum
 * is not 0 or the refid is not printable ASCII. Trailing NULs are dropped.
 */
export function kissCode(header: Pick<NtpHeader, 'stratum' | 'referenceId'>): string | null {
  return header.stratum === STRATUM_KISS ? refIdAscii(header.referenceId) : null;
}

/** The refid a server puts in a kiss-o'-death with this code. */
export function kissCodeToRefId(code: KissCode): number {
  return refIdFromCode(code);
}
