/**
 * The precise real-time reading.
 *
 * Primary: clock_gettime(CLOCK_REALTIME) through the N-API addon in native/.
 * Fallback, where the addon is missing: process.hrtime calibrated against
 * Date.now() tick-overs (hrtime-clock.ts). The composition root may force
 * the fallback (useRealtimeSource). Neither `Date.now()` (1 ms)
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

/**
 * Which source realtime() reads: `auto` (the addon where it loads, else the
 * calibrated fallback) or `hrtime` (the fallback even where the addon loads,
 * to test it and compare the two).
 */
export type RealtimeSourceChoice =
  | { readonly source: 'auto' }
  | { readonly source: 'hrtime'; readonly reason: string };

interface Source {
  readonly info: RealtimeInfo;
  readonly readNs: () => bigint;
  readonly readInstant: () => Instant;
}

function makeSource(choice: RealtimeSourceChoice): Source {
  let reason: string;
  if (choice.source === 'hrtime') {
    reason = choice.reason;
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

// Nothing is chosen, and the addon not loaded, until the composition root
// chooses or the first reading asks: importing the library costs no addon.
let chosen: { readonly choice: RealtimeSourceChoice; readonly source: Source } | null = null;
let readNs: () => bigint = () => current().readNs();
let readInstant: () => Instant = () => current().readInstant();

function install(choice: RealtimeSourceChoice): Source {
  const s = makeSource(choice);
  chosen = { choice, source: s };
  readNs = s.readNs;
  readInstant = s.readInstant;
  return s;
}

function current(): Source {
  return chosen?.source ?? install({ source: 'auto' });
}

const sameChoice = (a: RealtimeSourceChoice, b: RealtimeSourceChoice): boolean =>
  a.source === b.source && (a.source === 'auto' || a.reason === (b as typeof a).reason);

/**
 * Sets the source realtime() reads, for the whole process: the composition
 * root's call (the CLI, from its environment; createSyncedClock, from its
 * options), made before the first reading. Choosing again what is in use
 * changes nothing; choosing another source replaces it, and readings taken
 * before and after are then of different clocks.
 */
export function useRealtimeSource(choice: RealtimeSourceChoice): RealtimeInfo {
  if (chosen !== null && sameChoice(chosen.choice, choice)) return chosen.source.info;
  return install(choice).info;
}

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
  return current().info;
}
