/**
 * One NTP source: the poll state machine (RFC 5905 §13, chrony's ntp_core.c)
 * and its request/reply exchange. It decides when to send, builds the
 * request, judges the reply and keeps the reach register; what a good sample
 * means for the clock is for source-measurement.ts and the engine.
 *
 * - Poll interval: between minpoll and maxpoll, raised while the source's
 *   estimate rests on many samples' worth of information and lowered when it
 *   does not (chrony's polltarget: a larger target keeps the interval shorter).
 * - iburst: the first 4 requests go 2 s apart (chrony.conf(5)); burst: every
 *   poll is a burst of requests 2 s apart that ends after 4 good replies or 8
 *   requests.
 * - Reach: shifted left at every request, bit 0 set by a valid reply (RFC 5905 §13).
 * - Backoff: after 4 requests in a row without a reply the interval doubles
 *   at every further poll, up to maxpoll (an unreachable server is not
 *   hammered); the first reply brings it back to minpoll.
 * - presend N (chrony.conf(5)): once the poll exponent is N or more, each
 *   poll starts with an extra request and the real one follows 2 s later
 *   (chronyd's WARM_UP_DELAY), so ARP caches and the like on the way are
 *   warm; the extra reply counts for reach but is no sample (test A fails).
 * - Offline (chronyc offline, or the `offline` option): no requests; a burst in progress still ends
 *   first, then the source waits, keeping its state, until it is online.
 * - KoD (RFC 5905 §7.4), as chronyd (ntp_core.c) handles it; the poll stays
 *   within minpoll..maxpoll whatever the kiss says:
 *   - RATE: a burst ends and the next request waits 4 intervals more than
 *     usual. The poll field of the kiss is ignored: ntpd servers put the
 *     client's own poll there, so obeying it would pin the client to a long
 *     interval, and a broken server could name 2^17 s.
 *   - DENY, RSTR: the server refuses us. The RFC says to stop; chronyd keeps
 *     polling, since access lists change, and lengthens the interval. Here
 *     each refusal doubles the interval, up to maxpoll, and a burst ends:
 *     a refusing server gets at most one request per maxpoll after a few
 *     refusals, and one that lets us in again is found within maxpoll, or at
 *     once by chronyc online or burst.
 *   The reply sets no reach bit (it carries no time). A valid reply ends the
 *   KoD state.
 * - Symmetric mode (a `peer`, symmetric.ts): packets of mode 1 carrying our
 *   sync state, answered by the peer's mode 1 or 2; the interval is the
 *   shorter of ours and the peer's while it answers, and is timed after each
 *   valid packet as chronyd times it. No burst or iburst: chronyd refuses
 *   them on peers, as they would upset the peer's own sampling.
 */
import { addSeconds, diffSeconds, type Instant } from '../../time/instant.js';
import { fromNtpTimestamp, toNtpTimestamp, type NtpTimestamp } from '../../time/timestamp.js';
import { shortToSeconds } from '../../time/short.js';
import { Leap, Mode } from '../../proto/constants.js';
import { kissAction, type KissAction, kissCode } from '../../proto/kiss.js';
import type { NtpHeader } from '../../proto/header.js';
import { parsePacket } from '../../proto/packet.js';
import { buildClientRequest, buildInterleavedRequest, buildSymmetricPacket, fuzzedTransmit } from '../client-request.js';
import { evaluateReply, type ReplyRejection, type ReplyVerdict } from '../reply-validation.js';
import { servedParams, type SystemState } from '../system.js';
import { SymmetricPeer } from './symmetric.js';
import type { SourceAuthenticator, StampCounts, StampSource } from './engine-api.js';
import type { Sample } from '../sample.js';
import { MAX_POLL, MIN_POLL, type SourceOptions } from './source-options.js';

/** Seconds between the requests of a burst (chrony: 2 s, or minpoll if shorter). */
const BURST_INTERVAL = 2;
/** Requests sent by iburst at start. */
const IBURST_REQUESTS = 4;
/** A burst ends after this many good replies ... */
const BURST_GOOD = 4;
/** ... or this many requests. */
const BURST_MAX = 8;
/** Seconds from presend's extra request to the real one (chronyd's WARM_UP_DELAY). */
const PRESEND_DELAY = 2;
/** Requests without a reply before the interval backs off. */
const BACKOFF_AFTER = 4;

