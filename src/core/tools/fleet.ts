/**
 * The judgement half of `ntpkit fleet`: given what each host and each
 * reference answered, the consensus time, every host's offset from it, the
 * outliers, the fleet's spread and a Nagios-style status. Pure: the querying
 * is in net/fleet-query.ts.
 *
 * Consensus:
 * - with references, the daemon's own source selection (selection.ts:
 *   intersection of correctness intervals, then `prefer`/`trust`/`require`,
 *   then the combination weighted by 1/root distance), so the fleet is held
 *   to the time the daemon would follow with those sources;
 * - without, the fleet's own: the hosts whose correctness intervals meet the
 *   majority's intersection (intervals.ts), and the median of their offsets. The
 *   median rather than the weighted mean, because a fleet is many similar
 *   hosts: one host with a tiny root distance must not pull the reference.
 *
 * Outliers (see OUTLIER_MAD_FACTOR): a host whose offset from the consensus
 * is beyond `--outlier SECONDS` when given, else beyond both its own root
 * distance (what its reply can vouch for) and 5 robust standard deviations
 * of the fleet around the consensus (1.4826 x the median |offset|, which is
 * the standard deviation for normally spread offsets and ignores up to half
 * the fleet being wrong).
 */
import { combine, intersect } from '../intervals.js';
import { selectSources, type SelectionCandidate } from '../engine/selection.js';

/** What one host or reference answered: its offset (its clock minus ours), delay and root distance, seconds. */
export interface Measurement {
  readonly offset: number;
  readonly delay: number;
  readonly distance: number;
}

/** Why a host gave no time. */
export type HostFailure = 'unreachable' | 'unsynchronized' | 'kod' | 'bad-reply';

export type HostStatus = 'ok' | 'outlier' | HostFailure;

export type HostInput = { readonly measurement: Measurement } | { readonly failure: HostFailure };

export interface ReferenceInput {
  /** Null when it gave no usable answer. */
  readonly measurement: Measurement | null;
  readonly prefer?: boolean;
  readonly trust?: boolean;
  readonly require?: boolean;
}

/** chrony's maxdistance default, seconds: references farther than this take no part. */
export const REFERENCE_MAX_DISTANCE = 3;
/** Outlier limit in robust standard deviations (1.4826 x MAD). 5 flags almost nothing by chance, even in a fleet of thousands. */
export const OUTLIER_MAD_FACTOR = 5;
/** MAD to standard deviation for normally distributed data. */
const MAD_TO_SIGMA = 1.4826;
/** Fewer references than this cannot outvote one falseticker: warn. */
export const MIN_REFERENCES = 3;

export type Consensus =
  | {
    readonly ok: true;
    readonly source: 'references' | 'fleet';
    /** The consensus offset from our clock, seconds. */
    readonly offset: number;
    /** The majority's intersection interval, seconds (our clock's frame). */
    readonly low: number;
    readonly high: number;
    /** Indices (of the references, or of the hosts) whose intervals meet the intersection. */
    readonly agree: readonly number[];
    /** Indices of those that answered and do not. */
    readonly disagree: readonly number[];
    /** References only: the indices combined into the offset. */
    readonly combined: readonly number[];
  }
  | { readonly ok: false; readonly source: 'references' | 'fleet'; readonly reason: string };

export interface HostVerdict {
  readonly status: HostStatus;
  /** Offset from the consensus, seconds: positive when the host is ahead. Null without an answer or a consensus. */
  readonly offset: number | null;
  /** The |offset| beyond which it is an outlier, seconds. */
  readonly limit: number | null;
}

export interface Spread {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  /** max − min. */
  readonly range: number;
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  /** q3 − q1 (quartiles by linear interpolation between order statistics). */
  readonly iqr: number;
  /** Median absolute deviation from the median. */
  readonly mad: number;
}

export interface FleetAnalysis {
  readonly consensus: Consensus;
  readonly hosts: readonly HostVerdict[];
  /** Of the answering hosts' offsets from the consensus; null when none answered or there is no consensus. */
  readonly spread: Spread | null;
  /** 1.4826 x median |offset from consensus| over the answering hosts, seconds. */
  readonly robustSigma: number | null;
  readonly warnings: readonly string[];
}

export interface AnalysisOptions {
  /** Fixed outlier limit, seconds (`--outlier`); else the robust rule. */
  readonly outlierSeconds?: number;
}

