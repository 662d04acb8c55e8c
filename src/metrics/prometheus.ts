/**
 * Prometheus exposition of the daemon's one snapshot and its NTP server's
 * counters (docs/metrics.md lists every metric). prom-client writes the text
 * format; the values are read from the snapshot once per scrape, so one
 * scrape is one consistent state and the exporter keeps no state of its own.
 *
 * Names follow chrony_exporter's where one exists (`chrony_tracking_*`,
 * `chrony_sources_*`, `chrony_serverstats_*`), with the `ntpkit_` prefix and
 * units in the names. Offsets keep the snapshot's sign, RFC 5905's θ
 * (positive: the source is ahead of our clock), except the system time,
 * which is how far our clock is ahead, as chronyc's "System time".
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { DROP_REASONS, NTS_KE_DROP_REASONS, SERVER_KISS_CODES, type ServerStats } from '../core/server/server-stats.js';
import type { DaemonSnapshot, SourceSnapshot, SourceVerdict } from '../core/engine/snapshot.js';

export interface MetricsInputs {
  /** The daemon's one published state, read at scrape time. */
  snapshot(): DaemonSnapshot;
  /** The NTP server's counters, or null when the daemon does not serve. */
  serverStats(): ServerStats | null;
}

export interface MetricsExporter {
  /** The exposition format's Content-Type (prom-client's registry.contentType). */
  readonly contentType: string;
  /** The text exposition of every metric now. */
  render(): Promise<string>;
}

/** Every verdict becomes one 0/1 series of ntpkit_source_state, so a panel or alert can select on it. */
const VERDICTS: readonly SourceVerdict[] = ['selected', 'combined', 'not-combined', 'falseticker', 'jittery', 'unusable'];
const LEAP_STATUSES = ['normal', 'insert', 'delete', 'unsynchronized'] as const;
const SOURCE_LABELS = ['name', 'address', 'kind'] as const;

type SourceLabels = Record<(typeof SOURCE_LABELS)[number], string>;

export function createMetricsExporter(inputs: MetricsInputs): MetricsExporter {
  const main = new Registry();
  // Node's own process metrics (CPU, memory, event-loop lag, GC) under their usual names, which
  // the common Node.js dashboards expect.
  collectDefaultMetrics({ register: main });
  const server = new Registry();
  const updateTracking = trackingMetrics(main);
  const updateSources = sourceMetrics(main);
  const updateServer = serverMetrics(server);

  let last: Promise<unknown> = Promise.resolve();
  const renderNow = async (): Promise<string> => {
    const snap = inputs.snapshot();
    updateTracking(snap);
    updateSources(snap.sources);
    const stats = inputs.serverStats();
    const text = await main.metrics();
    if (stats === null) return text;
    updateServer(stats);
    return `${text}\n${await server.metrics()}`;
  };

  return {
    contentType: main.contentType,
    render(): Promise<string> {
      // One scrape at a time: the metrics are filled from one snapshot, then written out.
      const r = last.then(renderNow, renderNow);
      last = r.catch(() => undefined);
      return r;
    },
  };
}

function gauge(reg: Registry, name: string, help: string, labelNames: readonly string[] = []): Gauge {
  return new Gauge({ name, help, labelNames, registers: [reg] });
}

function counter(reg: Registry, name: string, help: string, labelNames: readonly string[] = []): Counter {
  return new Counter({ name, help, labelNames, registers: [reg] });
}