interface Pending {
  cookie: NtpTimestamp;
  t1: Instant;
  /** Who read t1: the transmit time is 'daemon' until the driver says otherwise. */
  txStamp: StampSource;
  readonly epoch: number;
  /** The authenticator's token for this request (null without one). */
  readonly token: unknown;
  /** The extra request of `presend`: its reply warms the path and is not a sample. */
  readonly presend: boolean;
  readonly interleaved?: { readonly receiveCookie: NtpTimestamp; readonly t1: Instant; readonly txStamp: StampSource; readonly t2: Instant; readonly t4: Instant };
}

interface Previous {
  readonly t1: Instant;
  readonly txStamp: StampSource;
  readonly t2: Instant;
  readonly t4: Instant;
  readonly t2Wire: NtpTimestamp;
  readonly t4Wire: NtpTimestamp;
  readonly epoch: number;
}

/** What a datagram from this source amounted to. */
export type ReplyOutcome =
  | { readonly kind: 'sample'; readonly sample: Sample; readonly header: NtpHeader; readonly interleaved: boolean; readonly txStamp: StampSource; readonly rxStamp: StampSource; readonly presend: boolean }
  /** `fresh`: the first kiss of this code since the source last served us (later ones repeat it). */
  | { readonly kind: 'kod'; readonly code: string; readonly action: KissAction; readonly fresh: boolean }
  | { readonly kind: 'unsynchronized'; readonly header: NtpHeader }
  /** `duplicate`: a peer's packet already seen, or a second answer to one packet of ours. */
  | { readonly kind: 'ignored'; readonly reason: ReplyRejection | 'not-expected' | 'clock-stepped' | 'auth-failed' | 'duplicate' };

export interface PollRequest {
  readonly packet: Uint8Array;
}

/** A kiss-o'-death in effect: the source's last reply was this kiss. */
export interface KodState {
  readonly code: string;
  readonly action: KissAction;
  /** When the last one came (t4). */
  readonly at: Instant;
}

export class SourcePoller {
  /** Replaced only by modifyOptions() (chronyc minpoll, maxpoll, polltarget... at run time). */
  options: SourceOptions;
  /** Current poll exponent (log2 s), within minpoll..maxpoll. */
  private adaptivePoll: number;
  reach = 0;
  /** Requests left in the current burst (iburst or burst). */
  private burstLeft = 0;
  private burstGood = 0;
  /** Good replies that end a burst asked for at run time (chronyc burst), or null. */
  private manualBurstGood: number | null = null;
  /** False after chronyc offline (or from the start, with `offline`): nothing is sent until online, except a burst asked for. */
  online: boolean;
  /** The request just sent was presend's extra one: the real one follows. */
  private presendDone = false;
  /** chronyc ntpdata's counters: requests sent, datagrams from the source, valid replies. */
  totalTx = 0;
  totalRx = 0;
  totalValidRx = 0;
  /** Server processing time (t3 - t2) of the last valid reply, seconds. */
  lastResponseTime = 0;
  /** When the next request is due, or null when not polling. */
  nextPoll: Instant | null = null;
  /** When the last request was sent. */
  private lastTransmit: Instant | null = null;
  private pending: Pending | null = null;
  private previous: Previous | null = null;
  /** Requests sent since the last valid reply. */
  missed = 0;
  /** Requests sent since the last valid reply, counting the one in flight. */
  sentSinceReply = 0;
  /** Last valid header that is not a kiss (stratum, refid, root delay/dispersion, leap). */
  lastHeader: NtpHeader | null = null;
  /** The header of the last valid reply, kisses included, and whether it was synchronized (chronyc ntpdata shows it). */
  lastReply: { readonly header: NtpHeader; readonly synchronized: boolean } | null = null;
  /** Last kiss code received. */
  kissCode: string | null = null;
  /** The kiss in effect, or null once the source serves us again. */
  kod: KodState | null = null;
  /** Last sample used interleaved mode. */
  interleaved = false;
  /** The last valid reply passed the authenticator. */
  authenticated = false;
  /** Replies to our request that failed authentication, NAKs included; and the NAKs alone. */
  authFailures = 0;
  authNaks = 0;
  lastAuthFailure: string | null = null;
  /** Polls skipped because the authenticator could not secure a request (NTS without cookies). */
  unsecured = 0;
  /** Good samples since the last poll change. */
  private pollScore = 0;
  private readonly random: () => number;
  private readonly clientPrecision: number;
  /** Secures requests and checks replies (`key N`, `nts`), or null. */
  /** Replaced on a reload that keeps the source (a new key table). */
  auth: SourceAuthenticator | null;
  /** Symmetric mode's state (a `peer` source), or null for a server. */
  private peer: SymmetricPeer | null;
  /** Our sync state, which a peer's packets carry. */
  private readonly localState: () => SystemState;

