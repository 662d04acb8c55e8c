/**
 * The per-client records of the server (chrony's ClientLog): rate-limit
 * token buckets and interleaved-mode timestamps, keyed by client address.
 *
 * Memory is fixed when the table is made, whatever the traffic: a flood from
 * a million spoofed sources cannot grow it. The table is set-associative:
 * an address hashes (with a secret seed, so that senders cannot aim at one
 * bucket) to a bucket of WAYS records; a new address takes a free record of
 * its bucket or replaces the least recently seen one (fewest hits on a tie),
 * as chrony's get_record() does. A legitimate client whose record was
 * replaced during a flood simply starts afresh with a full token bucket, so
 * spoofed traffic can cost it its interleaved state but never its replies.
 *
 * Records are stored column-wise in typed arrays, allocated once.
 */
import { parseIPv6 as parseIPv6Text } from '../../proto/ip-address.js';

/** Records per bucket. */
export const WAYS = 8;
/** Default number of records: 65536 (about 5.5 MB). chronyd's default clientloglimit holds 4096. */
export const DEFAULT_CLIENT_SLOTS = 1 << 16;
export const MIN_CLIENT_SLOTS = WAYS;
export const MAX_CLIENT_SLOTS = 1 << 24;

const EMPTY = 0;
/** Record flag: the last request of this client got no reply (chrony's FLAG_NTP_DROPPED). */
export const FLAG_DROPPED = 1;

/** A normalized client address: family and four 32-bit words (IPv4 uses the first). */
export interface ClientKey {
  family: 4 | 6;
  readonly words: Uint32Array;
}

export function newClientKey(): ClientKey {
  return { family: 4, words: new Uint32Array(4) };
}

/**
 * Fills `key` from address text or octets; IPv4-mapped IPv6 becomes IPv4.
 * Returns false (key unchanged) if `address` is not an IP address.
 */
export function setClientKey(key: ClientKey, address: string | Uint8Array): boolean {
  if (typeof address === 'string') {
    const v4 = parseDottedQuad(address);
    if (v4 >= 0) {
      key.family = 4;
      key.words.fill(0);
      key.words[0] = v4;
      return true;
    }
    if (!address.includes(':')) return false;
    const o = parseIPv6Text(address);
    return o !== null && setClientKey(key, o);
  }
  if (address.length === 4) {
    key.family = 4;
    key.words.fill(0);
    key.words[0] = word(address, 0);
    return true;
  }
  if (address.length !== 16) return false;
  const w0 = word(address, 0), w1 = word(address, 4), w2 = word(address, 8), w3 = word(address, 12);
  key.words.fill(0);
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) {
    key.family = 4;
    key.words[0] = w3;
  } else {
    key.family = 6;
    key.words[0] = w0;
    key.words[1] = w1;
    key.words[2] = w2;
    key.words[3] = w3;
  }
  return true;
}

/** The key's address as 4 or 16 octets. */
export function clientKeyOctets(key: ClientKey): Uint8Array {
  const n = key.family === 4 ? 1 : 4;
  const out = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) {
    const w = key.words[i] as number;
    out[4 * i] = w >>> 24;
    out[4 * i + 1] = (w >>> 16) & 0xff;
    out[4 * i + 2] = (w >>> 8) & 0xff;
    out[4 * i + 3] = w & 0xff;
  }
  return out;
}

function word(o: Uint8Array, at: number): number {
  return (((o[at] as number) << 24) | ((o[at + 1] as number) << 16) | ((o[at + 2] as number) << 8) | (o[at + 3] as number)) >>> 0;
}

