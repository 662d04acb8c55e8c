/**
 * The daemon's measurement path, for the simulator's 'kernel' world: what
 * lies between a packet on the wire and the instant the engine is given,
 * and between the instant the engine asks for a timer and the moment its
 * tick() runs (daemon/engine-driver.ts):
 *
 * - stamping 'kernel' (the native socket, SO_TIMESTAMPING): t1 is the
 *   kernel's transmit stamp and t4 its receive stamp, each a little after
 *   the datagram passes the stack;
 * - stamping 'js' (node:dgram): t1 is read before send(), which hands the
 *   datagram to the kernel later, and t4 is read in the 'message' callback,
 *   after the event loop got to it;
 * - in both, engine.receive() and the actions it returns (a frequency
 *   change, a step) run only when the callback runs;
 * - timers: the driver arms setTimeout() with ceil(ms), and it fires late
 *   by the loop's own delay, sometimes by milliseconds.
 *
 * Every latency is `min + Exp(scale)`, plus, with probability
 * `stallProbability`, a stall of `stallMin + Exp(stallScale)` (the event
 * loop busy with something else: GC, another callback).
 *
 * Two knobs are off by default, for hosts whose path is not the loopback the
 * defaults were measured on (uml-path.ts sets them for a User-mode Linux
 * guest): `outboundDelay` and `returnDelay`, extra one-way delay on top of
 * the network path's (a virtual NIC, a guest's scheduling); and
 * `txStampLateness`, a kernel transmit stamp taken that long after the
 * datagram left (a driver that stamps after handing the frame on), so the
 * sample's round trip is short by it and its offset low by half of it. The defaults come from
 * bench/sync-accuracy/measure-path.mjs on the 2-core development machine,
 * two runs of `node bench/sync-accuracy/measure-path.mjs --n 500` (and one of
 * --n 300) while another engineer's tests ran; figures in the comments are
 * those runs' quantiles. A User-mode Linux guest is slower than its host
 * (every system call is a ptrace round trip), so these are lower bounds
 * there: set them from a measurement in the guest to predict it.
 */
import type { Random } from './random.js';

export interface LatencySpec {
  /** The least latency, seconds. */
  readonly min: number;
  /** Scale (mean) of the exponential part, seconds. */
  readonly scale: number;
  /** Probability of an extra stall (default 0). */
  readonly stallProbability?: number;
  /** Scale (mean) of a stall's exponential part, seconds. */
  readonly stallScale?: number;
  /** The least stall, seconds (default 0). */
  readonly stallMin?: number;
}

export interface MeasurementPathSpec {
  /** How t1 and t4 are taken (default 'kernel': the daemon's native socket, wherever the addon loads). */
  readonly stamping?: 'kernel' | 'js';
  /** The JavaScript reading before send() to the datagram leaving (its kernel transmit stamp). */
  readonly sendLatency?: LatencySpec;
  /** The datagram arriving to the kernel's receive stamp (and a transmit stamp's lag behind the datagram leaving). */
  readonly kernelStampLatency?: LatencySpec;
  /** The kernel's receive stamp to the 'message' callback running (its t4 reading in 'js' mode). */
  readonly eventLoopDelay?: LatencySpec;
  /** setTimeout(ms) firing after ms. */
  readonly timerLateness?: LatencySpec;
  /** The driver arms setTimeout with whole milliseconds, rounded up (default true, as engine-driver.ts does). */
  readonly timerWholeMs?: boolean;
  /** Extra delay of a request on its way out, on top of the network path's (default null: none). */
  readonly outboundDelay?: LatencySpec | null;
  /** Extra delay of a reply on its way back, on top of the network path's (default null: none). */
  readonly returnDelay?: LatencySpec | null;
  /** How long after the datagram left its kernel transmit stamp is taken ('kernel' stamping; default null: as kernelStampLatency says). */
  readonly txStampLateness?: LatencySpec | null;
}

/**
 * JS reading before send() -> kernel TX stamp of that datagram: min 4.6-5.0,
 * median 6.4-12.6, mean 9.9-16.8, p90 19-29, p99 58-75, max 97-229 us.
 */
export const SEND_LATENCY: LatencySpec = { min: 5e-6, scale: 8e-6 };
/**
 * Client's kernel TX stamp -> server's kernel RX stamp of the same datagram
 * on loopback (no wire, so both stamps' placement in the stack): min 0.4,
 * median 0.7, mean 0.8, p99 2.0, max 18.9 us.
 */
export const KERNEL_STAMP_LATENCY: LatencySpec = { min: 0.4e-6, scale: 0.4e-6 };
/**
 * Kernel RX stamp -> JS reading first thing in the message callback: min
 * 18.3-18.7, median 19.6-21.0, mean 22.7-25.3, p90 33-36, p99 69-96 us; one
 * of 800 samples stalled 3.9 ms.
 */
export const EVENT_LOOP_DELAY: LatencySpec = { min: 18e-6, scale: 5e-6, stallProbability: 1 / 800, stallScale: 2e-3 };
/**
 * setTimeout(ms) firing after ms: p10 123-152, median 166-225, mean 190-313,
 * p90 288-486, p99 0.57-2.3 ms, max 3.2-4.0 ms. (libuv measures from its
 * cached loop time, so a few fired up to 0.87 ms early; early fires are not
 * modelled: the engine takes an early tick() as a no-op and asks again.)
 */
export const TIMER_LATENESS: LatencySpec = { min: 120e-6, scale: 80e-6, stallProbability: 0.01, stallScale: 1.5e-3 };

export const MEASUREMENT_PATH_DEFAULTS = Object.freeze({
  stamping: 'kernel',
  sendLatency: SEND_LATENCY,
  kernelStampLatency: KERNEL_STAMP_LATENCY,
  eventLoopDelay: EVENT_LOOP_DELAY,
  timerLateness: TIMER_LATENESS,
  timerWholeMs: true,
  outboundDelay: null,
  returnDelay: null,
  txStampLateness: null,
} as const satisfies Required<MeasurementPathSpec>);

/** Draws the path's latencies from its own random stream. */
export class MeasurementPath {
  readonly spec: Required<MeasurementPathSpec>;

  constructor(spec: MeasurementPathSpec, private readonly random: Random) {
    this.spec = { ...MEASUREMENT_PATH_DEFAULTS, ...spec };
  }

  /** One latency of `kind`, seconds. */
  draw(kind: 'sendLatency' | 'kernelStampLatency' | 'eventLoopDelay' | 'timerLateness'): number {
    return this.#latency(this.spec[kind]);
  }

  /** One draw of an optional latency, seconds: 0 without drawing when it is off, so the other latencies' sequence stays as it was. */
  drawExtra(kind: 'outboundDelay' | 'returnDelay' | 'txStampLateness'): number {
    const l = this.spec[kind];
    return l === null ? 0 : this.#latency(l);
  }

  #latency(l: LatencySpec): number {
    // Always draw all three numbers, so one parameter does not shift the others' sequence.
    const base = l.min + l.scale * this.random.exponential();
    const stalled = this.random.uniform() < (l.stallProbability ?? 0);
    const stall = (l.stallMin ?? 0) + (l.stallScale ?? 0) * this.random.exponential();
    return base + (stalled ? stall : 0);
  }
}