  constructor(options: SourceOptions, random: () => number, clientPrecision: number, auth: SourceAuthenticator | null = null, localState?: () => SystemState) {
    this.options = options;
    this.auth = auth;
    this.peer = options.kind === 'peer' ? new SymmetricPeer() : null;
    this.localState = localState ?? (() => { throw new Error('a peer source needs the local sync state'); });
    this.random = random;
    this.clientPrecision = clientPrecision;
    this.adaptivePoll = clampPoll(options.minpoll, options);
    this.online = !options.offline;
  }

  /** Poll exponent (log2 s). */
  get poll(): number {
    return this.adaptivePoll;
  }

  /**
   * The reach register as chronyd keeps it: ours is shifted when a request
   * goes out, chronyd's when its reply comes (or the next request finds it
   * missing), so while a request is out ours has a 0 in front that chronyd's
   * does not have yet.
   */
  get settledReach(): number {
    return this.pending === null ? this.reach : this.reach >>> 1;
  }

  /** Requests whose fate is known (answered or missed), as chronyd counts its reach register's size. */
  get settledTx(): number {
    return this.pending === null ? this.totalTx : Math.max(0, this.totalTx - 1);
  }

  /** The server refuses us (its last reply was DENY or RSTR). */
  get refused(): boolean {
    return this.kod?.action === 'refused';
  }

  /** Interval between burst requests, seconds. */
  private burstInterval(): number {
    return Math.min(BURST_INTERVAL, 2 ** this.options.minpoll);
  }

  /** Starts (or restarts, after a replacement) polling at `now`. */
  begin(now: Instant): void {
    this.reach = 0;
    this.missed = 0;
    this.sentSinceReply = 0;
    this.pending = null;
    this.previous = null;
    this.kissCode = null;
    this.kod = null;
    this.lastHeader = null;
    this.lastReply = null;
    this.adaptivePoll = clampPoll(this.options.minpoll, this.options);
    if (this.peer !== null) this.peer = new SymmetricPeer();
    this.burstLeft = this.peer !== null ? 0 : this.options.burst ? BURST_MAX : this.options.iburst ? IBURST_REQUESTS : 0;
    this.burstGood = 0;
    this.manualBurstGood = null;
    this.nextPoll = this.online ? now : null;
    this.lastTransmit = null;
  }

  /** Whether a burst (iburst, burst or one asked for) is under way. */
  get bursting(): boolean {
    return this.burstLeft > 0 && this.nextPoll !== null;
  }

  /**
   * A burst asked for at run time: up to `max` requests 2 s apart from now,
   * ending after `good` good replies; then the regular schedule (or, offline,
   * silence) resumes. A source that refuses us is asked again too.
   */
  startBurst(now: Instant, good: number, max: number): void {
    // chronyd ignores a burst on a peer: it would upset the peer's sampling.
    if (this.peer !== null) return;
    this.burstLeft = max;
    this.burstGood = 0;
    this.manualBurstGood = good;
    this.nextPoll = now;
  }

  /**
   * chronyc online/offline. Going online polls at once: the sources may have
   * moved while we were away. `online` for a source already online that
   * refuses us (KoD DENY/RSTR) asks it again now, from minpoll: the operator
   * says its access has been fixed.
   */
  setOnline(now: Instant, online: boolean): void {
    if (online === this.online) {
      if (online && this.refused) {
        this.adaptivePoll = clampPoll(this.options.minpoll, this.options);
        if (this.burstLeft === 0) this.nextPoll = now;
      }
      return;
    }
    this.online = online;
    if (online) {
      if (this.nextPoll === null || this.nextPoll > now) this.nextPoll = now;
    } else if (this.burstLeft === 0) {
      // A reply to the request in flight is still welcome.
      this.nextPoll = null;
    }
  }

