/**
 * chrony's statistics logs in `logdir` (`log measurements statistics
 * tracking`): appended asynchronously, so the event loop never waits on the
 * disk; each file's queue is bounded and lines over the bound are dropped
 * (and counted) rather than held without limit. reopen() closes the files
 * so that logrotate can rename them and signal a reload; the next line
 * creates a new file.
 *
 * A file that cannot be written (a full disk, a lost directory) is reported
 * once, by name, for each episode: its lines are dropped and counted while
 * the failure lasts, every new batch tries again, and the first batch that
 * lands ends the episode with a line saying so. A batch that fails half-way
 * is cut back, so the file never holds a torn line.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { Buffer } from 'node:buffer';
import { dirname, join } from 'node:path';
import type { ClockUpdateEvent, MeasurementEvent } from '../core/engine/engine-api.js';
import {
  formatMeasurement, formatStatistics, formatTracking, logBanner, MEASUREMENTS_HEADER, STATISTICS_HEADER, TRACKING_HEADER,
} from '../core/engine/stats-log-format.js';

export type StatsLogEvent = MeasurementEvent | ClockUpdateEvent;

export interface StatsLogOptions {
  readonly dir: string;
  /** The config's `log` options; those other than (raw)measurements, statistics and tracking are not ours. */
  readonly log: readonly string[];
  /** chrony `logbanner`: entries between banners (0: none). */
  readonly banner: number;
  /** Told when a file cannot be written (once per file and episode), and when it can again. */
  readonly report: (message: string) => void;
  /** Bytes each file may hold queued before lines are dropped (default 1 MiB). */
  readonly maxQueuedBytes?: number;
}

/** Whether a config asks for any log this writer keeps. */
export function wantsStatsLogs(logdir: string | null, log: readonly string[]): boolean {
  return logdir !== null && log.some((o) => o === 'measurements' || o === 'rawmeasurements' || o === 'statistics' || o === 'tracking');
}

export class StatsLog {
  readonly dir: string;
  private readonly measurements: LogFile | null;
  private readonly statistics: LogFile | null;
  private readonly tracking: LogFile | null;

  constructor(o: StatsLogOptions) {
    this.dir = o.dir;
    const has = (name: string): boolean => o.log.includes(name);
    const file = (name: string, header: string): LogFile => new LogFile(o.report, join(o.dir, `${name}.log`), header, o.banner, o.maxQueuedBytes ?? 1 << 20);
    this.measurements = has('measurements') || has('rawmeasurements') ? file('measurements', MEASUREMENTS_HEADER) : null;
    this.statistics = has('statistics') ? file('statistics', STATISTICS_HEADER) : null;
    this.tracking = has('tracking') ? file('tracking', TRACKING_HEADER) : null;
  }

  /** Lines dropped because a queue was full or a file could not be written. */
  get dropped(): number {
    return this.files().reduce((n, f) => n + f.dropped, 0);
  }

  record(e: StatsLogEvent): void {
    if (e.type === 'clock-update') {
      this.tracking?.add(formatTracking(e));
      return;
    }
    if (this.measurements !== null) this.measurements.add(formatMeasurement(e));
    if (this.statistics !== null) {
      const line = formatStatistics(e);
      if (line !== null) this.statistics.add(line);
    }
  }

  /** Writes what is queued to the current files, closes them; later lines go to files opened anew (log rotation). */
  async reopen(): Promise<void> {
    await Promise.all(this.files().map((f) => f.reopen()));
  }

  /** Everything queued so far is written (or dropped, if it cannot be). */
  async flush(): Promise<void> {
    await Promise.all(this.files().map((f) => f.flush()));
  }

  async close(): Promise<void> {
    await Promise.all(this.files().map((f) => f.reopen()));
  }

  private files(): LogFile[] {
    return [this.measurements, this.statistics, this.tracking].filter((f): f is LogFile => f !== null);
  }
}

class LogFile {
  dropped = 0;
  private queue: string[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  /** Bumped by reopen(): a drain scheduled before it leaves its lines to the reopen's batch. */
  private generation = 0;
  private chain: Promise<void> = Promise.resolve();
  private handle: FileHandle | null = null;
  /** Entries in the current file, for the banner. */
  private entries = 0;
  /** Bytes of the current file that hold whole lines: a failed write is cut back to it. */
  private size = 0;
  /** Lines dropped since writing failed, or null while it works. */
  private failing: number | null = null;
  /** The queue overflowed: said once until the next reopen(). */
  private overflowReported = false;

  constructor(
    private readonly report: (message: string) => void,
    readonly path: string,
    private readonly header: string,
    private readonly banner: number,
    private readonly maxQueuedBytes: number,
  ) {}

  add(line: string): void {
    if (this.queuedBytes + line.length + 1 > this.maxQueuedBytes) {
      this.dropped++;
      if (this.failing !== null) this.failing++;
      if (!this.overflowReported && this.failing === null) this.report(`Cannot keep up writing ${this.path}: lines are being dropped`);
      this.overflowReported = true;
      return;
    }
    this.queue.push(line);
    this.queuedBytes += line.length + 1;
    if (this.scheduled) return;
    this.scheduled = true;
    const g = this.generation;
    this.chain = this.chain.then(() => {
      if (g !== this.generation) return;
      this.scheduled = false;
      return this.write(this.take());
    });
  }

  reopen(): Promise<void> {
    const batch = this.take();
    this.generation++;
    this.scheduled = false;
    this.chain = this.chain.then(async () => {
      await this.write(batch);
      await this.closeHandle();
      this.entries = 0;
      this.overflowReported = false;
    });
    return this.chain;
  }

  flush(): Promise<void> {
    return this.chain;
  }

  private take(): string[] {
    const b = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    return b;
  }

  private async write(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    let text = '';
    let entries = this.entries;
    for (const l of lines) {
      if (this.banner > 0 && entries % this.banner === 0) text += logBanner(this.header);
      text += `${l}\n`;
      entries++;
    }
    try {
      if (this.handle === null) {
        await mkdir(dirname(this.path), { recursive: true, mode: 0o755 });
        this.handle = await open(this.path, 'a', 0o644);
        this.size = (await this.handle.stat()).size;
      }
      const h = this.handle;
      // appendFile writes until done (one write(2) may take only part of it, as on a nearly full disk).
      await h.appendFile(text).catch(async (e: unknown) => {
        // Whatever part did land must go: the next line would follow a torn one.
        await h.truncate(this.size).catch(() => this.closeHandle());
        throw e;
      });
      this.size += Buffer.byteLength(text);
      this.entries = entries;
      if (this.failing !== null) {
        this.report(`Writing ${this.path} again (${this.failing} line${this.failing === 1 ? '' : 's'} dropped while it could not be written)`);
        this.failing = null;
      }
    } catch (e) {
      this.dropped += lines.length;
      if (this.failing === null) {
        const err = e as NodeJS.ErrnoException;
        this.report(`Cannot write ${this.path}: ${err.code !== undefined && !err.message.includes(err.code) ? `${err.code} ` : ''}${err.message}; its lines are dropped until it can be written again`);
        this.failing = 0;
      }
      this.failing += lines.length;
    }
  }

  private async closeHandle(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    await h?.close().catch(() => undefined);
  }
}