/** The q-quantile (0..1) of sorted values, interpolating linearly between order statistics. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return lo === hi ? a : a + (b - a) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

export function spreadOf(values: readonly number[]): Spread | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const med = quantile(s, 0.5);
  const q1 = quantile(s, 0.25);
  const q3 = quantile(s, 0.75);
  const min = s[0] as number;
  const max = s[s.length - 1] as number;
  return { count: s.length, min, max, range: max - min, median: med, q1, q3, iqr: q3 - q1, mad: median(s.map((v) => Math.abs(v - med))) };
}

/** The consensus of the references, by the daemon's selection. */
export function referenceConsensus(refs: readonly ReferenceInput[]): Consensus {
  const candidates: SelectionCandidate[] = refs.map((r, id) => ({
    id,
    offset: r.measurement?.offset ?? 0,
    distance: r.measurement?.distance ?? Infinity,
    unusable: r.measurement === null ? 'no usable reply' : null,
    noselect: false,
    prefer: r.prefer ?? false,
    trust: r.trust ?? false,
    require: r.require ?? false,
  }));
  const sel = selectSources(candidates, { minsources: 1, maxdistance: REFERENCE_MAX_DISTANCE, previous: null });
  if (sel.selected === null) {
    const answered = refs.filter((r) => r.measurement !== null).length;
    return { ok: false, source: 'references', reason: answered === 0 ? 'no reference answered' : `references: ${sel.reason ?? 'none selected'}` };
  }
  const used = sel.combined.map((i) => candidates[i] as SelectionCandidate);
  const agreeing = sel.truechimers.map((i) => candidates[i] as SelectionCandidate);
  const x = intersect(agreeing);
  const disagree = candidates.filter((c) => c.unusable === null && !sel.truechimers.includes(c.id)).map((c) => c.id);
  const offset = combine(used).offset;
  return {
    ok: true, source: 'references', offset,
    low: x.ok ? x.low : offset, high: x.ok ? x.high : offset,
    agree: [...sel.truechimers].sort((a, b) => a - b), disagree, combined: sel.combined,
  };
}

/** The fleet's own consensus: the median offset of the hosts that agree. */
export function fleetConsensus(hosts: readonly HostInput[]): Consensus {
  const idx: number[] = [];
  const candidates: Measurement[] = [];
  hosts.forEach((h, i) => {
    if ('measurement' in h) { idx.push(i); candidates.push(h.measurement); }
  });
  if (candidates.length === 0) return { ok: false, source: 'fleet', reason: 'no host answered' };
  const x = intersect(candidates);
  if (!x.ok) return { ok: false, source: 'fleet', reason: `no majority of the ${candidates.length} answering hosts agree (their correctness intervals do not intersect)` };
  const agree = x.truechimers.map((i) => idx[i] as number);
  return {
    ok: true, source: 'fleet', offset: median(x.truechimers.map((i) => (candidates[i] as Measurement).offset)),
    low: x.low, high: x.high, agree, disagree: x.falsetickers.map((i) => idx[i] as number), combined: [],
  };
}

/** Classifies every host against a consensus. */
export function analyzeFleet(hosts: readonly HostInput[], refs: readonly ReferenceInput[] | null, o: AnalysisOptions = {}): FleetAnalysis {
  const warnings: string[] = [];
  let consensus: Consensus;
  if (refs === null) {
    consensus = fleetConsensus(hosts);
  } else {
    const answered = refs.filter((r) => r.measurement !== null).length;
    if (refs.length < MIN_REFERENCES) warnings.push(`only ${refs.length} reference${refs.length === 1 ? '' : 's'} given: ${MIN_REFERENCES} or more are needed to outvote a falseticker`);
    else if (answered < MIN_REFERENCES) warnings.push(`only ${answered} of ${refs.length} references answered: ${MIN_REFERENCES} or more are needed to outvote a falseticker`);
    consensus = referenceConsensus(refs);
  }
  if (!consensus.ok) {
    const verdicts = hosts.map((h): HostVerdict => ({ status: 'measurement' in h ? 'ok' : h.failure, offset: null, limit: null }));
    return { consensus, hosts: verdicts, spread: null, robustSigma: null, warnings };
  }
  const c = consensus.offset;
  const rel = hosts.flatMap((h) => ('measurement' in h ? [h.measurement.offset - c] : []));
  const sigma = rel.length > 0 ? MAD_TO_SIGMA * median(rel.map(Math.abs)) : null;
  const verdicts = hosts.map((h): HostVerdict => {
    if (!('measurement' in h)) return { status: h.failure, offset: null, limit: null };
    const offset = h.measurement.offset - c;
    const limit = outlierLimit(h.measurement, sigma ?? 0, o);
    return { status: Math.abs(offset) > limit ? 'outlier' : 'ok', offset, limit };
  });
  return { consensus, hosts: verdicts, spread: spreadOf(rel), robustSigma: sigma, warnings };
}