  /** Whether a request is due at `now`. */
  due(now: Instant): boolean {
    return this.nextPoll !== null && now >= this.nextPoll;
  }

  /**
   * Sends the next request: returns the packet and schedules the one after.
   * `epoch` is the clock model's step count, to drop exchanges spanning a step.
   */
  transmit(now: Instant, epoch: number): PollRequest | null {
    if (this.pending !== null) {
      this.missed++;
      // A burst that gets no replies ends; unreachable servers back off.
      if (this.missed >= BACKOFF_AFTER) this.adaptivePoll = Math.min(this.adaptivePoll + 1, this.options.maxpoll);
    }
    this.reach = (this.reach << 1) & 0xff;
    this.sentSinceReply++;
    const prev = this.previous !== null && this.previous.epoch === epoch ? this.previous : null;
    const useXleave = this.options.xleave && prev !== null && this.peer === null;
    let cookie: NtpTimestamp;
    let packet: Uint8Array;
    if (this.peer !== null) {
      const echo = this.peer.nextEcho();
      cookie = this.symmetricTransmit(now, echo.origin, echo.receive);
      packet = buildSymmetricPacket(this.options.version, servedParams(this.localState(), now), this.adaptivePoll, echo.origin, echo.receive, cookie);
    } else {
      cookie = this.randomCookie();
      packet = useXleave ? buildInterleavedRequest(this.options.version, cookie, prev.t2Wire, prev.t4Wire) : buildClientRequest(this.options.version, cookie);
    }
    let token: unknown = null;
    let secured = true;
    const presend = this.options.presend !== null && this.poll >= this.options.presend && !this.presendDone && this.burstLeft === 0;
    this.presendDone = presend;
    if (this.auth !== null) {
      const s = this.auth.secure(packet);
      if (s === null) secured = false;
      else ({ packet, token } = s);
    }
    this.pending = useXleave
      ? { cookie, t1: now, txStamp: 'daemon', epoch, token, presend, interleaved: { receiveCookie: prev.t4Wire, t1: prev.t1, txStamp: prev.txStamp, t2: prev.t2, t4: prev.t4 } }
      : { cookie, t1: now, txStamp: 'daemon', epoch, token, presend };
    this.lastTransmit = now;
    if (secured) this.totalTx++;
    else this.unsecured++;
    if (this.burstLeft > 0) this.burstLeft--;
    if (presend) this.nextPoll = addSeconds(now, PRESEND_DELAY);
    else if (this.burstLeft > 0 && this.missed < BURST_MAX) this.nextPoll = addSeconds(now, this.burstInterval());
    else this.scheduleNext(now);
    // Not secured: the poll counts as sent and lost (reach, backoff), so the schedule goes on and the authenticator gets another chance.
    return secured ? { packet } : null;
  }

  /** The next regular poll after a request sent at `from` (a burst starts there when `burst` is set). */
  private scheduleNext(from: Instant): void {
    this.burstLeft = 0;
    this.manualBurstGood = null;
    if (!this.online) {
      this.nextPoll = null;
      return;
    }
    if (this.peer !== null) {
      this.nextPoll = addSeconds(from, this.peer.transmitDelay(this.transmitPoll(), this.localState().stratum, true, 0));
      return;
    }
    const interval = 2 ** this.poll;
    // A little randomness keeps many clients from polling in step (chrony randomises too).
    const jitter = interval >= 4 ? 1 - 0.05 * this.random() : 1;
    this.nextPoll = addSeconds(from, interval * jitter);
    if (this.options.burst) {
      this.burstLeft = BURST_MAX;
      this.burstGood = 0;
    }
  }

  /** The precise transmit time of the request in flight, and who read it. */
  sent(t1: Instant, stamp: StampSource = 'daemon', transmit?: NtpTimestamp): void {
    if (this.pending === null) return;
    // A peer echoes our transmit timestamp: the rewritten one is the cookie now.
    if (transmit !== undefined && this.peer !== null) this.pending.cookie = transmit;
    this.pending.t1 = t1;
    this.pending.txStamp = stamp;
  }

