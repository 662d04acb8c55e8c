/**
 * The kernel clock, disciplined through clock_adjtime(CLOCK_REALTIME) in the
 * native addon (native/clock_adjtime.c), the way chronyd drives Linux
 * (sys_linux.c, sys_timex.c):
 *
 * - the kernel PLL is switched off (STA_PLL cleared, its offset zeroed) and a
 *   leftover adjtime() slew cancelled, so only ntpkit steers the clock;
 * - frequency: the `freq` field (ppm * 2^16) only reaches +-500 ppm, so larger
 *   corrections (maxslewrate defaults to 83333 ppm) move `tick` too: one us
 *   per 1/USER_HZ s is USER_HZ ppm (100 ppm at USER_HZ=100), and the kernel
 *   accepts tick within +-10% of nominal, hence the +-100000 ppm limit;
 * - step: ADJ_SETOFFSET | ADJ_NANO, exact to the nanosecond;
 * - status: STA_UNSYNC cleared while synchronized (with maxerror/esterror,
 *   which the kernel then grows by 500 ppm of elapsed time and re-sets
 *   STA_UNSYNC past 16 s), STA_INS/STA_DEL for a pending leap second, which
 *   the kernel applies itself at UTC midnight.
 *
 * Writing needs CAP_SYS_TIME; the constructor checks for it first and says
 * what to do instead. The clock is read with realtime(), so fromRealtime()
 * is the identity.
 */
import { type Instant } from '../time/instant.js';
import { type Clock, type ClockStatus } from './clock.js';
import { type EnvironmentProbe, NEEDS_CAP_SYS_TIME, type SystemClockControl, hostProbe, systemClockControl } from './environment.js';
import { type KernelTimeStatus, STATUS_FLAGS, decodeTimex } from './kernel-status.js';
import { statusWord } from './status-word.js';
import { ADJ, type AdjtimeResult, type RawTimex, type TimexRequest, type TimexWriteResult, loadClockControl } from './native.js';
import { realtime } from './realtime.js';

/** The kernel interface SystemClock drives; the native addon in production, a model in host tests. */
export interface TimexBackend {
  /** clock_adjtime with modes = 0. */
  read(): RawTimex;
  /** clock_adjtime with the request's modes. */
  write(req: TimexRequest): TimexWriteResult;
  /** USER_HZ (sysconf(_SC_CLK_TCK)). */
  readonly userHz: number;
  /** adjtime(): a one-shot kernel slew, us (absent from a stale addon build). */
  adjtime?(offsetUs: number): AdjtimeResult;
  /** The adjtime() slew still to go, us. */
  adjtimeRemaining?(): number;
}

/** The real kernel, through the native addon. Throws when the addon lacks clock control. */
export function nativeTimexBackend(): TimexBackend {
  const c = loadClockControl();
  if (!c.ok) throw new SystemClockError(c.reason);
  const a = c.addon;
  const slew = a.adjtimeSlew?.bind(a);
  const remaining = a.adjtimeRemaining?.bind(a);
  return {
    read: () => a.adjtimexStatus(), write: (req) => a.adjtimexWrite(req), userHz: a.userHz(),
    ...(slew && remaining ? { adjtime: slew, adjtimeRemaining: remaining } : {}),
  };
}

export class SystemClockError extends Error {
  readonly code = 'NTPKIT_SYSTEM_CLOCK';
  constructor(message: string) {
    super(message);
    this.name = 'SystemClockError';
  }
}

export interface SystemClockOptions {
  /** Default: the native addon. */
  readonly backend?: TimexBackend;
  /** What the CAP_SYS_TIME check reads (default: this process's /proc/self/status). */
  readonly probe?: EnvironmentProbe;
  /**
   * Clear STA_UNSYNC while synchronized (default true). Note that Linux then
   * copies the system time to the RTC every 11 minutes; chronyd clears it only
   * with `rtcsync`, so a daemon following chrony.conf passes its rtcsync here.
   */
  readonly clearUnsync?: boolean;
  /** Largest |frequency| setFrequency() applies, ppm (default: what tick allows, 100000 at USER_HZ=100). */
  readonly maxFrequencyPpm?: number;
}

/** Whether a SystemClock can be created here, and if not, why (CAP_SYS_TIME, addon, OS). */
export function checkSystemClockControl(probe: EnvironmentProbe = hostProbe()): SystemClockControl {
  return systemClockControl(probe, loadClockControl);
}

/** The rate at which the kernel carries out an adjtime() slew: MAX_TICKADJ, 500 us per second. */
export const ADJTIME_SLEW_RATE = 500e-6;

/** What {@link SystemClock.slewOnce} started. */
export interface OneShotSlew {
  /** The slew asked for, seconds (rounded to the microsecond the kernel takes). */
  readonly seconds: number;
  /** How long the kernel will take at 500 ppm, seconds. */
  readonly durationSeconds: number;
  /** The remainder of an earlier adjtime() slew that this one replaced, seconds. */
  readonly replacedSeconds: number;
}

