/**
 * What every reference clock driver hands the daemon: a reading as a pair of
 * times at one instant, the system clock's (CLOCK_REALTIME, as the writer
 * read it) and the reference's, so the driver of a virtual clock can place
 * it on its own timescale (clock.fromRealtime) without losing a nanosecond.
 */
import type { Instant } from '../time/instant.js';
import type { RefclockLeap } from '../core/engine/refclock-source.js';

export type RefclockSample = RefclockTimeSample | RefclockPulseSample;

export interface RefclockTimeSample {
  /** CLOCK_REALTIME at the reading. */
  readonly realtime: Instant;
  /** The reference clock's time at that instant. */
  readonly reference: Instant;
  readonly leap: RefclockLeap;
}

/** A pulse (SOCK's `pulse` flag): only where within the second it fell is known. */
export interface RefclockPulseSample {
  /** CLOCK_REALTIME at the pulse. */
  readonly realtime: Instant;
  /** How far past the pulse CLOCK_REALTIME read, seconds (chrony's `second`; SOCK sends it as the offset). */
  readonly pulse: number;
}

/** A running driver. */
export interface RefclockDriverHandle {
  close(): void;
}

/** Where a driver sends its readings and its complaints (malformed datagrams, read errors: counted and dropped). */
export interface RefclockSink {
  readonly sample: (s: RefclockSample) => void;
  readonly problem: (message: string) => void;
}

/**
 * The NTP leap indicator a writer gives (SHM's `leap`, SOCK's `leap`) as a
 * sample's leap status; null for 3 (not synchronized) and anything else,
 * which chrony's RCL_AddSample refuses.
 */
export function leapOf(v: number): RefclockLeap | null {
  return v === 0 ? 'none' : v === 1 ? 'insert' : v === 2 ? 'delete' : null;
}

/** The driver's polling interval in ms (2^dpoll seconds), for the drivers that are polled. */
export function dpollMs(dpoll: number): number {
  return Math.max(1, Math.round(2 ** dpoll * 1000));
}
