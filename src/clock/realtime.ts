/**
 * CONTRACT (owned by the clock work): the precise real-time reading.
 * Primary: clock_gettime(CLOCK_REALTIME) through the N-API addon in native/.
 * Fallback: process.hrtime calibrated against Date.now() tick-overs.
 */
import type { Instant } from '../time/instant.js';
import { instantFromUnixMillis } from '../time/instant.js';

export type RealtimeSourceKind = 'clock_gettime' | 'hrtime-calibrated';

export interface RealtimeInfo {
  readonly kind: RealtimeSourceKind;
  /** Why the fallback is in use, when it is. */
  readonly reason?: string;
}

/** The current CLOCK_REALTIME as an exact Instant. */
export function realtime(): Instant {
  // TODO(clock): native addon and calibrated fallback.
  return instantFromUnixMillis(Date.now());
}

/** Which source `realtime()` uses. */
export function realtimeInfo(): RealtimeInfo {
  return { kind: 'hrtime-calibrated', reason: 'not implemented yet' };
}
