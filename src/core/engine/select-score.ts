/**
 * chronyd's selection score (sources.c), kept for chronyc selectdata's
 * Score column: how strongly a source is placed to replace the selected
 * one. It accumulates over selection rounds: in each round where the
 * selected source or this one brought a new sample, the score is
 * multiplied by the selected source's distance over this one's (never
 * below 1); a source that is not selectable starts again from 1, and so
 * does every source when another one is selected. Without a selected source
 * the score is 1/distance, so that the nearest source scores highest.
 * Distances include chronyd's stratum weight and, for NTP sources,
 * reselectdist. Pure: the rounds come in as arguments.
 */

export interface ScoreCandidate {
  readonly id: number;
  /** Survived this round's selection (chronyd's SRC_OK at scoring: selected, combined or not combined). */
  readonly selectable: boolean;
  /** Root distance, seconds. */
  readonly distance: number;
  readonly stratum: number;
  readonly refclock: boolean;
}

export interface ScoreRound {
  readonly candidates: readonly ScoreCandidate[];
  /** The source selected before this round, if any. */
  readonly previous: number | null;
  /** The source selected after it. */
  readonly selected: number | null;
  /** The source whose new sample started the round (null: a change of state). */
  readonly updated: number | null;
  readonly stratumweight: number;
  readonly reselectdist: number;
}

/** The scores after one round, from those before it (a missing source scores 1). */
export function scoreRound(before: ReadonlyMap<number, number>, r: ScoreRound): Map<number, number> {
  const out = new Map<number, number>();
  const ok = r.candidates.filter((c) => c.selectable);
  const minStratum = ok.reduce((m, c) => Math.min(m, c.stratum), Infinity);
  const dist = (c: ScoreCandidate): number => c.distance + (c.stratum - minStratum) * r.stratumweight + (c.refclock ? 0 : r.reselectdist);
  const prev = r.previous === null ? undefined : ok.find((c) => c.id === r.previous);
  const selDistance = prev === undefined ? null : prev.distance + (prev.stratum - minStratum) * r.stratumweight;
  for (const c of r.candidates) {
    let score = before.get(c.id) ?? 1;
    if (!c.selectable) score = 1;
    else if (selDistance !== null) {
      if (c.id === r.updated || r.previous === r.updated) score = Math.max(1, (score * selDistance) / dist(c));
    } else score = 1 / dist(c);
    out.set(c.id, score);
  }
  // A new selection starts every score again.
  if (r.selected !== null && r.selected !== r.previous) for (const id of out.keys()) out.set(id, 1);
  return out;
}
