/**
 * contrib/prometheus/ntpkit-fleet-*.yml: Prometheus accepts them (promtool),
 * the rules use only metrics `ntpkit exporter` writes, and the fleet-wide
 * rules fire when they should (promtool's rule unit tests, on series written
 * here: the live test, src/cli/exporter-prometheus-interop.test.ts, cannot
 * make a whole fleet unsynchronized cheaply).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { referenceConsensus } from '../core/tools/fleet.js';
import { judgeProbe, type ProbeAnswer } from '../core/tools/probe.js';
import type { ProbeResult } from '../daemon/exporter-prober.js';
import { requireTool, toolPath } from '../testing/tools.js';
import { parseExposition } from './exposition-parse.test-helper.js';
import { renderProbe } from './probe-metrics.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG = `${ROOT}contrib/prometheus/ntpkit-fleet-prometheus.yml`;
const RULES = `${ROOT}contrib/prometheus/ntpkit-fleet-alerts.yml`;
const run = promisify(execFile);

/** Every metric a probe can write: one with references, answered. */
async function probeNames(): Promise<Set<string>> {
  const answer: ProbeAnswer = {
    measurement: { offset: 0.001, delay: 0.001, distance: 0.01 }, failure: null,
    stratum: 2, leap: 0, rootDelay: 0.001, rootDispersion: 0.001, jitter: 0.0001, sent: 3, answered: 3,
  };
  const c = referenceConsensus([0, 0, 0].map((offset) => ({ measurement: { offset, delay: 0.001, distance: 0.01 } })));
  const r: ProbeResult = {
    target: 'x', address: '192.0.2.1', answer, verdict: judgeProbe(answer, c), failure: null, message: null, reach: 255,
    references: { configured: 3, answered: 3, agree: 3, consensus: true, ageSeconds: 1 }, durationSeconds: 0.01,
  };
  return new Set(parseExposition((await renderProbe(r)).body).samples.map((s) => s.name));
}

test('the fleet alert rules use only metrics the exporter writes, each with a duration, a severity and a summary', async () => {
  const text = await readFile(RULES, 'utf8');
  const names = await probeNames();
  const alerts = [...text.matchAll(/^\s*- alert: (\S+)\n\s+expr: (.+)\n\s+for: (\S+)\n\s+labels:\n\s+severity: (\S+)\n\s+annotations:\n\s+summary: (.+)$/gm)];
  assert.deepEqual(alerts.map((m) => m[1]), [
    'NtpFleetExporterDown', 'NtpFleetServerUnreachable', 'NtpFleetProbeFailing', 'NtpFleetServerUnsynchronized', 'NtpFleetUnsynchronized',
    'NtpFleetFalseticker', 'NtpFleetOutlier', 'NtpFleetOffsetHigh',
  ]);
  for (const m of alerts) {
    assert.match(m[3] as string, /^\d+[smh]$/);
    assert.match(m[4] as string, /^(warning|critical)$/);
    for (const used of (m[2] as string).matchAll(/\bntpkit_[a-z0-9_]+/g)) assert.ok(names.has(used[0]), `${m[1]}: ${used[0]} is not written by a probe`);
  }
});

test('promtool accepts the fleet scrape configuration (relabelling, file_sd) and its rules', async (t) => {
  if (!requireTool(t, 'promtool')) return;
  const cfg = await run(toolPath('promtool'), ['check', 'config', CONFIG]);
  assert.match(cfg.stdout, /is valid prometheus config file syntax/);
  assert.match(cfg.stdout, /SUCCESS: 8 rules found/);
  const rules = await run(toolPath('promtool'), ['check', 'rules', RULES]);
  assert.match(rules.stdout, /SUCCESS: 8 rules found/);
});