/** The |offset from consensus| a host may have before it is an outlier. */
export function outlierLimit(m: Measurement, robustSigma: number, o: AnalysisOptions): number {
  return o.outlierSeconds ?? Math.max(OUTLIER_MAD_FACTOR * robustSigma, m.distance);
}

export type NagiosStatus = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';

/** Nagios plugin exit codes. */
export const NAGIOS_EXIT: Readonly<Record<NagiosStatus, number>> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };

export type CountLimit = { readonly count: number } | { readonly percent: number };

export interface FleetThresholds {
  /** WARNING when the worst host's |offset from consensus| exceeds this, seconds. */
  readonly warnOffset?: number;
  /** CRITICAL when it exceeds this, seconds. */
  readonly critOffset?: number;
  /** WARNING when more hosts than this gave no usable time (unreachable, unsynchronized, KoD, bad reply). */
  readonly warnUnreachable?: CountLimit;
  /** CRITICAL when more hosts than this gave no usable time. */
  readonly maxUnreachable?: CountLimit;
  /** WARNING when more hosts than this are outliers. */
  readonly maxOutliers?: number;
}

export interface FleetStatus {
  readonly status: NagiosStatus;
  /** Why, most severe first; empty when OK. */
  readonly reasons: readonly string[];
  /** Index of the host with the largest |offset from consensus|, or null. */
  readonly worst: number | null;
}

/** Parses `N` or `P%` (`--max-unreachable`); null when malformed. */
export function parseCountLimit(text: string): CountLimit | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  if (!m) return null;
  const v = Number(m[1]);
  if (m[2] === '%') return v <= 100 ? { percent: v } : null;
  return Number.isInteger(v) ? { count: v } : null;
}

function exceeds(n: number, total: number, limit: CountLimit): boolean {
  return 'count' in limit ? n > limit.count : total > 0 && (100 * n) / total > limit.percent;
}

const SEVERITY: readonly NagiosStatus[] = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'];

/**
 * The fleet's status under the thresholds. UNKNOWN when there is no
 * consensus to measure against; CRITICAL when references agree but no host
 * answered at all.
 */
export function fleetStatus(a: FleetAnalysis, t: FleetThresholds, fmt: (s: number) => string = String): FleetStatus {
  if (!a.consensus.ok) return { status: 'UNKNOWN', reasons: [`no consensus: ${a.consensus.reason}`], worst: null };
  let worst: number | null = null;
  a.hosts.forEach((h, i) => {
    if (h.offset !== null && (worst === null || Math.abs(h.offset) > Math.abs(a.hosts[worst]?.offset ?? 0))) worst = i;
  });
  const found: { s: NagiosStatus; why: string }[] = [];
  const total = a.hosts.length;
  const failed = a.hosts.filter((h) => h.offset === null).length;
  const outliers = a.hosts.filter((h) => h.status === 'outlier').length;
  if (worst === null) found.push({ s: 'CRITICAL', why: 'no host answered' });
  else {
    const off = Math.abs(a.hosts[worst]?.offset ?? 0);
    if (t.critOffset !== undefined && off > t.critOffset) found.push({ s: 'CRITICAL', why: `worst offset ${fmt(off)} > ${fmt(t.critOffset)}` });
    else if (t.warnOffset !== undefined && off > t.warnOffset) found.push({ s: 'WARNING', why: `worst offset ${fmt(off)} > ${fmt(t.warnOffset)}` });
  }
  const limit = (l: CountLimit): string => ('count' in l ? String(l.count) : `${l.percent}%`);
  if (t.maxUnreachable !== undefined && exceeds(failed, total, t.maxUnreachable)) {
    found.push({ s: 'CRITICAL', why: `${failed} of ${total} hosts gave no time > ${limit(t.maxUnreachable)}` });
  } else if (t.warnUnreachable !== undefined && exceeds(failed, total, t.warnUnreachable)) {
    found.push({ s: 'WARNING', why: `${failed} of ${total} hosts gave no time > ${limit(t.warnUnreachable)}` });
  }
  if (t.maxOutliers !== undefined && outliers > t.maxOutliers) found.push({ s: 'WARNING', why: `${outliers} outliers > ${t.maxOutliers}` });
  found.sort((x, y) => SEVERITY.indexOf(y.s) - SEVERITY.indexOf(x.s));
  return { status: found[0]?.s ?? 'OK', reasons: found.map((f) => f.why), worst };
}
