/**
 * The Linux kernel clock as the daemon drives it, for the simulator's
 * 'kernel' world: the real SystemClock (clock/system-clock.ts) runs over a
 * TimexBackend that models clock_adjtime(CLOCK_REALTIME), and that model
 * moves the same oscillator SimClock has (offset, frequency error, wander,
 * leap seconds). So the (tick, freq) split, its hysteresis and clamping are
 * SystemClock's own code, and what the kernel does with them is modelled
 * here, after kernel/time/ntp.c and kernel/time/timekeeping.c:
 *
 * - the rate: ntp_update_frequency() builds second_length from
 *   tick * 1000 * USER_HZ ns plus time_freq (freq << 16 in ppm * 2^-16);
 *   the correction is therefore tick * USER_HZ - 1e6 ppm plus freq / 2^16
 *   ppm, exact (the tick_length division by HZ and the clocksource's
 *   mult rounding are below a nanosecond per second, and timekeeping_adjust()
 *   dithers mult by one unit on the sign of ntp_error so they average out);
 * - the bounds: ADJ_TICK outside 900000/USER_HZ..1100000/USER_HZ is EINVAL;
 *   freq is clamped to +-MAXFREQ (500 ppm);
 * - when a change takes effect: since Linux 4.19 do_adjtimex() calls
 *   timekeeping_advance(TK_ADV_FREQ) after an ADJ_FREQUENCY or ADJ_TICK
 *   write, which updates the clocksource multiplier at once (the guest's
 *   6.1 kernel does); before that, and in a change discussed on LKML in
 *   2025 (tglx: "handle adjtimex(ADJ_TICK/ADJ_FREQUENCY) at the next tick
 *   boundary"), the multiplier follows at the next timekeeping update, one
 *   tick of 1/HZ later, and only the last write between two ticks counts.
 *   `frequencyUpdate` picks one ('immediate' by default);
 * - second_overflow() adds nothing while the PLL is off and no adjtime()
 *   slew runs (the daemon switches the PLL off and never uses ADJ_OFFSET);
 *   it applies the leap second, which SimClock models;
 * - ADJ_SETOFFSET steps by the exact nanoseconds, immediately
 *   (timekeeping_inject_offset()).
 */
import type { ClockStatus } from '../clock/clock.js';
import type { EnvironmentProbe } from '../clock/environment.js';
import { ADJ, type RawTimex, type TimexRequest, type TimexWriteResult } from '../clock/native.js';
import { SystemClock, type TimexBackend } from '../clock/system-clock.js';
import { TICKS_PER_SECOND, type Instant } from '../time/instant.js';
import type { Random } from './random.js';
import { SimClock, type OscillatorSpec, type TrueTime } from './sim-clock.js';

export interface KernelClockSpec {
  /** USER_HZ (sysconf(_SC_CLK_TCK)), the unit of `tick`: 100 on every Linux architecture the daemon runs on. */
  readonly userHz?: number;
  /** CONFIG_HZ, timekeeping updates per second; used by 'next-tick' only (default 250, Debian's x86 kernels). */
  readonly hz?: number;
  /** When a frequency write reaches the clock (see the file's header); default 'immediate' (Linux >= 4.19). */
  readonly frequencyUpdate?: 'immediate' | 'next-tick';
  /** The frequency the kernel holds before the daemon starts, ppm (what an earlier adjtimex left). */
  readonly initialFrequencyPpm?: number;
}

const FREQ_SCALE = 65536;
const MAX_FREQ_SCALED = 500 * FREQ_SCALE;
const EINVAL = 22;

/**
 * clock_adjtime(CLOCK_REALTIME) over the simulated clock: the NTP state the
 * kernel keeps (tick, freq, status, error bounds) and what a write changes.
 */
export class KernelTimex implements TimexBackend {
  readonly userHz: number;
  tick: number;
  freq = 0;
  status = 0;
  maxerror = 16_000_000;
  esterror = 16_000_000;
  /** Every write the daemon made, in order, with the modes it set. */
  readonly writes: TimexRequest[] = [];

  constructor(
    userHz: number,
    private readonly onRate: (ppm: number) => void,
    private readonly onStep: (ns: bigint) => void,
  ) {
    this.userHz = userHz;
    this.tick = Math.round(1e6 / userHz);
  }

  /** The correction the kernel's tick and freq make, ppm: (tick * USER_HZ - 1e6) + freq / 2^16. */
  correctionPpm(): number {
    return this.tick * this.userHz - 1e6 + this.freq / FREQ_SCALE;
  }

  read(): RawTimex {
    return {
      state: 0, status: this.status, offset: 0, freq: this.freq, maxerror: this.maxerror, esterror: this.esterror,
      constant: 0, precision: 1, tolerance: MAX_FREQ_SCALED, tick: this.tick, tai: 0, timeSec: 0, timeFrac: 0,
      ppsfreq: 0, jitter: 0, shift: 0, stabil: 0, jitcnt: 0, calcnt: 0, errcnt: 0, stbcnt: 0,
    };
  }

