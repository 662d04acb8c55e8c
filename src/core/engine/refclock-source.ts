/**
 * What the engine keeps of one reference clock beside the parts every
 * source has (tracked-source.ts): its options, its median filter, when the
 * next poll is due and the leap status of its last reading. A reference
 * clock is polled by no request: its readings arrive from the daemon's
 * driver (SHM, SOCK, PHC), and at each poll the filter's sample goes to the
 * same statistics and selection as an NTP source's (chrony's refclock.c).
 */
import { addSeconds, type Instant } from '../../time/instant.js';
import { RefclockFilter, type FilteredSample } from './refclock-filter.js';
import { effectiveFilter, type RefclockOptions } from './refclock-options.js';

/** A sample's leap status; drivers drop samples that say "not synchronized", as chrony's RCL_AddSample does. */
export type RefclockLeap = 'none' | 'insert' | 'delete';

/** One reading as a driver gives it to the engine. */
export interface RefclockInput {
  /** System clock time of the reading. */
  readonly time: Instant;
  /** Reference − system clock at `time`, seconds, before the `offset` option. */
  readonly offset: number;
  readonly leap: RefclockLeap;
}

export class RefclockState {
  readonly filter: RefclockFilter;
  nextPoll: Instant;
  leap: RefclockLeap = 'none';
  /** Readings taken in total (counted for ntpdata-like reports and tests). */
  readings = 0;
  /** Each reading's error bound, seconds: the clock's precision, never finer than the system clock's. */
  readonly dispersion: number;

  constructor(readonly options: RefclockOptions, now: Instant, systemPrecision: number) {
    this.filter = new RefclockFilter(effectiveFilter(options), options.maxdispersion);
    this.nextPoll = addSeconds(now, 2 ** options.poll);
    this.dispersion = Math.max(systemPrecision, options.precision);
  }

  add(r: RefclockInput): void {
    this.readings++;
    this.leap = r.leap;
    this.filter.add({ time: r.time, offset: r.offset + this.options.offset, dispersion: this.dispersion });
  }

  /** The poll is due: the filtered sample (or null), and the next poll scheduled. */
  poll(now: Instant): FilteredSample | null {
    const interval = 2 ** this.options.poll;
    do this.nextPoll = addSeconds(this.nextPoll, interval); while (this.nextPoll <= now);
    return this.filter.take();
  }
}
