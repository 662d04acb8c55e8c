/**
 * The sans-IO NTP responder: given a datagram, its kernel receive time, the
 * client's address and the system state, it says "ignore" (with a named
 * reason, counted) or "respond" (with the reply's bytes). The IO layer sends,
 * writes the transmit timestamp as late as it can, and reports the real
 * transmit time back for interleaved mode. Nothing here reads a clock or a
 * random source: time and random bits come in with each request.
 *
 * What it does, as chronyd 4.3 does unless said otherwise:
 * - mode 3 gets mode 4, mode 1 (symmetric active) gets mode 2 (basic only);
 *   an NTPv1 packet with mode 0 from a port other than 123 is a v1 client
 *   request and gets mode 4 (NTPv1 had no mode field; ntp_core.c does this);
 *   modes 2, 4, 5 are not requests; 6 and 7 are never answered here (the
 *   daemon hands mode 6 to its query responder, mode6-server.ts, first);
 * - the reply has the request's version; stratum, refid, leap, precision,
 *   reference time and root figures come from the system state;
 * - poll is the request's, raised to the rate-limit interval (or to -19
 *   without rate limiting), which asks fast clients to slow down;
 * - unsynchronized without `local`, chronyd 4.3 answers with leap 3,
 *   stratum 0, refid 0 and root delay/dispersion 1 s (checked on loopback);
 *   `unsynchronized: 'ignore'` stays silent instead;
 * - denied clients are ignored (chronyd never sends DENY); `denied: 'kod'`
 *   answers them with a DENY kiss-o'-death, itself rate limited;
 * - a kiss-o'-death has leap 3, stratum 0 and the code as refid, the other
 *   fields as usual (as chronyd's NTS NAK in src/proto/fixtures);
 * - a request with a MAC or extension fields goes to the configured
 *   RequestAuthenticator (symmetric keys, NTS), which signs the reply, drops
 *   the request, or asks for a crypto-NAK / NTS NAK; without one such
 *   requests get a plain 48-byte reply (the daemon always installs one:
 *   chronyd 4.3 drops MAC requests it cannot check, without a crypto-NAK);
 * - an authenticated reply carries the MAC or fields of its request's kind,
 *   so it is no longer than the request; its transmit timestamp is final
 *   before it is signed (the IO layer must not rewrite it); a request
 *   shorter than 48 never gets a reply.
 * - chronyd adds random bits below the precision to its receive and
 *   transmit timestamps; this responder does not;
 * - a datagram from source port 0, or from an address that is not one
 *   host's (multicast, broadcast, unspecified), is dropped before anything
 *   else is looked at: no reply could reach its sender, and one to a group
 *   would multiply a spoofed request.
 */
import type { Instant } from '../../time/instant.js';
import { toNtpTimestamp } from '../../time/timestamp.js';
import { Leap, Mode } from '../../proto/constants.js';
import { HEADER_LENGTH } from '../../proto/header.js';
import { refIdFromCode } from '../../proto/refid.js';
import { parsePacket } from '../../proto/packet.js';
import { type AccessTable, isAllowedWords } from './access.js';
import { type ClientKey, ClientTable, clientTime, newClientKey, setClientKey } from './client-table.js';
import { heldTimestamps, looksInterleaved, previousTransmit, recordTransmit, saveReceive, type TransmitTicket } from './interleave.js';
import { limitRate, noteRequestRate, RATE_LIMIT_RANGES, type RateLimitConfig, type RateLimitVerdict } from './ratelimit.js';
import {
  type AuthFailureReason, createServerCounters, type DropReason, dropReasonOfParseError, type ServerCounters, type ServerKissCode,
  type ServerStats, snapshotServerStats,
} from './server-stats.js';
import { type ServedParams, servedParams, type SystemState } from '../system.js';

export type { AuthFailureReason, DropReason, ServerKissCode, ServerStats } from './server-stats.js';
export type { TransmitTicket } from './interleave.js';

