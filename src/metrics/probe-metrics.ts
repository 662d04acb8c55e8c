/**
 * The exposition of `ntpkit exporter` (docs/metrics.md, "The exporter"):
 * one probe's metrics for `/probe`, in blackbox_exporter's convention (a
 * registry of its own per probe, `*_probe_success` always present, the
 * target's identity left to Prometheus' `instance` label), and the
 * exporter's own for `/metrics`.
 *
 * Offsets keep fleet.ts's sign: positive when the probed server is ahead.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { reachCount } from '../core/tools/probe.js';
import type { ProbeResult, ProberStats } from '../daemon/exporter-prober.js';

/** Every failure reason gets a 0/1 series of ntpkit_probe_failure, so an alert can select on it. */
export const PROBE_FAILURES = ['bad-target', 'dns', 'unreachable', 'unsynchronized', 'kod', 'bad-reply', 'overloaded'] as const;

const bit = (b: boolean): number => (b ? 1 : 0);

/** One probe's metrics in the text format. */
export async function renderProbe(r: ProbeResult): Promise<{ contentType: string; body: string }> {
  const reg = new Registry();
  const g = (name: string, help: string, value: number | null, labelNames: readonly string[] = []): Gauge | null => {
    const gauge = new Gauge({ name, help, labelNames, registers: [reg] });
    if (value !== null && labelNames.length === 0) gauge.set(value);
    return gauge;
  };
  const a = r.answer;
  const v = r.verdict;
  g('ntpkit_probe_success', '1 when the server gave usable time (a valid, synchronized reply), else 0.', bit(v.success));
  g('ntpkit_probe_duration_seconds', 'How long the probe took, queueing included, seconds.', r.durationSeconds);
  const failure = g('ntpkit_probe_failure', '1 for the reason the probe failed (label reason), 0 for the others; all 0 on success.', null, ['reason']);
  for (const reason of PROBE_FAILURES) failure?.set({ reason }, bit(r.failure === reason));
  if (r.failure === 'bad-target' || r.failure === 'overloaded') return { contentType: reg.contentType, body: await reg.metrics() };

  g('ntpkit_probe_reachable', '1 when the server answered at all (even unsynchronized or with a kiss code), else 0.', bit(v.reachable));
  g('ntpkit_probe_requests_sent', 'NTP requests sent in this probe.', a.sent);
  g('ntpkit_probe_replies_valid', 'Valid replies received in this probe.', a.answered);
  if (r.reach !== null) {
    g('ntpkit_probe_reach_register', 'Reachability over the last 8 probes of this target by this exporter, newest in bit 0 (255: all answered).', r.reach);
    g('ntpkit_probe_reach_count', 'How many of the last 8 probes of this target were answered.', reachCount(r.reach));
  }
  if (v.synchronized !== null) g('ntpkit_probe_synchronized', '1 when the server answered with leap not 3 and stratum 1 to 15, else 0 (absent when it did not answer, or only with a kiss-o\'death).', bit(v.synchronized));
  if (a.stratum !== null) g('ntpkit_probe_stratum', 'Stratum in the reply used (16 or 0: unsynchronized).', a.stratum);
  if (a.leap !== null) g('ntpkit_probe_leap', 'Leap indicator in the reply used: 0 none, 1 insert, 2 delete, 3 unsynchronized.', a.leap);
  if (a.rootDelay !== null) g('ntpkit_probe_root_delay_seconds', 'Root delay the server reported, seconds.', a.rootDelay);
  if (a.rootDispersion !== null) g('ntpkit_probe_root_dispersion_seconds', 'Root dispersion the server reported, seconds.', a.rootDispersion);
  const m = a.measurement;
  if (m !== null) {
    g('ntpkit_probe_local_offset_seconds', 'The server\'s clock minus the exporter\'s, from the least-delay sample, seconds.', m.offset);
    g('ntpkit_probe_delay_seconds', 'Round-trip delay of the least-delay sample, seconds.', m.delay);
    g('ntpkit_probe_root_distance_seconds', 'Root distance: half the width of the server\'s correctness interval, seconds.', m.distance);
    if (a.jitter !== null) g('ntpkit_probe_jitter_seconds', 'RMS of the other samples\' offsets around the one used, seconds.', a.jitter);
  }
  const refs = r.references;
  if (refs === null) {
    if (m !== null) g('ntpkit_probe_offset_seconds', 'The server\'s clock minus the reference time (the references\' consensus with --ref, else the exporter\'s clock), seconds.', m.offset);
  } else {
    g('ntpkit_probe_references_answered', 'References (--ref) that gave usable time in the answer this probe was judged against.', refs.answered);
    g('ntpkit_probe_references_agreeing', 'References in the majority the probe was judged against (0: no consensus, and no verdict).', refs.agree);
    g('ntpkit_probe_references_age_seconds', 'Age of the references\' answer this probe was judged against, seconds.', refs.ageSeconds);
    if (v.referenceOffset !== null) g('ntpkit_probe_offset_seconds', 'The server\'s clock minus the reference time (the references\' consensus with --ref, else the exporter\'s clock), seconds.', v.referenceOffset);
    if (v.falseticker !== null) g('ntpkit_probe_falseticker', '1 when the server\'s correctness interval misses the references\' majority intersection, else 0.', bit(v.falseticker));
    if (v.outlier !== null) g('ntpkit_probe_outlier', '1 when the server is farther from the references\' consensus than the outlier limit, else 0.', bit(v.outlier));
    if (v.outlierLimit !== null) g('ntpkit_probe_outlier_limit_seconds', 'The outlier limit: --outlier, else the server\'s root distance, seconds.', v.outlierLimit);
  }
  return { contentType: reg.contentType, body: await reg.metrics() };
}