/** 2^16: `freq` is ppm in 16.16 fixed point. */
const FREQ_SCALE = 65536;
/** The kernel clamps `freq` to MAXFREQ (500 ppm). */
const MAX_FREQ_PPM = 500;

/** The kernel state SystemClock reads back, in plain units. */
export interface SystemClockReadback extends KernelTimeStatus {
  /** hz * (tick - nominal) + freq / 2^16: the total correction in force, ppm. */
  readonly totalFrequencyPpm: number;
  /** The tick in force and its nominal value, us per 1/USER_HZ s. */
  readonly tick: number;
  readonly nominalTick: number;
  readonly leap: 'none' | 'insert' | 'delete';
}

export class SystemClock implements Clock {
  readonly kind = 'system' as const;
  readonly #k: TimexBackend;
  readonly #hz: number;
  readonly #nominalTick: number;
  readonly #maxTickBias: number;
  readonly #maxPpm: number;
  readonly #clearUnsync: boolean;
  /** The STA_* bits we own (UNSYNC, INS, DEL), written whole with ADJ_STATUS as chronyd does. */
  #status: number = STATUS_FLAGS.STA_UNSYNC;
  #deltaTick: number;
  #closed = false;

  constructor(opts: SystemClockOptions = {}) {
    const probe = opts.probe ?? hostProbe();
    if (opts.backend === undefined) {
      const control = checkSystemClockControl(probe);
      if (!control.ok) throw new SystemClockError(control.reason);
    } else if (!systemClockControl(probe, () => ({ ok: true })).ok) {
      // An injected backend still honours the capability check, so it can be tested.
      throw new SystemClockError(`Disciplining the system clock ${NEEDS_CAP_SYS_TIME}`);
    }
    this.#k = opts.backend ?? nativeTimexBackend();
    this.#clearUnsync = opts.clearUnsync ?? true;
    const hz = this.#k.userHz;
    if (!Number.isInteger(hz) || hz <= 0) throw new SystemClockError(`Cannot use the system clock: USER_HZ is ${hz}`);
    this.#hz = hz;
    // As the kernel defines it (1e6 / USER_HZ, rounded) and bounds it (+-10%).
    this.#nominalTick = Math.round(1e6 / hz);
    this.#maxTickBias = Math.floor(this.#nominalTick / 10);
    const tickLimit = (1e6 * this.#maxTickBias) / this.#nominalTick;
    this.#maxPpm = Math.min(opts.maxFrequencyPpm ?? tickLimit, tickLimit);

    // chronyd's start (reset_adjtime_offset, initialise_timex): cancel an
    // adjtime() slew, zero the PLL offset with the PLL on, then switch it off,
    // keeping the frequency in force (the drift the kernel remembers).
    this.#write({ modes: ADJ.ADJ_OFFSET_SINGLESHOT, offset: 0 }, 'cancel a leftover adjtime() offset');
    this.#write({ modes: ADJ.ADJ_OFFSET | ADJ.ADJ_STATUS, offset: 0, status: STATUS_FLAGS.STA_PLL | this.#status }, 'reset the kernel PLL');
    const after = this.#write({ modes: ADJ.ADJ_STATUS, status: this.#status }, 'switch the kernel PLL off');
    this.#deltaTick = after.tick - this.#nominalTick;
  }

  now(): Instant {
    return realtime();
  }

  fromRealtime(t: Instant): Instant {
    return t;
  }

  /** The correction in force as the kernel reports it (tick and freq), ppm. */
  frequencyPpm(): number {
    return this.#ppmOf(this.#k.read());
  }

  /**
   * Splits `ppm` between tick (USER_HZ ppm steps) and freq (the remainder,
   * within +-500 ppm), as chronyd's sys_linux.c does, and returns what the
   * kernel reports back. Clamped to +-maxFrequencyPpm.
   */
  setFrequency(ppm: number): number {
    this.#assertOpen();
    if (!Number.isFinite(ppm)) throw new RangeError(`Cannot set the system clock's frequency: current value is ${ppm}, expected a finite ppm`);
    const target = Math.max(-this.#maxPpm, Math.min(this.#maxPpm, ppm));
    let delta = Math.round(target / this.#hz);
    // chronyd's hysteresis: with USER_HZ <= 250 the 500 ppm of freq spans more
    // than two ticks, so keep the current tick when it is next to the new one
    // instead of thrashing between two (tick, freq) pairs near a boundary.
    if (this.#hz <= 250 && Math.abs(delta - this.#deltaTick) === 1) delta = this.#deltaTick;
    delta = Math.max(-this.#maxTickBias, Math.min(this.#maxTickBias, delta));
    const rest = target - this.#hz * delta;
    const freq = Math.round(Math.max(-MAX_FREQ_PPM, Math.min(MAX_FREQ_PPM, rest)) * FREQ_SCALE);
    const t = this.#write({ modes: ADJ.ADJ_TICK | ADJ.ADJ_FREQUENCY, tick: this.#nominalTick + delta, freq }, `set the frequency to ${ppm} ppm`);
    this.#deltaTick = t.tick - this.#nominalTick;
    return this.#ppmOf(t);
  }

  /** ADJ_SETOFFSET: exact to the nanosecond (seconds are rounded to ns). */
  step(seconds: number): void {
    this.#assertOpen();
    if (!Number.isFinite(seconds)) throw new RangeError(`Cannot step the system clock: current value is ${seconds}, expected finite seconds`);
    const whole = Math.trunc(seconds);
    const ns = BigInt(whole) * 1_000_000_000n + BigInt(Math.round((seconds - whole) * 1e9));
    this.stepNs(ns);
  }

  /** Steps by an exact number of nanoseconds. */
  stepNs(ns: bigint): void {
    this.#assertOpen();
    this.#write({ modes: ADJ.ADJ_SETOFFSET | ADJ.ADJ_NANO, setOffsetNs: ns }, `step the clock by ${ns} ns`);
  }

  /**
   * adjtime(): hands the kernel a one-shot slew that it carries out at 500 ppm
   * by itself, so it goes on after this process exits, as ntpdate's does
   * (`ntpkit sync`). The daemon never uses it: it steers through frequency.
   */
  slewOnce(seconds: number): OneShotSlew {
    this.#assertOpen();
    if (!Number.isFinite(seconds)) throw new RangeError(`Cannot slew the system clock: current value is ${seconds}, expected finite seconds`);
    const adjtime = this.#k.adjtime;
    if (adjtime === undefined) throw new SystemClockError('Cannot slew the system clock: the native addon has no adjtimeSlew() (stale build? run sh scripts/build-native.sh)');
    const us = Math.round(seconds * 1e6);
    const r = adjtime.call(this.#k, us);
    if (r.errno !== 0) {
      throw new SystemClockError(
        r.errno === 1
          ? `Cannot slew the clock: adjtime says ${r.message || 'EPERM'}; changing the system clock ${NEEDS_CAP_SYS_TIME}`
          : `Cannot slew the clock: adjtime failed: ${r.message} (errno ${r.errno})`,
      );
    }
    return { seconds: us / 1e6, durationSeconds: Math.abs(us) / (ADJTIME_SLEW_RATE * 1e6), replacedSeconds: r.previousUs / 1e6 };
  }

  /** What remains of an adjtime() slew, seconds (0 when none is running). */
  pendingSlew(): number {
    const read = this.#k.adjtimeRemaining;
    if (read === undefined) throw new SystemClockError('Cannot read the adjtime() slew: the native addon has no adjtimeRemaining() (stale build? run sh scripts/build-native.sh)');
    return read.call(this.#k) / 1e6;
  }

  /**
   * STA_UNSYNC/STA_INS/STA_DEL and the error bounds, as chronyd's
   * set_sync_status/set_leap: errors are capped at 16 s, and a maxError of
   * 16 s or more means unsynchronized.
   */
  setStatus(status: ClockStatus): void {
    this.#assertOpen();
    const w = statusWord(this.#status, status, this.#clearUnsync);
    this.#status = w.status;
    this.#write(
      { modes: ADJ.ADJ_STATUS | ADJ.ADJ_MAXERROR | ADJ.ADJ_ESTERROR, status: w.status, maxerror: w.maxerror, esterror: w.esterror },
      'set the clock status',
    );
  }

  /** The kernel's state now: frequency split, status bits, leap, remaining offset, error bounds. */
  readback(): SystemClockReadback {
    const raw = this.#k.read();
    const s = decodeTimex(raw);
    const leap = (raw.status & STATUS_FLAGS.STA_INS) !== 0 ? 'insert' : (raw.status & STATUS_FLAGS.STA_DEL) !== 0 ? 'delete' : 'none';
    return { ...s, totalFrequencyPpm: this.#ppmOf(raw), tick: raw.tick, nominalTick: this.#nominalTick, leap };
  }

  /** The largest |frequency| setFrequency() applies here, ppm. */
  maxFrequencyPpm(): number {
    return this.#maxPpm;
  }

  /** Leaves the kernel as it is: it keeps the last frequency, as chronyd leaves it. */
  close(): void {
    this.#closed = true;
  }

  #ppmOf(t: Pick<RawTimex, 'tick' | 'freq'>): number {
    return this.#hz * (t.tick - this.#nominalTick) + t.freq / FREQ_SCALE;
  }

  #write(req: TimexRequest, what: string): RawTimex {
    const r = this.#k.write(req);
    if (r.state < 0 || r.timex === null) {
      const perm = r.errno === 1; // EPERM
      throw new SystemClockError(
        perm
          ? `Cannot ${what}: clock_adjtime says ${r.message || 'EPERM'}; disciplining the system clock ${NEEDS_CAP_SYS_TIME}`
          : `Cannot ${what}: clock_adjtime failed: ${r.message} (errno ${r.errno})`,
      );
    }
    return r.timex;
  }

  #assertOpen(): void {
    if (this.#closed) throw new SystemClockError('Cannot adjust the system clock: this SystemClock was closed');
  }
}
