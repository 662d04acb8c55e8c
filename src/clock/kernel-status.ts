/**
 * The kernel's NTP state (adjtimex(2)/clock_adjtime(2) queried with
 * modes = 0, which changes nothing), decoded into plain units. Later work uses
 * it to tell whether another daemon is disciplining the clock, and to report
 * what a SystemClock sees.
 */
import { requireNative, type RawTimex } from './native.js';

/** Return values of adjtimex(2): the leap-second state machine (RFC 5905 leaves this to the kernel, see timex.h). */
export const CLOCK_STATES = ['TIME_OK', 'TIME_INS', 'TIME_DEL', 'TIME_OOP', 'TIME_WAIT', 'TIME_ERROR'] as const;
export type ClockState = (typeof CLOCK_STATES)[number];

/** The `status` bits of struct timex (linux/timex.h), by name. */
export const STATUS_FLAGS = {
  STA_PLL: 0x0001,
  STA_PPSFREQ: 0x0002,
  STA_PPSTIME: 0x0004,
  STA_FLL: 0x0008,
  STA_INS: 0x0010,
  STA_DEL: 0x0020,
  STA_UNSYNC: 0x0040,
  STA_FREQHOLD: 0x0080,
  STA_PPSSIGNAL: 0x0100,
  STA_PPSJITTER: 0x0200,
  STA_PPSWANDER: 0x0400,
  STA_PPSERROR: 0x0800,
  STA_CLOCKERR: 0x1000,
  STA_NANO: 0x2000,
  STA_MODE: 0x4000,
  STA_CLK: 0x8000,
} as const;
export type StatusFlag = keyof typeof STATUS_FLAGS;

export interface KernelTimeStatus {
  /** The leap-second state; unknown numbers are kept as `unknown(n)`. */
  readonly state: ClockState | `unknown(${number})`;
  /** The set `status` bits, by name. */
  readonly flags: readonly StatusFlag[];
  /** STA_UNSYNC clear and state is not TIME_ERROR: something told the kernel it is synchronized. */
  readonly synchronized: boolean;
  /** Remaining phase adjustment, seconds. */
  readonly offsetSeconds: number;
  /** Frequency correction, ppm (positive: the clock is sped up). */
  readonly frequencyPpm: number;
  readonly maxErrorSeconds: number;
  readonly estErrorSeconds: number;
  /** PLL time constant (log2-ish, see adjtimex(2)). */
  readonly timeConstant: number;
  readonly precisionSeconds: number;
  /** Maximum frequency error the kernel allows, ppm. */
  readonly tolerancePpm: number;
  /** Microseconds added per clock tick (nominally 1e6 / USER_HZ). */
  readonly tickMicros: number;
  /** TAI − UTC in seconds, as set by a daemon (0 when none did). */
  readonly taiOffsetSeconds: number;
  /** What the kernel returned, unconverted. */
  readonly raw: RawTimex;
}

/** 2^16: `freq`, `tolerance` and friends are ppm in 16.16 fixed point. */
const SCALED_PPM = 65536;

/** Converts a raw struct timex to plain units. Pure. */
export function decodeTimex(raw: RawTimex): KernelTimeStatus {
  const flags = (Object.keys(STATUS_FLAGS) as StatusFlag[]).filter((f) => (raw.status & STATUS_FLAGS[f]) !== 0);
  const state = CLOCK_STATES[raw.state] ?? (`unknown(${raw.state})` as const);
  const nano = (raw.status & STATUS_FLAGS.STA_NANO) !== 0;
  return {
    state,
    flags,
    synchronized: (raw.status & STATUS_FLAGS.STA_UNSYNC) === 0 && state !== 'TIME_ERROR',
    offsetSeconds: raw.offset / (nano ? 1e9 : 1e6),
    frequencyPpm: raw.freq / SCALED_PPM,
    maxErrorSeconds: raw.maxerror / 1e6,
    estErrorSeconds: raw.esterror / 1e6,
    timeConstant: raw.constant,
    precisionSeconds: raw.precision / 1e6,
    tolerancePpm: raw.tolerance / SCALED_PPM,
    tickMicros: raw.tick,
    taiOffsetSeconds: raw.tai,
    raw,
  };
}

