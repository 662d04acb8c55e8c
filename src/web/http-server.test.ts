import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { VERDICT_SYMBOL } from '../core/engine/snapshot.js';
import type { MetricsExporter } from '../metrics/prometheus.js';
import { type DashboardAsset, loadDashboardAssets } from './assets.js';
import { History } from './history.js';
import { type RunningHttpServer, startHttpServer } from './http-server.js';
import { fakeSnapshot, fakeStats } from './test-snapshots.test-helper.js';

/** Stands for the Prometheus exporter: only its contract (content type, body) is under test here. */
const exporter: MetricsExporter = { contentType: 'text/plain; version=0.0.4; charset=utf-8', render: async () => 'ntpkit_test_metric 1\n' };
let failMetrics = false;
const history = new History(10);
let assets: ReadonlyMap<string, DashboardAsset>;
let server: RunningHttpServer;
const logged: string[] = [];

before(async () => {
  assets = await loadDashboardAssets();
  history.record(100, fakeSnapshot([{ id: 1 }]), fakeStats(10));
  history.record(102, fakeSnapshot([{ id: 1 }]), fakeStats(30));
  server = await startHttpServer({
    address: '127.0.0.1', port: 0,
    snapshot: () => fakeSnapshot([{ id: 1 }, { id: 2, verdict: 'falseticker' }]),
    serverStats: () => fakeStats(30, 3),
    metrics: { contentType: exporter.contentType, render: () => (failMetrics ? Promise.reject(new Error('registry broke')) : exporter.render()) },
    history, sampleIntervalSeconds: 2, assets, log: (l) => logged.push(l),
    allowedHosts: () => new Set(['dash.example.net']),
  });
});
after(() => server.close());

const get = (path: string, init?: RequestInit): Promise<Response> => fetch(new URL(path, server.url), init);

/** The Host a browser sends for server.url. */
const host = (): string => `127.0.0.1:${server.port}`;

/** The raw answer to a hand-written request: fetch() normalizes dot segments before sending. */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(server.port, '127.0.0.1', () => s.end(request));
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

test('the server reports its real port and URL when asked for port 0', () => {
  assert.ok(server.port > 0);
  assert.equal(server.url, `http://127.0.0.1:${server.port}/`);
});

test('/metrics: the exporter\'s content type and body, not cached', async () => {
  const r = await get('/metrics');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), exporter.contentType);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.equal(await r.text(), 'ntpkit_test_metric 1\n');
});

test('/metrics: an exporter failure is a 500 and a log line, and the server keeps serving', async () => {
  failMetrics = true;
  try {
    const r = await get('/metrics');
    assert.equal(r.status, 500);
    assert.match(await r.text(), /Internal error/);
    assert.ok(logged.some((l) => /GET \/metrics: registry broke/.test(l)), logged.join('\n'));
  } finally {
    failMetrics = false;
  }
  assert.equal((await get('/metrics')).status, 200);
});

test('/api/snapshot: the snapshot unchanged, server stats, the verdict symbols and the sample interval', async () => {
  const r = await get('/api/snapshot');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const body = await r.json() as Record<string, unknown>;
  assert.deepEqual(body.snapshot, JSON.parse(JSON.stringify(fakeSnapshot([{ id: 1 }, { id: 2, verdict: 'falseticker' }]))));
  assert.equal((body.serverStats as { ntpPacketsDropped: number }).ntpPacketsDropped, 3);
  assert.deepEqual(body.verdictSymbols, VERDICT_SYMBOL);
  assert.equal(body.sampleIntervalSeconds, 2);
});

test('/api/history: all rows, rows after ?since=, and a 400 for a since that is not a number', async () => {
  const all = await (await get('/api/history')).json() as { t: number[]; server: { requestsPerSecond: (number | null)[] } };
  assert.deepEqual(all.t, [100, 102]);
  assert.deepEqual(all.server.requestsPerSecond, [null, 10]);
  const newer = await (await get('/api/history?since=100')).json() as { t: number[] };
  assert.deepEqual(newer.t, [102]);
  for (const bad of ['abc', '', 'Infinity']) {
    const r = await get(`/api/history?since=${bad}`);
    assert.equal(r.status, 400, bad);
    assert.match(await r.text(), /since must be Unix seconds/);
  }
});

test('the dashboard page, its script and style, and uPlot\'s files are served with their types', async () => {
  for (const [path, type, needle] of [
    ['/', 'text/html; charset=utf-8', '<h1>ntpkit</h1>'],
    ['/index.html', 'text/html; charset=utf-8', '/dashboard.js'],
    ['/dashboard.js', 'text/javascript; charset=utf-8', '/api/history'],
    ['/dashboard.css', 'text/css; charset=utf-8', '.plots'],
    ['/uplot/uPlot.iife.min.js', 'text/javascript; charset=utf-8', 'uPlot'],
    ['/uplot/uPlot.min.css', 'text/css; charset=utf-8', '.uplot'],
  ] as const) {
    const r = await get(path);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers.get('content-type'), type, path);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.ok((await r.text()).includes(needle), `${path} lacks ${needle}`);
  }
});