  /** How the samples were stamped (chronyc ntpdata's TX/RX timestamping, with counts). */
  stamps(): StampCounts {
    return { ...this.stampCounts };
  }

  private stampCounts: { txKernel: number; txDaemon: number; rxKernel: number; rxDaemon: number; lastTx: StampSource | null; lastRx: StampSource | null } =
    { txKernel: 0, txDaemon: 0, rxKernel: 0, rxDaemon: 0, lastTx: null, lastRx: null };

  private countStamps(tx: StampSource, rx: StampSource): void {
    const c = this.stampCounts;
    if (tx === 'kernel') c.txKernel++;
    else c.txDaemon++;
    if (rx === 'kernel') c.rxKernel++;
    else c.rxDaemon++;
    c.lastTx = tx;
    c.lastRx = rx;
  }

  /** Judges a datagram from this source's address; `rxStamp`: who read t4. */
  receive(data: Uint8Array, t4: Instant, epoch: number, rxStamp: StampSource = 'daemon'): ReplyOutcome {
    this.totalRx++;
    if (this.peer !== null) return this.receiveSymmetric(this.peer, data, t4, epoch, rxStamp);
    const p = this.pending;
    if (p === null) return { kind: 'ignored', reason: 'not-expected' };
    const v = evaluateReply(data, {
      cookie: p.cookie, t1: p.t1, t4, clientPrecision: this.clientPrecision,
      ...(p.interleaved !== undefined ? { interleaved: p.interleaved } : {}),
    });
    if (!v.ok) {
      // Not a reply to our request: the real one may still come.
      if (v.rejection === 'origin-mismatch' || v.rejection === 'truncated' || v.rejection === 'not-ntp' || v.rejection === 'wrong-mode') {
        return { kind: 'ignored', reason: v.rejection };
      }
    }
    // The reply answers our request: it must be authentic before anything in it (even a KoD) is believed.
    if (this.auth !== null) {
      const a = this.auth.check(data, p.token);
      if (!a.ok) {
        this.authFailures++;
        if (a.nak) this.authNaks++;
        this.lastAuthFailure = a.reason;
        // Pending stays: a forged reply must not stop the authentic one from being taken.
        return { kind: 'ignored', reason: 'auth-failed' };
      }
    }
    return this.settle(v, p, t4, epoch, rxStamp);
  }

  /**
   * A packet from a peer (symmetric.ts): authentic first (test 5), no
   * duplicate (test 1), then our last transmit timestamp as its origin and no
   * zero timestamp (tests 2 and 3). Every authentic new packet is remembered
   * for our next one to answer; the first valid one since our last packet
   * is measured, and times our next packet.
   */
  private receiveSymmetric(peer: SymmetricPeer, data: Uint8Array, t4: Instant, epoch: number, rxStamp: StampSource): ReplyOutcome {
    const parsed = parsePacket(data);
    if (!parsed.ok) return { kind: 'ignored', reason: parsed.reason === 'too-short' ? 'truncated' : 'not-ntp' };
    const h = parsed.value.header;
    if (h.mode !== Mode.SymmetricActive && h.mode !== Mode.SymmetricPassive) return { kind: 'ignored', reason: 'wrong-mode' };
    const p = this.pending;
    if (this.auth !== null) {
      const a = this.auth.check(data, p?.token ?? null);
      if (!a.ok) {
        this.authFailures++;
        if (a.nak) this.authNaks++;
        this.lastAuthFailure = a.reason;
        return { kind: 'ignored', reason: 'auth-failed' };
      }
    }
    if (peer.isDuplicate(h)) return { kind: 'ignored', reason: 'duplicate' };
    const v = p === null ? null : evaluateReply(data, { cookie: p.cookie, t1: p.t1, t4, clientPrecision: this.clientPrecision, symmetric: true });
    const valid = v !== null && h.originTimestamp === p?.cookie && h.receiveTimestamp !== 0n && h.transmitTimestamp !== 0n;
    const first = peer.record(h, valid, toNtpTimestamp(t4));
    if (v === null || p === null) return { kind: 'ignored', reason: 'not-expected' };
    if (!valid) return { kind: 'ignored', reason: v.ok ? 'bogus-timestamps' : v.rejection };
    if (!first) return { kind: 'ignored', reason: 'duplicate' };
    // An unsynchronized peer sends leap 3 and stratum 0 with no kiss code: that says "no time", not a kiss (chronyd's test 6).
    const verdict: ReplyVerdict = !v.ok && v.rejection === 'kod' && kissCode(h) === null ? { ...v, rejection: 'unsynchronized', header: h } : v;
    const out = this.settle(verdict, p, t4, epoch, rxStamp);
    // The next packet is timed from this one, as chronyd times it (symmetric.ts).
    if (this.nextPoll !== null && this.burstLeft === 0 && this.lastTransmit !== null) {
      const delay = peer.transmitDelay(this.transmitPoll(), this.localState().stratum, false, diffSeconds(t4, this.lastTransmit));
      this.nextPoll = addSeconds(t4, delay);
    }
    return out;
  }

