/**
 * The 'kernel' world calibrated to a User-mode Linux guest: the measurement
 * path bench/uml-closedloop's guest shows, so the simulator can predict what
 * that guest does (bench/sync-accuracy/calibrate-uml.mjs sets the two side by
 * side). Names a preset for `--kernel uml` (bench/sync-accuracy/run.mjs).
 *
 * Sources:
 * - R: the round trips the daemons logged through the relay (measurements.log
 *   'Peer del.', chronyd's and ntpkit's, the last three quarters of each of
 *   three scenarios, 314 samples) of one bench/uml-closedloop run, relay
 *   1 ms + 100 us * Exp(1) each way. Quantiles p5/p10/p25/p50/p75/p90/p95/p99:
 *   1.12/1.38/1.72/3.20/3.80/4.85/6.13/8.98 ms, 12 below 0.5 ms (a negative
 *   round trip, logged at chrony's floor). Two modes: 35% around 1.6 ms
 *   (below the relay's own 2 ms) and the rest around 3.6 ms.
 * - B: in the same samples, the measured offset minus the guest's true error
 *   (its settled level): the low mode is 0.6-1.2 ms lower than the high mode,
 *   half its 2 ms shorter round trip, as a late transmit stamp makes it (a
 *   late t1 shortens the round trip by the lateness and lowers the offset by
 *   half of it); the high mode sits +0.1..+0.3 ms (mean +0.17 over the four
 *   scenario runs with 20 or more samples), so the way out is longer.
 * - P: a probe in the guest against chronyd on the tap, no relay: the kernel
 *   RX stamp minus the kernel TX stamp 28-40 us while chronyd held the request
 *   80-160 us (its T3 - T2): the TX stamp is taken after the UML driver's
 *   write to the host's tap, late by the host's handling of the write;
 *   user-space t1 read before send() 160-760 us before the kernel TX stamp;
 *   the JS t4 0.2-5 ms after the kernel RX stamp.
 *
 * The R numbers were fitted together (a grid over the parameters, matching
 * those quantiles by log ratio: the model's come out 1.07/1.29/1.97/3.36/
 * 3.87/4.85/5.80/8.56 ms), the relay's 2 ms + 2 * 100 us * Exp(1) included.
 */
import type { LatencySpec, MeasurementPathSpec } from './measurement-path.js';
import type { KernelWorldSpec } from './scenario.js';

/**
 * The guest's request on its way to the relay, on top of the relay's delay
 * (the tap, the host's relay process): R's high mode less the relay and the
 * return way; its minimum 0.45 ms above the return way's from B (twice
 * +0.17 ms, plus the typical stamp lateness's half).
 */
export const UML_OUTBOUND_DELAY: LatencySpec = { min: 0.7e-3, scale: 0.25e-3, stallProbability: 0.15, stallScale: 1.5e-3 };
/** The reply on its way back into the guest, on top of the relay's: R and B as above. */
export const UML_RETURN_DELAY: LatencySpec = { min: 0.25e-3, scale: 0.25e-3, stallProbability: 0.15, stallScale: 1.5e-3 };
/**
 * The kernel TX stamp after the datagram left: typically 80-150 us (P), and
 * in 35% of the exchanges 1.8 ms + Exp(0.3 ms) (R's low mode, 2 ms under
 * the high one, with B's offset shift of half of that).
 */
export const UML_TX_STAMP_LATENESS: LatencySpec = { min: 80e-6, scale: 35e-6, stallProbability: 0.35, stallMin: 1.8e-3, stallScale: 0.3e-3 };
/** t1 read before send() to the datagram leaving: P's 160-760 us to the (late) TX stamp, less its typical lateness. */
export const UML_SEND_LATENCY: LatencySpec = { min: 80e-6, scale: 150e-6 };
/**
 * The kernel RX stamp to the 'message' callback: P's 0.2-5 ms (a range, no
 * quantiles: the body from its lower end, the tail as stalls).
 */
export const UML_EVENT_LOOP_DELAY: LatencySpec = { min: 0.2e-3, scale: 0.5e-3, stallProbability: 0.1, stallScale: 2e-3 };

/** The guest's measurement path; what it does not name (timers, the RX stamp) stays as measured on the host. */
export const UML_PATH: MeasurementPathSpec = Object.freeze({
  sendLatency: UML_SEND_LATENCY,
  eventLoopDelay: UML_EVENT_LOOP_DELAY,
  outboundDelay: UML_OUTBOUND_DELAY,
  returnDelay: UML_RETURN_DELAY,
  txStampLateness: UML_TX_STAMP_LATENESS,
});

/** Named kernel worlds (`--kernel NAME`): 'uml', the guest of bench/uml-closedloop (its clock: Linux 6.1, the defaults). */
export const KERNEL_PRESETS: Readonly<Record<string, KernelWorldSpec>> = Object.freeze({
  uml: Object.freeze({ path: UML_PATH }),
});