/** Where the IO layer writes the transmit timestamp of a basic reply. */
export const TRANSMIT_TIMESTAMP_OFFSET = 40;
/** The length of every reply. */
export const REPLY_LENGTH = HEADER_LENGTH;
/** The NTP port: an NTPv1 mode-0 packet from it is a symmetric peer, not a client (ntp_core.c). */
export const NTP_PORT = 123;
/** The poll a reply carries at least when no rate limit is set (chronyd 4.3 answers a poll of -100 with -19). */
export const MIN_REPLY_POLL = -19;

export interface ServerConfig {
  /** `allow` / `deny` rules (access.ts). */
  readonly access: AccessTable;
  /** `ratelimit`; null: no limit (chrony's default). */
  readonly rateLimit: RateLimitConfig | null;
  /** Answer interleaved requests in interleaved mode (default true; chronyd always does). */
  readonly xleave: boolean;
  /** What denied clients get: nothing (default, as chronyd) or a DENY kiss-o'-death. */
  readonly denied: 'ignore' | 'kod';
  /** Answer mode 1 (symmetric active) with mode 2 (default true, as chronyd). */
  readonly symmetric: boolean;
  /** Unsynchronized without a local reference: answer with leap 3 / stratum 0 (default, as chronyd 4.3) or stay silent. */
  readonly unsynchronized: 'reply' | 'ignore';
  /** Checks requests that carry a MAC or extension fields and secures their replies; null: they get plain replies. */
  readonly authenticator: RequestAuthenticator | null;
}

/**
 * The responder's authentication hook (symmetric keys, NTS). Pure code
 * cannot reach node:crypto, so the IO layer injects it.
 */
export interface RequestAuthenticator {
  /**
   * Called for a request with a MAC or extension fields. `reply` is the
   * 48-byte reply header already built, transmit timestamp included.
   * Returns the bytes to append to the reply (MAC or NTS fields), or a
   * decision to drop / answer with a NAK; `reason` names the failure (counted).
   */
  authenticate(request: Uint8Array, reply: Uint8Array):
    | { readonly kind: 'append'; readonly bytes: Uint8Array; readonly authenticated: boolean }
    | { readonly kind: 'crypto-nak'; readonly reason: AuthFailureReason }
    | { readonly kind: 'nts-nak'; readonly bytes: Uint8Array; readonly reason: AuthFailureReason }
    | { readonly kind: 'drop'; readonly reason: AuthFailureReason };
}

/** A configuration with chronyd's defaults for everything but the access table. */
export function serverConfig(c: Partial<ServerConfig> & Pick<ServerConfig, 'access'>): ServerConfig {
  return {
    access: c.access,
    rateLimit: c.rateLimit ?? null,
    xleave: c.xleave ?? true,
    denied: c.denied ?? 'ignore',
    symmetric: c.symmetric ?? true,
    unsynchronized: c.unsynchronized ?? 'reply',
    authenticator: c.authenticator ?? null,
  };
}

export interface RequestInput {
  /** The datagram's payload. */
  readonly packet: Uint8Array;
  /** T2: when it arrived, from the kernel where possible. */
  readonly receivedAt: Instant;
  /** The current time: provisional transmit timestamp, root dispersion growth. */
  readonly now: Instant;
  /** The client's address: text ("192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1") or 4/16 octets. */
  readonly address: string | Uint8Array;
  /** The client's UDP port. */
  readonly port: number;
  readonly system: SystemState;
  readonly config: ServerConfig;
  /** A uniformly random unsigned 32-bit value (rate-limit leak and KoD). */
  readonly random: number;
}

export interface IgnoreAction {
  readonly action: 'ignore';
  readonly reason: DropReason;
}

export interface RespondAction {
  readonly action: 'respond';
  /** 48 bytes, ready to send. */
  readonly reply: Uint8Array;
  /**
   * Where to write the transmit timestamp just before sending (40); the reply
   * already holds a provisional one (the request's `now`), so it is valid if
   * the IO layer does not. Null for an interleaved reply: its transmit field
   * is the real transmit time of the previous reply and must stay as it is.
   */
  readonly transmitTimestampOffset: number | null;
  /** 4 (server) or 2 (symmetric passive). */
  readonly mode: 2 | 4;
  readonly interleaved: boolean;
  /** The kiss code, when the reply is a kiss-o'-death. */
  readonly kod: ServerKissCode | null;
  /**
   * When non-null, the IO layer should report when this reply really left
   * (kernel transmit timestamp, or the value it wrote at offset 40) with
   * recordTransmit(); the client's next request can then be answered in
   * interleaved mode.
   */
  readonly transmitTicket: TransmitTicket | null;
}