test('promtool rule tests: a fleet mostly unsynchronized fires NtpFleetUnsynchronized, a healthy one does not; an outlier is found against the median', async (t) => {
  if (!requireTool(t, 'promtool')) return;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-fleet-rules-'));
  try {
    await writeFile(join(dir, 'rules.yml'), await readFile(RULES, 'utf8'));
    const series = (instance: string, name: string, values: string): string => `      - series: '${name}{job="ntpkit-fleet",instance="${instance}"}'\n        values: '${values}'`;
    // 4 hosts: a, b synchronized throughout; c, d synchronized for 10 minutes, then not.
    const hosts = ['a', 'b', 'c', 'd'];
    const lines = hosts.flatMap((h) => [
      series(h, 'ntpkit_probe_success', h < 'c' ? '1x30' : '1x10 0x20'),
      series(h, 'ntpkit_probe_synchronized', h < 'c' ? '1x30' : '1x10 0x20'),
      // d is 0.5 s ahead; the others within a microsecond or so.
      series(h, 'ntpkit_probe_offset_seconds', h === 'd' ? '0.5x30' : h === 'a' ? '0.000001x30' : '-0.000001x30'),
      series(h, 'ntpkit_probe_root_distance_seconds', '0.002x30'),
    ]);
    await writeFile(join(dir, 'test.yml'), `rule_files:
  - rules.yml
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
${lines.join('\n')}
    alert_rule_test:
      - eval_time: 9m
        alertname: NtpFleetUnsynchronized
        exp_alerts: []
      - eval_time: 25m
        alertname: NtpFleetUnsynchronized
        exp_alerts: []
      - eval_time: 25m
        alertname: NtpFleetServerUnsynchronized
        exp_alerts:
          - exp_labels: { severity: warning, job: ntpkit-fleet, instance: c }
            exp_annotations:
              summary: "NTP server c is not synchronized"
              description: "It answers with leap 3 or stratum 0/16: it has no time to give."
          - exp_labels: { severity: warning, job: ntpkit-fleet, instance: d }
            exp_annotations:
              summary: "NTP server d is not synchronized"
              description: "It answers with leap 3 or stratum 0/16: it has no time to give."
      - eval_time: 9m
        alertname: NtpFleetOutlier
        exp_alerts:
          - exp_labels: { severity: warning, job: ntpkit-fleet, instance: d }
            exp_annotations:
              summary: "NTP server d is an outlier in the fleet"
              description: "It is 500ms from the fleet's median offset, beyond its root distance and 10 ms."
`);
    // Two of four unsynchronized: half is not fewer than half.
    const r = await run(toolPath('promtool'), ['test', 'rules', join(dir, 'test.yml')]).catch((e: { stdout: string; stderr: string }) => e);
    assert.match(r.stdout, /SUCCESS/, `${r.stdout}\n${r.stderr}`);
    // Three of four unsynchronized: fires after its 5 minutes.
    const three = (await readFile(join(dir, 'test.yml'), 'utf8'))
      .replace(`ntpkit_probe_synchronized{job="ntpkit-fleet",instance="b"}'\n        values: '1x30'`, `ntpkit_probe_synchronized{job="ntpkit-fleet",instance="b"}'\n        values: '1x10 0x20'`)
      .replace(/(- eval_time: 25m\n\s+alertname: NtpFleetUnsynchronized\n\s+)exp_alerts: \[\]/, `$1exp_alerts:
          - exp_labels: { severity: critical }
            exp_annotations:
              summary: "Fewer than half of the NTP servers are synchronized"
              description: "Only 1 servers answer synchronized: a shared upstream or the network is failing."`)
      .replace(/(- eval_time: 25m\n\s+alertname: NtpFleetServerUnsynchronized\n\s+exp_alerts:\n)/, `$1          - exp_labels: { severity: warning, job: ntpkit-fleet, instance: b }
            exp_annotations:
              summary: "NTP server b is not synchronized"
              description: "It answers with leap 3 or stratum 0/16: it has no time to give."
`);
    assert.match(three, /instance="b"}'\n\s+values: '1x10 0x20'/);
    assert.match(three, /Fewer than half/);
    assert.match(three, /instance: b/);
    await writeFile(join(dir, 'test.yml'), three);
    const r3 = await run(toolPath('promtool'), ['test', 'rules', join(dir, 'test.yml')]).catch((e: { stdout: string; stderr: string }) => e);
    assert.match(r3.stdout, /SUCCESS/, `${r3.stdout}\n${r3.stderr}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
