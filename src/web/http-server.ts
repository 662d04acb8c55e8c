/**
 * The daemon's HTTP server: Prometheus metrics at /metrics, the dashboard at /
 * and the JSON it reads at /api/snapshot and /api/history.
 *
 * Read-only by design: GET and HEAD only (405 otherwise), no request body is
 * read, and files are served from a fixed table loaded at startup, never from
 * a path taken from the URL, so no URL can reach another file.
 *
 * Answers only requests whose Host names this server (host-check.ts), so a
 * page elsewhere cannot read it through DNS rebinding. Slow or idle clients
 * cannot hold it: headers must arrive within HTTP_LIMITS.headersTimeoutMs,
 * and a new connection finding every slot taken closes the connection idle
 * the longest (net/connection-slots.ts) rather than being turned away.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ConnectionSlots } from '../net/connection-slots.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import { VERDICT_SYMBOL } from '../core/engine/snapshot.js';
import { type ServerStats, serverStatsToJson } from '../core/server/server-stats.js';
import type { MetricsExporter } from '../metrics/prometheus.js';
import type { DashboardAsset } from './assets.js';
import type { History } from './history.js';
import { hostAllowed } from './host-check.js';
import { httpUrl } from './http-address.js';
import { listenExclusive } from './http-listen.js';

export interface HttpServerOptions {
  readonly address: string;
  /** 0: any free port (tests). */
  readonly port: number;
  snapshot(): DaemonSnapshot;
  serverStats(): ServerStats | null;
  readonly metrics: MetricsExporter;
  /** Sampled by the caller; read here. */
  readonly history: History;
  /** Seconds between history samples, told to the page so it polls at that pace. */
  readonly sampleIntervalSeconds: number;
  /** The dashboard's files by URL path (assets.ts loadDashboardAssets). */
  readonly assets: ReadonlyMap<string, DashboardAsset>;
  /**
   * Names answered besides the bound address and, on loopback, `localhost`
   * (normalizeHttpHost's form). Read at each request, so a reload applies
   * without a restart. Default: none.
   */
  readonly allowedHosts?: () => ReadonlySet<string>;
  /** Errors while answering (a failing exporter); the request gets a 500; refused Hosts, at most one line a minute. */
  readonly log?: (line: string) => void;
}

/**
 * Timeouts and connection limits. A dashboard polls every 2 s over one or
 * two keep-alive connections, a scraper every 15 s or so: a client that has
 * not sent its headers in 5 s is not one of them.
 */
export const HTTP_LIMITS = Object.freeze({
  /** The whole request head must arrive within this. */
  headersTimeoutMs: 5_000,
  /** The whole request, likewise (GET and HEAD have no body to wait for). */
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  /** How often Node looks for connections past those timeouts (its default, 30 s, let them live 6 times longer). */
  checkIntervalMs: 500,
  maxConnections: 128,
  /** From one client address, so one client cannot push out everyone else's idle keep-alive connections. */
  maxConnectionsPerAddress: 32,
});

/** Refused Hosts are logged at most this often: the header is the client's to choose. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

export interface RunningHttpServer {
  readonly address: string;
  /** The bound port (the real one when 0 was asked). */
  readonly port: number;
  /** `http://ADDRESS:PORT/` */
  readonly url: string;
  /** Stops listening and drops open connections (browsers keep them alive). */
  close(): Promise<void>;
}

/** Headers every answer carries: no sniffing, and the page may load only its own files. */
const COMMON_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
} as const;

/** The whole URL, query included; longer ones get 414 (Node caps the headers at 16 KiB anyway). */
const MAX_URL_LENGTH = 2048;

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': type, 'Content-Length': String(buf.length), ...headers });
  res.end(req.method === 'HEAD' ? undefined : buf);
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const NO_STORE = { 'Cache-Control': 'no-store' };