export type ServerAction = IgnoreAction | RespondAction;

export interface ResponderOptions {
  /** Client records (power of two, default 65536): memory is fixed by this. */
  readonly clientSlots?: number;
  /** Random 32-bit seed for the client table's hash. */
  readonly seed: number;
  /**
   * Write every reply into one buffer the responder owns, valid only until
   * the next handleRequest(): for IO layers that copy the reply out at once.
   * Saves an allocation per reply (a server's hot path). Default false.
   */
  readonly reuseReply?: boolean;
}

const KOD_REFID: Readonly<Record<ServerKissCode, number>> = { RATE: refIdFromCode('RATE'), DENY: refIdFromCode('DENY'), NTSN: refIdFromCode('NTSN') };
/** A crypto-NAK: a MAC of key id 0 and no digest (RFC 5905 §7.3). */
const CRYPTO_NAK = new Uint8Array(4);

/** One server's responder: its client table and counters. Single-threaded; one per worker. */
export class NtpResponder {
  readonly clients: ClientTable;
  readonly counters: ServerCounters = createServerCounters();
  readonly #key = newClientKey();
  readonly #reply: Uint8Array | null;
  readonly #replyView: DataView | null;
  // The served parameters of the last (state, now): a server reads its clock once per batch of requests.
  #paramsState: SystemState | null = null;
  #paramsNow: Instant = -1n;
  #params: ServedParams | null = null;

  constructor(opts: ResponderOptions) {
    this.clients = new ClientTable({ slots: opts.clientSlots, seed: opts.seed });
    this.#reply = opts.reuseReply ? new Uint8Array(REPLY_LENGTH) : null;
    this.#replyView = this.#reply ? new DataView(this.#reply.buffer) : null;
  }

  /** Decides what to do with one datagram. Never throws on packet contents. */
  handleRequest(input: RequestInput): ServerAction {
    this.counters.received++;
    // Whom a reply would go to comes first: port 0 cannot be sent to (node:dgram
    // throws, sendmmsg fails), and a group address is never one client's own.
    if (input.port === 0) return this.#drop('bad-port');
    const key = this.#key;
    if (!setClientKey(key, input.address)) return this.#drop('bad-address');
    if (!isUnicast(key)) return this.#drop('not-unicast');
    const { config } = input;
    let buf = input.packet;
    const b0 = buf.length > 0 ? (buf[0] as number) : 0;
    if (buf.length > 0 && (b0 & 7) === Mode.Reserved && ((b0 >> 3) & 7) === 1) {
      if (input.port === NTP_PORT) return this.#drop('bad-mode');
      buf = buf.slice();
      buf[0] = (b0 & 0xf8) | Mode.Client;
    }
    const parsed = parsePacket(buf);
    if (!parsed.ok) return this.#drop(dropReasonOfParseError(parsed.reason));
    const h = parsed.value.header;

    let mode: 2 | 4;
    if (h.mode === Mode.Client) mode = Mode.Server;
    else if (h.mode === Mode.SymmetricActive) {
      if (!config.symmetric) return this.#drop('symmetric-disabled');
      mode = Mode.SymmetricPassive;
    } else return this.#drop('not-a-request');

    const rate = config.rateLimit;
    const tableNow = clientTime(input.receivedAt);

    if (!isAllowedWords(config.access, key.family, key.words)) {
      if (config.denied !== 'kod') return this.#drop('denied');
      if (rate) {
        const slot = this.clients.lookup(key);
        const elapsed = this.clients.touch(slot, tableNow);
        if (limitRate(this.clients, slot, elapsed, rate, input.random) !== 'pass') return this.#drop('denied');
      }
      return this.#respond(input, h, mode, 'DENY', null, null);
    }
    if (input.system.kind === 'unsynchronized' && config.unsynchronized === 'ignore') return this.#drop('unsynchronized');

    const slot = this.clients.lookup(key);
    const elapsed = this.clients.touch(slot, tableNow);
    let verdict: RateLimitVerdict = 'pass';
    if (rate) verdict = limitRate(this.clients, slot, elapsed, rate, input.random);
    else noteRequestRate(this.clients, slot, elapsed);
    if (verdict === 'drop') return this.#drop('rate-limited');
    if (verdict === 'kod') return this.#respond(input, h, mode, 'RATE', null, null);

    const auth = config.authenticator;
    const secured = auth !== null && (parsed.value.mac !== null || parsed.value.extensions.length > 0);
    let interleavedTx: bigint | null = null;
    let ticket: TransmitTicket | null = null;
    const xleave = config.xleave && mode === Mode.Server && looksInterleaved(h);
    if (xleave) {
      interleavedTx = previousTransmit(this.clients, slot, h.originTimestamp);
      // An authenticated request is saved only once it passes (below): a forged one must not take the client's slot.
      if (!secured) ticket = saveReceive(this.clients, slot, toNtpTimestamp(input.receivedAt));
    }
    const plain = this.#respond(input, h, mode, null, interleavedTx, ticket);
    if (!secured) return plain;
    return this.#secure(auth, buf, plain, xleave ? slot : -1, input);
  }

