/**
 * The N-API addon `ntpkit_native` (native/ntpkit_native.c): kernel clock
 * readings. Linux only; where it is missing (another OS, a failed build) the
 * loader says why, and callers fall back (see realtime.ts).
 *
 * The binary is found as node-gyp-build finds it: the package's own
 * build/Release (what `npm ci` compiled in a clone, or the install script
 * where no prebuilt binary loads) first, then the prebuilt N-API binary for
 * this platform and architecture that the published package ships
 * (prebuilds/linux-x64, prebuilds/linux-arm64; scripts/prebuild.sh).
 *
 * `NTPKIT_NATIVE=off` makes the loader act as if the addon were missing, so
 * the fallback paths that macOS and Windows take are exercised on Linux too
 * (src/cli/portability.test.ts).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Clocks the addon can read, named as in clock_gettime(2) without `CLOCK_`. */
export type ClockName = 'REALTIME' | 'MONOTONIC' | 'MONOTONIC_RAW' | 'BOOTTIME' | 'TAI';

/** struct timex as clock_adjtime(CLOCK_REALTIME, {modes: 0}) fills it, in the kernel's units. */
export interface RawTimex {
  /** The return value: TIME_OK (0) ... TIME_ERROR (5). */
  readonly state: number;
  readonly status: number;
  /** ns when STA_NANO is set, otherwise us. */
  readonly offset: number;
  /** ppm scaled by 2^16. */
  readonly freq: number;
  /** us */
  readonly maxerror: number;
  /** us */
  readonly esterror: number;
  readonly constant: number;
  /** us */
  readonly precision: number;
  /** ppm scaled by 2^16. */
  readonly tolerance: number;
  /** us per tick */
  readonly tick: number;
  /** TAI - UTC, seconds. */
  readonly tai: number;
  readonly timeSec: number;
  /** ns when STA_NANO is set, otherwise us. */
  readonly timeFrac: number;
  readonly ppsfreq: number;
  readonly jitter: number;
  readonly shift: number;
  readonly stabil: number;
  readonly jitcnt: number;
  readonly calcnt: number;
  readonly errcnt: number;
  readonly stbcnt: number;
}

/** `modes` bits of struct timex (linux/timex.h), as the addon exports them in `adjModes`. */
export const ADJ = Object.freeze({
  ADJ_OFFSET: 0x0001,
  ADJ_FREQUENCY: 0x0002,
  ADJ_MAXERROR: 0x0004,
  ADJ_ESTERROR: 0x0008,
  ADJ_STATUS: 0x0010,
  ADJ_TIMECONST: 0x0020,
  ADJ_TAI: 0x0080,
  ADJ_SETOFFSET: 0x0100,
  ADJ_MICRO: 0x1000,
  ADJ_NANO: 0x2000,
  ADJ_TICK: 0x4000,
  /** The old adjtime(): only used, alone, to cancel a leftover slew. */
  ADJ_OFFSET_SINGLESHOT: 0x8001,
} as const);

/**
 * A clock_adjtime(CLOCK_REALTIME) write (native/clock_adjtime.c). Every bit in
 * `modes` needs its field and every field its bit; the addon refuses anything
 * else before the system call.
 */
export interface TimexRequest {
  readonly modes: number;
  /** ADJ_OFFSET: ns with ADJ_NANO/STA_NANO, else us. */
  readonly offset?: number;
  /** ADJ_FREQUENCY: ppm scaled by 2^16; the kernel clamps to +-500 ppm. */
  readonly freq?: number;
  /** ADJ_MAXERROR, us. */
  readonly maxerror?: number;
  /** ADJ_ESTERROR, us. */
  readonly esterror?: number;
  /** ADJ_STATUS: the STA_* bits (the read-only ones are ignored by the kernel). */
  readonly status?: number;
  /** ADJ_TIMECONST. */
  readonly constant?: number;
  /** ADJ_TAI: TAI - UTC, seconds. */
  readonly tai?: number;
  /** ADJ_TICK: us per 1/USER_HZ s; the kernel accepts +-10% of nominal. */
  readonly tick?: number;
  /** ADJ_SETOFFSET (needs ADJ_NANO): step the clock by this many ns. */
  readonly setOffsetNs?: bigint;
}