function sendJson(req: IncomingMessage, res: ServerResponse, value: unknown): void {
  send(req, res, 200, JSON_TYPE, JSON.stringify(value), NO_STORE);
}

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  const log = opts.log ?? (() => {});
  const allowedHosts = opts.allowedHosts ?? (() => new Set<string>());
  let lastRefusalLog = -Infinity;
  let refusedSinceLog = 0;

  /** Whether the request's Host names this server; if not, it has been answered (400 or 421). */
  const hostChecked = (req: IncomingMessage, res: ServerResponse): boolean => {
    const host = req.headers.host;
    const local = { address: req.socket.localAddress ?? '', port: req.socket.localPort ?? 0 };
    if (hostAllowed(host, local, allowedHosts())) return true;
    if (host === undefined || host === '') {
      send(req, res, 400, TEXT, 'Bad request: a Host header is required\n');
      return false;
    }
    // 421 Misdirected Request (RFC 9110 15.5.20): this server is not the one the Host names. Not 403:
    // nothing about the client is refused, and the same request with this server's address is answered.
    send(req, res, 421, TEXT, `Misdirected request: this server does not answer for the host in the Host header. Use its address (${httpUrl(local.address, local.port)}), or list the name with the httphost directive or --http-host\n`);
    refusedSinceLog++;
    const now = Date.now();
    if (now - lastRefusalLog >= REFUSAL_LOG_INTERVAL_MS) {
      log(`refused ${refusedSinceLog} request${refusedSinceLog === 1 ? '' : 's'} for a host it does not answer (the last: Host ${JSON.stringify(host.slice(0, 100))}); list a name the dashboard is reached by with httphost or --http-host`);
      lastRefusalLog = now;
      refusedSinceLog = 0;
    }
    return false;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostChecked(req, res)) return;
    const raw = req.url ?? '';
    if (raw.length > MAX_URL_LENGTH) { send(req, res, 414, TEXT, 'URI too long\n'); return; }
    if (!raw.startsWith('/')) { send(req, res, 400, TEXT, 'Bad request: the target must be a path\n'); return; }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(req, res, 405, TEXT, `Method ${req.method ?? ''} not allowed: this server is read-only\n`, { Allow: 'GET, HEAD' });
      return;
    }
    let url: URL;
    try {
      url = new URL(raw, 'http://localhost');
    } catch {
      send(req, res, 400, TEXT, 'Bad request: cannot parse the URL\n');
      return;
    }
    const path = url.pathname;
    if (path === '/metrics') {
      const body = await opts.metrics.render();
      send(req, res, 200, opts.metrics.contentType, body, NO_STORE);
      return;
    }
    if (path === '/api/snapshot') {
      const stats = opts.serverStats();
      sendJson(req, res, {
        snapshot: opts.snapshot(),
        serverStats: stats === null ? null : serverStatsToJson(stats),
        verdictSymbols: VERDICT_SYMBOL,
        sampleIntervalSeconds: opts.sampleIntervalSeconds,
      });
      return;
    }
    if (path === '/api/history') {
      const since = url.searchParams.get('since');
      const t = since === null ? -Infinity : Number(since);
      if (since !== null && (since.trim() === '' || !Number.isFinite(t))) {
        send(req, res, 400, TEXT, `Bad request: since must be Unix seconds, got "${since.slice(0, 40)}"\n`);
        return;
      }
      sendJson(req, res, opts.history.columns(t));
      return;
    }
    const asset = opts.assets.get(path);
    if (asset !== undefined) {
      if (req.headers['if-none-match'] === asset.etag) {
        res.writeHead(304, { ...COMMON_HEADERS, 'Cache-Control': 'no-cache', ETag: asset.etag });
        res.end();
        return;
      }
      // Revalidated each load so an upgrade shows at once; the files are small.
      send(req, res, 200, asset.type, asset.body, { 'Cache-Control': 'no-cache', ETag: asset.etag });
      return;
    }
    send(req, res, 404, TEXT, `Not found: ${path.slice(0, 200)}\n`);
  };

  const slots = new ConnectionSlots({ max: HTTP_LIMITS.maxConnections, maxPerKey: HTTP_LIMITS.maxConnectionsPerAddress });
  const server: Server = createServer({
    headersTimeout: HTTP_LIMITS.headersTimeoutMs,
    requestTimeout: HTTP_LIMITS.requestTimeoutMs,
    keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs,
    connectionsCheckingInterval: HTTP_LIMITS.checkIntervalMs,
  }, (req, res) => {
    const sock = req.socket;
    slots.busy(sock);
    res.once('close', () => slots.idle(sock));
    handle(req, res).catch((e: unknown) => {
      log(`HTTP ${req.method ?? ''} ${(req.url ?? '').slice(0, 200)}: ${(e as Error).message}`);
      if (!res.headersSent) send(req, res, 500, TEXT, 'Internal error; see the daemon log\n');
      else res.destroy();
    });
  });
  server.on('connection', (sock: Socket) => { slots.admit(sock, sock.remoteAddress ?? ''); });

  await listenExclusive(server, opts.address, opts.port);
  const bound = server.address() as AddressInfo;
  let closing: Promise<void> | null = null;
  return {
    address: bound.address,
    port: bound.port,
    url: httpUrl(bound.address, bound.port),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