/**
 * Reads the kernel's NTP state. Read-only: the addon only ever passes
 * modes = 0. Throws when the native addon is unavailable.
 */
export function readKernelTimeStatus(): KernelTimeStatus {
  return decodeTimex(requireNative().adjtimexStatus());
}

/**
 * Above this maxerror a cleared STA_UNSYNC is not taken as a sign of a live
 * daemon. The kernel adds 500 us to maxerror every second (MAXFREQ) and sets
 * STA_UNSYNC itself at 16 s; a daemon re-sets maxerror on every clock
 * update, so with polls up to 1024 s (chrony's and ntpd's default maxpoll)
 * a live one keeps it below about 0.5 s plus its root distance.
 */
export const RECENT_SYNC_MAXERROR_SECONDS = 1;
/** How fast the kernel grows maxerror, seconds per second (500 ppm). */
export const MAXERROR_GROWTH = 500e-6;

/**
 * Signs in the kernel's NTP state that another program disciplines the clock
 * right now; empty when there are none. The rules, and what they leave out:
 *
 * - STA_PLL or STA_FLL set, with STA_UNSYNC clear or a phase offset still
 *   being slewed: the kernel PLL/FLL is being fed. Only ntpd and NTPsec use
 *   it; chronyd, ntpkit and systemd-timesyncd switch it off.
 * - STA_UNSYNC clear with maxerror under {@link RECENT_SYNC_MAXERROR_SECONDS}:
 *   something told the kernel it is synchronized within the last
 *   maxerror / 500 ppm seconds (chronyd with `rtcsync`, systemd-timesyncd,
 *   ntpd). chronyd sets STA_UNSYNC again when it exits cleanly
 *   (REF_Finalise), so a stopped chronyd does not trip this; a daemon that
 *   was killed, or timesyncd, can for up to 2000 s after it stopped.
 * - Not evidence: a non-zero frequency (freq/tick). chronyd leaves its last
 *   frequency in the kernel on exit on purpose, and so do ntpd and ntpkit,
 *   so it only says that some daemon ran once. Nor a pending adjtime()
 *   slew: that is what `ntpdate` or `ntpkit sync` leave behind, still
 *   finishing after they exit, and the daemon cancels it when it starts.
 */
export function kernelDisciplineEvidence(s: KernelTimeStatus): string[] {
  const out: string[] = [];
  const has = (f: StatusFlag): boolean => s.flags.includes(f);
  const loop = has('STA_PLL') ? 'PLL' : has('STA_FLL') ? 'FLL' : null;
  if (loop !== null && (s.synchronized || s.offsetSeconds !== 0)) {
    const what = s.offsetSeconds !== 0 ? `slewing a ${formatSeconds(s.offsetSeconds)} offset` : 'marked synchronized';
    out.push(`the kernel ${loop} is on (STA_${loop}) and ${what}: a daemon using the kernel discipline (ntpd or NTPsec) is steering the clock`);
  } else if (s.synchronized && s.maxErrorSeconds < RECENT_SYNC_MAXERROR_SECONDS) {
    const ago = Math.ceil(s.maxErrorSeconds / MAXERROR_GROWTH);
    out.push(
      `the kernel clock is marked synchronized (STA_UNSYNC clear, maxerror ${s.maxErrorSeconds.toPrecision(3)} s), ` +
        `so a daemon updated it within the last ${ago} s (chronyd with rtcsync, systemd-timesyncd, ntpd, or one that was just killed)`,
    );
  }
  return out;
}

function formatSeconds(v: number): string {
  return `${v >= 0 ? '+' : ''}${v.toPrecision(3)} s`;
}