function trackingMetrics(reg: Registry): (s: DaemonSnapshot) => void {
  const clock = gauge(reg, 'ntpkit_clock_info', 'The clock the daemon disciplines (label clock: system, virtual or sim); always 1.', ['clock']);
  const synced = gauge(reg, 'ntpkit_tracking_synchronized', '1 when the clock is synchronized to a selected source, else 0.');
  const stratum = gauge(reg, 'ntpkit_tracking_stratum', 'Stratum of the local clock (0 while unsynchronized).');
  const ref = gauge(reg, 'ntpkit_tracking_reference_info', 'The reference the clock follows: its reference id (hex) and name; always 1.', ['reference_id', 'reference_name']);
  const leap = gauge(reg, 'ntpkit_tracking_leap_status', '1 for the current leap status (normal, insert, delete, unsynchronized), 0 for the others.', ['status']);
  const sysTime = gauge(reg, 'ntpkit_tracking_system_time_seconds', 'How far the clock is ahead of NTP time now (the correction still to be slewed, negated), seconds.');
  const lastOff = gauge(reg, 'ntpkit_tracking_last_offset_seconds', 'Offset measured at the last clock update, seconds (positive: the reference is ahead of the clock).');
  const rms = gauge(reg, 'ntpkit_tracking_rms_offset_seconds', 'Long-term RMS of the offsets at clock updates, seconds.');
  const freq = gauge(reg, 'ntpkit_tracking_frequency_ppm', 'Frequency correction applied to the clock, ppm (positive: sped up; chronyc prints it as "slow").');
  const resid = gauge(reg, 'ntpkit_tracking_residual_frequency_ppm', 'Residual frequency of the selected source against the clock, ppm.');
  const skew = gauge(reg, 'ntpkit_tracking_skew_ppm', 'Estimated error bound of the frequency, ppm.');
  const rootDelay = gauge(reg, 'ntpkit_tracking_root_delay_seconds', 'Total round-trip delay to the stratum-1 reference, seconds.');
  const rootDisp = gauge(reg, 'ntpkit_tracking_root_dispersion_seconds', 'Total dispersion to the stratum-1 reference, grown since the last update, seconds.');
  const interval = gauge(reg, 'ntpkit_tracking_update_interval_seconds', 'Seconds between the last two clock updates.');
  const refTime = gauge(reg, 'ntpkit_tracking_reference_time_seconds', 'Unix time of the last clock update, seconds (absent before the first).');
  return (s) => {
    const t = s.tracking;
    for (const g of [clock, ref, leap, refTime]) g.reset();
    clock.set({ clock: s.clock }, 1);
    synced.set(t.synchronized ? 1 : 0);
    stratum.set(t.stratum);
    ref.set({ reference_id: t.referenceId.toString(16).toUpperCase().padStart(8, '0'), reference_name: t.referenceName ?? '' }, 1);
    for (const st of LEAP_STATUSES) leap.set({ status: st }, t.leapStatus === st ? 1 : 0);
    sysTime.set(t.systemTime);
    lastOff.set(t.lastOffset);
    rms.set(t.rmsOffset);
    freq.set(t.frequencyPpm);
    resid.set(t.residualFreqPpm);
    skew.set(t.skewPpm);
    rootDelay.set(t.rootDelay);
    rootDisp.set(t.rootDispersion);
    interval.set(t.updateInterval);
    if (t.refTime !== null) refTime.set(Number(t.refTime));
  };
}

function sourceMetrics(reg: Registry): (sources: readonly SourceSnapshot[]) => void {
  const labels = SOURCE_LABELS;
  const state = gauge(reg, 'ntpkit_source_state', '1 for the source\'s selection verdict (label state: selected, combined, not-combined, falseticker, jittery, unusable), 0 for the others.', [...labels, 'state']);
  const reach = gauge(reg, 'ntpkit_source_reach_register', 'The 8-bit reachability register (377 octal = 255: the last 8 polls answered).', labels);
  const reachCount = gauge(reg, 'ntpkit_source_reach_count', 'How many of the last 8 polls were answered (bits set in the reach register).', labels);
  const stratum = gauge(reg, 'ntpkit_source_stratum', 'Stratum the source last reported (0 before it answered).', labels);
  const poll = gauge(reg, 'ntpkit_source_poll_interval_seconds', 'Current poll interval, seconds.', labels);
  const age = gauge(reg, 'ntpkit_source_last_rx_age_seconds', 'Seconds since the last good sample (absent before the first).', labels);
  const offset = gauge(reg, 'ntpkit_source_offset_seconds', 'Offset of the last sample, adjusted for clock updates since, seconds (positive: the source is ahead of the clock).', labels);
  const delay = gauge(reg, 'ntpkit_source_delay_seconds', 'Round-trip delay of the last sample, seconds.', labels);
  const error = gauge(reg, 'ntpkit_source_error_seconds', 'Error bound of the last sample (delay/2 + dispersion), seconds.', labels);
  const jitter = gauge(reg, 'ntpkit_source_jitter_seconds', 'RMS jitter of the recent offsets, seconds.', labels);
  const distance = gauge(reg, 'ntpkit_source_root_distance_seconds', 'Root distance of the source now, seconds.', labels);
  const all = [state, reach, reachCount, stratum, poll, age, offset, delay, error, jitter, distance];
  return (sources) => {
    // Sources come and go (pools, reload): only the ones in this snapshot are exported.
    for (const g of all) g.reset();
    for (const s of sources) {
      const l: SourceLabels = { name: s.name, address: s.address ?? '', kind: s.kind };
      for (const v of VERDICTS) state.set({ ...l, state: v }, s.verdict === v ? 1 : 0);
      reach.set(l, s.reach);
      reachCount.set(l, popcount8(s.reach));
      stratum.set(l, s.stratum);
      poll.set(l, 2 ** s.poll);
      if (s.lastRxAgo !== null) age.set(l, s.lastRxAgo);
      if (s.lastSample !== null) {
        offset.set(l, s.lastSample.adjustedOffset);
        delay.set(l, s.lastSample.delay);
        error.set(l, s.lastSample.error);
      }
      jitter.set(l, s.jitter);
      distance.set(l, s.rootDistance);
    }
  };
}

