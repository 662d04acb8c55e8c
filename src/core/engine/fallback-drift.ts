/**
 * chrony's fallback drifts (`fallbackdrift MIN MAX`, reference.c): while the
 * clock is synchronized, each clock update feeds moving averages of the
 * frequency over 2^MIN ... 2^MAX seconds; once no update has come for 2^i
 * seconds, the frequency is set to the i-th average (each in turn, the
 * longest last), so a clock that lost its sources keeps the rate it had over
 * a span comparable with how long it has been alone, not the last estimate
 * of a possibly unlucky update.
 */
import { addSeconds, diffSeconds, type Instant } from '../../time/instant.js';

export interface FallbackDriftRange {
  /** log2 of the shortest averaging span, seconds. */
  readonly min: number;
  /** log2 of the longest averaging span, seconds. */
  readonly max: number;
}

interface Average {
  /** ppm */
  freq: number;
  /** Seconds of updates averaged so far (half of each update interval, as chronyd counts). */
  secs: number;
}

export class FallbackDrifts {
  private readonly averages: Average[];
  /** chronyd's next_fb_drift: the exponent set last or scheduled next (0: none). */
  private next = 0;
  private lastUpdate: Instant | null = null;
  /** When the scheduled fallback drift is due, or null. */
  due: Instant | null = null;

  /** chronyd keeps them only for 0 < MIN <= MAX; otherwise the directive does nothing (null). */
  static create(range: FallbackDriftRange | null): FallbackDrifts | null {
    return range !== null && range.max >= range.min && range.min > 0 ? new FallbackDrifts(range) : null;
  }

  private constructor(private readonly range: FallbackDriftRange) {
    this.averages = Array.from({ length: range.max - range.min + 1 }, () => ({ freq: 0, secs: 0 }));
  }

  /**
   * A clock update made while synchronized: `freqPpm` is the frequency now
   * in force, `interval` the seconds since the previous update (0 for the
   * first). chronyd also skips intervals beyond 4 times the previous one, but
   * compares with the interval it has just stored, so only the 1 s floor acts.
   */
  updated(now: Instant, freqPpm: number, interval: number): void {
    this.next = 0;
    this.due = null;
    this.lastUpdate = now;
    if (interval < 1) return;
    this.averages.forEach((a, k) => {
      const secs = 2 ** (k + this.range.min);
      if (a.secs < secs) {
        // A plain average over twice the span first, then an exponential one.
        a.freq = (a.freq * a.secs + interval * 0.5 * freqPpm) / (interval * 0.5 + a.secs);
        a.secs += interval * 0.5;
      } else {
        a.freq += (1 - Math.exp(-interval / secs)) * (freqPpm - a.freq);
      }
    });
  }

  /**
   * chronyd's schedule_fb_drift: the frequency to set now (an average whose
   * span has already passed since the last update), or null; and `due`, when
   * the next one falls due.
   */
  schedule(now: Instant): number | null {
    if (this.due !== null || this.lastUpdate === null) return null;
    const alone = diffSeconds(now, this.lastUpdate);
    let chosen = 0;
    let i = this.range.min;
    let secs = 0;
    for (; i <= this.range.max; i++) {
      secs = 2 ** i;
      if (this.average(i).secs < secs) continue;
      if (alone < secs && i > this.next) break;
      chosen = i;
    }
    let set: number | null = null;
    if (chosen > this.next) {
      set = this.average(chosen).freq;
      this.next = chosen;
    }
    if (i <= this.range.max) {
      this.next = i;
      this.due = addSeconds(this.lastUpdate, secs);
    }
    return set;
  }

  /** The scheduled one is due: its frequency, to set now (chronyd then counts the clock unsynchronized). */
  fire(): number {
    this.due = null;
    return this.average(this.next).freq;
  }

  private average(exponent: number): Average {
    return this.averages[exponent - this.range.min] as Average;
  }
}
