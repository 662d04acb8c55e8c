/**
 * The dashboard's time series: a bounded ring of samples taken from the
 * daemon's snapshot and server statistics. Pure: the wiring feeds it a
 * snapshot, the stats and the time (every 2 s), so tests drive it directly.
 *
 * Served column-wise (one array per series, `null` where a source was absent),
 * which is the layout uPlot draws without conversion.
 */
import type { DaemonSnapshot, SourceVerdict } from '../core/engine/snapshot.js';
import type { ServerStats } from '../core/server/server-stats.js';

/** One hour at the wiring's 2 s interval. */
export const DEFAULT_HISTORY_CAPACITY = 1800;

interface SourcePoint {
  readonly name: string;
  readonly address: string | null;
  readonly offset: number | null;
  readonly delay: number | null;
  readonly jitter: number;
  readonly frequencyPpm: number;
  readonly reach: number;
  readonly verdict: SourceVerdict;
}

interface Row {
  /** Unix seconds. */
  readonly t: number;
  readonly systemTime: number;
  readonly lastOffset: number;
  readonly frequencyPpm: number;
  readonly skewPpm: number;
  readonly rootDistance: number;
  readonly requestsPerSecond: number | null;
  readonly dropsPerSecond: number | null;
  readonly sources: ReadonlyMap<number, SourcePoint>;
}

export interface SourceSeries {
  readonly id: number;
  /** The latest name and address seen for this id. */
  readonly name: string;
  readonly address: string | null;
  /** Offset of the source against our clock (RFC 5905 θ, the snapshot's sign), seconds. */
  readonly offset: (number | null)[];
  readonly delay: (number | null)[];
  readonly jitter: (number | null)[];
  /** Residual frequency of the source against our clock (sourcestats), ppm. */
  readonly frequencyPpm: (number | null)[];
  readonly reach: (number | null)[];
  readonly verdict: (SourceVerdict | null)[];
}

/** The JSON of /api/history. */
export interface HistoryColumns {
  /** Unix seconds of each row, increasing. */
  readonly t: number[];
  readonly tracking: {
    readonly systemTime: number[];
    readonly lastOffset: number[];
    readonly frequencyPpm: number[];
    readonly skewPpm: number[];
    readonly rootDistance: number[];
  };
  /** Every source present in at least one returned row, by id. */
  readonly sources: SourceSeries[];
  readonly server: {
    readonly requestsPerSecond: (number | null)[];
    readonly dropsPerSecond: (number | null)[];
  };
}

/** Six significant digits are more than a plot shows and keep the JSON about a third as long. */
function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : 0;
}

/**
 * Counter rate between two readings. A counter below its previous reading was
 * reset (the NTP server restarts on reload with new counters): as Prometheus'
 * rate(), the new reading counts from zero.
 */
function rate(prev: number, cur: number, dt: number): number {
  return round((cur >= prev ? cur - prev : cur) / dt);
}

export class History {
  readonly capacity: number;
  #rows: Row[] = [];
  /** Index of the oldest row once the ring is full. */
  #head = 0;
  #lastStats: { readonly t: number; readonly received: number; readonly dropped: number } | null = null;