  /** Hands an authenticated request and its reply to the authenticator and carries out its decision. */
  #secure(auth: RequestAuthenticator, request: Uint8Array, plain: RespondAction, slot: number, input: RequestInput): ServerAction {
    // The reply may sit in the reused buffer: the secured one is a copy of its own.
    const header = plain.reply.slice(0, REPLY_LENGTH);
    const c = this.counters;
    const d = auth.authenticate(request, header);
    if (d.kind === 'drop' || d.kind === 'crypto-nak' || d.kind === 'nts-nak') c.authFailed[d.reason]++;
    if (d.kind === 'drop') {
      // Undo what #respond counted: nothing is sent.
      c.replied--;
      if (plain.interleaved) c.interleaved--;
      return this.#drop('auth-failed');
    }
    let tail: Uint8Array;
    if (d.kind === 'append') {
      tail = d.bytes;
      if (d.authenticated) c.authenticated++;
    } else if (d.kind === 'crypto-nak') {
      tail = CRYPTO_NAK;
      c.cryptoNakSent++;
    } else {
      tail = d.bytes;
      // RFC 8915 §5.7: the NTS NAK is a kiss-o'-death NTSN.
      const v = new DataView(header.buffer);
      v.setUint8(0, (Leap.Unsynchronized << 6) | (header[0] as number & 0x3f));
      v.setUint8(1, 0);
      v.setUint32(12, KOD_REFID.NTSN);
      c.kodSent.NTSN++;
    }
    const reply = new Uint8Array(REPLY_LENGTH + tail.length);
    reply.set(header, 0);
    reply.set(tail, REPLY_LENGTH);
    const ok = d.kind === 'append';
    const ticket = ok && slot >= 0 ? saveReceive(this.clients, slot, toNtpTimestamp(input.receivedAt)) : null;
    return {
      action: 'respond', reply,
      // A signed transmit timestamp cannot be rewritten; a NAK's can.
      transmitTimestampOffset: ok || plain.interleaved ? null : TRANSMIT_TIMESTAMP_OFFSET,
      mode: plain.mode, interleaved: ok && plain.interleaved, kod: d.kind === 'nts-nak' ? 'NTSN' : null,
      transmitTicket: ticket,
    };
  }

  /**
   * The IO layer's report of when a reply that carried `ticket` really left.
   * Returns whether it was kept (see interleave.ts recordTransmit()).
   */
  recordTransmit(ticket: TransmitTicket, transmit: Instant): boolean {
    return recordTransmit(this.clients, ticket, transmit);
  }

  /**
   * The IO layer's report that `count` replies this responder produced never
   * left (the kernel refused them, or had no room): they move from replied
   * to dropped as `send-failed`, so that received = replied + dropped holds.
   */
  recordSendFailures(count: number): void {
    if (!(count > 0)) return;
    this.counters.replied -= count;
    this.counters.dropped['send-failed'] += count;
  }

  /** A snapshot of the statistics; `now` dates the held timestamps (O(client slots)). */
  stats(now: Instant): ServerStats {
    const { held, span } = heldTimestamps(this.clients, now);
    return snapshotServerStats(this.counters, {
      recordsDropped: this.clients.recordsDropped, timestampsHeld: held, timestampSpan: span,
    });
  }

  #drop(reason: DropReason): IgnoreAction {
    this.counters.dropped[reason]++;
    return { action: 'ignore', reason };
  }

  #respond(
    input: RequestInput,
    h: { readonly version: number; readonly poll: number; readonly originTimestamp: bigint; readonly receiveTimestamp: bigint; readonly transmitTimestamp: bigint },
    mode: 2 | 4,
    kod: ServerKissCode | null,
    interleavedTx: bigint | null,
    ticket: TransmitTicket | null,
  ): RespondAction {
    const { receivedAt, now, system, config } = input;
    let p = this.#params;
    if (p === null || this.#paramsState !== system || this.#paramsNow !== now) {
      p = this.#params = servedParams(system, now);
      this.#paramsState = system;
      this.#paramsNow = now;
    }
    const interleaved = interleavedTx !== null;
    const minPoll = config.rateLimit ? Math.max(RATE_LIMIT_RANGES.interval[0], Math.min(RATE_LIMIT_RANGES.interval[1], config.rateLimit.interval)) : MIN_REPLY_POLL;
    // Every byte of the 48 is written below, so a reused buffer needs no clearing.
    const reply = this.#reply ?? new Uint8Array(REPLY_LENGTH);
    const v = this.#replyView ?? new DataView(reply.buffer);
    const leap = kod ? Leap.Unsynchronized : p.leap;
    v.setUint8(0, ((leap & 3) << 6) | ((h.version & 7) << 3) | mode);
    v.setUint8(1, kod ? 0 : p.stratum & 0xff);
    v.setInt8(2, Math.max(minPoll, h.poll));
    v.setInt8(3, p.precision);
    v.setUint32(4, p.rootDelay);
    v.setUint32(8, p.rootDispersion);
    v.setUint32(12, kod ? KOD_REFID[kod] : p.referenceId);
    v.setBigUint64(16, p.referenceTimestamp);
    v.setBigUint64(24, interleaved ? h.receiveTimestamp : h.transmitTimestamp);
    v.setBigUint64(32, toNtpTimestamp(receivedAt));
    v.setBigUint64(40, interleavedTx ?? toNtpTimestamp(now > receivedAt ? now : receivedAt));
    const c = this.counters;
    c.replied++;
    if (kod) c.kodSent[kod]++;
    if (interleaved) c.interleaved++;
    return {
      action: 'respond', reply, transmitTimestampOffset: interleaved ? null : TRANSMIT_TIMESTAMP_OFFSET,
      mode, interleaved, kod, transmitTicket: ticket,
    };
  }
}

