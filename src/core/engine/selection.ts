/**
 * Source selection (chrony's sources.c, RFC 5905 §11.2): from every source's
 * estimate, which ones are believed, which one the clock follows, and a
 * named verdict for each (chronyc sources' state column).
 *
 * 1. Unusable sources (unreachable, no samples, noselect, denied,
 *    unsynchronized) and those whose root distance exceeds maxdistance
 *    ("jittery", chrony's `~`) take no part.
 * 2. Falsetickers are rejected by intersecting correctness intervals
 *    (intervals.ts). `trust` (chrony.conf(5)): a trusted source can be rejected
 *    only if another trusted source does not agree with it; when the majority
 *    rejects a trusted source, the trusted sources' own intersection decides
 *    and the others must meet it.
 * 3. `require`: at least one required source must be a truechimer;
 *    `minsources`: that many truechimers, before the clock is updated.
 * 4. `prefer`: when a preferred source is a truechimer, only preferred
 *    sources are selected and combined.
 *    `authselectmode` (chrony 4.3's sources.c) first adds options by
 *    authentication: `require` makes unauthenticated sources noselect;
 *    `prefer` does so when an authenticated one exists; `mix` (the default)
 *    gives authenticated sources require and trust when both kinds exist;
 *    `ignore` adds nothing.
 *    `maxjitter`: a source whose offsets' standard deviation exceeds it is
 *    jittery too.
 * 5. The selected source is the one with the smallest root distance plus
 *    `stratumweight` per stratum above the lowest; the previous one is kept
 *    unless another beats it by `reselectdist`, so the reference does not
 *    flap.
 * 6. Combined: truechimers whose distance is within `combinelimit` times the
 *    selected one's (plus reselectdist, as chronyd counts it).
 * 7. The system estimate: the combined sources' estimates weighted by inverse
 *    root distance (combineEstimates), what the clock controller follows.
 */
import type { SourceVerdict } from './snapshot.js';
import { type AuthSelectMode, DISCIPLINE_DEFAULTS } from './engine-api.js';
import { intersect } from '../intervals.js';

export interface SelectionCandidate {
  readonly id: number;
  /** Estimated offset, seconds. */
  readonly offset: number;
  /** Root distance, seconds. */
  readonly distance: number;
  /** Null when usable; otherwise why not (shown as the reason of `?`). */
  readonly unusable: string | null;
  readonly noselect: boolean;
  readonly prefer: boolean;
  readonly trust: boolean;
  readonly require: boolean;
  /** Configured with a key or NTS (authselectmode weighs it); default false. */
  readonly authenticated?: boolean;
  /** The stratum the source counts with (stratumweight); default 0. */
  readonly stratum?: number;
  /** Standard deviation of its offsets, seconds (maxjitter); default 0. */
  readonly stdDev?: number;
  /** Its reach register, a bit per poll whose fate is known (newest lowest), and how many such polls it holds (up to 8); default 0. */
  readonly reach?: number;
  readonly reachSize?: number;
  /** It answers but has too few samples yet (chronyd's SRC_BAD_STATS); default false. */
  readonly awaitingSamples?: boolean;
}

export interface SelectionOptions {
  readonly minsources: number;
  readonly maxdistance: number;
  /** The rest default to chronyd's (DISCIPLINE_DEFAULTS). */
  readonly combinelimit?: number;
  readonly reselectdist?: number;
  readonly stratumweight?: number;
  readonly maxjitter?: number;
  readonly authselectmode?: AuthSelectMode;
  /** The source selected last time, or null. */
  readonly previous: number | null;
}

export interface Verdict {
  readonly verdict: SourceVerdict;
  readonly reason: string;
}

export interface SelectionResult {
  readonly verdicts: ReadonlyMap<number, Verdict>;
  /** The source the clock follows, or null when the clock must not be updated. */
  readonly selected: number | null;
  /** Sources combined into the estimate, the selected one first; empty when selected is null. */
  readonly combined: readonly number[];
  /** Truechimers (agreeing sources). */
  readonly truechimers: readonly number[];
  /** Why nothing was selected, or null. */
  readonly reason: string | null;
}