  constructor(capacity = DEFAULT_HISTORY_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`Cannot create a history: capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number { return this.#rows.length; }

  /**
   * Adds one row. `t` is Unix seconds and must increase; a row at or before
   * the last one is ignored (a stepped wall clock would otherwise fold the
   * plots back on themselves) and false is returned.
   */
  record(t: number, snapshot: DaemonSnapshot, stats: ServerStats | null): boolean {
    const last = this.#newest();
    if (!Number.isFinite(t) || (last !== undefined && round3(t) <= last.t)) return false;
    let requestsPerSecond: number | null = null;
    let dropsPerSecond: number | null = null;
    if (stats === null) {
      this.#lastStats = null;
    } else {
      const prev = this.#lastStats;
      if (prev !== null && t > prev.t) {
        requestsPerSecond = rate(prev.received, stats.ntpPacketsReceived, t - prev.t);
        dropsPerSecond = rate(prev.dropped, stats.ntpPacketsDropped, t - prev.t);
      }
      this.#lastStats = { t, received: stats.ntpPacketsReceived, dropped: stats.ntpPacketsDropped };
    }
    const tr = snapshot.tracking;
    const sources = new Map<number, SourcePoint>();
    for (const s of snapshot.sources) {
      sources.set(s.id, {
        name: s.name,
        address: s.address,
        offset: s.lastSample === null ? null : round(s.lastSample.adjustedOffset),
        delay: s.lastSample === null ? null : round(s.lastSample.delay),
        jitter: round(s.jitter),
        frequencyPpm: round(s.stats.frequencyPpm),
        reach: s.reach,
        verdict: s.verdict,
      });
    }
    const row: Row = {
      t: round3(t),
      systemTime: round(tr.systemTime),
      lastOffset: round(tr.lastOffset),
      frequencyPpm: round(tr.frequencyPpm),
      skewPpm: round(tr.skewPpm),
      rootDistance: round(tr.rootDelay / 2 + tr.rootDispersion),
      requestsPerSecond,
      dropsPerSecond,
      sources,
    };
    if (this.#rows.length < this.capacity) {
      this.#rows.push(row);
    } else {
      this.#rows[this.#head] = row;
      this.#head = (this.#head + 1) % this.capacity;
    }
    return true;
  }

  /** The rows after `since` (Unix seconds; all rows when omitted), oldest first, as columns. */
  columns(since = -Infinity): HistoryColumns {
    const rows = this.#ordered().filter((r) => r.t > since);
    const out: HistoryColumns = {
      t: [],
      tracking: { systemTime: [], lastOffset: [], frequencyPpm: [], skewPpm: [], rootDistance: [] },
      sources: [],
      server: { requestsPerSecond: [], dropsPerSecond: [] },
    };
    const ids: number[] = [];
    const names = new Map<number, { name: string; address: string | null }>();
    for (const r of rows) {
      for (const [id, p] of r.sources) {
        if (!names.has(id)) ids.push(id);
        names.set(id, { name: p.name, address: p.address });
      }
    }
    ids.sort((a, b) => a - b);
    const series = ids.map((id): SourceSeries => ({
      id, ...(names.get(id) as { name: string; address: string | null }),
      offset: [], delay: [], jitter: [], frequencyPpm: [], reach: [], verdict: [],
    }));
    for (const r of rows) {
      out.t.push(r.t);
      out.tracking.systemTime.push(r.systemTime);
      out.tracking.lastOffset.push(r.lastOffset);
      out.tracking.frequencyPpm.push(r.frequencyPpm);
      out.tracking.skewPpm.push(r.skewPpm);
      out.tracking.rootDistance.push(r.rootDistance);
      out.server.requestsPerSecond.push(r.requestsPerSecond);
      out.server.dropsPerSecond.push(r.dropsPerSecond);
      for (const s of series) {
        const p = r.sources.get(s.id);
        s.offset.push(p?.offset ?? null);
        s.delay.push(p?.delay ?? null);
        s.jitter.push(p === undefined ? null : p.jitter);
        s.frequencyPpm.push(p === undefined ? null : p.frequencyPpm);
        s.reach.push(p === undefined ? null : p.reach);
        s.verdict.push(p === undefined ? null : p.verdict);
      }
    }
    out.sources.push(...series);
    return out;
  }

  #newest(): Row | undefined {
    if (this.#rows.length < this.capacity) return this.#rows[this.#rows.length - 1];
    return this.#rows[(this.#head + this.capacity - 1) % this.capacity];
  }

  #ordered(): Row[] {
    return this.#rows.length < this.capacity ? this.#rows.slice() : [...this.#rows.slice(this.#head), ...this.#rows.slice(0, this.#head)];
  }
}

/** Millisecond resolution for the time axis: a `since` the client echoes back then matches exactly. */
function round3(t: number): number {
  return Math.round(t * 1000) / 1000;
}
