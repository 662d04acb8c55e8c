/**
 * Leap seconds. Sources announce a leap second in their leap bits during
 * the day before it (RFC 5905 §7.3); chrony believes it when the majority of
 * the selectable sources announce it, and only on the last day of June or
 * December (reference.c), the days ITU-R TF.460 names first. The leap
 * happens at the following midnight UTC, which in NTP time is a whole
 * multiple of 86400 s (NTP time has no leap seconds of its own).
 */
import { TICKS_PER_SECOND, instantToDate, type Instant } from '../time/instant.js';
import type { EngineAction } from './engine-api.js';

export type LeapKind = 'none' | 'insert' | 'delete';

const DAY = 86_400n * TICKS_PER_SECOND;

/** The leap most of the voters announce (more than half), else none. */
export function leapVote(votes: readonly LeapKind[]): LeapKind {
  if (votes.length === 0) return 'none';
  const ins = votes.filter((v) => v === 'insert').length;
  const del = votes.filter((v) => v === 'delete').length;
  if (2 * ins > votes.length) return 'insert';
  if (2 * del > votes.length) return 'delete';
  return 'none';
}

/** Whether `now` falls on a day that may end with a leap second (June 30 or December 31, UTC). */
export function isLeapDay(now: Instant): boolean {
  const d = instantToDate(now);
  const month = d.getUTCMonth();
  return (month === 5 && d.getUTCDate() === 30) || (month === 11 && d.getUTCDate() === 31);
}

/** The next midnight UTC after `now`. */
export function nextMidnight(now: Instant): Instant {
  return (now / DAY + 1n) * DAY;
}

/** Seconds the timescale moves at the leap: −1 for an inserted second (23:59:59 repeats), +1 for a deleted one. */
export function leapShift(kind: LeapKind): number {
  return kind === 'insert' ? -1 : kind === 'delete' ? 1 : 0;
}

/** The leap second the sources announce, and the midnight it falls on. */
export class LeapSchedule {
  private kind: LeapKind = 'none';
  private due: Instant | null = null;

  get pending(): LeapKind { return this.kind; }
  /** When the pending leap falls, or null. */
  get at(): Instant | null { return this.due; }

  /** The truechimers' leap bits at `now`: a new announcement is reported. */
  vote(now: Instant, votes: readonly LeapKind[], actions: EngineAction[]): void {
    const vote = isLeapDay(now) ? leapVote(votes) : 'none';
    if (vote !== this.kind) {
      this.kind = vote;
      this.due = vote === 'none' ? null : nextMidnight(now);
      if (vote !== 'none') actions.push({ kind: 'event', event: { type: 'leap', leap: vote } });
    }
  }

  /** The pending leap is due at `now`: returns it and when it fell, and forgets it. */
  take(now: Instant): { kind: LeapKind; at: Instant } | null {
    if (this.due === null || now < this.due) return null;
    const r = { kind: this.kind, at: this.due };
    this.kind = 'none';
    this.due = null;
    return r;
  }
}