/** The reason of sources held back while others gather their samples (chronyd's 'w'). */
export const WAITING_FOR_SAMPLES = 'waiting for the other sources\' samples';

function fmt(s: number): string {
  return s >= 1 ? `${s.toFixed(2)} s` : s >= 1e-3 ? `${(s * 1e3).toFixed(1)} ms` : `${(s * 1e6).toFixed(0)} us`;
}

/** The selection options authselectmode adds to each source (chrony 4.3's update_sel_options): over all configured sources, noselect ones aside. */
export function withAuthSelectMode(candidates: readonly SelectionCandidate[], mode: AuthSelectMode): SelectionCandidate[] {
  const counted = candidates.filter((c) => !c.noselect);
  const auth = counted.some((c) => c.authenticated === true);
  const unauth = counted.some((c) => c.authenticated !== true);
  return candidates.map((c) => {
    if (c.noselect) return c;
    if (c.authenticated === true) return mode === 'mix' && auth && unauth ? { ...c, require: true, trust: true } : c;
    return mode === 'require' || (mode === 'prefer' && auth) ? { ...c, noselect: true } : c;
  });
}

export function selectSources(all: readonly SelectionCandidate[], options: SelectionOptions): SelectionResult {
  const D = DISCIPLINE_DEFAULTS;
  const o = {
    combinelimit: D.combinelimit, reselectdist: D.reselectdist, stratumweight: D.stratumweight, maxjitter: D.maxjitter,
    authselectmode: D.authselectmode, ...options,
  };
  const candidates = withAuthSelectMode(all, o.authselectmode);
  const verdicts = new Map<number, Verdict>();
  const usable: SelectionCandidate[] = [];
  for (const c of candidates) {
    if (c.unusable !== null) verdicts.set(c.id, { verdict: 'unusable', reason: c.unusable });
    else if (c.noselect) verdicts.set(c.id, { verdict: 'unusable', reason: all.find((x) => x.id === c.id)?.noselect === true ? 'noselect' : `noselect (authselectmode ${o.authselectmode})` });
    else if (!(c.distance <= o.maxdistance)) {
      verdicts.set(c.id, { verdict: 'jittery', reason: `distance ${fmt(c.distance)} > maxdistance ${fmt(o.maxdistance)}` });
    } else if ((c.stdDev ?? 0) > o.maxjitter) {
      verdicts.set(c.id, { verdict: 'jittery', reason: `std dev ${fmt(c.stdDev ?? 0)} > maxjitter ${fmt(o.maxjitter)}` });
    } else usable.push(c);
  }
  const none = (reason: string): SelectionResult => ({ verdicts, selected: null, combined: [], truechimers: [], reason });
  if (usable.length === 0) return none('no selectable sources');

  // chronyd (sources.c, SRC_WAITS_STATS): before the first selection, while
  // a source that answers is only one poll behind the furthest selectable
  // one in gathering its samples, wait for it: sources polled together
  // become selectable a reply apart, and the first alone is no majority.
  const pending = candidates.filter((c) => c.unusable !== null && !c.noselect && c.awaitingSamples === true);
  if (o.previous === null && pending.length > 0) {
    const most = (cs: readonly SelectionCandidate[], f: (c: SelectionCandidate) => number): number => Math.max(0, ...cs.map(f));
    const selReach = most(usable, (c) => c.reach ?? 0);
    if (most(usable, (c) => c.reachSize ?? 0) < 8 && selReach >>> 1 === most(pending, (c) => c.reach ?? 0)) {
      for (const c of usable) verdicts.set(c.id, { verdict: 'unusable', reason: WAITING_FOR_SAMPLES });
      return none(WAITING_FOR_SAMPLES);
    }
  }

  const truechimers = agreeing(usable);
  for (const c of usable) {
    if (!truechimers.includes(c)) verdicts.set(c.id, { verdict: 'falseticker', reason: 'interval does not meet the majority\'s' });
  }
  if (truechimers.length === 0) return none('no majority agrees');

  const wait = (reason: string): SelectionResult => {
    for (const c of truechimers) verdicts.set(c.id, { verdict: 'not-combined', reason });
    return { verdicts, selected: null, combined: [], truechimers: truechimers.map((c) => c.id), reason };
  };
  if (candidates.some((c) => c.require) && !truechimers.some((c) => c.require)) {
    return wait('no required source is selectable');
  }
  if (truechimers.length < o.minsources) {
    return wait(`${truechimers.length} selectable < minsources ${o.minsources}`);
  }

  const preferred = truechimers.filter((c) => c.prefer);
  const pool = preferred.length > 0 ? preferred : truechimers;
  const minStratum = Math.min(...usable.map((c) => c.stratum ?? 0));
  const weighted = (c: SelectionCandidate): number => c.distance + ((c.stratum ?? 0) - minStratum) * o.stratumweight;
  let best = pool[0] as SelectionCandidate;
  for (const c of pool) if (weighted(c) < weighted(best)) best = c;
  const prev = pool.find((c) => c.id === o.previous);
  if (prev !== undefined && weighted(prev) <= weighted(best) + o.reselectdist) best = prev;

  const combined = [best.id];
  verdicts.set(best.id, { verdict: 'selected', reason: 'reference' });
  for (const c of truechimers) {
    if (c === best) continue;
    if (!pool.includes(c)) verdicts.set(c.id, { verdict: 'not-combined', reason: 'a preferred source is selected' });
    else if (c.distance > o.combinelimit * (best.distance + o.reselectdist)) {
      verdicts.set(c.id, { verdict: 'not-combined', reason: `distance ${fmt(c.distance)} > ${o.combinelimit} x selected` });
    } else {
      verdicts.set(c.id, { verdict: 'combined', reason: 'agrees' });
      combined.push(c.id);
    }
  }
  return { verdicts, selected: best.id, combined, truechimers: truechimers.map((c) => c.id), reason: null };
}

