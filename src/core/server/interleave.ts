/**
 * Server side of the interleaved client/server mode (RFC 9769 §2; chrony's
 * `xleave`). A basic reply must carry its transmit timestamp before it
 * leaves, so it can only be an estimate; the kernel's (or hardware's)
 * timestamp of the real departure is known only afterwards. A client in
 * interleaved mode sends, as its origin timestamp, the receive timestamp of
 * our previous reply to it; we answer with the real transmit time of that
 * previous reply, and put the request's receive field in our origin, which
 * is how the client recognises an interleaved reply.
 *
 * Detection follows chronyd (ntp_core.c): only NTPv4 requests whose origin
 * is non-zero and whose receive and transmit fields differ look interleaved
 * (a basic client sends a zero origin, or our transmit time), and only those
 * make us keep a receive timestamp and ask the IO layer for the real
 * transmit time, which is costly to capture. The client's record in the
 * ClientTable holds one pair; a reply is interleaved when the request's
 * origin equals the saved receive timestamp and its transmit time has been
 * reported. So a client starting with a zero origin gets its first
 * interleaved reply on its third request, as with chronyd; several clients
 * behind one address (NAT) overwrite each other's pair and fall back to
 * basic replies (chrony.conf(5) warns of the same).
 */
import type { Instant } from '../../time/instant.js';
import { fromNtpTimestamp, toNtpTimestamp, type NtpTimestamp } from '../../time/timestamp.js';
import type { NtpHeader } from '../../proto/header.js';
import type { ClientTable } from './client-table.js';

/** Longest accepted gap between a reply's receive time and its reported transmit time (chrony's MAX_TX_DELAY). */
export const MAX_TRANSMIT_DELAY = 1;

/** Identifies the reply whose transmit time recordTransmit() expects. */
export interface TransmitTicket {
  readonly slot: number;
  /** The receive timestamp the reply carries, as sent. */
  readonly receive: NtpTimestamp;
}

/** Whether a request has the form of an interleaved one (see the module comment). */
export function looksInterleaved(h: Pick<NtpHeader, 'version' | 'originTimestamp' | 'receiveTimestamp' | 'transmitTimestamp'>): boolean {
  return h.version === 4 && h.originTimestamp !== 0n && h.receiveTimestamp !== h.transmitTimestamp;
}

/**
 * The real transmit timestamp of the earlier reply this request names by its
 * origin, or null if the record does not hold it (never sent, replaced, or
 * its transmit time never reported).
 */
export function previousTransmit(table: ClientTable, slot: number, origin: NtpTimestamp): NtpTimestamp | null {
  const tx = table.txSent[slot] as bigint;
  return tx !== 0n && table.rxSent[slot] === origin ? tx : null;
}

/** Keeps the receive timestamp of a reply about to go out (replacing the pair held); its transmit time is not known yet. */
export function saveReceive(table: ClientTable, slot: number, receive: NtpTimestamp): TransmitTicket {
  table.rxSent[slot] = receive;
  table.txSent[slot] = 0n;
  return { slot, receive };
}

/**
 * Records when the reply of `ticket` really left. Refused (false) when the
 * record has moved on (another reply to the client, or another client in
 * the record) or the time is implausible: before the receive time or more
 * than MAX_TRANSMIT_DELAY after it.
 */
export function recordTransmit(table: ClientTable, ticket: TransmitTicket, transmit: Instant): boolean {
  const { slot, receive } = ticket;
  if (!Number.isInteger(slot) || slot < 0 || slot >= table.slots || receive === 0n) return false;
  if (table.rxSent[slot] !== receive) return false;
  const tx = toNtpTimestamp(transmit);
  // Wire timestamps, so the difference is taken modulo the era.
  const delay = BigInt.asIntN(64, tx - receive);
  if (delay < 0n || delay > BigInt(MAX_TRANSMIT_DELAY) << 32n) return false;
  // 0 marks "not reported"; a real transmit time of exactly 0 (era start) is nudged by one tick.
  table.txSent[slot] = tx === 0n ? 1n : tx;
  return true;
}

/** Saved receive/transmit pairs ("NTP timestamps held") and the seconds from the oldest receive time to the newest ("NTP timestamp span"). O(slots). */
export function heldTimestamps(table: ClientTable, now: Instant): { readonly held: number; readonly span: number } {
  let held = 0;
  let oldest: Instant | null = null;
  let newest: Instant | null = null;
  for (let i = 0; i < table.slots; i++) {
    const rx = table.rxSent[i] as bigint;
    if (rx === 0n || table.family[i] === 0) continue;
    held++;
    const t = fromNtpTimestamp(rx, now);
    if (oldest === null || t < oldest) oldest = t;
    if (newest === null || t > newest) newest = t;
  }
  const span = oldest === null || newest === null ? 0 : Number((newest - oldest) >> 32n);
  return { held, span };
}
