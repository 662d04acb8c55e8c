/**
 * A reference clock's median filter (chrony's samplefilt.c as refclock.c
 * creates it): readings gather between two polls; at the poll, those
 * closest to the median offset (60% of them, at least one dropped at each
 * end from three on) are combined into the one sample selection sees, and
 * the filter starts again. A reference clock gives many readings per poll,
 * each with jitter of its own (an NMEA sentence's serial timing), so
 * combining them is what makes it usable at all.
 */
import { addSeconds, diffSeconds, type Instant } from '../../time/instant.js';
import { fitWeightedLine } from './weighted-line.js';

/** One reading of the clock: its offset against the system clock at `time`. */
export interface RefclockReading {
  /** System (disciplined) clock time of the reading. */
  readonly time: Instant;
  /** Reference − system clock, seconds. */
  readonly offset: number;
  /** The reading's own error bound, seconds (the clock's precision). */
  readonly dispersion: number;
}

/** What a poll hands to selection. */
export type FilteredSample = RefclockReading;

/** chrony keeps this share of the readings, those closest to the median. */
const COMBINE_RATIO = 0.6;

export class RefclockFilter {
  private readonly readings: RefclockReading[] = [];
  /** Fewest readings that make a sample: 4, or the whole filter when it is shorter. */
  private readonly minReadings: number;

  constructor(private readonly length: number, private readonly maxDispersion: number) {
    this.minReadings = Math.min(length, 4);
  }

  /** The latest reading, kept across polls until drop() (chrony's SPF_GetLastSample): a pulse locked to this clock takes its seconds from it. */
  last: RefclockReading | null = null;
  /** The per-reading variance of the last combined sample (chrony's average sample variance, a pulse lock's margin), seconds². */
  private variance = 0;

  get count(): number {
    return this.readings.length;
  }

  add(r: RefclockReading): void {
    this.readings.push(r);
    this.last = r;
    if (this.readings.length > this.length) this.readings.shift();
  }

  /** Forgets every reading, the last one too (chrony drops them when a pulse finds the clock unsynchronized). */
  drop(): void {
    this.readings.length = 0;
    this.last = null;
  }

  /** The typical error of one reading, seconds, as the last combined sample showed it (0 before one). */
  get averageDispersion(): number {
    return Math.sqrt(this.variance);
  }

  /** The poll: the combined sample, or null (too few readings, or too scattered for maxdispersion). The readings are used up either way, except when too few. */
  take(): FilteredSample | null {
    const n0 = this.readings.length;
    if (n0 < this.minReadings) return null;
    let picked = [...this.readings];
    // From 5 readings on, those much less precise than the best are left out first.
    if (n0 > 4) {
      const best = Math.min(...picked.map((r) => r.dispersion));
      const precise = picked.filter((r) => r.dispersion <= 1.5 * best);
      if (precise.length >= 4) picked = precise;
    }
    const byOffset = [...picked].sort((a, b) => a.offset - b.offset);
    const j = byOffset.length;
    const from = j > 2 ? Math.min(Math.max(1, Math.floor(j * (1 - COMBINE_RATIO) / 2)), Math.floor((j - 1) / 2)) : 0;
    const kept = new Set(byOffset.slice(from, j - from));
    const sel = this.readings.filter((r) => kept.has(r));
    this.readings.length = 0;
    const c = combine(sel, this.maxDispersion);
    if (c === null) return null;
    this.variance = c.variance;
    return c.sample;
  }
}

/**
 * The mean of the kept readings, at their mean time. Its dispersion is the
 * standard error of that mean: from a line fitted through them when there
 * are 4 or more (a clock drifting within the poll is not jitter), from their
 * spread otherwise. chrony also blends in a long-term average of the
 * variance to steady the weights; that is left out here.
 */
function combine(sel: readonly RefclockReading[], maxDispersion: number): { readonly sample: FilteredSample; readonly variance: number } | null {
  const n = sel.length;
  const last = sel[n - 1] as RefclockReading;
  const x = sel.map((r) => diffSeconds(r.time, last.time));
  const y = sel.map((r) => r.offset);
  const meanX = x.reduce((a, b) => a + b, 0) / n;
  const meanY = y.reduce((a, b) => a + b, 0) / n;
  let variance: number;
  let disp: number;
  if (n >= 4) {
    const line = fitWeightedLine(x.map((v) => v - meanX), y, sel.map((r) => 1 / Math.max(r.dispersion, 1e-12)));
    const meanW = line.sumWeights / n;
    // Per-reading variance in offset units, as chrony's s2 (weights normalised to a mean of one).
    variance = line.residualSquares / meanW / (n - 2);
    disp = Math.sqrt(variance / n);
  } else if (n >= 2) {
    variance = y.reduce((a, v) => a + (v - meanY) ** 2, 0) / (n - 1);
    disp = Math.sqrt(variance);
  } else {
    variance = last.dispersion ** 2;
    disp = last.dispersion;
  }
  if (variance < 1e-20) { variance = 1e-20; disp = 1e-10; }
  if (maxDispersion > 0 && variance > maxDispersion ** 2) return null;
  const meanDispersion = sel.reduce((a, r) => a + r.dispersion, 0) / n;
  return { sample: { time: addSeconds(last.time, meanX), offset: meanY, dispersion: Math.max(disp, meanDispersion) }, variance };
}