/** The truechimers among usable candidates, honouring `trust`. */
function agreeing(usable: readonly SelectionCandidate[]): SelectionCandidate[] {
  const all = intersect(usable);
  const trusted = usable.filter((c) => c.trust);
  const majority = all.ok ? all.truechimers.map((i) => usable[i] as SelectionCandidate) : [];
  if (trusted.length === 0 || trusted.every((c) => majority.includes(c))) return majority;
  // The majority rejects a trusted source (or there is none): the trusted sources decide among themselves.
  const t = intersect(trusted);
  if (!t.ok) return majority.filter((c) => !c.trust);
  const low = t.low;
  const high = t.high;
  const trueTrusted = t.truechimers.map((i) => trusted[i] as SelectionCandidate);
  return usable.filter((c) => (c.trust ? trueTrusted.includes(c) : c.offset - c.distance <= high && c.offset + c.distance >= low));
}

/** One source's estimate as combining weighs it: offset (s), rate (s/s), their variances, root distance (s). */
export interface WeighedEstimate {
  readonly offset: number;
  readonly freq: number;
  readonly pPhase: number;
  readonly pFreq: number;
  readonly distance: number;
}

/** The system estimate: the combined sources' weighted means. */
export interface CombinedEstimate {
  readonly offset: number;
  readonly freq: number;
  readonly pPhase: number;
  readonly pFreq: number;
}

/**
 * Combines by inverse root distance (RFC 5905 §11.2.3, chrony's combine);
 * null when none of `ids` has an estimate.
 */
export function combineEstimates(ids: readonly number[], estimates: ReadonlyMap<number, WeighedEstimate>): CombinedEstimate | null {
  let w = 0;
  let off = 0;
  let freq = 0;
  let pFreq = 0;
  let pPhase = 0;
  for (const id of ids) {
    const est = estimates.get(id);
    if (est === undefined) continue;
    const wi = 1 / Math.max(est.distance, 1e-9);
    w += wi;
    off += wi * est.offset;
    freq += wi * est.freq;
    pFreq += wi * est.pFreq;
    pPhase += wi * est.pPhase;
  }
  if (w === 0) return null;
  return { offset: off / w, freq: freq / w, pPhase: pPhase / w, pFreq: pFreq / w };
}