/**
 * Whether a client key is a single host's address: not 0.0.0.0/8 ("this
 * network", RFC 1122), 224.0.0.0/4 (multicast), 240.0.0.0/4 (reserved, with
 * 255.255.255.255, the limited broadcast), ff00::/8 (multicast) or ::
 * (unspecified). Such a source is spoofed; a reply to it would go to a group
 * or nowhere. A subnet's directed broadcast (192.0.2.255/24) cannot be told
 * from a host here: the kernel refuses that send (counted as send-failed).
 */
function isUnicast(key: ClientKey): boolean {
  const w0 = key.words[0] as number;
  if (key.family === 4) {
    const first = w0 >>> 24;
    return first !== 0 && first < 224;
  }
  if (w0 >>> 24 === 0xff) return false;
  return (w0 | (key.words[1] as number) | (key.words[2] as number) | (key.words[3] as number)) !== 0;
}

/** Writes a transmit timestamp into a reply at TRANSMIT_TIMESTAMP_OFFSET (for IO layers that stamp just before sending). */
export function writeTransmitTimestamp(reply: Uint8Array, transmit: Instant): void {
  new DataView(reply.buffer, reply.byteOffset, reply.byteLength).setBigUint64(TRANSMIT_TIMESTAMP_OFFSET, toNtpTimestamp(transmit));
}
