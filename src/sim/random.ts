/**
 * The simulator's seeded random numbers: xoshiro128** (Blackman and Vigna,
 * 2018) seeded through splitmix32. Hand-written rather than taken from
 * pure-rand so that src/sim has no runtime dependency and a seed gives the
 * same stream forever (a library upgrade cannot change a recorded benchmark).
 *
 * Each part of a simulation (a clock's wander, one network path, the engine's
 * cookies) draws from its own stream, forked by name from the scenario seed,
 * so adding a server does not change the noise every other part sees.
 */

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a of a string: turns a stream name into seed material. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spare: number | null = null;
  readonly #seed: number;

  constructor(seed: number) {
    this.#seed = seed >>> 0;
    const st = { s: this.#seed };
    this.#a = splitmix32(st);
    this.#b = splitmix32(st);
    this.#c = splitmix32(st);
    this.#d = splitmix32(st);
    // xoshiro must not start from the all-zero state.
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1;
  }

  /** An independent stream named `name`, derived from this one's seed (not from its position). */
  fork(name: string): Random {
    return new Random((Math.imul(this.#seed ^ 0x5bd1e995, 0x27d4eb2d) ^ hashName(name)) >>> 0);
  }

  /** Uniform unsigned 32-bit integer. */
  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  /** Uniform in [0, 1), 53 random bits. */
  uniform(): number {
    const hi = this.uint32() >>> 5; // 27 bits
    const lo = this.uint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Exponential with mean 1 (clknetsim's `(exponential)`). */
  exponential(): number {
    return -Math.log(1 - this.uniform());
  }

  /** Standard normal (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.#spare !== null) {
      const s = this.#spare;
      this.#spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.uniform() < p;
  }

  /** A `() => number` in [0, 1), as EngineOptions.random wants. */
  asFunction(): () => number {
    return () => this.uniform();
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