/** What adjtimexWrite() returns; kernel errors come back as values, not exceptions. */
export interface TimexWriteResult {
  /** The return value (TIME_OK ... TIME_ERROR), or -1. */
  readonly state: number;
  /** 0 on success. */
  readonly errno: number;
  /** strerror(errno), or ''. */
  readonly message: string;
  /** The kernel's state after the call; null when it failed. */
  readonly timex: (RawTimex & { readonly modes: number }) | null;
}

/** What adjtimeSlew() returns; kernel errors come back as values. */
export interface AdjtimeResult {
  /** 0 on success. */
  readonly errno: number;
  readonly message: string;
  /** The remainder of the slew it replaced, us. */
  readonly previousUs: number;
}

/** A failed system call of the PHC entry points (native/phc.c), as a value. */
export interface PhcSysFailure {
  /** The errno, never 0. */
  readonly errno: number;
  /** strerror(errno). */
  readonly message: string;
  /** The call that failed: 'open', 'PTP_CLOCK_GETCAPS', 'PTP_SYS_OFFSET', ... */
  readonly call: string;
}

/** The reading methods of phcRead(), numbered as chronyd numbers its PHC reading modes. */
export const PHC_METHOD = Object.freeze({ basic: 1, precise: 2, extended: 3 } as const);
export type PhcMethodId = (typeof PHC_METHOD)[keyof typeof PHC_METHOD];

/** The addon's exports. Only adjtimexWrite() and adjtimeSlew() can change a clock. */
export interface NativeClockAddon {
  /** clock_gettime(CLOCK_REALTIME) in Unix nanoseconds. */
  realtimeNs(): bigint;
  /** clock_gettime(CLOCK_REALTIME) as an Instant, converted in C exactly as instantFromUnixNanos() does. */
  realtimeInstant(): bigint;
  /** The C conversion behind realtimeInstant(), on given values (for tests). */
  timespecToInstant(sec: number, nsec: number): bigint;
  /** clock_gettime(id) in nanoseconds of that clock's epoch. Throws on EINVAL. */
  clockGettimeNs(id: number): bigint;
  /** clock_getres(id) in nanoseconds. */
  clockGetresNs(id: number): bigint;
  /** clock_adjtime(CLOCK_REALTIME) with modes = 0: a read-only status query. */
  adjtimexStatus(): RawTimex;
  readonly clocks: Readonly<Record<ClockName, number>>;
  /**
   * The struct timex adjtimexWrite(req) would pass (with `state` 0), or a
   * thrown TypeError/RangeError for a bad request. Never calls the kernel.
   * Absent from builds older than native/clock_adjtime.c.
   */
  adjtimexEncode?(req: TimexRequest): RawTimex & { readonly modes: number };
  /** clock_adjtime(CLOCK_REALTIME, req): CHANGES THE CLOCK. Bad requests throw; kernel errors are returned. */
  adjtimexWrite?(req: TimexRequest): TimexWriteResult;
  /** sysconf(_SC_CLK_TCK): USER_HZ, the unit of `tick`. */
  userHz?(): number;
  /**
   * adjtime(): a one-shot slew of `offsetUs` microseconds (ADJ_OFFSET_SINGLESHOT)
   * that the kernel finishes at 500 ppm after the caller exits. CHANGES THE CLOCK.
   * Replaces any slew in progress, whose remainder comes back as previousUs.
   */
  adjtimeSlew?(offsetUs: number): AdjtimeResult;
  /** What remains of an adjtime() slew, us (ADJ_OFFSET_SS_READ; needs no privilege). */
  adjtimeRemaining?(): number;
  readonly adjModes?: Readonly<Record<keyof typeof ADJ, number>>;
  /**
   * open(path, O_RDONLY) and PTP_CLOCK_GETCAPS, which only a PTP clock
   * answers. Absent from builds older than native/phc.c.
   */
  phcOpen?(path: string): { readonly fd: number } | PhcSysFailure;
  /**
   * One PTP_SYS_OFFSET / _PRECISE / _EXTENDED ioctl on an fd from phcOpen():
   * `ts` holds [system before, PHC, system after] triples in ns (one triple
   * for a cross-timestamp, whose two system times are equal).
   */
  phcRead?(fd: number, method: PhcMethodId, samples: number): { readonly errno: 0; readonly ts: BigInt64Array } | PhcSysFailure;
  /** close(fd): 0 or the errno. */
  phcClose?(fd: number): number;
  /** PTP_MAX_SAMPLES: the most samples one reading takes. */
  readonly phcMaxSamples?: number;
  /** chronyd's lock_all as far as V8 allows: RLIMIT_MEMLOCK to infinity, then every mapping but the anonymous ones locked (native/process.c says why). Absent from builds older than native/process.c. */
  memLockAll?(): NativeOutcome;
  /** chronyd's sched_priority: the calling thread to SCHED_FIFO at `priority` (1-99, clamped to the policy's range). */
  schedFifo?(priority: number): NativeOutcome;
  /** ETHTOOL_GET_TS_INFO on an interface: whether it stamps packets in hardware (RAW, RX and TX). */
  hwTimestampInfo?(iface: string): NativeOutcome | { readonly ok: true; readonly hardware: boolean; readonly phcIndex: number; readonly rxFilters: number };
  /** getpwnam_r: the user's ids, or null when no such user is known (chrony's `user`). */
  userByName?(name: string): { readonly uid: number; readonly gid: number } | null;
  /**
   * chronyd's SYS_Linux_DropRoot: PR_SET_KEEPCAPS, setgroups(0), setgid,
   * setuid, then exactly `caps` (capability numbers) permitted and effective.
   */
  dropRoot?(uid: number, gid: number, caps: readonly number[]): NativeOutcome;
  /** if_nametoindex in this network namespace: 0 when no such interface exists. */
  interfaceIndex?(iface: string): number;
  /** shmget(key, IPC_CREAT | perm) and shmat of an NTP SHM segment (native/shm_segment.c). Throws on failure. */
  shmAttach?(key: number, perm: number): ShmHandle;
  /** One read of the segment by chrony's rules (count, valid, nsec fields), clearing `valid`; null when it holds no new sample. */
  shmRead?(handle: ShmHandle): ShmSample | null;
  shmDetach?(handle: ShmHandle): void;
  /** A bound AF_UNIX datagram socket (native/unix_dgram.c), chronyc's command socket. Absent from builds older than it. */
  readonly UnixDgramSocket?: new (path: string, onMessage: (data: Buffer, from: string) => void) => UnixDgramHandle;
}