  write(req: TimexRequest): TimexWriteResult {
    this.writes.push(req);
    const m = req.modes;
    if (m === ADJ.ADJ_OFFSET_SINGLESHOT) return this.#ok(m); // no adjtime() slew runs: nothing to cancel
    if ((m & ADJ.ADJ_TICK) !== 0) {
      const t = req.tick ?? this.tick;
      if (t < 900_000 / this.userHz || t > 1_100_000 / this.userHz) return { state: -1, errno: EINVAL, message: 'Invalid argument', timex: null };
    }
    if ((m & ADJ.ADJ_SETOFFSET) !== 0) {
      this.onStep(req.setOffsetNs ?? 0n);
      return this.#ok(m);
    }
    if ((m & ADJ.ADJ_STATUS) !== 0) this.status = req.status ?? 0;
    if ((m & ADJ.ADJ_MAXERROR) !== 0) this.maxerror = req.maxerror ?? 0;
    if ((m & ADJ.ADJ_ESTERROR) !== 0) this.esterror = req.esterror ?? 0;
    let rate = false;
    if ((m & ADJ.ADJ_TICK) !== 0) {
      this.tick = req.tick ?? this.tick;
      rate = true;
    }
    if ((m & ADJ.ADJ_FREQUENCY) !== 0) {
      this.freq = Math.max(-MAX_FREQ_SCALED, Math.min(MAX_FREQ_SCALED, Math.round(req.freq ?? 0)));
      rate = true;
    }
    if (rate) this.onRate(this.correctionPpm());
    return this.#ok(m);
  }

  #ok(modes: number): TimexWriteResult {
    return { state: 0, errno: 0, message: '', timex: { ...this.read(), modes } };
  }
}

/** A process with CAP_SYS_TIME on Linux: what SystemClock checks before it touches the (modelled) kernel. */
const SIMULATED_ROOT: EnvironmentProbe = {
  exists: () => false,
  readFile: (p) => (p === '/proc/self/status' ? 'CapEff:\t000001ffffffffff\n' : undefined),
  env: {},
  platform: 'linux',
};

/** True time, which the clock can pin to an earlier instant while it applies a change that took effect then. */
class PinnableTime implements TrueTime {
  pinned: Instant | null = null;
  constructor(private readonly time: TrueTime) {}
  now(): Instant {
    return this.pinned ?? this.time.now();
  }
}

export class KernelClock extends SimClock {
  /** The modelled kernel state, for tests and reports. */
  readonly timex: KernelTimex;
  readonly #system: SystemClock;
  readonly #time: PinnableTime;
  readonly #hz: number;
  readonly #nextTick: boolean;
  readonly #start: Instant;
  /** A rate written but not yet in force ('next-tick'): the true instant it takes effect and the correction. */
  #pending: { readonly at: Instant; readonly ppm: number } | null = null;

  constructor(spec: OscillatorSpec, kernel: KernelClockSpec, time: TrueTime, random: Random | null = null) {
    const pinnable = new PinnableTime(time);
    super(spec, pinnable, random);
    this.#time = pinnable;
    this.#start = time.now();
    this.#hz = kernel.hz ?? 250;
    this.#nextTick = (kernel.frequencyUpdate ?? 'immediate') === 'next-tick';
    this.timex = new KernelTimex(kernel.userHz ?? 100, (ppm) => this.#rateWritten(ppm), (ns) => {
      super.readingAt(this.#time.now()); // wander due before the step moves the oscillator first
      super.step(Number(ns) / 1e9);
    });
    if (kernel.initialFrequencyPpm !== undefined) {
      // What an earlier adjtimex left: in force from the start, whatever the update mode.
      const hz = this.timex.userHz;
      const delta = Math.round(kernel.initialFrequencyPpm / hz);
      this.timex.tick += delta;
      this.timex.freq = Math.round((kernel.initialFrequencyPpm - hz * delta) * FREQ_SCALE);
      super.setFrequency(this.timex.correctionPpm());
    }
    this.#system = new SystemClock({ backend: this.timex, probe: SIMULATED_ROOT });
  }

  override readingAt(t: Instant): Instant {
    this.#settle(t);
    return super.readingAt(t);
  }

  /** The correction the kernel reports (tick and freq), as SystemClock.frequencyPpm() reads it. */
  override frequencyPpm(): number {
    return this.#system.frequencyPpm();
  }

  /** Through SystemClock.setFrequency(): its split, hysteresis and clamp; returns what the kernel reports back. */
  override setFrequency(ppm: number): number {
    this.#settle(this.#time.now());
    return this.#system.setFrequency(ppm);
  }

  /** Through SystemClock.step(): ADJ_SETOFFSET | ADJ_NANO, exact to the nanosecond. */
  override step(seconds: number): void {
    this.#settle(this.#time.now());
    this.#system.step(seconds);
  }

  override setStatus(status: ClockStatus): void {
    this.#system.setStatus(status);
    super.setStatus(status);
  }

  /** The correction in force on the oscillator now, ppm (differs from frequencyPpm() while a write waits for its tick). */
  correctionInForcePpm(): number {
    this.#settle(this.#time.now());
    return super.frequencyPpm();
  }

  #rateWritten(ppm: number): void {
    const now = this.#time.now();
    if (!this.#nextTick) {
      super.readingAt(now);
      super.setFrequency(ppm);
      return;
    }
    // Ticks every 1/HZ s of true time from the start (a tick k is at k * TICKS / HZ, rounded down).
    const hz = BigInt(this.#hz);
    const next = ((now - this.#start) * hz) / TICKS_PER_SECOND + 1n;
    this.#pending = { at: this.#start + (next * TICKS_PER_SECOND) / hz, ppm };
  }

  /** Applies a pending rate at the tick it was due, if that is not after `t`. */
  #settle(t: Instant): void {
    const p = this.#pending;
    if (p === null || p.at > t) return;
    this.#pending = null;
    super.readingAt(p.at);
    this.#time.pinned = p.at;
    try {
      super.setFrequency(p.ppm);
    } finally {
      this.#time.pinned = null;
    }
  }
}