/** A dotted quad as an unsigned 32-bit value, or -1; no allocation (it runs per packet). */
function parseDottedQuad(s: string): number {
  let value = 0, part = 0, digits = 0, dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // leading zero, as inet_pton refuses
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** 32-bit hash of a key with a seed (murmur3-style mixing). */
function hashKey(key: ClientKey, seed: number): number {
  let h = (seed ^ key.family) >>> 0;
  for (let i = 0; i < 4; i++) {
    let k = Math.imul(key.words[i] as number, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface ClientTableOptions {
  /** Number of records, a power of two from 8 to 2^24. Default 65536. */
  readonly slots?: number;
  /** Secret hash seed (32 bits, from the caller's randomness). */
  readonly seed: number;
}

/**
 * The table. Fields are public for the engines in this directory
 * (ratelimit.ts, interleave.ts); other code should use the functions.
 */
export class ClientTable {
  readonly slots: number;
  readonly #seed: number;
  readonly #bucketMask: number;
  /** 0 empty, 4 or 6. */
  readonly family: Uint8Array;
  readonly words: Uint32Array;
  /** Seconds (float) of the last request; see clientTime(). */
  readonly lastSeen: Float64Array;
  readonly hits: Float64Array;
  readonly drops: Float64Array;
  /** Rate-limit tokens; Infinity on a new record means "full". */
  readonly tokens: Float64Array;
  /** log2 of the client's request rate after answered requests, and after dropped ones (NaN: unknown). */
  readonly rate: Float64Array;
  readonly timeoutRate: Float64Array;
  readonly flags: Uint8Array;
  /** Interleaved mode: receive timestamp of the last reply as sent (0: none), and that reply's transmit time (0: not yet reported). */
  readonly rxSent: BigUint64Array;
  readonly txSent: BigUint64Array;
  /** Records replaced by another address (chronyc serverstats: "Client log records dropped"). */
  recordsDropped = 0;

  constructor(opts: ClientTableOptions) {
    const slots = opts.slots ?? DEFAULT_CLIENT_SLOTS;
    if (!Number.isInteger(slots) || slots < MIN_CLIENT_SLOTS || slots > MAX_CLIENT_SLOTS || (slots & (slots - 1)) !== 0) {
      throw new RangeError(`Cannot size the client table: current value is ${slots}, expected a power of two from ${MIN_CLIENT_SLOTS} to ${MAX_CLIENT_SLOTS}`);
    }
    this.slots = slots;
    this.#seed = opts.seed >>> 0;
    this.#bucketMask = slots / WAYS - 1;
    this.family = new Uint8Array(slots);
    this.words = new Uint32Array(4 * slots);
    this.lastSeen = new Float64Array(slots);
    this.hits = new Float64Array(slots);
    this.drops = new Float64Array(slots);
    this.tokens = new Float64Array(slots);
    this.rate = new Float64Array(slots);
    this.timeoutRate = new Float64Array(slots);
    this.flags = new Uint8Array(slots);
    this.rxSent = new BigUint64Array(slots);
    this.txSent = new BigUint64Array(slots);
  }

  /** The record of this key, or -1. */
  find(key: ClientKey): number {
    const first = (hashKey(key, this.#seed) & this.#bucketMask) * WAYS;
    for (let i = first; i < first + WAYS; i++) if (this.#matches(i, key)) return i;
    return -1;
  }

  /**
   * The record of this key, made if missing (taking a free record of its
   * bucket or replacing the least recently seen one). Does not count a hit:
   * see touch().
   */
  lookup(key: ClientKey): number {
    const first = (hashKey(key, this.#seed) & this.#bucketMask) * WAYS;
    let empty = -1;
    let oldest = -1;
    for (let i = first; i < first + WAYS; i++) {
      if (this.#matches(i, key)) return i;
      if (this.family[i] === EMPTY) {
        if (empty < 0) empty = i;
      } else if (oldest < 0 || this.#older(i, oldest)) {
        oldest = i;
      }
    }
    let slot = empty;
    if (slot < 0) {
      slot = oldest;
      this.recordsDropped++;
    }
    this.#reset(slot, key);
    return slot;
  }

  /**
   * Counts a request at `now` (seconds, see clientTime()) and returns the
   * seconds since the previous one: NaN for a new record, negative if the
   * clock went back.
   */
  touch(slot: number, now: number): number {
    const prev = this.lastSeen[slot] as number;
    this.lastSeen[slot] = now;
    this.hits[slot] = (this.hits[slot] as number) + 1;
    return (this.hits[slot] as number) === 1 ? Number.NaN : now - prev;
  }

  /** Whether the record holds this key. */
  holds(slot: number, key: ClientKey): boolean {
    return slot >= 0 && slot < this.slots && this.#matches(slot, key);
  }

  /** Records in use. O(slots). */
  used(): number {
    let n = 0;
    for (let i = 0; i < this.slots; i++) if (this.family[i] !== EMPTY) n++;
    return n;
  }

  #matches(i: number, key: ClientKey): boolean {
    if (this.family[i] !== key.family) return false;
    const w = this.words, k = key.words, at = 4 * i;
    return w[at] === k[0] && w[at + 1] === k[1] && w[at + 2] === k[2] && w[at + 3] === k[3];
  }

  /** Whether record a was seen before record b (fewer hits on a tie). */
  #older(a: number, b: number): boolean {
    const la = this.lastSeen[a] as number, lb = this.lastSeen[b] as number;
    return la < lb || (la === lb && (this.hits[a] as number) < (this.hits[b] as number));
  }

  #reset(i: number, key: ClientKey): void {
    this.family[i] = key.family;
    this.words.set(key.words, 4 * i);
    this.lastSeen[i] = 0;
    this.hits[i] = 0;
    this.drops[i] = 0;
    this.tokens[i] = Number.POSITIVE_INFINITY;
    this.rate[i] = Number.NaN;
    this.timeoutRate[i] = Number.NaN;
    this.flags[i] = 0;
    this.rxSent[i] = 0n;
    this.txSent[i] = 0n;
  }
}

/**
 * An Instant as float seconds since 1900 with 2^-16 s resolution, the time
 * scale of the table (exact in a float64 until the year 4000 or so; fine for
 * token arithmetic, which needs no finer resolution).
 */
export function clientTime(instant: bigint): number {
  return Number(instant >> 16n) / 65536;
}