export interface ExporterMetrics {
  readonly contentType: string;
  /** Counts a finished probe. */
  observe(r: ProbeResult): void;
  render(): Promise<string>;
}

/** The exporter's own metrics, for `/metrics`. */
export function createExporterMetrics(stats: () => ProberStats): ExporterMetrics {
  const reg = new Registry();
  collectDefaultMetrics({ register: reg });
  const probes = new Counter({ name: 'ntpkit_exporter_probes_total', help: 'Probes answered, by result (success, or the failure reason).', labelNames: ['result'], registers: [reg] });
  const duration = new Histogram({
    name: 'ntpkit_exporter_probe_duration_seconds', help: 'How long probes took, queueing included, seconds.', registers: [reg],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  for (const result of ['success', ...PROBE_FAILURES]) probes.inc({ result }, 0);
  const inFlight = new Gauge({ name: 'ntpkit_exporter_probes_in_flight', help: 'Probes querying now.', registers: [reg] });
  const queued = new Gauge({ name: 'ntpkit_exporter_probes_queued', help: 'Probes waiting for a free slot (--max-concurrent).', registers: [reg] });
  const refQueries = new Counter({ name: 'ntpkit_exporter_reference_queries_total', help: 'Times the references were queried.', registers: [reg] });
  const sent = new Counter({ name: 'ntpkit_exporter_ntp_requests_sent_total', help: 'NTP requests sent, references included.', registers: [reg] });
  let counted = { referenceQueries: 0, requestsSent: 0 };
  const refAgree = new Gauge({ name: 'ntpkit_exporter_references_agreeing', help: 'References in the majority at their last query (absent without --ref or before the first probe).', registers: [reg] });
  return {
    contentType: reg.contentType,
    observe(r) {
      probes.inc({ result: r.failure ?? 'success' });
      duration.observe(r.durationSeconds);
    },
    async render() {
      const s = stats();
      inFlight.set(s.inFlight);
      queued.set(s.queued);
      // The prober counts; the counters catch up at each scrape.
      refQueries.inc(s.referenceQueries - counted.referenceQueries);
      sent.inc(s.requestsSent - counted.requestsSent);
      counted = { referenceQueries: s.referenceQueries, requestsSent: s.requestsSent };
      refAgree.reset();
      if (s.lastReferences !== null) refAgree.set(s.lastReferences.agree);
      return reg.metrics();
    },
  };
}