  /** The poll exponent packets go out at: a peer's is the shorter of ours and its own while it answers. */
  private transmitPoll(): number {
    return this.peer === null ? this.poll : this.peer.transmitPoll(this.poll, this.options.minpoll, this.reach !== 0);
  }

  /**
   * A peer packet's transmit timestamp: our time now (the peer measures
   * with it), with random bits below a microsecond as chronyd adds below its
   * precision, and never equal to the origin or receive field or our last one.
   */
  private symmetricTransmit(now: Instant, origin: NtpTimestamp, receive: NtpTimestamp): NtpTimestamp {
    const last = this.pending?.cookie ?? 0n;
    let t = fuzzedTransmit(now, BigInt(Math.floor(this.random() * 0x1000)));
    while (t === origin || t === receive || t === last) t = BigInt.asUintN(64, t + 1n);
    return t;
  }

  /** What a reply that answers our request amounts to (after authentication). */
  private settle(v: ReplyVerdict, p: Pending, t4: Instant, epoch: number, rxStamp: StampSource): ReplyOutcome {
    if (!v.ok) {
      this.pending = null;
      if (v.rejection === 'kod') return this.kiss(v.kissCode ?? '????', v.header, t4);
      if (v.rejection === 'unsynchronized' && v.header !== undefined) {
        this.markReachable();
        this.lastHeader = v.header;
        this.validReply(v.header, false);
        return { kind: 'unsynchronized', header: v.header };
      }
      return { kind: 'ignored', reason: v.rejection };
    }
    this.pending = null;
    this.markReachable();
    this.lastHeader = v.header;
    this.validReply(v.header, true);
    this.authenticated = this.auth !== null;
    this.lastResponseTime = diffSeconds(v.sample.t3, v.sample.t2);
    this.previous = {
      t1: p.t1, txStamp: p.txStamp, t4, t2: fromNtpTimestamp(v.header.receiveTimestamp, p.t1), t2Wire: v.header.receiveTimestamp,
      t4Wire: toNtpTimestamp(t4), epoch,
    };
    if (p.epoch !== epoch) return { kind: 'ignored', reason: 'clock-stepped' };
    this.interleaved = v.interleaved === true;
    // An interleaved sample's T1 is its earlier request's.
    const txStamp = this.interleaved && p.interleaved !== undefined ? p.interleaved.txStamp : p.txStamp;
    this.countStamps(txStamp, rxStamp);
    const goodTarget = this.manualBurstGood ?? (this.options.burst ? BURST_GOOD : null);
    if (goodTarget !== null && this.burstLeft > 0 && ++this.burstGood >= goodTarget) {
      // Enough good replies: the burst ends now, not after the request already scheduled.
      this.burstLeft = 0;
      if (this.lastTransmit !== null) this.scheduleNext(this.lastTransmit);
    }
    return { kind: 'sample', sample: v.sample, header: v.header, interleaved: this.interleaved, txStamp, rxStamp, presend: p.presend };
  }