/** An open Unix datagram socket of the addon. */
export interface UnixDgramHandle {
  /** sendto(toPath): 0, or the errno (ENOENT, ECONNREFUSED: the client is gone). */
  send(data: Uint8Array, toPath: string): number;
  close(): void;
}

/** An attached SHM segment (opaque). */
export type ShmHandle = { readonly __shm: never };

/** One sample of an NTP SHM segment. */
export interface ShmSample {
  /** System clock time the writer took the sample at. */
  readonly receive: bigint;
  /** The reference clock's time at that instant. */
  readonly clock: bigint;
  /** NTP leap indicator: 0 none, 1 insert, 2 delete, 3 not synchronized. */
  readonly leap: number;
  readonly precision: number;
}

/** A system call's outcome: which step failed and strerror(errno). */
export type NativeOutcome = { readonly ok: true } | { readonly ok: false; readonly step: string; readonly error: string };

/** The addon's clock-control entry points (native/clock_adjtime.c). */
export type ClockControlAddon = NativeClockAddon & Required<Pick<NativeClockAddon, 'adjtimexEncode' | 'adjtimexWrite' | 'userHz' | 'adjModes'>>;

export type NativeLoad =
  /** `path`: the binary loaded, build/Release/... or prebuilds/<platform>-<arch>/... */
  | { readonly ok: true; readonly addon: NativeClockAddon; readonly path: string }
  | { readonly ok: false; readonly reason: string };

/**
 * The package root, which holds build/ and prebuilds/. This file compiles to
 * <root>/<outDir>/clock/native.js, so the path is the same for dist/ and for
 * any sibling output directory.
 */
export const NATIVE_PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The environment switch that hides the addon. */
export const NATIVE_SWITCH_ENV = 'NTPKIT_NATIVE';

/**
 * Why the addon is switched off by the environment, or null when it is not.
 * `off`, `0`, `false` and `no` switch it off; anything else (or nothing) leaves it on.
 */
