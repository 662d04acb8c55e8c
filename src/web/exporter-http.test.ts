/**
 * The exporter's HTTP side against ntpkit servers on loopback (127.0.56.x,
 * port 12357): answers, failures as metrics, the concurrency bound, Host.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { RunningNtpServer } from '../daemon/ntp-server.js';
import { createProber, type ProberOptions } from '../daemon/exporter-prober.js';
import { createExporterMetrics } from '../metrics/probe-metrics.js';
import { parseExposition } from '../metrics/exposition-parse.test-helper.js';
import { startFleetServers } from '../testing/fleet-servers.js';
import { type RunningExporterHttp, startExporterHttp } from './exporter-http.js';

const PORT = 12357;
const SERVER = '127.0.56.120';
const AHEAD = '127.0.56.121';
const REFS = ['127.0.56.122', '127.0.56.123', '127.0.56.124'];
const SILENT = '127.0.56.125';
let servers: RunningNtpServer[] = [];

before(async () => {
  servers = await startFleetServers([
    { address: SERVER, port: PORT },
    { address: AHEAD, port: PORT, offset: 0.75 },
    ...REFS.map((address) => ({ address, port: PORT, stratum: 1 })),
  ]);
});
after(async () => { await Promise.all(servers.map((s) => s.close())); });

const BASE: ProberOptions = {
  references: REFS.map((host) => ({ host, port: PORT })), defaultPort: PORT, samples: 2, timeoutMs: 300, retries: 1,
  version: 4, family: 0, maxConcurrent: 8, maxQueued: 8, refMaxAgeMs: 10_000,
  query: { lookup: async (h) => { throw Object.assign(new Error(`no DNS in tests: ${h}`), { code: 'ENOTFOUND' }); } },
};

async function withExporter(o: Partial<ProberOptions>, fn: (h: RunningExporterHttp) => Promise<void>): Promise<void> {
  const prober = createProber({ ...BASE, ...o });
  const h = await startExporterHttp({ address: '127.0.56.126', port: 0, prober, metrics: createExporterMetrics(() => prober.stats()), defaultBudgetMs: 10_000 });
  try { await fn(h); } finally { await h.close(); }
}

function get(h: RunningExporterHttp, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: h.address, port: h.port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a probe of an honest and a planted server: their offsets from the references, and the falseticker verdict', async () => {
  await withExporter({}, async (h) => {
    const ok = await get(h, `/probe?target=${SERVER}`);
    assert.equal(ok.status, 200);
    const x = parseExposition(ok.body);
    assert.equal(x.value('ntpkit_probe_success'), 1);
    assert.equal(x.value('ntpkit_probe_falseticker'), 0);
    assert.equal(x.value('ntpkit_probe_references_agreeing'), 3);
    // Every server shares this clock: the honest one is within its own correctness interval plus the references'.
    assert.ok(Math.abs(x.value('ntpkit_probe_offset_seconds')) <= 2 * x.value('ntpkit_probe_root_distance_seconds'));
    assert.equal(x.value('ntpkit_probe_reach_register'), 1);
    const liar = parseExposition((await get(h, `/probe?target=${AHEAD}:${PORT}`)).body);
    assert.equal(liar.value('ntpkit_probe_falseticker'), 1);
    assert.equal(liar.value('ntpkit_probe_outlier'), 1);
    assert.ok(Math.abs(liar.value('ntpkit_probe_offset_seconds') - 0.75) <= 2 * liar.value('ntpkit_probe_root_distance_seconds'));
    // A second probe shifts the reach register.
    assert.equal(parseExposition((await get(h, `/probe?target=${SERVER}`)).body).value('ntpkit_probe_reach_register'), 3);
  });
});

test('targets that cannot be probed are metrics with ntpkit_probe_success 0 and the reason, never an HTTP error', async () => {
  await withExporter({}, async (h) => {
    for (const [t, reason] of [['bad:target:x', 'bad-target'], ['[nope]:1', 'bad-target'], ['no-such-host.invalid', 'dns'], [SILENT, 'unreachable']] as const) {
      const r = await get(h, `/probe?target=${encodeURIComponent(t)}`);
      assert.equal(r.status, 200, t);
      const x = parseExposition(r.body);
      assert.equal(x.value('ntpkit_probe_success'), 0, t);
      assert.equal(x.value('ntpkit_probe_failure', { reason }), 1, t);
      assert.equal(x.find('ntpkit_probe_failure').reduce((n, s) => n + s.value, 0), 1, t);
    }
    assert.equal((await get(h, '/probe')).status, 400);
    assert.equal((await get(h, '/nowhere')).status, 404);
    const m = parseExposition((await get(h, '/metrics')).body);
    assert.equal(m.value('ntpkit_exporter_probes_total', { result: 'bad-target' }), 2);
    assert.equal(m.value('ntpkit_exporter_probes_total', { result: 'unreachable' }), 1);
  });
});

test('concurrency is bounded: beyond --max-concurrent and --max-queued a probe is answered at once as overloaded', async () => {
  await withExporter({ maxConcurrent: 1, maxQueued: 1, timeoutMs: 2000 }, async (h) => {
    // The silent target holds the one slot for two timeouts, the second waits; the third cannot queue.
    const slow = [get(h, `/probe?target=${SILENT}`), get(h, `/probe?target=${SILENT}`)];
    const deadline = Date.now() + 3500;
    for (;;) {
      const m = parseExposition((await get(h, '/metrics')).body);
      if (m.value('ntpkit_exporter_probes_in_flight') === 1 && m.value('ntpkit_exporter_probes_queued') === 1) break;
      assert.ok(Date.now() < deadline, 'the two slow probes are not both in the exporter');
      await new Promise((r) => setTimeout(r, 10));
    }
    const third = parseExposition((await get(h, `/probe?target=${SERVER}`)).body);
    assert.equal(third.value('ntpkit_probe_failure', { reason: 'overloaded' }), 1);
    for (const r of await Promise.all(slow)) assert.equal(parseExposition(r.body).value('ntpkit_probe_failure', { reason: 'unreachable' }), 1);
    // The slots are free again.
    assert.equal(parseExposition((await get(h, `/probe?target=${SERVER}`)).body).value('ntpkit_probe_success'), 1);
  });
});

test('the scrape timeout bounds a probe: X-Prometheus-Scrape-Timeout-Seconds shortens the requests\' timeout', async () => {
  await withExporter({ timeoutMs: 5_000 }, async (h) => {
    const r = parseExposition((await get(h, `/probe?target=${SILENT}`, { 'X-Prometheus-Scrape-Timeout-Seconds': '1' })).body);
    assert.equal(r.value('ntpkit_probe_success'), 0);
    // Without the header: 2 attempts of 5 s. With it, the attempts share what is left of 1 s.
    assert.ok(r.value('ntpkit_probe_duration_seconds') < 5, `took ${r.value('ntpkit_probe_duration_seconds')} s`);
  });
});

test('a Host that does not name the exporter is refused (a probe sends packets: no DNS rebinding)', async () => {
  await withExporter({}, async (h) => {
    assert.equal((await get(h, `/probe?target=${SERVER}`, { Host: 'evil.example' })).status, 421);
    assert.equal((await get(h, '/', { Host: `${h.address}:${h.port}` })).status, 200);
  });
});

test('the references are queried once for the probes of a --ref-max-age window, however many run at once', async () => {
  await withExporter({}, async (h) => {
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => get(h, `/probe?target=${i % 2 === 0 ? SERVER : AHEAD}`)));
    for (const r of rs) assert.equal(parseExposition(r.body).value('ntpkit_probe_references_agreeing'), 3);
    const m = parseExposition((await get(h, '/metrics')).body);
    assert.equal(m.value('ntpkit_exporter_reference_queries_total'), 1);
    assert.equal(m.value('ntpkit_exporter_probes_total', { result: 'success' }), 12);
  });
});