  /** A kiss-o'-death answering our request (see the header comment). */
  private kiss(code: string, header: NtpHeader | undefined, t4: Instant): ReplyOutcome {
    const action = kissAction(code);
    const fresh = this.kod?.code !== code;
    this.kissCode = code;
    this.kod = { code, action, at: t4 };
    if (header !== undefined) this.validReply(header, false);
    // The server answered: this request is not lost, whatever the kiss says.
    this.missed = 0;
    if (action === 'refused' || action === 'reduce-rate') {
      if (action === 'refused') this.adaptivePoll = clampPoll(this.adaptivePoll + 1, this.options);
      // A burst ends; the next request follows the interval after the last one (offline: none) ...
      this.burstLeft = 0;
      this.manualBurstGood = null;
      if (this.lastTransmit !== null && this.nextPoll !== null) {
        this.scheduleNext(this.lastTransmit);
        // ... and after a RATE, 4 intervals more (chronyd's back-off).
        if (action === 'reduce-rate' && this.nextPoll !== null) this.nextPoll = addSeconds(this.nextPoll, 4 * 2 ** this.poll);
      }
    }
    return { kind: 'kod', code, action, fresh };
  }

  private validReply(header: NtpHeader, synchronized: boolean): void {
    this.lastReply = { header, synchronized };
    this.totalValidRx++;
  }

  private markReachable(): void {
    // Backed off for silence or for refusals: the server serves us again.
    const backedOff = this.missed >= BACKOFF_AFTER || this.refused;
    this.kod = null;
    if (backedOff) {
      this.adaptivePoll = clampPoll(this.options.minpoll, this.options);
      // The server is back: the next request follows the restored interval, not the backed-off one.
      if (this.burstLeft === 0 && this.lastTransmit !== null && this.nextPoll !== null) this.scheduleNext(this.lastTransmit);
    }
    this.reach |= 1;
    this.missed = 0;
    this.sentSinceReply = 0;
  }

  /**
   * Adapts the interval after a good sample. `information` is how many
   * typical samples' worth the estimate rests on; past polltarget the
   * estimate is steady enough to sample less often, below half of it more
   * often. Two agreeing votes in a row move the interval one step.
   */
  adapt(information: number): void {
    const target = this.options.polltarget;
    if (information > target) this.pollScore = Math.max(this.pollScore, 0) + 1;
    else if (information < target / 2) this.pollScore = Math.min(this.pollScore, 0) - 1;
    else this.pollScore = 0;
    if (this.pollScore >= 2) {
      this.adaptivePoll = Math.min(this.adaptivePoll + 1, this.options.maxpoll);
      this.pollScore = 0;
    } else if (this.pollScore <= -2) {
      this.adaptivePoll = Math.max(this.adaptivePoll - 1, this.options.minpoll);
      this.pollScore = 0;
    }
  }

  /** Root delay and dispersion the source reports, seconds. */
  root(): { delay: number; dispersion: number } {
    const h = this.lastHeader;
    return h === null ? { delay: 0, dispersion: 0 } : { delay: shortToSeconds(h.rootDelay), dispersion: shortToSeconds(h.rootDispersion) };
  }

  /** The leap bits the source announces (none when unknown). */
  leap(): 'none' | 'insert' | 'delete' {
    const l = this.lastHeader?.leap;
    return l === Leap.InsertSecond ? 'insert' : l === Leap.DeleteSecond ? 'delete' : 'none';
  }

  private randomCookie(): NtpTimestamp {
    const hi = BigInt(Math.floor(this.random() * 2 ** 32) >>> 0);
    const lo = BigInt(Math.floor(this.random() * 2 ** 32) >>> 0);
    const c = (hi << 32n) | lo;
    return c === 0n ? 1n : c;
  }

  /**
   * New options at run time (chronyc's minpoll, maxpoll, polltarget...):
   * they hold from the next poll on, the interval kept within the new
   * bounds as chronyd's next poll adjustment keeps it.
   */
  modifyOptions(options: SourceOptions): void {
    this.options = options;
    this.adaptivePoll = clampPoll(this.adaptivePoll, options);
  }
}

function clampPoll(p: number, o: SourceOptions): number {
  return Math.min(Math.max(p, MIN_POLL, Math.min(o.minpoll, o.maxpoll)), Math.max(o.maxpoll, o.minpoll), MAX_POLL);
}
