/**
 * Output of `ntpkit query`: a table for people and a stable JSON document
 * (schema `ntpkit.query/1`, documented in docs/json.md) for programs.
 */
import type { QueryReport, SampleRecord, ServerResult } from '../net/query.js';
import { formatEndpoint } from '../net/target.js';
import { LEAP_NAMES } from '../proto/constants.js';
import type { NtpHeader } from '../proto/header.js';
import { formatRefId } from '../proto/refid.js';
import { formatInstant } from '../time/instant.js';
import { fromNtpTimestamp } from '../time/timestamp.js';
import { formatSeconds } from './units.js';

export const QUERY_JSON_SCHEMA = 'ntpkit.query/1';

function label(s: ServerResult): string {
  return s.address ? formatEndpoint(s.address, s.port) : s.spec;
}

function headerJson(h: NtpHeader): Record<string, unknown> {
  return {
    version: h.version,
    stratum: h.stratum,
    refid: formatRefId(h.referenceId, h.stratum),
    refidHex: h.referenceId.toString(16).padStart(8, '0'),
    leap: LEAP_NAMES[h.leap],
    precision: h.precision,
    poll: h.poll,
  };
}

function sampleJson(r: SampleRecord): Record<string, unknown> {
  if (r.status !== 'ok' || !r.sample) {
    return { index: r.index, status: r.status, message: r.message ?? null, ...(r.kissCode ? { kissCode: r.kissCode } : {}) };
  }
  const s = r.sample;
  return {
    index: r.index, status: 'ok', offset: s.offset, delay: s.delay, dispersion: s.dispersion,
    t1: formatInstant(s.t1), t2: formatInstant(s.t2), t3: formatInstant(s.t3), t4: formatInstant(s.t4),
  };
}

/** The JSON document. Field names and meanings are a public interface: only add, never rename. */
export function queryReportJson(report: QueryReport): Record<string, unknown> {
  const servers = report.servers.map((s) => {
    const base = { server: s.spec, host: s.host, port: s.port, address: s.address };
    const e = s.estimate;
    if (!e) return { ...base, ok: false, error: s.error, samples: s.samples.map(sampleJson) };
    return {
      ...base,
      ok: true,
      offset: e.best.offset,
      delay: e.best.delay,
      dispersion: e.best.dispersion,
      jitter: e.jitter,
      rootDelay: e.rootDelay,
      rootDispersion: e.rootDispersion,
      rootDistance: e.rootDistance,
      ...headerJson(e.header),
      referenceTime: e.header.referenceTimestamp === 0n ? null : formatInstant(fromNtpTimestamp(e.header.referenceTimestamp, e.best.t1)),
      usedSample: s.samples.find((r) => r.sample === e.best)?.index ?? null,
      samples: s.samples.map(sampleJson),
      error: null,
    };
  });
  const v = report.verdict;
  const name = (i: number): string => report.servers[i]?.spec ?? String(i);
  const verdict = v === null ? null : v.ok
    ? { ok: true, agree: v.agree.map(name), falsetickers: v.falsetickers.map(name), offset: v.offset, jitter: v.jitter, interval: v.interval }
    : { ok: false, reason: v.reason };
  return {
    schema: QUERY_JSON_SCHEMA,
    clockSource: report.clock.kind,
    ...(report.clock.reason ? { clockSourceReason: report.clock.reason } : {}),
    transport: report.transport.kind,
    ...(report.transport.reason ? { transportReason: report.transport.reason } : {}),
    settings: report.settings, servers, verdict,
  };
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

/** The human table. */
export function queryReportText(report: QueryReport): string {
  const lines: string[] = [];
  const w = Math.max(16, ...report.servers.map((s) => label(s).length));
  lines.push(`${pad('Server', w)}  St Refid            Offset      Delay     Jitter  Root dly Root disp Prec Poll Leap            Used`);
  lines.push('='.repeat(w + 104));
  for (const s of report.servers) {
    const e = s.estimate;
    if (!e) {
      const kod = s.error?.kissCode ? ` ${s.error.kissCode}` : '';
      lines.push(`${pad(label(s), w)}  error [${s.error?.code ?? 'unknown'}${kod}]: ${s.error?.message ?? ''}`);
      continue;
    }
    const h = e.header;
    const used = s.samples.find((r) => r.sample === e.best)?.index ?? 0;
    const nOk = s.samples.filter((r) => r.status === 'ok').length;
    lines.push([
      pad(label(s), w),
      pad(String(h.stratum), 3, true),
      pad(formatRefId(h.referenceId, h.stratum), 15),
      pad(formatSeconds(e.best.offset, true), 11, true),
      pad(formatSeconds(e.best.delay), 10, true),
      pad(formatSeconds(e.jitter), 10, true),
      pad(formatSeconds(e.rootDelay), 9, true),
      pad(formatSeconds(e.rootDispersion), 9, true),
      pad(String(h.precision), 4, true),
      pad(String(h.poll), 4, true),
      pad(LEAP_NAMES[h.leap], 15),
      `#${used + 1} (${nOk}/${s.samples.length} ok)`,
    ].join(' '));
  }
  lines.push('');
  const st = report.settings;
  const clock = report.clock.kind === 'clock_gettime' ? 'clock_gettime(CLOCK_REALTIME)' : `calibrated hrtime (${report.clock.reason ?? 'native addon unavailable'})`;
  const stamps = report.transport.kind === 'native-kernel-timestamps'
    ? 'packets timestamped by the kernel (SO_TIMESTAMPING)'
    : `packets timestamped in JS around node:dgram${!report.transport.reason ? '' : report.transport.reason === report.clock.reason ? ' (for the same reason)' : ` (${report.transport.reason})`}`;
  lines.push(`Clock source: ${clock}, ${stamps}. ${st.samples} sample${st.samples === 1 ? '' : 's'} per server, ${st.intervalMs / 1000} s apart; the minimum-delay sample is used.`);
  const v = report.verdict;
  const answered = report.servers.filter((s) => s.estimate).length;
  if (v === null) {
    if (report.servers.length >= 3) lines.push(`No combined verdict: only ${answered} server${answered === 1 ? '' : 's'} answered, 3 are needed.`);
  } else if (!v.ok) {
    lines.push(`No combined verdict: no majority of the ${answered} answering servers agree (their correctness intervals do not intersect).`);
  } else {
    const names = (ix: readonly number[]): string => ix.map((i) => label(report.servers[i] as ServerResult)).join(', ') || 'none';
    lines.push(`Verdict: ${v.agree.length} of ${answered} servers agree (intersection of correctness intervals, RFC 5905 §11.2.1).`);
    lines.push(`  agree:          ${names(v.agree)}`);
    const ft = v.falsetickers.map((i) => {
      const s = report.servers[i] as ServerResult;
      return `${label(s)} (offset ${formatSeconds(s.estimate?.best.offset ?? NaN, true)})`;
    });
    lines.push(`  falsetickers:   ${ft.join(', ') || 'none'}`);
    lines.push(`  combined offset: ${formatSeconds(v.offset, true)} (weighted by 1/root distance; spread ${formatSeconds(v.jitter)})`);
  }
  return lines.join('\n');
}
