/**
 * Mutation operators on byte strings, in the manner of AFL/libFuzzer: bit
 * flips, random and "interesting" values, insertions, deletions, duplicated
 * ranges, splices of two seeds, length-field edits and dictionary tokens.
 * Everything is driven by the caller's Rng, so an input is reproducible from
 * the run's seed and its index.
 */
import type { Rng } from './rng.js';

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40];
const INTERESTING_32 = [0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0xffff, 0x1_0000, 0x7f, 0x80, 0xff, 0x100];

export interface MutateOptions {
  /** Inputs never grow past this (a datagram, a config file). */
  readonly maxLength: number;
  /** Other seeds, for splicing. */
  readonly pool: readonly Uint8Array[];
  /** Tokens worth inserting or overwriting with (field types, keywords). */
  readonly dictionary?: readonly Uint8Array[];
}

type Op = (b: Uint8Array, rng: Rng, o: MutateOptions) => Uint8Array;

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.u32() & 0xff;
  return out;
}

/** Writes `value` big-endian in `width` bytes at `pos` (clipped to the buffer). */
function writeBE(b: Uint8Array, pos: number, width: number, value: number): void {
  for (let i = 0; i < width && pos + i < b.length; i++) b[pos + i] = (value >>> (8 * (width - 1 - i))) & 0xff;
}

function readBE(b: Uint8Array, pos: number, width: number): number {
  let v = 0;
  for (let i = 0; i < width; i++) v = v * 256 + (b[pos + i] ?? 0);
  return v;
}

const OPS: readonly Op[] = [
  // Bit flip.
  (b, rng) => {
    if (b.length === 0) return b;
    const c = b.slice();
    const i = rng.below(c.length);
    c[i] = (c[i] as number) ^ (1 << rng.below(8));
    return c;
  },
  // A random byte.
  (b, rng) => {
    if (b.length === 0) return b;
    const c = b.slice();
    c[rng.below(c.length)] = rng.u32() & 0xff;
    return c;
  },
  // An interesting byte.
  (b, rng) => {
    if (b.length === 0) return b;
    const c = b.slice();
    c[rng.below(c.length)] = rng.pick(INTERESTING_8);
    return c;
  },
  // An interesting 16- or 32-bit value, usually at an aligned offset (NTP fields are).
  (b, rng) => {
    if (b.length < 2) return b;
    const c = b.slice();
    const width = rng.chance(0.5) ? 2 : 4;
    const pos = rng.chance(0.8) ? rng.below(Math.ceil(c.length / width)) * width : rng.below(c.length);
    writeBE(c, pos, width, rng.pick(INTERESTING_32));
    return c;
  },
  // A length-field edit: a 16-bit word nudged by ±1/±4, or set to a length near the buffer's or the rest's.
  (b, rng) => {
    if (b.length < 4) return b;
    const c = b.slice();
    const pos = rng.below(c.length >> 1) * 2;
    const old = readBE(c, pos, 2);
    const choices = [old + 1, old - 1, old + 4, old - 4, c.length, c.length - pos, c.length - pos + 4, c.length - pos - 4, 0, 4, 0xfffc];
    writeBE(c, pos, 2, rng.pick(choices) & 0xffff);
    return c;
  },
  // Insert random bytes.
  (b, rng) => {
    const pos = rng.below(b.length + 1);
    const n = 1 + rng.below(rng.chance(0.8) ? 8 : 64);
    return concat(b.subarray(0, pos), randomBytes(rng, n), b.subarray(pos));
  },
  // Insert a run of one byte (4-byte multiples keep NTP's word alignment).
  (b, rng) => {
    const pos = rng.below(b.length + 1);
    const n = 4 * (1 + rng.below(8));
    return concat(b.subarray(0, pos), new Uint8Array(n).fill(rng.pick(INTERESTING_8)), b.subarray(pos));
  },
  // Delete a range.
  (b, rng) => {
    if (b.length === 0) return b;
    const pos = rng.below(b.length);
    const n = 1 + rng.below(Math.min(b.length - pos, rng.chance(0.5) ? 4 : 64));
    return concat(b.subarray(0, pos), b.subarray(pos + n));
  },
  // Truncate.
  (b, rng) => b.subarray(0, rng.below(b.length + 1)).slice(),
  // Duplicate a range in place.
  (b, rng) => {
    if (b.length === 0) return b;
    const from = rng.below(b.length);
    const n = 1 + rng.below(Math.min(b.length - from, 64));
    const at = rng.below(b.length + 1);
    return concat(b.subarray(0, at), b.subarray(from, from + n), b.subarray(at));
  },
  // Splice: a prefix of this input and a suffix of another seed.
  (b, rng, o) => {
    const other = rng.pick(o.pool);
    return concat(b.subarray(0, rng.below(b.length + 1)), other.subarray(rng.below(other.length + 1)));
  },
  // A dictionary token, inserted or written over.
  (b, rng, o) => {
    const dict = o.dictionary;
    if (!dict || dict.length === 0) return b;
    const token = rng.pick(dict);
    const pos = rng.below(b.length + 1);
    if (rng.chance(0.5)) return concat(b.subarray(0, pos), token, b.subarray(pos));
    const c = b.slice();
    c.set(token.subarray(0, Math.max(0, c.length - pos)), pos);
    return c;
  },
];

/** Applies 1 to 8 (rarely up to 32) stacked mutations to `input`, never past maxLength. */
export function mutate(input: Uint8Array, rng: Rng, o: MutateOptions): Uint8Array {
  let b = input;
  const n = rng.chance(0.9) ? 1 + rng.below(rng.chance(0.5) ? 2 : 8) : 1 + rng.below(32);
  for (let i = 0; i < n; i++) {
    b = (rng.pick(OPS))(b, rng, o);
    if (b.length > o.maxLength) b = b.subarray(0, o.maxLength);
  }
  return b === input ? input.slice() : b;
}
