/**
 * A one-shot query's figures (the job of `ntpdate -q`, `sntp` and
 * `chronyd -Q`): each server's best sample from its valid replies, and the
 * verdict over several servers. The IO layer sends, receives and
 * timestamps; requests and reply checks are client-request.ts and
 * reply-validation.ts.
 */
import { shortToSeconds } from '../time/short.js';
import { type NtpHeader } from '../proto/header.js';
import { offsetJitter, rootDistance, type Sample } from './sample.js';
import { combine, intersect } from './intervals.js';

/** What one server's valid replies amount to. */
export interface ServerEstimate {
  /** The reply whose sample is used. */
  readonly header: NtpHeader;
  /** The minimum-delay sample (the clock filter's choice, RFC 5905 §10). */
  readonly best: Sample;
  /** Index of `best` among the valid samples given. */
  readonly bestIndex: number;
  /** RMS of the other samples' offsets around the best one, seconds. */
  readonly jitter: number;
  readonly rootDelay: number;
  readonly rootDispersion: number;
  /** λ, seconds: the half-width of the correctness interval. */
  readonly rootDistance: number;
}

export function estimateServer(replies: readonly { header: NtpHeader; sample: Sample }[]): ServerEstimate | null {
  if (replies.length === 0) return null;
  let bestIndex = 0;
  replies.forEach((r, i) => {
    if (r.sample.delay < (replies[bestIndex] as typeof r).sample.delay) bestIndex = i;
  });
  const { header, sample: best } = replies[bestIndex] as (typeof replies)[number];
  const jitter = offsetJitter(replies.map((r) => r.sample.offset), best.offset);
  const rootDelay = shortToSeconds(header.rootDelay);
  const rootDispersion = shortToSeconds(header.rootDispersion);
  return {
    header, best, bestIndex, jitter, rootDelay, rootDispersion,
    rootDistance: rootDistance({ delay: best.delay, dispersion: best.dispersion, rootDelay, rootDispersion, jitter }),
  };
}

export type CombinedVerdict =
  | {
    readonly ok: true;
    /** Indices (into the estimates given) of servers whose intervals meet the intersection. */
    readonly agree: readonly number[];
    readonly falsetickers: readonly number[];
    readonly interval: { readonly low: number; readonly high: number };
    /** Distance-weighted mean offset of the agreeing servers, seconds. */
    readonly offset: number;
    readonly jitter: number;
  }
  | { readonly ok: false; readonly reason: 'no-majority' };

/** The combined verdict over several servers' estimates. */
export function combineServers(estimates: readonly ServerEstimate[]): CombinedVerdict {
  const candidates = estimates.map((e) => ({ offset: e.best.offset, distance: e.rootDistance }));
  const x = intersect(candidates);
  if (!x.ok) return x;
  const { offset, jitter } = combine(x.truechimers.map((i) => candidates[i] as (typeof candidates)[number]));
  return { ok: true, agree: x.truechimers, falsetickers: x.falsetickers, interval: { low: x.low, high: x.high }, offset, jitter };
}
