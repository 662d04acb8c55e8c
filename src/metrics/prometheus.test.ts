import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DROP_REASONS, NTS_KE_DROP_REASONS, type ServerStats } from '../core/server/server-stats.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import { parseExposition } from './exposition-parse.test-helper.js';
import { counters, SERVER_STATS, SNAPSHOT } from './metrics-fixtures.test-helper.js';
import { createMetricsExporter } from './prometheus.js';

const exporter = (snap: () => DaemonSnapshot, stats: () => ServerStats | null) => createMetricsExporter({ snapshot: snap, serverStats: stats });

test('tracking metrics carry the snapshot\'s values, as gauges', async () => {
  const e = exporter(() => SNAPSHOT, () => SERVER_STATS);
  assert.equal(e.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  const x = parseExposition(await e.render());
  assert.equal(x.value('ntpkit_tracking_synchronized'), 1);
  assert.equal(x.value('ntpkit_tracking_stratum'), 2);
  assert.equal(x.value('ntpkit_tracking_system_time_seconds'), -2e-6);
  assert.equal(x.value('ntpkit_tracking_last_offset_seconds'), 3e-6);
  assert.equal(x.value('ntpkit_tracking_rms_offset_seconds'), 5e-6);
  assert.equal(x.value('ntpkit_tracking_frequency_ppm'), -12.25);
  assert.equal(x.value('ntpkit_tracking_residual_frequency_ppm'), 0.002);
  assert.equal(x.value('ntpkit_tracking_skew_ppm'), 0.04);
  assert.equal(x.value('ntpkit_tracking_root_delay_seconds'), 5e-4);
  assert.equal(x.value('ntpkit_tracking_root_dispersion_seconds'), 3e-5);
  assert.equal(x.value('ntpkit_tracking_update_interval_seconds'), 64);
  assert.equal(x.value('ntpkit_tracking_reference_time_seconds'), 1700000087.5);
  assert.equal(x.value('ntpkit_tracking_reference_info', { reference_id: 'C0000201', reference_name: '192.0.2.1' }), 1);
  assert.equal(x.value('ntpkit_clock_info', { clock: 'virtual' }), 1);
  assert.deepEqual(x.find('ntpkit_tracking_leap_status').map((s) => [s.labels.status, s.value]),
    [['normal', 1], ['insert', 0], ['delete', 0], ['unsynchronized', 0]]);
  for (const name of ['ntpkit_tracking_synchronized', 'ntpkit_tracking_frequency_ppm', 'ntpkit_source_offset_seconds']) {
    assert.equal(x.types.get(name), 'gauge', name);
  }
});

test('per-source metrics: one-hot state, reach register and count, last sample; none for a sample never taken', async () => {
  const x = parseExposition(await exporter(() => SNAPSHOT, () => null).render());
  const sel = { name: 'ntp1.example', address: '192.0.2.1', kind: 'server' };
  const liar = { name: 'pool.example', address: '192.0.2.2', kind: 'pool' };
  const silent = { name: 'ntp3.example', address: '', kind: 'server' };
  const states = (l: Record<string, string>): string[] => x.find('ntpkit_source_state', l).filter((s) => s.value === 1).map((s) => s.labels.state as string);
  assert.deepEqual(states(sel), ['selected']);
  assert.deepEqual(states(liar), ['falseticker']);
  assert.deepEqual(states(silent), ['unusable']);
  assert.equal(x.find('ntpkit_source_state', sel).length, 6, 'one series per verdict');
  assert.equal(x.value('ntpkit_source_reach_register', sel), 255);
  assert.equal(x.value('ntpkit_source_reach_count', sel), 8);
  assert.equal(x.value('ntpkit_source_reach_count', liar), 4);
  assert.equal(x.value('ntpkit_source_reach_count', silent), 0);
  assert.equal(x.value('ntpkit_source_poll_interval_seconds', sel), 64);
  assert.equal(x.value('ntpkit_source_poll_interval_seconds', liar), 16);
  assert.equal(x.value('ntpkit_source_offset_seconds', sel), 1.5e-5);
  assert.equal(x.value('ntpkit_source_offset_seconds', liar), 2.5);
  assert.equal(x.value('ntpkit_source_delay_seconds', sel), 5e-4);
  assert.equal(x.value('ntpkit_source_error_seconds', sel), 3e-4);
  assert.equal(x.value('ntpkit_source_jitter_seconds', liar), 5e-6);
  assert.equal(x.value('ntpkit_source_root_distance_seconds', sel), 2.6e-4);
  assert.equal(x.value('ntpkit_source_last_rx_age_seconds', sel), 12.5);
  assert.equal(x.value('ntpkit_source_stratum', sel), 1);
  for (const name of ['ntpkit_source_offset_seconds', 'ntpkit_source_delay_seconds', 'ntpkit_source_last_rx_age_seconds']) {
    assert.equal(x.find(name, silent).length, 0, `no ${name} for a source with no sample`);
  }
});

test('sources that leave the snapshot leave the exposition', async () => {
  let snap: DaemonSnapshot = SNAPSHOT;
  const e = exporter(() => snap, () => null);
  assert.equal(parseExposition(await e.render()).find('ntpkit_source_reach_register').length, 3);
  snap = { ...SNAPSHOT, sources: SNAPSHOT.sources.slice(0, 1) };
  const x = parseExposition(await e.render());
  assert.deepEqual(x.find('ntpkit_source_reach_register').map((s) => s.labels.name), ['ntp1.example']);
});

test('server counters by reason and code, as counters; no server metric when the daemon does not serve', async () => {
  let stats: ServerStats | null = null;
  const e = exporter(() => SNAPSHOT, () => stats);
  const none = parseExposition(await e.render());
  assert.deepEqual(none.samples.filter((s) => s.name.startsWith('ntpkit_server_')), []);
  assert.deepEqual([...none.types.keys()].filter((n) => n.startsWith('ntpkit_server_')), [], 'not even HELP/TYPE lines');
  stats = SERVER_STATS;
  const x = parseExposition(await e.render());
  assert.equal(x.value('ntpkit_server_packets_received_total'), 1000);
  assert.equal(x.value('ntpkit_server_packets_replied_total'), 950);
  assert.equal(x.value('ntpkit_server_packets_dropped_total', { reason: 'rate-limited' }), 30);
  assert.equal(x.value('ntpkit_server_packets_dropped_total', { reason: 'too-short' }), 20);
  assert.equal(x.value('ntpkit_server_packets_dropped_total', { reason: 'denied' }), 0);
  assert.equal(x.find('ntpkit_server_packets_dropped_total').length, DROP_REASONS.length, 'every reason, zeros included');
  assert.equal(x.value('ntpkit_server_kod_sent_total', { code: 'RATE' }), 5);
  assert.equal(x.value('ntpkit_server_kod_sent_total', { code: 'DENY' }), 0);
  assert.equal(x.value('ntpkit_server_interleaved_replies_total'), 12);
  assert.equal(x.value('ntpkit_server_client_records_dropped_total'), 3);
  assert.equal(x.value('ntpkit_server_timestamps_held'), 40);
  assert.equal(x.value('ntpkit_server_nts_ke_connections_accepted_total'), 7);
  assert.equal(x.value('ntpkit_server_nts_ke_connections_dropped_total', { reason: 'timeout' }), 2);
  assert.equal(x.value('ntpkit_server_nts_ke_connections_dropped_total', { reason: 'tls-error' }), 1);
  assert.equal(x.value('ntpkit_server_nts_ke_connections_dropped_total', { reason: 'no-alpn' }), 0);
  assert.equal(x.find('ntpkit_server_nts_ke_connections_dropped_total').length, NTS_KE_DROP_REASONS.length, 'every reason, zeros included');
  for (const [name, type] of x.types) if (name.startsWith('ntpkit_server_') && name.endsWith('_total')) assert.equal(type, 'counter', name);
  stats = null;
  assert.equal(parseExposition(await e.render()).find('ntpkit_server_packets_received_total').length, 0, 'gone again when serving stops');
});

test('server counters only go up while the server\'s counters do', async () => {
  await fc.assert(fc.asyncProperty(fc.array(fc.record({ rx: fc.nat(50), reason: fc.constantFrom(...DROP_REASONS), drop: fc.nat(5), kod: fc.nat(2) }), { minLength: 1, maxLength: 8 }), async (steps) => {
    let rx = 0;
    let kod = 0;
    const dropped = new Map<string, number>();
    let stats = counters(() => {});
    const e = exporter(() => SNAPSHOT, () => stats);
    let prev = parseExposition(await e.render());
    for (const s of steps) {
      rx += s.rx;
      kod += s.kod;
      dropped.set(s.reason, (dropped.get(s.reason) ?? 0) + s.drop);
      stats = counters((c) => {
        c.received = rx;
        c.kodSent.RATE = kod;
        for (const [r, n] of dropped) c.dropped[r as keyof typeof c.dropped] = n;
      });
      const next = parseExposition(await e.render());
      for (const p of prev.samples.filter((x) => x.name.endsWith('_total') && x.name.startsWith('ntpkit_'))) {
        const n = next.value(p.name, p.labels);
        assert.ok(n >= p.value, `${p.name} ${JSON.stringify(p.labels)} went from ${p.value} to ${n}`);
      }
      assert.equal(next.value('ntpkit_server_packets_received_total'), rx);
      assert.equal(next.value('ntpkit_server_packets_dropped_total', { reason: s.reason }), dropped.get(s.reason));
      prev = next;
    }
  }), { numRuns: 30 });
});

test('Node process metrics are on the same registry; concurrent scrapes each see one snapshot', async () => {
  let n = 0;
  const e = exporter(() => ({ ...SNAPSHOT, tracking: { ...SNAPSHOT.tracking, stratum: ++n } }), () => null);
  const [a, b] = await Promise.all([e.render(), e.render()]);
  const xa = parseExposition(a);
  assert.ok(xa.find('process_cpu_user_seconds_total').length === 1);
  assert.ok(xa.find('nodejs_eventloop_lag_seconds').length === 1);
  assert.ok(xa.find('process_resident_memory_bytes').length <= 1);
  assert.deepEqual([xa.value('ntpkit_tracking_stratum'), parseExposition(b).value('ntpkit_tracking_stratum')], [1, 2]);
});