export function nativeSwitchedOff(env: Readonly<Record<string, string | undefined>>): string | null {
  const v = env[NATIVE_SWITCH_ENV]?.trim().toLowerCase();
  if (v === 'off' || v === '0' || v === 'false' || v === 'no') {
    return `The native clock addon is disabled by ${NATIVE_SWITCH_ENV}=${env[NATIVE_SWITCH_ENV] as string} (ntpkit runs as where the addon is missing: no kernel timestamps, no system clock control)`;
  }
  return null;
}

let cached: NativeLoad | undefined;

/** Loads the addon once; never throws. */
export function loadNative(): NativeLoad {
  cached ??= tryLoad();
  return cached;
}

function tryLoad(): NativeLoad {
  const off = nativeSwitchedOff(process.env);
  if (off !== null) return { ok: false, reason: off };
  const require = createRequire(import.meta.url);
  const hint = process.platform === 'linux' ? 'see build-native.log' : `it is Linux-only, this is ${process.platform}`;
  let path: string;
  try {
    path = (require('node-gyp-build') as { path(dir: string): string }).path(NATIVE_PACKAGE_ROOT);
  } catch (err) {
    // node-gyp-build throws when neither a build nor a fitting prebuilt binary exists; the package
    // ships prebuilt ones only for glibc Linux on x64 and arm64.
    // node-gyp-build takes the architecture from npm_config_arch when npm is told to install for another one.
    const arch = process.env.npm_config_arch ?? process.arch;
    const what = `no build in ${NATIVE_PACKAGE_ROOT}build/Release and no prebuilt binary for ${process.platform}-${arch} in ${NATIVE_PACKAGE_ROOT}prebuilds`;
    const msg = err instanceof Error && /^No native build was found/.test(err.message) ? what : err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { ok: false, reason: `Cannot load the native clock addon: ${msg} (${hint})` };
  }
  let mod: unknown;
  try {
    mod = require(path);
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { ok: false, reason: `Cannot load the native clock addon ${path}: ${msg} (${hint})` };
  }
  const m = mod as Partial<NativeClockAddon>;
  for (const name of ['realtimeNs', 'realtimeInstant', 'timespecToInstant', 'clockGettimeNs', 'clockGetresNs', 'adjtimexStatus'] as const) {
    if (typeof m[name] !== 'function') {
      return { ok: false, reason: `Cannot use the native clock addon: it has no ${name}() (stale build?)` };
    }
  }
  if (typeof m.clocks !== 'object' || m.clocks === null) {
    return { ok: false, reason: 'Cannot use the native clock addon: it has no clock ids (stale build?)' };
  }
  return { ok: true, addon: m as NativeClockAddon, path };
}

/** The addon, or an Error that says why it is unavailable. */
export function requireNative(): NativeClockAddon {
  const n = loadNative();
  if (!n.ok) throw new Error(n.reason);
  return n.addon;
}

/** clock_gettime(clock) in nanoseconds. Throws when the addon is unavailable. */
export function readClockNs(clock: ClockName): bigint {
  const a = requireNative();
  return a.clockGettimeNs(a.clocks[clock]);
}

/** clock_getres(clock) in nanoseconds. Throws when the addon is unavailable. */
export function clockResolutionNs(clock: ClockName): bigint {
  const a = requireNative();
  return a.clockGetresNs(a.clocks[clock]);
}

/** The addon with its clock-control entry points, or why it cannot control a clock. */
export function loadClockControl(): { readonly ok: true; readonly addon: ClockControlAddon } | { readonly ok: false; readonly reason: string } {
  const n = loadNative();
  if (!n.ok) return n;
  const a = n.addon;
  for (const name of ['adjtimexEncode', 'adjtimexWrite', 'userHz'] as const) {
    if (typeof a[name] !== 'function') {
      return { ok: false, reason: `Cannot control the clock: the native addon has no ${name}() (stale build? run sh scripts/build-native.sh)` };
    }
  }
  if (typeof a.adjModes !== 'object') return { ok: false, reason: 'Cannot control the clock: the native addon has no adjModes (stale build?)' };
  return { ok: true, addon: a as ClockControlAddon };
}
