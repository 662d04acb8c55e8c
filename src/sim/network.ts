/**
 * The simulated network between the client and one server: each direction
 * takes `delay + jitter * Exp(1)` seconds (clknetsim's
 * `(+ delay (* jitter (exponential)))`), shifted by half the asymmetry, and
 * each packet is lost with probability `loss`.
 */
import type { Random } from './random.js';

export interface PathSpec {
  /** Fixed one-way delay, seconds (default 1 ms). */
  readonly delay?: number;
  /** Scale of the exponential one-way jitter, seconds (default 0). */
  readonly jitter?: number;
  /**
   * Outbound minus return delay, seconds (default 0): the outbound direction
   * gets +asymmetry/2, the return -asymmetry/2, so a client sees the server
   * asymmetry/2 behind its true offset (NTP cannot see asymmetry, RFC 5905 §8).
   */
  readonly asymmetry?: number;
  /** Probability that a packet is lost, each direction (default 0). */
  readonly loss?: number;
}

export class Path {
  readonly #delay: number;
  readonly #jitter: number;
  readonly #asym: number;
  readonly #loss: number;
  readonly #random: Random;
  sent = 0;
  lost = 0;

  constructor(spec: PathSpec, random: Random) {
    this.#delay = spec.delay ?? 1e-3;
    this.#jitter = spec.jitter ?? 0;
    this.#asym = spec.asymmetry ?? 0;
    this.#loss = spec.loss ?? 0;
    this.#random = random;
  }

  /** The one-way delay of a packet, seconds, or null if it is lost. */
  transit(direction: 'out' | 'back'): number | null {
    this.sent++;
    // Always draw both numbers so loss does not shift the jitter sequence.
    const lost = this.#random.uniform() < this.#loss;
    const jitter = this.#jitter > 0 ? this.#jitter * this.#random.exponential() : 0;
    if (lost) {
      this.lost++;
      return null;
    }
    const shift = direction === 'out' ? this.#asym / 2 : -this.#asym / 2;
    return Math.max(0, this.#delay + shift + jitter);
  }
}
