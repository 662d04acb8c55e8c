/**
 * What the engine keeps of one reference clock beside the parts every
 * source has (tracked-source.ts): its options, its median filter, when the
 * next poll is due and the leap status of its last reading. A reference
 * clock is polled by no request: its readings arrive from the daemon's
 * driver (SHM, SOCK, PHC), and at each poll the filter's sample goes to the
 * same statistics and selection as an NTP source's (chrony's refclock.c).
 *
 * A reading is a sample (the reference's full time) or a pulse (only where
 * within the second, or 1/rate of it, the reference's edge fell: a PPS).
 * A pulse gets its whole seconds from the refclock it is locked to (`lock`)
 * or, unlocked, from the system clock, which must then be synchronized well
 * within half a pulse interval (RCL_AddCookedPulse).
 */
import { diffSeconds, instantToUnixSeconds, addSeconds, type Instant } from '../../time/instant.js';
import { type LeapTable, taiOffsetForReading } from '../../time/leap-table.js';
import { RefclockFilter, type FilteredSample } from './refclock-filter.js';
import { effectiveFilter, type RefclockOptions } from './refclock-options.js';

/** A sample's leap status; drivers drop samples that say "not synchronized", as chrony's RCL_AddSample does. */
export type RefclockLeap = 'none' | 'insert' | 'delete';

/** One reading as a driver gives it to the engine: a sample, or a pulse. */
export type RefclockInput = RefclockSampleInput | RefclockPulseInput;

export interface RefclockSampleInput {
  /** System clock time of the reading. */
  readonly time: Instant;
  /** Reference − system clock at `time`, seconds, before the `offset` option. */
  readonly offset: number;
  readonly leap: RefclockLeap;
}

export interface RefclockPulseInput {
  /** System clock time of the pulse. */
  readonly time: Instant;
  /** How far past the pulse the system clock read, seconds (chrony's `second`): the pulse's offset is its negative, modulo 1/rate. */
  readonly pulse: number;
}

/** What a pulse needs from the rest of the engine. */
export interface PulseContext {
  /** The refclock with refid `refid`: its last reading and how far to trust it, or null when it has none. */
  readonly lockedReading: (refid: string) => { readonly reading: FilteredSample; readonly averageDispersion: number; readonly leap: RefclockLeap } | null;
  /** The system clock's synchronization at `time`: whether it is, its leap, and its root distance (seconds). */
  readonly reference: (time: Instant) => { readonly synchronized: boolean; readonly leap: RefclockLeap; readonly distance: number };
}

/** A locked pulse further than this share of the pulse interval from its lock's reading is not trusted to be that second's (PPS_LOCK_LIMIT). */
const PPS_LOCK_LIMIT = 0.4;

/** Why a reading did not reach the filter, or null when it did. */
export type RefclockDrop = 'tai-unknown' | 'no-lock-reading' | 'lock-too-old' | 'lock-too-far' | 'pulse-edge' | 'unsynchronized' | null;

export class RefclockState {
  readonly filter: RefclockFilter;
  nextPoll: Instant;
  leap: RefclockLeap = 'none';
  /** Readings taken in total (counted for ntpdata-like reports and tests). */
  readings = 0;
  /** Each reading's error bound, seconds: the clock's precision, never finer than the system clock's. */
  readonly dispersion: number;
  /** The last reading was a pulse that reached the filter (chrony's pps_active). */
  private ppsActive = false;

  constructor(readonly options: RefclockOptions, now: Instant, systemPrecision: number, private readonly leapTable: LeapTable | null = null) {
    this.filter = new RefclockFilter(effectiveFilter(options), options.maxdispersion);
    this.nextPoll = addSeconds(now, 2 ** options.poll);
    this.dispersion = Math.max(systemPrecision, options.precision);
  }

  /**
   * chrony gives an active unlocked pulse source stratum 0 whatever its
   * `stratum` option says (pps_stratum: the pulses are as good as the
   * reference that numbered them, which is the system clock).
   */
  get stratum(): number {
    return this.ppsActive && this.options.lock === null ? 0 : this.options.stratum;
  }

  add(r: RefclockInput, ctx: PulseContext): RefclockDrop {
    this.readings++;
    // `pps`: a full sample counts only by where its second begins (RCL_AddSample with pps_forced).
    if ('pulse' in r) return this.addPulse(r.time, r.pulse, ctx);
    if (this.options.pps) return this.addPulse(r.time, -r.offset, ctx);
    let offset = r.offset + this.options.offset;
    if (this.options.tai) {
      const tai = this.leapTable === null ? null : taiOffsetForReading(this.leapTable, instantToUnixSeconds(r.time) + offset);
      if (tai === null) return 'tai-unknown';
      offset -= tai;
    }
    this.leap = r.leap;
    this.ppsActive = false;
    this.filter.add({ time: r.time, offset, dispersion: this.dispersion });
    return null;
  }

  /** RCL_AddCookedPulse: the pulse's offset within its interval, numbered by the lock or the synchronized clock. */
  private addPulse(time: Instant, second: number, ctx: PulseContext): RefclockDrop {
    const o = this.options;
    const rate = o.rate;
    const dispersion = this.dispersion;
    let offset = -second + o.offset;
    // Into [-0.5/rate, 0.5/rate): the pulse says nothing of which interval it ends.
    offset -= Math.trunc(offset * rate) / rate;
    if (offset < -0.5 / rate) offset += 1 / rate;
    else if (offset >= 0.5 / rate) offset -= 1 / rate;
    let leap: RefclockLeap;
    if (o.lock !== null) {
      const ref = ctx.lockedReading(o.lock);
      if (ref === null) return 'no-lock-reading';
      const refDispersion = ref.reading.dispersion + ref.averageDispersion;
      const age = diffSeconds(time, ref.reading.time);
      if (Math.abs(age) >= o.maxlockage / rate) return 'lock-too-old';
      // The whole intervals come from the locked clock's reading.
      offset += Math.round((ref.reading.offset - offset) * rate) / rate;
      if (Math.abs(ref.reading.offset - offset) + refDispersion + dispersion > PPS_LOCK_LIMIT / rate) return 'lock-too-far';
      if (!this.edgeFits(ref.reading.offset - offset, 0)) return 'pulse-edge';
      leap = ref.leap;
    } else {
      const sys = ctx.reference(time);
      // The system clock numbers the pulse: it must be sure of its time to within half an interval.
      if (!sys.synchronized || sys.distance >= 0.5 / rate) {
        this.filter.drop();
        return 'unsynchronized';
      }
      if (!this.edgeFits(offset, sys.distance)) return 'pulse-edge';
      leap = sys.leap;
    }
    this.filter.add({ time, offset, dispersion });
    this.leap = leap;
    this.ppsActive = true;
    return null;
  }

  /**
   * With `width`, a pulse is read at the edge it should be: an offset (or an
   * uncertainty) beyond half of the shorter of the pulse and the gap after it
   * says the other edge was caught (check_pulse_edge).
   */
  private edgeFits(offset: number, distance: number): boolean {
    const w = this.options.width;
    if (w <= 0) return true;
    const maxError = 0.5 * Math.min(w, 1 / this.options.rate - w);
    return Math.abs(offset) <= maxError && distance <= maxError;
  }

  /** The poll is due: the filtered sample (or null), and the next poll scheduled. */
  poll(now: Instant): FilteredSample | null {
    const interval = 2 ** this.options.poll;
    do this.nextPoll = addSeconds(this.nextPoll, interval); while (this.nextPoll <= now);
    return this.filter.take();
  }
}
