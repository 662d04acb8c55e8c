/**
 * The sans-IO mode 6 (RFC 9327) responder: given a datagram, its sender and
 * a way to read the daemon's state, it says "ignore" (with a named reason,
 * counted) or "respond" (with the datagrams to send back).
 *
 * A mode 6 response can be many times larger than its request (the peer
 * list of a busy server), which makes an open responder an amplifier for
 * spoofed requests. So: only senders the query access rules permit get an
 * answer (loopback only unless configured), each address has a token bucket,
 * and anything else is dropped silently and counted.
 *
 * Served, read-only: READSTAT (the association list with peer status words,
 * or one association's variables), READVAR (system variables for association
 * 0, peer variables otherwise; all of them, or the names asked for), READCLOCK
 * for a refclock association (no clock variables are kept: an empty list).
 * Refused with RFC 9327's error codes: every opcode that writes (WRITEVAR,
 * WRITECLOCK, SETTRAP, CONFIGURE, SAVECONFIG, UNSETTRAP) with "permission
 * denied", as ntpd refuses an unauthenticated one; the others ntpkit does not
 * implement (the MRU list, the ordered lists, nonces, traps) with "bad
 * opcode"; an unknown association or variable with its own code; a request
 * that is fragmented or longer than a fragment with "bad format".
 */
import type { Leap } from '../../proto/constants.js';
import { type ControlMessage, parseControlMessage } from '../../proto/control.js';
import {
  ControlErrorCode, ControlOpcode, encodeControlError, encodeControlResponse, formatVariables, MAX_FRAGMENT_DATA,
  parseVariableNames, WRITE_OPCODES, type ControlVariable,
} from '../../proto/mode6.js';
import { type AccessTable, isAllowedWords } from './access.js';
import { newClientKey, setClientKey } from './client-table.js';
import { QUERY_DROP_REASONS, type QueryDropReason, type QueryStats } from './server-stats.js';
import { associationId, peerStatus, peerVariables, type QueryView, systemStatus, systemVariables } from './mode6-variables.js';

export interface QueryCounters {
  /** Mode 6 datagrams handed to the responder. */
  received: number;
  /** Requests answered with data. */
  answered: number;
  /** Requests answered with an error code. */
  refused: number;
  readonly dropped: Record<QueryDropReason, number>;
}

export interface QueryRateLimit {
  /** Requests per second an address may send on average. */
  readonly rate: number;
  /** Requests it may send back to back. */
  readonly burst: number;
}

/**
 * Room for a `ntpq -p` of over a hundred sources at once (one READSTAT and
 * one READVAR per source: past the burst, ntpq waits out its timeout), and
 * no more than 16 requests a second after it.
 */
export const DEFAULT_QUERY_RATE_LIMIT: QueryRateLimit = { rate: 16, burst: 128 };

/** Addresses with a token bucket at most; the least recently seen is forgotten first. */
const MAX_BUCKETS = 1024;

export interface QueryServerConfig {
  readonly access: AccessTable;
  readonly rateLimit: QueryRateLimit;
}

export interface QueryInput {
  readonly packet: Uint8Array;
  /** The sender: text ("127.0.0.1", "::1", "::ffff:192.0.2.1") or 4/16 octets. */
  readonly address: string | Uint8Array;
  readonly port: number;
  /** Seconds on any steady timescale (the buckets' clock). */
  readonly elapsed: number;
  /** The daemon's state, read only when a request is answered. */
  readonly view: () => QueryView;
}

export type QueryAction =
  | { readonly action: 'ignore'; readonly reason: QueryDropReason }
  | { readonly action: 'respond'; readonly datagrams: readonly Uint8Array[]; readonly error: number | null };

export function createQueryCounters(): QueryCounters {
  return {
    received: 0, answered: 0, refused: 0,
    dropped: Object.fromEntries(QUERY_DROP_REASONS.map((r) => [r, 0])) as Record<QueryDropReason, number>,
  };
}

