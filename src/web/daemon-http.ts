/**
 * The daemon's HTTP service: keeps the dashboard's history sampled and the
 * HTTP server listening on the configured address, restarting it only when
 * that address changes (SIGHUP). The history and the metrics exporter live as
 * long as the daemon, so a restart of the listener loses no plot.
 *
 * A failure to listen is logged and the daemon goes on synchronizing, as
 * with the control socket: metrics and the dashboard are for watching the
 * clock, and an occupied port must never stop the clock being kept (a
 * Prometheus scrape that fails shows the problem: its `up` goes to 0).
 *
 * The HTTP server, the dashboard's assets and the metrics exporter are loaded
 * the first time an address is set: prom-client's process metrics watch the
 * event loop's lag with a timer that fires every 10 ms, and a daemon without
 * the dashboard must not pay for that (nor hold the modules in memory).
 */
import { messageWithCode } from '../config/bounded-read.js';
import type { HttpAddress } from '../config/config.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import type { ServerStats } from '../core/server/server-stats.js';
import type { MetricsExporter } from '../metrics/prometheus.js';
import type { DashboardAsset } from './assets.js';
import { DEFAULT_HISTORY_CAPACITY, History } from './history.js';
import { httpUrl } from './http-address.js';
import type { RunningHttpServer } from './http-server.js';

/** What the service reads from the daemon (SyncDaemon fits). */
export interface DaemonHttpSource {
  snapshot(): DaemonSnapshot;
  /**
   * The server's statistics as the control socket's `serverstats` reads them
   * (NTS-KE figures included), or null when not serving NTP. Read at every
   * use: a reload may replace the servers.
   */
  serverStats(): ServerStats | null;
}

export interface DaemonHttpOptions {
  readonly log: (line: string) => void;
  /** Default 2000 ms. */
  readonly sampleIntervalMs?: number;
  readonly historyCapacity?: number;
  /** Default Date.now (tests). */
  readonly now?: () => number;
}

function same(a: HttpAddress | null, b: HttpAddress | null): boolean {
  return a === b || (a !== null && b !== null && a.address === b.address && a.port === b.port);
}

export class DaemonHttp {
  readonly history: History;
  readonly #source: DaemonHttpSource;
  readonly #opts: DaemonHttpOptions;
  /** Created with the first listener and kept: a restarted listener serves the same exporter. */
  #metrics: MetricsExporter | null = null;
  #assets: ReadonlyMap<string, DashboardAsset> | null = null;
  #wanted: HttpAddress | null = null;
  #hosts: ReadonlySet<string> = new Set();
  #server: RunningHttpServer | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  /** Serializes apply() and close(): a reload during startup waits its turn. */
  #queue: Promise<void> = Promise.resolve();

  constructor(source: DaemonHttpSource, opts: DaemonHttpOptions) {
    this.#source = source;
    this.#opts = opts;
    this.history = new History(opts.historyCapacity ?? DEFAULT_HISTORY_CAPACITY);
  }

  /** The running server, or null (off, or it could not listen). */
  get server(): RunningHttpServer | null { return this.#server; }

  /**
   * Listens on `address` (null: not at all), answering for `hosts` besides
   * the address itself (http-server.ts allowedHosts). Unchanged address:
   * the listener stays, even if the last attempt failed (a reload with the
   * same config is not a retry); the names apply at once either way.
   * Never rejects.
   */
  apply(address: HttpAddress | null, hosts: readonly string[] = []): Promise<void> {
    this.#queue = this.#queue.then(() => {
      this.#hosts = new Set(hosts);
      return this.#apply(address);
    });
    return this.#queue;
  }

  /** Stops the server and the sampling. */
  close(): Promise<void> {
    this.#queue = this.#queue.then(async () => {
      this.#stopSampling();
      await this.#server?.close();
      this.#server = null;
      this.#wanted = null;
    });
    return this.#queue;
  }

  #stats(): ServerStats | null {
    return this.#source.serverStats();
  }

  async #apply(address: HttpAddress | null): Promise<void> {
    const { log } = this.#opts;
    if (same(address, this.#wanted)) return;
    this.#wanted = address;
    if (this.#server !== null) {
      await this.#server.close();
      log(`Stopped serving the dashboard and metrics at ${this.#server.url}`);
      this.#server = null;
    }
    if (address === null) { this.#stopSampling(); return; }
    const interval = this.#opts.sampleIntervalMs ?? 2000;
    try {
      const [{ loadDashboardAssets }, { startHttpServer }, { createMetricsExporter }] = await Promise.all([
        import('./assets.js'), import('./http-server.js'), import('../metrics/prometheus.js')]);
      this.#assets ??= await loadDashboardAssets();
      this.#metrics ??= createMetricsExporter({ snapshot: () => this.#source.snapshot(), serverStats: () => this.#stats() });
      this.#server = await startHttpServer({
        address: address.address, port: address.port,
        snapshot: () => this.#source.snapshot(), serverStats: () => this.#stats(),
        metrics: this.#metrics, history: this.history, sampleIntervalSeconds: interval / 1000, assets: this.#assets,
        allowedHosts: () => this.#hosts,
        log: (m) => log(`HTTP server: ${m}`),
      });
    } catch (e) {
      log(`Cannot serve the dashboard and metrics at ${httpUrl(address.address, address.port)}: ${messageWithCode(e)}; the daemon goes on without them`);
      this.#stopSampling();
      return;
    }
    log(`Dashboard and metrics at ${this.#server.url}`);
    this.#startSampling(interval);
  }

  #sample(): void {
    const now = this.#opts.now ?? Date.now;
    try {
      this.history.record(now() / 1000, this.#source.snapshot(), this.#stats());
    } catch (e) {
      this.#opts.log(`Dashboard history: cannot sample: ${(e as Error).message}`);
    }
  }

  #startSampling(ms: number): void {
    if (this.#timer !== null) return;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), ms);
    // The daemon's own sockets and timers keep it alive; this one must not hold up an exit.
    this.#timer.unref();
  }

  #stopSampling(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
