/**
 * The two timestamps of a datagram that a client measures with: t1 is the
 * kernel's transmit timestamp once its report comes, else a reading taken
 * just before the send; t4 is the kernel's receive timestamp, else a reading
 * taken first thing on arrival. Queries and fleet checks share this.
 */
import type { Instant } from '../time/instant.js';

/** A timestamp, and whether the kernel took it (false: a reading in JS). */
export interface PacketTime {
  readonly time: Instant;
  readonly kernel: boolean;
}

export interface SentRequest {
  /** t1: the kernel's transmit timestamp once it is known, else the reading taken just before the send. */
  transmitTime(): PacketTime;
}

export interface SentDatagram extends SentRequest {
  /** Forgets the transmit timestamp kept for this datagram. */
  release(): void;
}

export class TransmitTimes {
  readonly #now: () => Instant;
  readonly #kernel = new Map<number, Instant>();

  constructor(now: () => Instant) {
    this.#now = now;
  }

  /** t4 of a datagram: the kernel's stamp, or a reading now. */
  arrival(rx: Instant | null): PacketTime {
    return rx === null ? { time: this.#now(), kernel: false } : { time: rx, kernel: true };
  }

  /** The kernel's report of datagram `id`. */
  kernelSent(id: number, t: Instant): void {
    this.#kernel.set(id, t);
  }

  /**
   * Reads the clock, then sends (`send` returns the datagram's id, or -1 when
   * no report will come). A throw from `send` goes to `fail` on the next tick,
   * as an asynchronous error would.
   */
  send(send: () => number, fail?: (err: unknown) => void): SentDatagram {
    const before = this.#now();
    let id = -1;
    if (fail === undefined) {
      id = send();
    } else {
      try {
        id = send();
      } catch (err) {
        process.nextTick(fail, err);
      }
    }
    return {
      transmitTime: () => {
        const tx = this.#kernel.get(id);
        // A stamp from before the send cannot be this datagram's: keep the reading.
        return tx !== undefined && tx >= before ? { time: tx, kernel: true } : { time: before, kernel: false };
      },
      release: () => { this.#kernel.delete(id); },
    };
  }
}