export class ControlQueryServer {
  readonly counters: QueryCounters = createQueryCounters();
  readonly #key = newClientKey();
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly config: QueryServerConfig) {}

  stats(): QueryStats {
    const c = this.counters;
    return Object.freeze({ received: c.received, answered: c.answered, refused: c.refused, droppedByReason: Object.freeze({ ...c.dropped }) });
  }

  /** Decides what to do with one mode 6 datagram. Never throws on packet contents. */
  handle(input: QueryInput): QueryAction {
    this.counters.received++;
    const key = this.#key;
    if (input.port === 0 || !setClientKey(key, input.address)) return this.#drop('bad-address');
    // Access first: a sender that may not query learns nothing, not even whether its packet parsed.
    if (!isAllowedWords(this.config.access, key.family, key.words)) return this.#drop('denied');
    const parsed = parseControlMessage(input.packet);
    if (!parsed.ok) return this.#drop('malformed');
    const req = parsed.value;
    if (req.response || req.error) return this.#drop('not-a-request');
    if (!this.#take(`${key.family}:${Array.from(key.words).join(',')}`, input.elapsed)) return this.#drop('rate-limited');
    return this.#answer(req, input.view);
  }

  #answer(req: ControlMessage, read: () => QueryView): QueryAction {
    if (req.more || req.offset !== 0 || req.data.length > MAX_FRAGMENT_DATA) return this.#error(req, null, ControlErrorCode.BadFormat);
    if (WRITE_OPCODES.has(req.opcode)) return this.#error(req, null, ControlErrorCode.Permission);
    if (req.opcode !== ControlOpcode.ReadStatus && req.opcode !== ControlOpcode.ReadVariables && req.opcode !== ControlOpcode.ReadClock) {
      return this.#error(req, null, ControlErrorCode.BadOpcode);
    }
    const view = read();
    const leap = (systemStatus(view) >> 14) as Leap;
    if (req.associationId === 0 && req.opcode === ControlOpcode.ReadStatus) {
      const list = new Uint8Array(4 * view.snapshot.sources.length);
      const dv = new DataView(list.buffer);
      view.snapshot.sources.forEach((s, i) => {
        dv.setUint16(4 * i, associationId(s));
        dv.setUint16(4 * i + 2, peerStatus(s, view.ntpdata.find((d) => d.sourceId === s.id)));
      });
      return this.#respond(req, leap, systemStatus(view), list);
    }
    if (req.associationId === 0) {
      if (req.opcode === ControlOpcode.ReadClock) return this.#error(req, view, ControlErrorCode.BadAssociation);
      return this.#variables(req, view, leap, systemStatus(view), systemVariables(view));
    }
    const src = view.snapshot.sources.find((s) => associationId(s) === req.associationId);
    if (src === undefined) return this.#error(req, view, ControlErrorCode.BadAssociation);
    const status = peerStatus(src, view.ntpdata.find((d) => d.sourceId === src.id));
    if (req.opcode === ControlOpcode.ReadClock) {
      if (src.kind !== 'refclock') return this.#error(req, view, ControlErrorCode.BadAssociation);
      return this.#respond(req, leap, status, new Uint8Array(0));
    }
    return this.#variables(req, view, leap, status, peerVariables(view, src));
  }

  /** All the variables, or those the request names (READSTAT of one association: all). */
  #variables(req: ControlMessage, view: QueryView, leap: Leap, status: number, all: ControlVariable[]): QueryAction {
    let vars = all;
    if (req.opcode === ControlOpcode.ReadVariables && req.data.length > 0) {
      const names = parseVariableNames(req.data);
      if (names === null) return this.#error(req, view, ControlErrorCode.BadFormat);
      if (names.length > 0) {
        const byName = new Map(all.map((v) => [v[0], v]));
        vars = [];
        for (const n of names) {
          const v = byName.get(n);
          if (v === undefined) return this.#error(req, view, ControlErrorCode.UnknownVariable);
          vars.push(v);
        }
      }
    }
    return this.#respond(req, leap, status, new TextEncoder().encode(formatVariables(vars)));
  }

  #respond(req: ControlMessage, leap: Leap, status: number, data: Uint8Array): QueryAction {
    this.counters.answered++;
    return { action: 'respond', datagrams: encodeControlResponse({ request: req, status, associationId: req.associationId, leap }, data), error: null };
  }

  #error(req: ControlMessage, view: QueryView | null, code: number): QueryAction {
    this.counters.refused++;
    const leap = view === null ? 0 : (systemStatus(view) >> 14) as Leap;
    return { action: 'respond', datagrams: [encodeControlError(req, leap, code)], error: code };
  }

  #drop(reason: QueryDropReason): QueryAction {
    this.counters.dropped[reason]++;
    return { action: 'ignore', reason };
  }

  /** Takes a token from the address's bucket; false when it is empty. */
  #take(address: string, now: number): boolean {
    const { rate, burst } = this.config.rateLimit;
    let b = this.#buckets.get(address);
    if (b === undefined) {
      if (this.#buckets.size >= MAX_BUCKETS) this.#buckets.delete(this.#buckets.keys().next().value as string);
      b = { tokens: burst, at: now };
    } else {
      this.#buckets.delete(address);
      b.tokens = Math.min(burst, b.tokens + Math.max(0, now - b.at) * rate);
      b.at = now;
    }
    // Re-inserted at the end: the Map's order is least recently seen first.
    this.#buckets.set(address, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
