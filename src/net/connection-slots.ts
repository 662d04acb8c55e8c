/**
 * A bounded set of stream connections in which a newcomer is not turned away
 * while an idle connection could make room. With a plain connection limit,
 * whoever opens the most connections and holds them (slow headers, idle
 * control clients) locks everyone else out until a timeout; here, when the
 * limit is reached, in all or for one key (a client address), the connection
 * idle the longest is closed to admit the new one. A connection is idle
 * while it waits for its client (a request, or room to write a reply); only
 * one whose request is being answered is busy and is never closed for room.
 *
 * Holding every slot thus takes a stream of new connections faster than
 * clients finish their requests, not a few hundred sleeping ones.
 */
import type { Socket } from 'node:net';

export interface SlotLimits {
  /** Connections at once. */
  readonly max: number;
  /** Connections at once with one key (default: max). */
  readonly maxPerKey?: number;
}

interface Entry {
  readonly key: string;
  busy: number;
}

export class ConnectionSlots {
  readonly #max: number;
  readonly #maxPerKey: number;
  /** In order of last activity, least recent first (a Map keeps insertion order). */
  readonly #entries = new Map<Socket, Entry>();
  #evicted = 0;

  constructor(limits: SlotLimits) {
    if (!(limits.max >= 1)) throw new RangeError(`Cannot bound connections to ${limits.max}: at least 1`);
    this.#max = limits.max;
    this.#maxPerKey = Math.min(limits.maxPerKey ?? limits.max, limits.max);
  }

  /** Connections held now. */
  get size(): number { return this.#entries.size; }

  /** Idle connections closed so far to admit new ones. */
  get evicted(): number { return this.#evicted; }

  /**
   * Takes `sock` in, closing the least recently active idle connection (of
   * the same key first when that key is at its limit) if there is no room.
   * False, with `sock` destroyed, when every connection in the way is busy.
   * The slot is freed when `sock` closes.
   */
  admit(sock: Socket, key: string): boolean {
    let sameKey = 0;
    for (const e of this.#entries.values()) if (e.key === key) sameKey++;
    if (sameKey >= this.#maxPerKey && !this.#evictIdle(key)) { sock.destroy(); return false; }
    if (this.#entries.size >= this.#max && !this.#evictIdle(null)) { sock.destroy(); return false; }
    this.#entries.set(sock, { key, busy: 0 });
    sock.once('close', () => this.#entries.delete(sock));
    return true;
  }

  /** `sock` is answering a request: it keeps its slot. Calls nest. */
  busy(sock: Socket): void {
    const e = this.#entries.get(sock);
    if (e !== undefined) e.busy++;
  }

  /** `sock` has answered (or made progress) and waits for its client again: now the most recently active. */
  idle(sock: Socket): void {
    const e = this.#entries.get(sock);
    if (e === undefined) return;
    e.busy = Math.max(0, e.busy - 1);
    this.#entries.delete(sock);
    this.#entries.set(sock, e);
  }

  #evictIdle(key: string | null): boolean {
    for (const [sock, e] of this.#entries) {
      if (e.busy > 0 || (key !== null && e.key !== key)) continue;
      this.#entries.delete(sock);
      sock.destroy();
      this.#evicted++;
      return true;
    }
    return false;
  }
}
