/**
 * Reading a file a config names (the config itself, what it includes, key
 * and certificate files) without trusting its size or its kind. Only regular
 * files are read: opening a FIFO blocks until some writer opens it, a device
 * such as /dev/zero never ends (and opening some devices, a watchdog, acts),
 * a directory has no text. The kind is checked with stat() before the open,
 * and again on the open descriptor in case the path changed in between.
 * Reading stops one byte past the limit, so an oversized file costs at most
 * that much memory.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import type { ConfigDiagnostic } from './diagnostics.js';

/** What a path is when it is not a regular file, in words for an error message. */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** A failure to read: `message` says why in words, once (no errno code repeated). */
export class FileReadError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'FileReadError';
  }
}

/**
 * An errno-style error as `CODE (description)`, e.g. `ENOENT (no such file or
 * directory)`: node's message repeats the code and adds the path, which the
 * caller names already.
 */
export function describeError(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown } | null;
  const message = typeof err?.message === 'string' ? err.message : null;
  if (typeof err?.code === 'string') {
    if (e instanceof FileReadError) return message ?? err.code;
    const m = message === null ? null : /^[A-Z][A-Z0-9_]*: ([^,]+)/.exec(message);
    return m ? `${err.code} (${m[1] as string})` : err.code;
  }
  if (message !== null) return message;
  return String(e);
}

/**
 * Any error as one line: its message, with its code in front unless the
 * message names it already (node's errno messages do: "ENOENT: no such
 * file...", "listen EADDRINUSE: ..."), so the code is printed once.
 */
export function messageWithCode(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown } | null;
  const message = typeof err?.message === 'string' ? err.message : String(e);
  return typeof err?.code === 'string' && !message.includes(err.code) ? `${err.code} ${message}` : message;
}

export interface BoundedRead {
  /** The first bytes of the file: all of it, or maxBytes of it when `truncated`. */
  readonly data: Buffer;
  /** The file holds more than maxBytes. */
  readonly truncated: boolean;
}

const CHUNK = 64 * 1024;

/**
 * Reads at most `maxBytes` of the regular file at `path`.
 * @throws FileReadError when it is not a regular file; the errno error when it cannot be opened or read.
 */
export function readRegularFile(path: string, maxBytes: number): BoundedRead {
  const before = statSync(path);
  if (!before.isFile()) throw new FileReadError(`${fileKind(before)}, not a regular file`, 'ENOTREG');
  // O_NONBLOCK: if a FIFO was swapped in after the stat, the open does not wait for a writer.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileReadError(`${fileKind(st)}, not a regular file`, 'ENOTREG');
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(CHUNK, maxBytes + 1 - total);
      if (want <= 0) break;
      const buf = Buffer.allocUnsafe(want);
      const n = readSync(fd, buf, 0, want, null);
      if (n === 0) break;
      chunks.push(n === want ? buf : buf.subarray(0, n));
      total += n;
    }
    const all = Buffer.concat(chunks, total);
    return total > maxBytes ? { data: all.subarray(0, maxBytes), truncated: true } : { data: all, truncated: false };
  } finally {
    closeSync(fd);
  }
}

/** Number of lines in `text`: a last line without a newline counts. */
export function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return text.length > 0 && !text.endsWith('\n') ? n + 1 : n;
}

/** How much of a config ntpkit reads, per file and for a config with everything it includes. */
export interface ConfigReadLimits {
  readonly fileBytes: number;
  readonly fileLines: number;
  readonly totalBytes: number;
  readonly totalLines: number;
}

/**
 * Real configs are far below these: a distribution's chrony.conf is about
 * 2 KB and 50 lines, and the largest generated ones (long allow/restrict
 * lists, one file per pool in a sourcedir) run to thousands of lines and
 * some hundred KB. The caps leave a hundredfold margin over those, and still
 * stop a runaway file (an include of a log file or of /dev/zero, a generator
 * gone wrong) after a few MB, before parsing it costs memory or time that
 * matters: 100 000 lines parse in a second or two.
 */
export const CONFIG_READ_LIMITS: ConfigReadLimits = Object.freeze({
  fileBytes: 1024 * 1024,
  fileLines: 20_000,
  totalBytes: 4 * 1024 * 1024,
  totalLines: 100_000,
});

/** A config file over a limit: where reading stopped, as `file:line`. */
export class ConfigLimitError extends Error {
  constructor(readonly file: string, readonly line: number, message: string) {
    super(message);
    this.name = 'ConfigLimitError';
  }
}

function sizeText(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB (${bytes} bytes)` : `${bytes} bytes`;
}

/**
 * Reads the files of one config (the main file, then each included file)
 * within `limits`, counting what has been read so far for the totals.
 */
export class ConfigFileReader {
  #bytes = 0;
  #lines = 0;
  constructor(readonly limits: ConfigReadLimits = CONFIG_READ_LIMITS) {}

  /**
   * The text of `path` (UTF-8).
   * @throws ConfigLimitError past a limit; FileReadError or the errno error when it cannot be read.
   */
  read(path: string): string {
    const l = this.limits;
    const byteRoom = l.totalBytes - this.#bytes;
    const totalBytesBind = byteRoom < l.fileBytes;
    const r = readRegularFile(path, Math.max(0, Math.min(l.fileBytes, byteRoom)));
    const text = r.data.toString('utf8');
    // Whichever limit the reading met first: the lines one when it comes before the byte cut.
    const lines = countLines(text);
    const lineRoom = l.totalLines - this.#lines;
    const maxLines = Math.min(l.fileLines, lineRoom);
    if (lines > maxLines) {
      const what = lineRoom < l.fileLines
        ? `a config with the files it includes may hold at most ${l.totalLines} lines in all`
        : `a config file may hold at most ${l.fileLines} lines`;
      throw new ConfigLimitError(path, Math.max(1, maxLines + 1), `stopped reading: ${what}`);
    }
    if (r.truncated) {
      const what = totalBytesBind
        ? `a config with the files it includes may hold at most ${sizeText(l.totalBytes)} in all`
        : `a config file may hold at most ${sizeText(l.fileBytes)}`;
      throw new ConfigLimitError(path, Math.max(1, text.endsWith('\n') ? lines + 1 : lines), `stopped reading: ${what}`);
    }
    this.#bytes += r.data.length;
    this.#lines += lines;
    return text;
  }
}

/** Why the main config file `path` could not be read, as a diagnostic. */
export function readFailure(path: string, e: unknown): ConfigDiagnostic {
  return e instanceof ConfigLimitError ? { file: e.file, line: e.line, message: e.message } : { file: path, line: 0, message: `cannot read: ${describeError(e)}` };
}
