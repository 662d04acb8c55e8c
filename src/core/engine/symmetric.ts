/**
 * Basic symmetric mode (RFC 5905 §8 and §9, a `peer` source): what our
 * side remembers of the peer's packets, and when to send the next one, as
 * chronyd 4.3 does it (ntp_core.c).
 *
 * Each packet is at once a request and the answer to the peer's last one:
 * its origin field echoes the peer's last transmit timestamp and its receive
 * field says when that packet reached us. A packet from the peer is valid
 * when it is no duplicate (test 1), its origin is our last transmit
 * timestamp (test 2), no timestamp is zero (test 3) and it is authentic
 * (test 5); one valid packet is taken per packet we send.
 *
 * Starting (and restarting after a loss): the first packets of either side
 * carry a zero origin and fail test 2 or 3. A packet that is no duplicate
 * and authentic is still remembered, and our next packet answers it when no
 * valid one came since our last transmission; the peer's answer to that is
 * valid.
 */
import type { NtpTimestamp } from '../../time/timestamp.js';
import type { NtpHeader } from '../../proto/header.js';
import { STRATUM_UNSYNCHRONIZED } from '../../proto/constants.js';

/**
 * chronyd's PEER_SAMPLING_ADJ: with a peer of higher stratum, wait this
 * much longer than the poll interval so that the peer sends first and our
 * packet answers it soon after (a short, accurate exchange for the side
 * that synchronizes); with an equal stratum, spread the two sides' packets.
 */
const PEER_SAMPLING_ADJ = 1.1;

export class SymmetricPeer {
  /** From the peer's last valid packet: its receive and transmit fields, and our receive time of it. */
  private remoteRx = 0n;
  private remoteTx = 0n;
  private localRx = 0n;
  /** The latest packet that was no duplicate and authentic but not valid, answered when no valid one came. */
  private initTx = 0n;
  private initLocalRx = 0n;
  private initUpdated = false;
  /** A valid packet came since our last transmission. */
  private validRx = false;
  /** The peer's poll exponent and stratum (16 when unsynchronized), from its last valid packet. */
  remotePoll = 0;
  remoteStratum = STRATUM_UNSYNCHRONIZED;

  /** The origin and receive fields of the packet about to be sent; called once per transmission. */
  nextEcho(): { readonly origin: NtpTimestamp; readonly receive: NtpTimestamp } {
    const initial = !this.validRx && this.initTx !== 0n;
    this.validRx = false;
    this.initUpdated = false;
    return initial ? { origin: this.initTx, receive: this.initLocalRx } : { origin: this.remoteTx, receive: this.localRx };
  }

  /** Test 1: the same receive and transmit fields as the last valid packet (a replay or a duplicate). */
  isDuplicate(h: NtpHeader): boolean {
    return h.receiveTimestamp === this.remoteRx && h.transmitTimestamp === this.remoteTx;
  }

  /**
   * Remembers an authentic packet that is no duplicate; `valid`: it passed
   * tests 2 and 3 too. Returns whether it is the first valid one since our
   * last transmission (the one to measure with).
   */
  record(h: NtpHeader, valid: boolean, receivedAt: NtpTimestamp): boolean {
    // A valid packet older than the one already taken would move the echo back (a replay).
    if (valid && (!this.validRx || h.transmitTimestamp > this.remoteTx)) {
      this.remoteRx = h.receiveTimestamp;
      this.remoteTx = h.transmitTimestamp;
      this.localRx = receivedAt;
      this.initTx = 0n;
      this.initLocalRx = 0n;
      this.initUpdated = false;
    } else if (h.transmitTimestamp !== 0n && (!this.initUpdated || h.transmitTimestamp > this.initTx)) {
      this.initTx = h.transmitTimestamp;
      this.initLocalRx = receivedAt;
      this.initUpdated = true;
    }
    if (!valid || this.validRx) return false;
    this.validRx = true;
    this.remotePoll = h.poll;
    this.remoteStratum = h.stratum === 0 ? STRATUM_UNSYNCHRONIZED : Math.min(h.stratum, STRATUM_UNSYNCHRONIZED);
    return true;
  }

  /** The poll exponent to send at: the shorter of ours and the peer's while it answers, not below minpoll. */
  transmitPoll(localPoll: number, minpoll: number, reachable: boolean): number {
    return reachable && localPoll > this.remotePoll ? Math.max(this.remotePoll, minpoll) : localPoll;
  }

  /**
   * Seconds until the next transmission (chronyd's get_transmit_delay in
   * symmetric mode): `onTx` when scheduling from a transmission, else from a
   * valid packet received `sinceTx` seconds after our last transmission.
   */
  transmitDelay(poll: number, ourStratum: number, onTx: boolean, sinceTx: number): number {
    let delay = 2 ** poll;
    const stratumDiff = this.remoteStratum - ourStratum;
    if ((stratumDiff > 0 && sinceTx * PEER_SAMPLING_ADJ < delay) || (!onTx && stratumDiff === 0 && sinceTx / delay > PEER_SAMPLING_ADJ - 0.5)) {
      delay *= PEER_SAMPLING_ADJ;
    }
    if (sinceTx > 0) delay -= sinceTx;
    return Math.max(0, delay);
  }
}
