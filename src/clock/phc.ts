/**
 * PTP hardware clocks (/dev/ptpN) read against the system clock, for
 * `refclock PHC`: the device is read through the native addon (native/phc.c)
 * and turned into an offset by phc-offset.ts.
 *
 * The reading method follows chronyd (sys_linux.c): a precise cross-timestamp
 * (PTP_SYS_OFFSET_PRECISE) unless `nocrossts`, else PTP_SYS_OFFSET_EXTENDED
 * (each PHC timestamp bracketed by the system clock as closely as the driver
 * can), else PTP_SYS_OFFSET. A method is passed over when the kernel or the
 * driver does not have it (EOPNOTSUPP, ENOTTY, EINVAL); any other error is
 * the device's and is reported. The first method that works is kept for the
 * device's lifetime, as chronyd keeps it, so one device's readings stay
 * comparable.
 */
import { getSystemErrorName } from 'node:util';
import { constants } from 'node:os';
import { loadNative, PHC_METHOD, type NativeClockAddon, type PhcSysFailure } from './native.js';
import { phcOffsetFromSamples, type PhcMethod, type PhcReading } from './phc-offset.js';

export type { PhcMethod, PhcReading } from './phc-offset.js';

/** An open PTP hardware clock. */
export interface PhcDevice {
  /**
   * One reading of `samples` (1-25) PHC timestamps, each between two
   * CLOCK_REALTIME readings, reduced to the best one. A cross-timestamp
   * ('precise') takes a single sample whatever `samples` says. Throws a
   * PhcError when the device cannot be read or the reading is unusable.
   */
  readOffset(samples: number): PhcReading;
  /** Closes the device; later readOffset() calls throw. Idempotent. */
  close(): void;
}

export interface PhcOptions {
  /** chrony's `nocrossts`: never use PTP_SYS_OFFSET_PRECISE. */
  readonly nocrossts?: boolean;
}

/** What went wrong with a PHC, naming its path. */
export class PhcError extends Error {
  /**
   * The errno's name (ENOENT, EACCES, ENOTTY, ...) for a failed system call,
   * NTPKIT_PHC_READING for an unusable reading, NTPKIT_PHC_CLOSED after
   * close(), NTPKIT_PHC_UNAVAILABLE without the addon.
   */
  readonly code: string;
  readonly path: string;
  constructor(message: string, code: string, path: string) {
    super(message);
    this.name = 'PhcError';
    this.code = code;
    this.path = path;
  }
}

/** The addon's PHC entry points (native/phc.c). */
export type PhcBackend = Required<Pick<NativeClockAddon, 'phcOpen' | 'phcRead' | 'phcClose' | 'phcMaxSamples'>>;

/** The native addon's PHC entry points, or why there are none. */
export function nativePhcBackend(): { readonly ok: true; readonly backend: PhcBackend } | { readonly ok: false; readonly reason: string } {
  const n = loadNative();
  if (!n.ok) return n;
  const a = n.addon;
  if (typeof a.phcOpen !== 'function' || typeof a.phcRead !== 'function' || typeof a.phcClose !== 'function' || typeof a.phcMaxSamples !== 'number') {
    return { ok: false, reason: 'Cannot read a PTP clock: the native addon has no phcOpen() (stale build? run sh scripts/build-native.sh)' };
  }
  return { ok: true, backend: a as NativeClockAddon & PhcBackend };
}

/** Opens the PTP hardware clock at `path` (e.g. /dev/ptp0) through the native addon. */
export function openPhc(path: string, options: PhcOptions = {}): PhcDevice {
  const b = nativePhcBackend();
  if (!b.ok) throw new PhcError(b.reason, 'NTPKIT_PHC_UNAVAILABLE', path);
  return openPhcOn(b.backend, path, options);
}

/** The errnos that mean "this kernel or driver has no such ioctl": try the next method. */
const NOT_SUPPORTED = new Set<number>([constants.errno.EOPNOTSUPP, constants.errno.ENOTTY, constants.errno.EINVAL]);

const METHOD_ORDER: readonly PhcMethod[] = ['precise', 'extended', 'basic'];

function errnoName(errno: number): string {
  // Linux gives ENOTSUP and EOPNOTSUPP one number; PTP drivers say the latter.
  if (errno === constants.errno.EOPNOTSUPP) return 'EOPNOTSUPP';
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

function describe(f: PhcSysFailure): string {
  return `${f.call} failed: ${f.message} (${errnoName(f.errno)})`;
}

/** openPhc() on a given backend (tests pass a scripted one). */
export function openPhcOn(backend: PhcBackend, path: string, options: PhcOptions = {}): PhcDevice {
  const opened = backend.phcOpen(path);
  if ('errno' in opened) {
    const code = errnoName(opened.errno);
    if (opened.call === 'open') {
      const hint = code === 'EACCES' ? ': the daemon needs read access to it' : '';
      throw new PhcError(`Cannot open PTP clock ${path}: ${opened.message} (${code})${hint}`, code, path);
    }
    throw new PhcError(`${path} is not a PTP hardware clock: ${describe(opened)}`, code, path);
  }
  const fd = opened.fd;
  let open = true;
  // Fixed by the first reading that works, as chronyd fixes its reading mode.
  let method: PhcMethod | null = null;
  const candidates = METHOD_ORDER.filter((m) => !(m === 'precise' && options.nocrossts === true));

  return {
    readOffset(samples: number): PhcReading {
      if (!Number.isInteger(samples) || samples < 1 || samples > backend.phcMaxSamples) {
        throw new RangeError(`PHC samples must be an integer from 1 to ${backend.phcMaxSamples}: current value is ${samples}`);
      }
      if (!open) throw new PhcError(`PTP clock ${path} is closed`, 'NTPKIT_PHC_CLOSED', path);
      const passedOver: string[] = [];
      for (const m of method === null ? candidates : [method]) {
        const r = backend.phcRead(fd, PHC_METHOD[m], samples);
        if (!('ts' in r)) {
          if (method === null && NOT_SUPPORTED.has(r.errno)) {
            passedOver.push(describe(r));
            continue;
          }
          throw new PhcError(`Cannot read PTP clock ${path}: ${describe(r)}`, errnoName(r.errno), path);
        }
        method = m;
        const result = phcOffsetFromSamples(r.ts, m);
        if (!result.ok) throw new PhcError(`Cannot use this reading of PTP clock ${path}: ${result.reason}`, 'NTPKIT_PHC_READING', path);
        return result.reading;
      }
      throw new PhcError(`Cannot read PTP clock ${path}: no reading method works (${passedOver.join('; ')})`, 'EOPNOTSUPP', path);
    },
    close(): void {
      if (!open) return;
      open = false;
      const errno = backend.phcClose(fd);
      if (errno !== 0) throw new PhcError(`Cannot close PTP clock ${path}: ${errnoName(errno)}`, errnoName(errno), path);
    },
  };
}
