/**
 * contrib/grafana/ntpkit.json and contrib/prometheus/ntpkit-alerts.yml use
 * only metrics the exporter really writes, so neither breaks silently when
 * a metric is renamed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseExposition } from './exposition-parse.test-helper.js';
import { SERVER_STATS, SNAPSHOT } from './metrics-fixtures.test-helper.js';
import { createMetricsExporter } from './prometheus.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DASHBOARD = `${ROOT}contrib/grafana/ntpkit.json`;
const ALERTS = `${ROOT}contrib/prometheus/ntpkit-alerts.yml`;

/** Metric names in PromQL text: our prefixes and Node's (Prometheus's own `up` is not ours to check). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:ntpkit|process|nodejs)_[a-zA-Z0-9_]+)/g)].map((m) => m[1] as string);
}

async function exported(): Promise<Set<string>> {
  const x = parseExposition(await createMetricsExporter({ snapshot: () => SNAPSHOT, serverStats: () => SERVER_STATS }).render());
  return new Set(x.samples.map((s) => s.name));
}

interface Panel { readonly title: string; readonly datasource?: { readonly uid?: string }; readonly targets?: readonly { readonly expr: string }[] }

test('the Grafana dashboard: a datasource variable, and every panel queries exported metrics through it', async () => {
  const dash = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { templating: { list: { name: string; type: string; query: unknown }[] }; panels: Panel[] };
  const ds = dash.templating.list.find((v) => v.type === 'datasource');
  assert.equal(ds?.query, 'prometheus');
  const names = await exported();
  const titles = dash.panels.map((p) => p.title);
  for (const want of ['Clock offset', 'Frequency', 'Skew', 'Root distance', 'Source offset', 'Source delay', 'Source jitter', 'Source reach (of the last 8 polls)', 'Server packets', 'Server drops and KoD']) {
    assert.ok(titles.includes(want), `a panel "${want}"`);
  }
  let used = 0;
  for (const p of dash.panels) {
    assert.equal(p.datasource?.uid, `\${${ds?.name}}`, `${p.title} uses the datasource variable`);
    assert.ok((p.targets ?? []).length > 0, `${p.title} has queries`);
    for (const t of p.targets ?? []) {
      const ms = metricNames(t.expr);
      assert.ok(ms.length > 0, `${p.title}: ${t.expr} names a metric`);
      for (const m of ms) { assert.ok(names.has(m), `${p.title}: ${m} is not exported`); used++; }
    }
  }
  assert.ok(used >= 20);
});

/** The alert rules, read with the little YAML this file uses: `- alert:` items with one-line scalars. */
function alertRules(text: string): Record<string, string>[] {
  const rules: Record<string, string>[] = [];
  let cur: Record<string, string> | null = null;
  for (const line of text.split('\n')) {
    const start = /^\s*- alert: (\S+)\s*$/.exec(line);
    if (start) { cur = { alert: start[1] as string }; rules.push(cur); continue; }
    const kv = /^\s+(expr|for|severity|summary|description): (.+)$/.exec(line);
    if (kv && cur) cur[kv[1] as string] = (kv[2] as string).replace(/^"(.*)"$/, '$1');
  }
  return rules;
}

test('the alert rules: each has an expression over exported metrics, a duration, a severity and a summary', async () => {
  const rules = alertRules(await readFile(ALERTS, 'utf8'));
  const names = await exported();
  assert.deepEqual(rules.map((r) => r.alert), [
    'NtpkitDown', 'NtpkitUnsynchronized', 'NtpkitOffsetHigh', 'NtpkitOffsetCritical', 'NtpkitNoReachableSource', 'NtpkitSourceReachLow',
    'NtpkitFalseticker', 'NtpkitFrequencyNearLimit', 'NtpkitServerDrops',
  ]);
  for (const r of rules) {
    assert.ok(r.expr, `${r.alert} has an expr`);
    assert.match(r.for ?? '', /^\d+[smh]$/, `${r.alert} has a duration`);
    assert.match(r.severity ?? '', /^(warning|critical)$/, `${r.alert} has a severity`);
    assert.ok(r.summary, `${r.alert} has a summary`);
    for (const m of metricNames(r.expr as string)) assert.ok(names.has(m), `${r.alert}: ${m} is not exported`);
  }
  assert.match(rules.find((r) => r.alert === 'NtpkitDown')?.expr ?? '', /^up\{/);
});

test('promtool check rules accepts the alert rules', async (t) => {
  const found = await promisify(execFile)('sh', ['-c', 'command -v promtool']).then(() => true, () => false);
  if (!found) { t.skip('promtool is not installed (Debian package prometheus)'); return; }
  const r = await promisify(execFile)('promtool', ['check', 'rules', ALERTS]);
  assert.match(r.stdout, /SUCCESS: 9 rules found/);
});
