/**
 * A clock the engine can discipline. Three implementations:
 * - SystemClock (system-clock.ts): the kernel clock, through clock_adjtime;
 * - VirtualClock (virtual-clock.ts): software time on top of CLOCK_REALTIME,
 *   never touching it (containers, unprivileged runs, the library);
 * - SimClock (src/sim): a simulated oscillator.
 *
 * The engine emits absolute frequency corrections and steps (see
 * core/engine/engine-api.ts); a Clock applies them and reads the result.
 */
import { type Instant } from '../time/instant.js';

export type ClockKind = 'system' | 'virtual' | 'sim';

export interface ClockStatus {
  readonly synchronized: boolean;
  readonly leap: 'none' | 'insert' | 'delete';
  /** Seconds. */
  readonly estError: number;
  /** Seconds. */
  readonly maxError: number;
}

export interface Clock {
  readonly kind: ClockKind;
  /** The disciplined time now. */
  now(): Instant;
  /**
   * Converts a CLOCK_REALTIME reading (a kernel packet timestamp, realtime())
   * to this clock's time: identity for SystemClock; the virtual mapping for
   * VirtualClock, so kernel RX/TX stamps stay usable on a virtual clock.
   */
  fromRealtime(t: Instant): Instant;
  /** The frequency correction in force, ppm (positive: the clock is sped up). */
  frequencyPpm(): number;
  /** Sets the absolute frequency correction, ppm; returns what was applied (after clamping/rounding). */
  setFrequency(ppm: number): number;
  /** Steps the clock by `seconds` (positive: forward). */
  step(seconds: number): void;
  /** Sync status and pending leap second (kernel STA_* bits for SystemClock; kept for reports otherwise). */
  setStatus(status: ClockStatus): void;
  /** Releases resources (e.g. restores nothing: the kernel keeps the last frequency, as chronyd leaves it). */
  close(): void;
}