function serverMetrics(reg: Registry): (s: ServerStats) => void {
  const received = counter(reg, 'ntpkit_server_packets_received_total', 'NTP packets handed to the server, well formed or not.');
  const replied = counter(reg, 'ntpkit_server_packets_replied_total', 'Replies sent, kiss-o\'-death ones included.');
  const dropped = counter(reg, 'ntpkit_server_packets_dropped_total', 'Packets left without a reply, by reason (see DROP_REASONS in docs/metrics.md).', ['reason']);
  const kod = counter(reg, 'ntpkit_server_kod_sent_total', 'Kiss-o\'-death replies sent, by kiss code.', ['code']);
  const interleaved = counter(reg, 'ntpkit_server_interleaved_replies_total', 'Replies sent in interleaved mode.');
  const authenticated = counter(reg, 'ntpkit_server_authenticated_packets_total', 'Authenticated NTP requests.');
  const recordsDropped = counter(reg, 'ntpkit_server_client_records_dropped_total', 'Client records evicted from the bounded client table.');
  const cmdReceived = counter(reg, 'ntpkit_server_command_packets_received_total', 'Command packets received (chronyc serverstats).');
  const cmdDropped = counter(reg, 'ntpkit_server_command_packets_dropped_total', 'Command packets dropped (chronyc serverstats).');
  const ntsAccepted = counter(reg, 'ntpkit_server_nts_ke_connections_accepted_total', 'NTS-KE connections accepted.');
  const ntsDropped = counter(reg, 'ntpkit_server_nts_ke_connections_dropped_total', 'NTS-KE connections dropped, by reason (timeout: closed by the session deadline; see docs/metrics.md).', ['reason']);
  const held = gauge(reg, 'ntpkit_server_timestamps_held', 'Receive/transmit timestamp pairs kept for interleaved mode.');
  const span = gauge(reg, 'ntpkit_server_timestamp_span_seconds', 'Seconds from the oldest held receive timestamp to the newest.');
  const put = (c: Counter, v: number, labels?: Record<string, string>): void => {
    // Counters are read, not counted here: set the server's running total.
    if (labels === undefined) c.inc(v);
    else c.inc(labels, v);
  };
  const counters = [received, replied, dropped, kod, interleaved, authenticated, recordsDropped, cmdReceived, cmdDropped, ntsAccepted, ntsDropped];
  return (s) => {
    for (const c of counters) c.reset();
    put(received, s.ntpPacketsReceived);
    put(replied, s.ntpPacketsReplied);
    for (const r of DROP_REASONS) put(dropped, s.droppedByReason[r], { reason: r });
    for (const k of SERVER_KISS_CODES) put(kod, s.kodSent[k], { code: k });
    put(interleaved, s.interleavedNtpPackets);
    put(authenticated, s.authenticatedNtpPackets);
    put(recordsDropped, s.clientLogRecordsDropped);
    put(cmdReceived, s.commandPacketsReceived);
    put(cmdDropped, s.commandPacketsDropped);
    put(ntsAccepted, s.ntsKeConnectionsAccepted);
    for (const r of NTS_KE_DROP_REASONS) put(ntsDropped, s.ntsKeDroppedByReason[r], { reason: r });
    held.set(s.ntpTimestampsHeld);
    span.set(s.ntpTimestampSpan);
  };
}

function popcount8(x: number): number {
  let n = 0;
  for (let v = x & 0xff; v !== 0; v >>= 1) n += v & 1;
  return n;
}
