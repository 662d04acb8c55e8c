/**
 * `ntpkit exporter` under the real Prometheus server (Debian's), configured
 * with contrib/prometheus/ntpkit-fleet-prometheus.yml and its alert rules
 * (only the addresses, the intervals and the alerts' `for` shortened):
 *
 * - 100 NTP servers on 127.0.56.1-100, port 12356: 97 honest and 1
 *   unsynchronized in one process of ntpkit servers (testing/fleet-servers.ts),
 *   and 2 `ntpkit server` processes under libfaketime, 2.5 s ahead and
 *   1.5 s behind (node:dgram, so both their receive and transmit timestamps
 *   come from the faked clock);
 * - 3 references (stratum 1) on 127.0.56.101-103 for the exporter's --ref,
 *   and 127.0.56.104 where nothing listens, as one more target;
 * - Prometheus scrapes every target through the exporter (file_sd, relabelled
 *   into /probe?target=) every 2 s and evaluates the rules every second.
 *
 * Then Prometheus' HTTP API must name the faketime server 2.5 s ahead as the
 * worst offset, within the bound its probe reports, and the alerts firing must
 * be exactly: both faketime servers as falsetickers, outliers and off by over
 * 100 ms, the unsynchronized one, and the silent address as unreachable.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FleetServerSpec } from '../testing/fleet-servers.js';
import { type ManagedProcess, spawnManaged } from '../testing/process.js';
import { spawnNtpkit } from '../testing/ntpkit-process.js';
import { findTool, interopVerdict, missingTools, toolPath } from '../testing/tools.js';

const NET = '127.0.56';
const PORT = 12356;
const addr = (i: number): string => `${NET}.${i}`;
const HONEST = Array.from({ length: 97 }, (_, i) => addr(i + 1));
const UNSYNCED = addr(98);
const AHEAD = { address: addr(99), offset: 2.5 };
const BEHIND = { address: addr(100), offset: -1.5 };
const REFS = [addr(101), addr(102), addr(103)];
const SILENT = addr(104);
const EXPORTER = addr(250);
const PROMETHEUS = `${addr(251)}:19056`;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const target = (a: string): string => `${a}:${PORT}`;

const verdict = interopVerdict(missingTools('prometheus', 'libfaketime'));
const procs: ManagedProcess[] = [];
let dir = '';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms: number, diag: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = (e as Error).message;
    }
    for (const p of procs) if (p.exitStatus() !== undefined) throw new Error(`${p.command} exited while waiting for ${what}: ${p.logs().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${last}\n${diag()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`http://${PROMETHEUS}${path}`);
  const body = await res.json() as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? res.status}`);
  return body.data;
}

interface VectorSample { metric: Record<string, string>; value: [number, string] }
const query = (q: string): Promise<VectorSample[]> => api<{ result: VectorSample[] }>(`/api/v1/query?query=${encodeURIComponent(q)}`).then((d) => d.result);

before(async () => {
  if (verdict.action !== 'run') return;
  dir = await mkdtemp(join(tmpdir(), 'ntpkit-exporter-prom-'));
  const specs: FleetServerSpec[] = [
    ...HONEST.map((address) => ({ address, port: PORT })),
    { address: UNSYNCED, port: PORT, unsynchronized: true },
    ...REFS.map((address) => ({ address, port: PORT, stratum: 1 })),
  ];
  await writeFile(join(dir, 'servers.json'), JSON.stringify(specs));
  procs.push(await spawnManaged(process.execPath, [fileURLToPath(new URL('../testing/fleet-servers.js', import.meta.url)), join(dir, 'servers.json')]));
  for (const f of [AHEAD, BEHIND]) {
    procs.push(await spawnNtpkit(['server', '--port', String(PORT), '--bindaddress', f.address, '--allow', '--local-stratum', '10'], {
      env: { LD_PRELOAD: toolPath('libfaketime'), FAKETIME: `${f.offset > 0 ? '+' : ''}${f.offset}`, FAKETIME_DONT_FAKE_MONOTONIC: '1', NTPKIT_UDP: 'dgram' },
    }));
  }
  const exporter = await spawnNtpkit(['exporter', '--listen', `${EXPORTER}:0`, ...REFS.flatMap((r) => ['--ref', target(r)]), '--timeout', '0.4', '--retries', '1']);
  procs.push(exporter);
  const [fleet, ahead, behind] = procs as [ManagedProcess, ManagedProcess, ManagedProcess];
  await waitFor('the NTP servers', async () => (fleet.logs().includes('ready') && ahead.logs().includes('serving') && behind.logs().includes('serving') ? true : undefined), 30_000);
  const url = await waitFor('the exporter', async () => /listening on (http:\S+)/.exec(exporter.logs())?.[1], 30_000);
  const listen = new URL(url).host;

  // The shipped configuration, with this test's addresses and a fast pace.
  const config = (await readFile(join(ROOT, 'contrib/prometheus/ntpkit-fleet-prometheus.yml'), 'utf8'))
    .replaceAll('127.0.0.1:9474', listen)
    .replace(/scrape_interval: 30s/, 'scrape_interval: 2s')
    .replace(/scrape_timeout: 10s/, 'scrape_timeout: 2s')
    .replace(/evaluation_interval: 30s/, 'evaluation_interval: 1s');
  assert.ok(config.includes(listen) && config.includes('scrape_interval: 2s') && config.includes('evaluation_interval: 1s'));
  const rules = (await readFile(join(ROOT, 'contrib/prometheus/ntpkit-fleet-alerts.yml'), 'utf8')).replace(/for: \d+[smh]/g, 'for: 0s');
  const targets = [...HONEST, UNSYNCED, AHEAD.address, BEHIND.address, SILENT].map(target);
  await writeFile(join(dir, 'ntpkit-fleet-prometheus.yml'), config);
  await writeFile(join(dir, 'ntpkit-fleet-alerts.yml'), rules);
  await writeFile(join(dir, 'ntpkit-fleet-targets.yml'), `- targets:\n${targets.map((t) => `    - ${t}`).join('\n')}\n  labels:\n    site: test\n`);
  procs.push(await spawnManaged(toolPath('prometheus'), [
    `--config.file=${join(dir, 'ntpkit-fleet-prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=${PROMETHEUS}`, '--log.level=warn',
  ]));
});

after(async () => {
  for (const p of procs.reverse()) await p.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

test('Prometheus scrapes 100 NTP servers through the exporter: the worst offset is the server 2.5 s ahead, and exactly the expected alerts fire', { timeout: 150_000 }, async (t) => {
  if (verdict.action === 'skip') { t.skip(verdict.reason); return; }
  if (verdict.action === 'fail') throw verdict.error;
  assert.ok(findTool('prometheus'));
  const logs = (): string => procs.map((p) => `--- ${p.command}\n${p.logs().slice(-2000)}`).join('\n');

  // Every target scraped, through the relabelling (instance = the NTP server, not the exporter).
  await waitFor('101 probed targets', async () => {
    const r = await query('count(ntpkit_probe_success{job="ntpkit-fleet"})');
    return Number(r[0]?.value[1]) === 101 ? true : undefined;
  }, 60_000, logs);
  const up = await query('up{job="ntpkit-fleet"}');
  assert.equal(up.length, 101);
  assert.ok(up.every((s) => s.value[1] === '1'), 'a failed probe is still a successful scrape');
  const success = await query('ntpkit_probe_success{job="ntpkit-fleet"} == 0');
  assert.deepEqual(success.map((s) => s.metric.instance).sort(), [target(UNSYNCED), target(SILENT)].sort());

  // The alerts: waited for until the set is the expected one (every rule is evaluated each second, without `for`).
  const expected = [
    ...[AHEAD, BEHIND].flatMap((f) => ['NtpFleetFalseticker', 'NtpFleetOutlier', 'NtpFleetOffsetHigh'].map((a) => `${a} ${target(f.address)}`)),
    `NtpFleetServerUnsynchronized ${target(UNSYNCED)}`,
    `NtpFleetServerUnreachable ${target(SILENT)}`,
  ].sort();
  let firing: string[] = [];
  try {
    await waitFor('the expected alerts', async () => {
      const d = await api<{ alerts: { labels: Record<string, string>; state: string }[] }>('/api/v1/alerts');
      firing = d.alerts.filter((a) => a.state === 'firing').map((a) => `${a.labels.alertname} ${a.labels.instance ?? ''}`).sort();
      return JSON.stringify(firing) === JSON.stringify(expected) ? true : undefined;
    }, 30_000);
  } catch {
    assert.deepEqual(firing, expected, logs());
  }

  // The worst offset, as an operator would ask for it.
  const worst = await query('topk(1, abs(ntpkit_probe_offset_seconds{job="ntpkit-fleet"}))');
  assert.equal(worst.length, 1);
  assert.equal(worst[0]?.metric.instance, target(AHEAD.address));
  // Each faketime server's offset from the references' consensus is its planted offset, within
  // its correctness interval plus the references' (root distances, as the probes report them).
  const refDistance = Math.max(...(await query('ntpkit_probe_root_distance_seconds{job="ntpkit-fleet"}')).map((s) => Number(s.value[1])));
  for (const f of [AHEAD, BEHIND]) {
    // One instant query: both series from the same scrape.
    const sel = `{job="ntpkit-fleet",instance="${target(f.address)}"}`;
    const [excess] = await query(`abs(ntpkit_probe_offset_seconds${sel} - ${f.offset}) - ntpkit_probe_root_distance_seconds${sel}`);
    const [off] = await query(`ntpkit_probe_offset_seconds${sel}`);
    assert.ok(excess !== undefined && Number(excess.value[1]) <= refDistance,
      `${f.address}: offset ${off?.value[1]} s, planted ${f.offset} s: beyond its root distance by ${excess?.value[1]} s, more than the largest root distance ${refDistance} s`);
  }
  const fleetWorst = await query('max(abs(ntpkit_probe_offset_seconds{job="ntpkit-fleet"} unless on(instance) ntpkit_probe_falseticker == 1))');
  const honestWorst = Number(fleetWorst[0]?.value[1]);
  assert.ok(honestWorst <= refDistance * 2, `the honest servers' worst offset ${honestWorst} s is within twice the largest root distance ${refDistance} s`);

  // The exporter's own metrics are scraped too, and count the probes.
  await waitFor('the exporter to count 101 probes', async () => {
    const probes = await query('sum(ntpkit_exporter_probes_total{job="ntpkit-exporter"})');
    return Number(probes[0]?.value[1]) >= 101 ? true : undefined;
  }, 10_000, logs);
});
