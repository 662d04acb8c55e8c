/**
 * The drift file, in chrony's format, so a chrony drift file migrates as it is
 * and chronyd can read ours back.
 *
 * chrony (reference.c) writes one line, `"%20.6f %20.6f\n"`: the clock's
 * frequency and its skew (error bound), both ppm, and reads it back with
 * `fscanf("%lf%lf")`. chrony.conf(5): the frequency is "the rate at which
 * the system clock gains or loses time ... with gains positive", i.e. how
 * fast the UNCORRECTED clock runs; chrony's sys_timex.c hands the kernel
 * `freq_ppm * -FREQ_SCALE`, so its correction is the negation. ntpkit's
 * frequencyPpm (core/engine/snapshot.ts, Clock) is the correction itself, positive
 * when the clock is sped up (the kernel's sign). Hence:
 *
 *     file frequency = -frequencyPpm        file skew = skewPpm
 *
 * Writes are atomic (a temp file in the same directory, fsync, rename, then
 * an fsync of the directory), as chrony's UTI_RenameTempFile, so a crash
 * leaves the old file or the new one, never a torn one.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.js';

export interface DriftValues {
  /** Frequency correction, ppm, positive when the clock is sped up (ntpkit's sign; the file holds its negation). */
  readonly frequencyPpm: number;
  /** Error bound of the frequency, ppm (>= 0). */
  readonly skewPpm: number;
}

/** chrony's MIN_SKEW (1e-12 s/s), in ppm: a skew read from a file is never below it. */
export const MIN_SKEW_PPM = 1e-6;
/** A frequency beyond this is no clock's drift: the file is garbage (chrony's own maxdrift default is 500 ppm). */
export const MAX_FILE_FREQUENCY_PPM = 1e5;

export type DriftParse = { readonly ok: true; readonly value: DriftValues } | { readonly ok: false; readonly message: string };

/** Parses a drift file's text (chrony's, or ours). Never throws. */
export function parseDriftFile(text: string): DriftParse {
  // fscanf("%lf%lf") reads the first two numbers and ignores what follows; so do we.
  const tokens = text.trim().split(/\s+/);
  if (tokens.length < 2 || tokens[0] === '') return { ok: false, message: `expected two numbers (frequency and skew, ppm), found ${JSON.stringify(text.slice(0, 40))}` };
  const [f, s] = tokens.slice(0, 2).map(parseNumber) as [number, number];
  if (!Number.isFinite(f) || !Number.isFinite(s)) return { ok: false, message: `Cannot parse "${tokens[0]} ${tokens[1]}": expected two numbers (frequency and skew, ppm)` };
  if (Math.abs(f) > MAX_FILE_FREQUENCY_PPM) return { ok: false, message: `Cannot use frequency ${f} ppm: expected at most ${MAX_FILE_FREQUENCY_PPM} in magnitude` };
  if (s < 0) return { ok: false, message: `Cannot use skew ${s} ppm: expected a value >= 0` };
  // `-0` from "0.000000": keep the correction a plain 0.
  return { ok: true, value: { frequencyPpm: f === 0 ? 0 : -f, skewPpm: Math.max(s, MIN_SKEW_PPM) } };
}

/** A strict decimal (what %lf accepts, without hex/inf/nan): Number() alone would take "" or "0x10". */
function parseNumber(t: string): number {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : NaN;
}

/** The file's text for these values, byte for byte what chronyd writes. */
export function formatDriftFile(v: DriftValues): string {
  const file = v.frequencyPpm === 0 ? 0 : -v.frequencyPpm;
  return `${file.toFixed(6).padStart(20)} ${v.skewPpm.toFixed(6).padStart(20)}\n`;
}

export type DriftRead =
  | { readonly status: 'ok'; readonly value: DriftValues }
  | { readonly status: 'missing' }
  | { readonly status: 'invalid'; readonly message: string };

/** Reads the drift file at start. A missing, unreadable or garbled file is not fatal: the caller warns and starts from 0 ppm. */
export async function readDriftFile(path: string): Promise<DriftRead> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return { status: 'missing' };
    return { status: 'invalid', message: `Cannot read ${path}: ${err.code ?? err.message}` };
  }
  const p = parseDriftFile(text);
  return p.ok ? { status: 'ok', value: p.value } : { status: 'invalid', message: `${path}: ${p.message}` };
}

/**
 * Writes the drift file atomically: `<dir>/.<name>.tmp`, fsync, rename over
 * the file, fsync the directory. Rejects with the fs error (the old file is
 * then untouched).
 */
export async function writeDriftFile(path: string, v: DriftValues): Promise<void> {
  if (!Number.isFinite(v.frequencyPpm) || !Number.isFinite(v.skewPpm)) {
    throw new RangeError(`Cannot write drift ${v.frequencyPpm} +/- ${v.skewPpm} ppm: expected finite numbers`);
  }
  await writeFileAtomic(path, formatDriftFile(v), 0o644);
}

/**
 * Serializes writes to one drift file: the daemon may ask for a write while
 * one is in flight (an update, then SIGTERM); the last values always land
 * last, and flush() waits for them.
 */
export class DriftFileWriter {
  #chain: Promise<void> = Promise.resolve();
  #last: DriftValues | null = null;

  constructor(readonly path: string, private readonly onError: (message: string) => void = () => {}) {}

  /** The values of the most recent write request, or null. */
  get last(): DriftValues | null { return this.#last; }

  /**
   * Queues a write; resolves true once it is on disk, false if it failed.
   * Errors go to onError (the daemon keeps running, as chronyd does).
   */
  write(v: DriftValues): Promise<boolean> {
    this.#last = v;
    const done = this.#chain.then(() => writeDriftFile(this.path, v)).then(() => true, (e: NodeJS.ErrnoException) => {
      const code = e.code !== undefined && !e.message.includes(e.code) ? `${e.code} ` : '';
      this.onError(`Cannot write drift file ${this.path}: ${code}${e.message}`);
      return false;
    });
    this.#chain = done.then(() => undefined);
    return done;
  }

  /** Resolves when every queued write has finished (or failed and been reported). */
  flush(): Promise<void> { return this.#chain; }
}
