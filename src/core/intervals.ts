/**
 * Correctness intervals ([θ − λ, θ + λ] of each source or server), the
 * primitives that the daemon's source selection (selection.ts), the one-shot
 * query and the fleet check share.
 *
 * Falseticker rejection by intersecting them (RFC 5905 §11.2.1, after
 * Marzullo): find the region covered by the most correctness
 * intervals; if a majority of the sources cover it, they are the truechimers
 * and the rest are falsetickers.
 *
 * RFC 5905's reference code adds a condition on midpoints (at most f midpoints
 * outside the interval). We leave it out: it rejects sources whose intervals
 * overlap but whose offsets fall outside the overlap, so two correct sources
 * with touching intervals would be called falsetickers. Agreement here means
 * exactly what it says: the intervals intersect.
 */

export interface Candidate {
  /** Offset θ, seconds. */
  readonly offset: number;
  /** Root distance λ, seconds; the correctness interval is [θ − λ, θ + λ]. */
  readonly distance: number;
}

export type IntersectionResult =
  | {
    readonly ok: true;
    /** The intersection interval: the region covered by the most correctness intervals, seconds. */
    readonly low: number;
    readonly high: number;
    /** Indices of the candidates whose correctness interval covers [low, high]. */
    readonly truechimers: readonly number[];
    /** Indices of the others. */
    readonly falsetickers: readonly number[];
  }
  | {
    readonly ok: false;
    /** No point is covered by the intervals of more than half of the candidates. */
    readonly reason: 'no-majority';
  };

interface Edge {
  readonly value: number;
  /** −1 lower edge, +1 upper edge. */
  readonly type: -1 | 1;
}

export function intersect(candidates: readonly Candidate[]): IntersectionResult {
  const n = candidates.length;
  const edges: Edge[] = [];
  for (const c of candidates) {
    edges.push({ value: c.offset - c.distance, type: -1 });
    edges.push({ value: c.offset + c.distance, type: 1 });
  }
  // On equal values lower edges come first, so touching intervals overlap.
  edges.sort((a, b) => a.value - b.value || a.type - b.type);

  let count = 0;
  let best = 0;
  let low = NaN;
  let high = NaN;
  let open = false; // inside the best region found so far
  for (const e of edges) {
    if (e.type === -1) {
      count++;
      // Strictly more: of equally covered regions the first (lowest) wins.
      if (count > best) { best = count; low = e.value; open = true; }
    } else {
      // The first upper edge after the best lower edge closes the region.
      if (open) { high = e.value; open = false; }
      count--;
    }
  }
  if (2 * best <= n) return { ok: false, reason: 'no-majority' };
  const truechimers: number[] = [];
  const falsetickers: number[] = [];
  candidates.forEach((c, i) => {
    (c.offset - c.distance <= low && c.offset + c.distance >= high ? truechimers : falsetickers).push(i);
  });
  return { ok: true, low, high, truechimers, falsetickers };
}

/**
 * The combined offset of the survivors, each weighted by the inverse of its
 * root distance (RFC 5905 §11.2.3), and the weighted RMS spread around it.
 */
export function combine(candidates: readonly Candidate[]): { offset: number; jitter: number } {
  let wsum = 0;
  let osum = 0;
  for (const c of candidates) {
    const w = 1 / Math.max(c.distance, Number.MIN_VALUE);
    wsum += w;
    osum += w * c.offset;
  }
  const offset = osum / wsum;
  let jsum = 0;
  for (const c of candidates) jsum += (1 / Math.max(c.distance, Number.MIN_VALUE)) * (c.offset - offset) ** 2;
  return { offset, jitter: Math.sqrt(jsum / wsum) };
}
