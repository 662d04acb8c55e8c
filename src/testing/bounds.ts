/**
 * Bounds for tests that check live measurements. A test asserts what the
 * program guarantees, so each bound here follows from quantities measured in
 * the same run (the exchange's round trip, a bracket of clock reads), never
 * from what a quiet machine happened to show.
 */
import assert from 'node:assert/strict';

/**
 * Slack for timestamp resolution in an offset bound, seconds: nanosecond
 * clock reads, 2^-32 s NTP fractions and float64 arithmetic on them stay far
 * below it.
 */
export const STAMP_SLACK = 1e-6;

/**
 * How far past its real send an ntpkit native server's transmit timestamp
 * can be, seconds: transmit compensation adds the measured read-to-wire
 * latency, and the addon discards samples above 1 ms (CAL_MAX_NS in
 * native/udp_socket.c), so the estimate it adds never exceeds that.
 */
export const TX_COMPENSATION_MAX = 1e-3;

/**
 * The most an exchange's measured offset can differ from the true one when
 * client and server read the same clock (the server's shifted by a known
 * amount): half the round-trip delay. With t1 <= T2 and T3 <= t4, offset +
 * delay/2 = T2 - t1 >= 0 and offset - delay/2 = T3 - t4 <= 0. `late` is how
 * far the server's T3 may run past the real send (see
 * {@link TX_COMPENSATION_MAX}).
 */
export function offsetBound(delay: number, late = 0): number {
  return Math.max(0, delay) / 2 + late + STAMP_SLACK;
}

/** Asserts |measured - truth| <= offsetBound(delay, late) + extra. */
export function assertOffsetNear(measured: number, truth: number, delay: number, what: string, opts: { late?: number; extra?: number } = {}): void {
  const bound = offsetBound(delay, opts.late) + (opts.extra ?? 0);
  assert.ok(Number.isFinite(measured) && Math.abs(measured - truth) <= bound,
    `${what}: offset ${measured} s, expected ${truth} s within ${bound} s (half the ${delay} s round trip${opts.late ? `, ${opts.late} s for a late T3` : ''}${opts.extra ? `, ${opts.extra} s more` : ''})`);
}

/** A duration as the CLI printed it, read back: its value and half its last digit's place (the rounding it may carry). */
export interface ParsedSeconds {
  readonly seconds: number;
  readonly halfUlp: number;
}

const UNITS: Readonly<Record<string, number>> = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1 };

/**
 * Reads back a duration printed by cli/units.ts formatSeconds (or
 * report-units' chronyc columns): `+12.3us`, `-936ns`, `-4.560ms`,
 * `+2.500012s`, any of its units. Throws on anything else.
 */
export function parseSeconds(text: string): ParsedSeconds {
  const m = /^([+-]?)(\d+)(?:\.(\d+))?(ns|us|ms|s)$/.exec(text.trim());
  if (m === null) throw new Error(`Cannot parse a duration: current value is ${JSON.stringify(text)}`);
  const unit = UNITS[m[4] as string] as number;
  const decimals = (m[3] ?? '').length;
  const magnitude = Number(`${m[2]}.${m[3] ?? '0'}`) * unit;
  return { seconds: m[1] === '-' ? -magnitude : magnitude, halfUlp: 0.5 * 10 ** -decimals * unit };
}

/** Polls `cond` every `everyMs` until it holds; fails naming `what` after `ms` (a deadline for a hung program, not a figure to meet). */
export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, ms = 30_000, everyMs = 20): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Reads of CLOCK_REALTIME and CLOCK_MONOTONIC, nanoseconds. */
export interface ClockReaders {
  readonly realtimeNs: () => bigint;
  readonly monotonicNs: () => bigint;
}

/** CLOCK_REALTIME - CLOCK_MONOTONIC, and how far off it can be because of the time between the reads, nanoseconds. */
export interface ClockGap {
  readonly gapNs: bigint;
  readonly uncertaintyNs: bigint;
}

/**
 * CLOCK_REALTIME - CLOCK_MONOTONIC from a monotonic read on either side of a
 * realtime read, the tightest of `tries`: a preemption between two reads
 * widens that try's bracket instead of moving the result. The two clocks
 * are slewed together, so only a step of the real-time clock changes the gap.
 */
export function realtimeMinusMonotonic(c: ClockReaders, tries = 50): ClockGap {
  let best: ClockGap | undefined;
  for (let i = 0; i < tries; i++) {
    const m0 = c.monotonicNs();
    const r = c.realtimeNs();
    const m1 = c.monotonicNs();
    // r - m lies in [r - m1, r - m0]: the midpoint, give or take half the bracket.
    const g = { gapNs: r - (m0 + m1) / 2n, uncertaintyNs: (m1 - m0 + 1n) / 2n };
    if (best === undefined || g.uncertaintyNs < best.uncertaintyNs) best = g;
  }
  return best as ClockGap;
}

/**
 * Asserts the real-time clock was not stepped between two gap readings:
 * they agree within their uncertainties and STAMP_SLACK.
 */
export function assertNotStepped(before: ClockGap, after: ClockGap, what: string): void {
  const change = Number(after.gapNs - before.gapNs) / 1e9;
  const bound = Number(before.uncertaintyNs + after.uncertaintyNs) / 1e9 + STAMP_SLACK;
  assert.ok(Math.abs(change) <= bound, `${what}: realtime moved against monotonic by ${change} s (readings good to ${bound} s)`);
}
