/**
 * `ntpkit exporter`'s HTTP server: `/probe?target=HOST[:PORT]` probes one
 * NTP server and answers its metrics, `/metrics` the exporter's own, `/` a
 * short page saying so (blackbox_exporter's layout, so its Prometheus
 * recipes apply unchanged).
 *
 * A target that cannot be probed is still a 200 with
 * `ntpkit_probe_success 0`: Prometheus keeps `up` for the exporter and the
 * probe's verdict for the target apart. Only a request that names no target
 * is a 400. Read-only (GET and HEAD); the Host must name this server, as for
 * the daemon's dashboard (host-check.ts), because a probe sends packets: a
 * page elsewhere must not make a browser send them through DNS rebinding.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Prober } from '../daemon/exporter-prober.js';
import { type ExporterMetrics, renderProbe } from '../metrics/probe-metrics.js';
import { hostAllowed } from './host-check.js';
import { httpUrl } from './http-address.js';
import { listenExclusive } from './http-listen.js';

export interface ExporterHttpOptions {
  readonly address: string;
  /** 0: any free port (tests). */
  readonly port: number;
  readonly prober: Prober;
  readonly metrics: ExporterMetrics;
  /** Names answered besides the bound address (and `localhost` on loopback), as normalizeHttpHost gives them. */
  readonly allowedHosts?: ReadonlySet<string>;
  /** Probe budget when the scrape does not say (X-Prometheus-Scrape-Timeout-Seconds), ms. */
  readonly defaultBudgetMs: number;
  readonly log?: (line: string) => void;
}

export interface RunningExporterHttp {
  readonly address: string;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Prometheus sends one connection per target, kept alive: idle ones are many and cheap, slow heads are not welcome. */
const LIMITS = { headersTimeoutMs: 5_000, requestTimeoutMs: 120_000, keepAliveTimeoutMs: 65_000, maxConnections: 8192 } as const;
const MAX_URL_LENGTH = 2048;
const TEXT = 'text/plain; charset=utf-8';

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(buf.length), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(req.method === 'HEAD' ? undefined : buf);
}

const INDEX = `ntpkit exporter: a Prometheus multi-target exporter for NTP servers.

  /probe?target=HOST[:PORT]   queries one NTP server; its metrics (ntpkit_probe_*)
  /metrics                    the exporter's own metrics

The scrape configuration and alert rules: contrib/prometheus/ntpkit-fleet-*.yml in ntpkit's sources; docs/fleet.md.
`;

export async function startExporterHttp(o: ExporterHttpOptions): Promise<RunningExporterHttp> {
  const log = o.log ?? (() => {});
  const listed = o.allowedHosts ?? new Set<string>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const local = { address: req.socket.localAddress ?? '', port: req.socket.localPort ?? 0 };
    if (!hostAllowed(req.headers.host, local, listed)) {
      send(req, res, 421, TEXT, `Misdirected request: this exporter answers for ${httpUrl(local.address, local.port)} only; list other names with --http-host\n`);
      return;
    }
    const raw = req.url ?? '';
    if (raw.length > MAX_URL_LENGTH) { send(req, res, 414, TEXT, 'URI too long\n'); return; }
    if (req.method !== 'GET' && req.method !== 'HEAD') { send(req, res, 405, TEXT, 'Only GET and HEAD\n', { Allow: 'GET, HEAD' }); return; }
    let url: URL;
    try {
      url = new URL(raw, 'http://localhost');
    } catch {
      send(req, res, 400, TEXT, 'Bad request: cannot parse the URL\n');
      return;
    }
    if (url.pathname === '/probe') {
      const target = url.searchParams.get('target');
      if (target === null || target === '') { send(req, res, 400, TEXT, 'Bad request: the target parameter is missing (/probe?target=HOST[:PORT])\n'); return; }
      const header = Number(req.headers['x-prometheus-scrape-timeout-seconds']);
      const budgetMs = Number.isFinite(header) && header > 0 ? header * 1000 : o.defaultBudgetMs;
      const r = await o.prober.probe(target, { budgetMs });
      o.metrics.observe(r);
      const out = await renderProbe(r);
      send(req, res, 200, out.contentType, out.body);
      return;
    }
    if (url.pathname === '/metrics') { send(req, res, 200, o.metrics.contentType, await o.metrics.render()); return; }
    if (url.pathname === '/') { send(req, res, 200, TEXT, INDEX); return; }
    send(req, res, 404, TEXT, `Not found: ${url.pathname.slice(0, 200)}\n`);
  };

  const server: Server = createServer({
    headersTimeout: LIMITS.headersTimeoutMs, requestTimeout: LIMITS.requestTimeoutMs, keepAliveTimeout: LIMITS.keepAliveTimeoutMs, connectionsCheckingInterval: 1000,
  }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      log(`HTTP ${req.method ?? ''} ${(req.url ?? '').slice(0, 200)}: ${(e as Error).message}`);
      if (!res.headersSent) send(req, res, 500, TEXT, 'Internal error; see the exporter\'s log\n');
      else res.destroy();
    });
  });
  server.maxConnections = LIMITS.maxConnections;
  await listenExclusive(server, o.address, o.port);
  const bound = server.address() as AddressInfo;
  let closing: Promise<void> | null = null;
  return {
    address: bound.address, port: bound.port, url: httpUrl(bound.address, bound.port),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
