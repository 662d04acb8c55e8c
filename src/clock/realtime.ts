/**
 * The precise real-time reading (issue 2 §3).
 *
 * Primary: clock_gettime(CLOCK_REALTIME) through the N-API addon in native/.
 * Fallback, where the addon is missing: process.hrtime calibrated against
 * Date.now() tick-overs (hrtime-clock.ts). `NTPKIT_CLOCK_SOURCE=hrtime` forces
 * the fallback, to test it and compare the two. Neither `Date.now()` (1 ms)
 * nor `performance.timeOrigin + performance.now()` (measured 18 us off the
 * real-time clock: timeOrigin is taken once, imprecisely) will do.
 */
import type { Instant } from '../time/instant.js';
import { instantFromUnixNanos } from '../time/instant.js';
import { HrtimeCalibratedClock } from './hrtime-clock.js';
import { loadNative } from './native.js';

export type RealtimeSourceKind = 'clock_gettime' | 'hrtime-calibrated';

export interface RealtimeInfo {
  readonly kind: RealtimeSourceKind;
  /** Why the fallback is in use, when it is. */
  readonly reason?: string;
}

/** The environment variable that forces the fallback when set to `hrtime`. */
export const CLOCK_SOURCE_ENV = 'NTPKIT_CLOCK_SOURCE';

interface Source {
  readonly info: RealtimeInfo;
  readonly readNs: () => bigint;
  readonly readInstant: () => Instant;
}

function chooseSource(): Source {
  const forced = process.env[CLOCK_SOURCE_ENV];
  let reason: string;
  if (forced === 'hrtime') {
    reason = `${CLOCK_SOURCE_ENV}=hrtime forces the fallback`;
  } else {
    const native = loadNative();
    if (native.ok) {
      // The addon converts to an Instant itself: ~200 ns less per reading than
      // instantFromUnixNanos() on the BigInt (bench/realtime), same rounding
      // (held to it by native.test.ts).
      const { realtimeNs, realtimeInstant } = native.addon;
      return { info: Object.freeze({ kind: 'clock_gettime' }), readNs: realtimeNs, readInstant: realtimeInstant };
    }
    reason = native.reason;
  }
  // Calibrated lazily, on the first read: it spins for a few ms.
  const clock = new HrtimeCalibratedClock();
  return {
    info: Object.freeze({ kind: 'hrtime-calibrated', reason }),
    readNs: () => clock.readNs(),
    readInstant: () => instantFromUnixNanos(clock.readNs()),
  };
}

const source = chooseSource();
const readNs = source.readNs;
const readInstant = source.readInstant;

/** The current CLOCK_REALTIME in Unix nanoseconds. */
export function realtimeUnixNanos(): bigint {
  return readNs();
}

/** The current CLOCK_REALTIME as an exact Instant (to the nearest 2^-32 s). */
export function realtime(): Instant {
  return readInstant();
}

/** Which source `realtime()` uses, and why when it is the fallback. */
export function realtimeInfo(): RealtimeInfo {
  return source.info;
}