test('a file asked with its ETag gets 304 and no body', async () => {
  const first = await get('/dashboard.js');
  const etag = first.headers.get('etag') ?? '';
  assert.match(etag, /^"[\w-]+"$/);
  const again = await get('/dashboard.js', { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  assert.equal(await again.text(), '');
});

test('HEAD: the headers of GET, with Content-Length, and no body', async () => {
  for (const path of ['/', '/api/snapshot', '/metrics']) {
    const g = await get(path);
    const gBody = Buffer.from(await g.arrayBuffer());
    const answer = await raw(`HEAD ${path} HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`);
    const [head, body] = answer.split('\r\n\r\n') as [string, string];
    assert.match(head, /^HTTP\/1\.1 200 OK/, path);
    assert.match(head, new RegExp(`content-length: ${gBody.length}\\r?$`, 'im'), path);
    assert.equal(body, '', path);
  }
});

test('methods other than GET and HEAD get 405 with Allow', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
    const r = await get('/metrics', { method, ...(method === 'POST' || method === 'PUT' ? { body: 'x' } : {}) });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
  }
});

test('unknown paths are 404, and no traversal reaches a file', async () => {
  for (const path of ['/nope', '/api', '/api/snapshot/x', '/assets/dashboard/index.html', '/uplot/', '/uplot/package.json', '/dashboard.js/']) {
    assert.equal((await get(path)).status, 404, path);
  }
  for (const target of ['/../package.json', '/../../etc/passwd', '/uplot/../../../package.json', '/%2e%2e/%2e%2e/etc/passwd', '/..%2fpackage.json', '/uplot/..%2f..%2fpackage.json', '//etc/passwd']) {
    const answer = await raw(`GET ${target} HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 404 /, target);
    assert.doesNotMatch(answer, /"name": "ntpkit"|root:x:0/, target);
  }
});

test('a target that is not a path, or too long, is refused', async () => {
  assert.match(await raw(`GET http://example.invalid/metrics HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 400 /);
  assert.match(await raw(`GET /${'a'.repeat(3000)} HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 414 /);
});

test('a port in use: startHttpServer rejects with EADDRINUSE', async () => {
  await assert.rejects(startHttpServer({
    address: '127.0.0.1', port: server.port, snapshot: () => fakeSnapshot(), serverStats: () => null,
    metrics: exporter, history, sampleIntervalSeconds: 2, assets,
  }), { code: 'EADDRINUSE' });
});

test('close() drops kept-alive connections and is idempotent', async () => {
  const s = await startHttpServer({
    address: '127.0.0.1', port: 0, snapshot: () => fakeSnapshot(), serverStats: () => null,
    metrics: exporter, history, sampleIntervalSeconds: 2, assets,
  });
  const r = await fetch(new URL('/api/snapshot', s.url));
  assert.equal(((await r.json()) as { serverStats: unknown }).serverStats, null);
  await Promise.all([s.close(), s.close()]);
  await assert.rejects(fetch(new URL('/api/snapshot', s.url)));
});

test('Host: the bound address with its port, localhost on loopback and the listed names are answered; any other host gets 421', async () => {
  const status = async (hostHeader: string | null, version = '1.1'): Promise<string> => {
    const head = hostHeader === null ? '' : `Host: ${hostHeader}\r\n`;
    return (await raw(`GET /api/snapshot HTTP/${version}\r\n${head}Connection: close\r\n\r\n`)).split('\r\n')[0] as string;
  };
  const p = server.port;
  for (const ok of [`127.0.0.1:${p}`, `localhost:${p}`, `LOCALHOST:${p}`, `localhost.:${p}`, 'dash.example.net', `Dash.Example.Net:${p}`, 'dash.example.net:443']) {
    assert.equal(await status(ok), 'HTTP/1.1 200 OK', ok);
  }
  // A rebinding page's own name, the right address on another port, another loopback address, malformed Hosts.
  for (const bad of ['attacker.example', `attacker.example:${p}`, `127.0.0.1:${p + 1 > 65535 ? 1 : p + 1}`, '127.0.0.1', `127.0.0.2:${p}`, `[::1]:${p}`,
    `localhost:${p}x`, `dash.example.net.evil.example:${p}`, `127.0.0.1:${p}@attacker.example`]) {
    assert.equal(await status(bad), 'HTTP/1.1 421 Misdirected Request', bad);
  }
  const refused = await raw(`GET /metrics HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n`);
  assert.doesNotMatch(refused, /ntpkit_test_metric/, 'no data in a refusal');
  assert.match(refused, /httphost directive or --http-host/);
  // HTTP/1.0 may omit Host (1.1 may not, and Node refuses that itself): 400 either way.
  assert.match(await status(null, '1.0'), /^HTTP\/1\.[01] 400 /);
  assert.match(await status(null), /^HTTP\/1\.[01] 400 /);
  assert.ok(logged.some((l) => /^refused \d+ requests? for a host it does not answer \(the last: Host "attacker\.example(:\d+)?"\)/.test(l)), logged.join('\n'));
  assert.equal(logged.filter((l) => l.startsWith('refused ')).length, 1, 'one log line a minute at most');
});
