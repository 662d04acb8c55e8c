/**
 * The fallback real-time clock, as pure functions: process.hrtime calibrated
 * against the moments Date.now() ticks over. Readings come in as arguments
 * (or as reader functions), so every rule here runs on synthetic input.
 *
 * Why the tick-over: Date.now() is CLOCK_REALTIME floored to the millisecond,
 * so at the instant its value turns from M-1 to M the real-time clock reads
 * exactly M ms. If hrtime was read just before the last M-1 and just after
 * the first M, that instant lies between those two hrtime readings: a bracket
 * whose width is two trips round the spin loop (~0.1 us), however coarse
 * Date.now() is.
 *
 * On Linux hrtime is CLOCK_MONOTONIC, which the kernel slews together with
 * CLOCK_REALTIME, so the two only part when the real-time clock is stepped
 * (clock_settime, ADJ_SETOFFSET, a leap second): one offset, found once,
 * stays right until then.
 */

const NS_PER_MS = 1_000_000n;

/** One tick-over of Date.now(): the real-time clock read exactly `ms` at some hrtime in (hrBefore, hrAfter). */
export interface TickBracket {
  readonly hrBefore: bigint;
  readonly ms: number;
  readonly hrAfter: bigint;
}

/** realtime_ns = hrtime_ns + offsetNs, within ±uncertaintyNs. */
export interface Calibration {
  readonly offsetNs: bigint;
  readonly uncertaintyNs: bigint;
  /** Brackets that agreed and were intersected (the newest run of consistent ones). */
  readonly used: number;
  /** Times a bracket contradicted the earlier ones (the clock was stepped meanwhile) and they were dropped. */
  readonly restarts: number;
}

/**
 * Intersects the offset intervals of the brackets, oldest first. Each bracket
 * says offset ∈ [ms·10^6 − hrAfter, ms·10^6 − hrBefore], so the result is at
 * least as tight as the tightest bracket. A bracket that does not overlap the
 * running intersection proves the clock was stepped in between: the older
 * brackets are dropped and the newest wins. Undefined for no brackets.
 */
export function calibrate(brackets: readonly TickBracket[]): Calibration | undefined {
  let lo: bigint | undefined;
  let hi = 0n;
  let used = 0;
  let restarts = 0;
  for (const b of brackets) {
    const at = BigInt(b.ms) * NS_PER_MS;
    const bLo = at - b.hrAfter;
    const bHi = at - b.hrBefore;
    if (lo === undefined) {
      lo = bLo; hi = bHi; used = 1;
      continue;
    }
    const nLo = bLo > lo ? bLo : lo;
    const nHi = bHi < hi ? bHi : hi;
    if (nLo > nHi) {
      lo = bLo; hi = bHi; used = 1; restarts++;
    } else {
      lo = nLo; hi = nHi; used++;
    }
  }
  if (lo === undefined) return undefined;
  // Midpoint, rounded down; the half-width rounded up so the interval still covers [lo, hi].
  const sum = lo + hi;
  const offsetNs = sum >= 0n ? sum / 2n : -((-sum + 1n) / 2n);
  return { offsetNs, uncertaintyNs: (hi - lo + 1n) / 2n, used, restarts };
}

/** Reader functions: the IO, injected. */
export interface TickReaders {
  readonly hr: () => bigint;
  readonly ms: () => number;
}

/**
 * Spins until Date.now() has ticked over `count` times and returns the
 * brackets. Readings alternate hr, ms, hr, ms, ...; at a change from ms[k-1]
 * to ms[k], the bracket runs from the hr read before ms[k-1] to the hr read
 * after ms[k]. (A bracket that spans a forward step is wrong, but {@link calibrate}
 * drops it when the brackets after it disagree.) Gives up after `maxReads` Date.now() reads (a stopped clock).
 */
export function collectBrackets(read: TickReaders, count: number, maxReads = 2_000_000): TickBracket[] {
  const out: TickBracket[] = [];
  let hrBeforePrev = read.hr();
  let prevMs = read.ms();
  let reads = 1;
  while (out.length < count && reads < maxReads) {
    const hr = read.hr();
    const ms = read.ms();
    reads++;
    // A backward change is a step, not a tick-over: it brackets nothing.
    if (ms > prevMs) out.push({ hrBefore: hrBeforePrev, ms, hrAfter: read.hr() });
    hrBeforePrev = hr;
    prevMs = ms;
  }
  return out;
}

/**
 * Slack beyond the calibration's own uncertainty before a reading is called
 * inconsistent with Date.now(). On Linux hrtime and the real-time clock run at
 * the same rate, so any real inconsistency is a step; 100 us is far above the
 * calibration error (measured well under 1 us, see bench/realtime) and the
 * 256 ns float rounding of the check, yet far below the steps clock daemons
 * make (chrony's makestep and ntpd's step threshold are >= 0.1 s). Where
 * hrtime is not slewed with the real-time clock (other OSes) it also bounds
 * the drift the fallback lets build up before it recalibrates.
 */
export const STEP_TOLERANCE_NS = 100_000;

/**
 * - `consistent`: the estimate is compatible with Date.now();
 * - `stepped`: it cannot be: recalibrate;
 * - `confirm`: the estimate trails Date.now(), which a pause between the two
 *   reads also explains: check again with {@link checkMsThenHr}.
 */
export type ReadingVerdict = 'consistent' | 'stepped' | 'confirm';

/** The estimated real time, in Unix ns, at hrtime `hr`. */
export function estimateNs(cal: Calibration, hr: bigint): bigint {
  return hr + cal.offsetNs;
}

/** Slack for `cal`, in ns, as a float (the checks run on floats: they are cheap, and 256 ns rounding is immaterial next to the tolerance). */
function slackNs(cal: Calibration, toleranceNs: number): number {
  return Number(cal.uncertaintyNs) + toleranceNs + 1_000;
}

/**
 * The cheap check on every read: hrtime first, then Date.now(). Date.now() was
 * read later, so the estimate may not be past the end of its millisecond: if
 * it is, the clock was stepped back (or the calibration is wrong). An estimate
 * before the start of that millisecond is suspicious only: the thread may have
 * been paused between the reads.
 */
export function checkHrThenMs(cal: Calibration, hr: bigint, ms: number, toleranceNs = STEP_TOLERANCE_NS): ReadingVerdict {
  const est = Number(estimateNs(cal, hr));
  const slack = slackNs(cal, toleranceNs);
  if (est - slack >= (ms + 1) * 1e6) return 'stepped';
  if (est + slack < ms * 1e6) return 'confirm';
  return 'consistent';
}

/**
 * The confirming check: Date.now() first, then hrtime. The real time at `hr`
 * is at least the start of `ms`'s millisecond, so an estimate below that is a
 * forward step, whatever the scheduler did between the reads.
 */
export function checkMsThenHr(cal: Calibration, ms: number, hr: bigint, toleranceNs = STEP_TOLERANCE_NS): 'consistent' | 'stepped' {
  const est = Number(estimateNs(cal, hr));
  return est + slackNs(cal, toleranceNs) < ms * 1e6 ? 'stepped' : 'consistent';
}
