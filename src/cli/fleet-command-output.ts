/**
 * Output of `ntpkit fleet`: a Nagios-style status line first (monitoring
 * reads the first line and the perfdata after `|`), then a table of hosts
 * and a summary for people; or the stable JSON document `ntpkit.fleet/1`
 * (docs/json.md convention: fields are only ever added).
 */
import type { FleetAnalysis, FleetStatus, HostStatus, HostVerdict, Spread } from '../core/tools/fleet.js';
import { OUTLIER_MAD_FACTOR } from '../core/tools/fleet.js';
import type { EndpointResult } from '../net/fleet-query.js';
import type { UdpTransportInfo } from '../net/udp-transport.js';
import { formatEndpoint } from '../net/target.js';
import { LEAP_NAMES } from '../proto/constants.js';
import { formatRefId } from '../proto/refid.js';
import type { FleetHost } from './fleet-command-hosts.js';
import { formatSeconds } from './units.js';

export const FLEET_JSON_SCHEMA = 'ntpkit.fleet/1';

export interface FleetRow {
  readonly host: FleetHost;
  readonly result: EndpointResult;
  readonly verdict: HostVerdict;
}

export interface FleetReport {
  readonly hosts: readonly FleetRow[];
  /** Null when the fleet's own consensus is used. */
  readonly references: readonly { readonly host: FleetHost; readonly result: EndpointResult }[] | null;
  readonly analysis: FleetAnalysis;
  readonly status: FleetStatus;
  readonly transport: UdpTransportInfo;
  readonly elapsedMs: number;
  readonly requestsSent: number;
  readonly ignoredReplies: number;
  readonly settings: { readonly samples: number; readonly timeoutMs: number; readonly retries: number; readonly rate: number; readonly outlierSeconds: number | null };
}

export type SortKey = 'offset' | 'name';

function name(h: FleetHost, r: EndpointResult): string {
  return r.address !== null && r.address !== h.host ? `${h.spec} (${formatEndpoint(r.address, r.port)})` : h.spec;
}

/** By |offset from consensus|, largest first, then hosts without one; or by name (numbers in names compared as numbers). */
export function sortRows(rows: readonly FleetRow[], key: SortKey): FleetRow[] {
  const byName = (a: FleetRow, b: FleetRow): number => a.host.spec.localeCompare(b.host.spec, 'en', { numeric: true });
  if (key === 'name') return [...rows].sort(byName);
  return [...rows].sort((a, b) => {
    const x = a.verdict.offset;
    const y = b.verdict.offset;
    if (x === null || y === null) return x === null && y === null ? byName(a, b) : x === null ? 1 : -1;
    return Math.abs(y) - Math.abs(x) || byName(a, b);
  });
}

function count(rows: readonly FleetRow[], ...s: HostStatus[]): FleetRow[] {
  return rows.filter((r) => s.includes(r.verdict.status));
}

function perfdata(r: FleetReport, worst: FleetRow | null, thresholds: { warn?: number; crit?: number }): string {
  const off = worst?.verdict.offset;
  const parts = [
    `worst_offset=${off === undefined || off === null ? 'U' : Math.abs(off).toPrecision(6)}s;${thresholds.warn ?? ''};${thresholds.crit ?? ''};0;`,
    `hosts=${r.hosts.length}`,
    `answered=${count(r.hosts, 'ok', 'outlier').length}`,
    `outliers=${count(r.hosts, 'outlier').length}`,
    `no_time=${r.hosts.length - count(r.hosts, 'ok', 'outlier').length}`,
  ];
  if (r.analysis.spread) parts.push(`spread=${r.analysis.spread.range.toPrecision(6)}s`);
  return parts.join(' ');
}

function consensusText(r: FleetReport): string {
  const c = r.analysis.consensus;
  const refs = r.references;
  if (!c.ok) return `No consensus: ${c.reason}.`;
  if (c.source === 'references' && refs) {
    const names = (ix: readonly number[]): string => ix.map((i) => refs[i]?.host.spec ?? String(i)).join(', ') || 'none';
    return `Consensus: ${c.agree.length} of ${refs.length} references agree (${names(c.agree)}; daemon's selection: intersection, then combined by 1/root distance)`
      + `${c.disagree.length ? `; disagreeing: ${names(c.disagree)}` : ''}; they are ${formatSeconds(c.offset, true)} from this machine's clock.`;
  }
  return `Consensus: NO REFERENCES; the fleet's own: the median of the ${c.agree.length} answering hosts whose correctness intervals agree. `
    + 'It shows how the hosts differ from each other, not how far they are from true time (give --ref or --refs-from for that).';
}

function spreadText(s: Spread | null): string {
  if (s === null) return 'Spread: none (no host answered, or no consensus)';
  return `Spread of ${s.count} hosts: median ${formatSeconds(s.median, true)}, min ${formatSeconds(s.min, true)}, max ${formatSeconds(s.max, true)}, `
    + `range ${formatSeconds(s.range)}, IQR ${formatSeconds(s.iqr)}, MAD ${formatSeconds(s.mad)}`;
}

export function fleetReportText(r: FleetReport, sort: SortKey, thresholds: { warn?: number; crit?: number }): string {
  const lines: string[] = [];
  const worst = r.status.worst === null ? null : (r.hosts[r.status.worst] ?? null);
  const answered = count(r.hosts, 'ok', 'outlier');
  const outliers = count(r.hosts, 'outlier');
  const failed = r.hosts.filter((h) => h.verdict.offset === null && !answered.includes(h));
  const worstText = worst && worst.verdict.offset !== null ? `; worst ${formatSeconds(worst.verdict.offset, true)} at ${worst.host.spec}` : '';
  const why = r.status.reasons.length ? ` (${r.status.reasons.join('; ')})` : '';
  const basis = r.analysis.consensus.source === 'references' ? 'vs references' : 'vs the fleet itself, no references';
  lines.push(`FLEET ${r.status.status} - ${r.hosts.length} hosts, ${answered.length} answered, ${outliers.length} outliers, ${failed.length} no time${worstText} ${basis}${why} | ${perfdata(r, worst, thresholds)}`);
  lines.push('');
  const labels = r.hosts.some((h) => h.host.label !== null);
  const rows = sortRows(r.hosts, sort);
  const w = Math.max(20, ...rows.map((x) => name(x.host, x.result).length));
  const lw = labels ? Math.max(5, ...rows.map((x) => (x.host.label ?? '').length)) : 0;
  lines.push(`${'Host'.padEnd(w)}${labels ? `  ${'Label'.padEnd(lw)}` : ''}       Offset      Delay  St Refid            Leap            Status`);
  lines.push('='.repeat(w + (labels ? lw + 2 : 0) + 83));
  for (const x of rows) {
    const e = x.result.estimate;
    const head = `${name(x.host, x.result).padEnd(w)}${labels ? `  ${(x.host.label ?? '').padEnd(lw)}` : ''}`;
    const h = e?.header ?? x.result.samples.find((s) => s.header)?.header;
    const off = x.verdict.offset === null ? '-' : formatSeconds(x.verdict.offset, true);
    const delay = e ? formatSeconds(e.best.delay) : '-';
    const st = h ? String(h.stratum) : '-';
    const refid = h ? formatRefId(h.referenceId, h.stratum) : '-';
    const leap = h ? LEAP_NAMES[h.leap] : '-';
    let status: string = x.verdict.status;
    if (x.verdict.status === 'outlier' && x.verdict.limit !== null) status += ` (> ${formatSeconds(x.verdict.limit)})`;
    else if (x.result.error) status += `: ${x.result.error.kissCode ? `${x.result.error.kissCode} ` : ''}${x.result.error.message}`;
    lines.push(`${head} ${off.padStart(12)} ${delay.padStart(10)} ${st.padStart(3)} ${refid.padEnd(16)} ${leap.padEnd(15)} ${status}`);
  }
  lines.push('');
  lines.push(consensusText(r));
  if (r.references) {
    for (const ref of r.references) {
      if (ref.result.error) lines.push(`  reference ${ref.host.spec}: ${ref.result.error.code}: ${ref.result.error.message}`);
    }
  }
  lines.push(`Hosts: ${r.hosts.length} total, ${answered.length} answered, ${outliers.length} outliers, ${failed.length} gave no time`);
  const list = (xs: readonly FleetRow[]): string => xs.map((x) => x.host.spec).join(', ');
  for (const s of ['unreachable', 'unsynchronized', 'kod', 'bad-reply'] as const) {
    const xs = count(r.hosts, s);
    if (xs.length) lines.push(`  ${s} (${xs.length}): ${list(xs)}`);
  }
  if (outliers.length) {
    const rule = r.settings.outlierSeconds !== null
      ? `beyond --outlier ${formatSeconds(r.settings.outlierSeconds)}`
      : `beyond both ${OUTLIER_MAD_FACTOR} x 1.4826 x median |offset| = ${formatSeconds(OUTLIER_MAD_FACTOR * (r.analysis.robustSigma ?? 0))} and the host's root distance`;
    lines.push(`  outliers (${outliers.length}, ${rule}): ${outliers.map((x) => `${x.host.spec} ${formatSeconds(x.verdict.offset ?? NaN, true)}`).join(', ')}`);
  }
  lines.push(spreadText(r.analysis.spread));
  for (const wmsg of r.analysis.warnings) lines.push(`Warning: ${wmsg}`);
  const stamps = r.transport.kind === 'native-kernel-timestamps' ? 'kernel timestamps' : `node:dgram, JS timestamps${r.transport.reason ? ` (${r.transport.reason})` : ''}`;
  lines.push(`Time taken: ${(r.elapsedMs / 1000).toFixed(2)} s, ${r.requestsSent} requests (${r.settings.samples} samples per host, the least-delay one kept; ${stamps}).`);
  return lines.join('\n');
}

function endpointJson(h: FleetHost, res: EndpointResult): Record<string, unknown> {
  const e = res.estimate;
  const hdr = e?.header ?? res.samples.find((s) => s.header)?.header;
  return {
    host: h.spec, label: h.label, address: res.address, port: res.port,
    measuredOffset: e ? e.best.offset : null,
    delay: e ? e.best.delay : null,
    rootDistance: e ? e.rootDistance : null,
    jitter: e ? e.jitter : null,
    stratum: hdr ? hdr.stratum : null,
    refid: hdr ? formatRefId(hdr.referenceId, hdr.stratum) : null,
    leap: hdr ? LEAP_NAMES[hdr.leap] : null,
    samples: res.samples.length,
    validSamples: res.samples.filter((s) => s.status === 'ok').length,
    error: res.error,
  };
}

export function fleetReportJson(r: FleetReport, sort: SortKey): Record<string, unknown> {
  const c = r.analysis.consensus;
  const refName = (i: number): string => r.references?.[i]?.host.spec ?? r.hosts[i]?.host.spec ?? String(i);
  return {
    schema: FLEET_JSON_SCHEMA,
    status: r.status.status,
    reasons: r.status.reasons,
    consensus: c.ok
      ? { ok: true, source: c.source, offset: c.offset, interval: { low: c.low, high: c.high }, agree: c.agree.map(refName), disagree: c.disagree.map(refName) }
      : { ok: false, source: c.source, reason: c.reason },
    references: r.references?.map((x) => endpointJson(x.host, x.result)) ?? null,
    hosts: sortRows(r.hosts, sort).map((x) => ({ ...endpointJson(x.host, x.result), status: x.verdict.status, offset: x.verdict.offset, outlierLimit: x.verdict.limit })),
    summary: {
      total: r.hosts.length,
      answered: count(r.hosts, 'ok', 'outlier').length,
      unreachable: count(r.hosts, 'unreachable').map((x) => x.host.spec),
      unsynchronized: count(r.hosts, 'unsynchronized').map((x) => x.host.spec),
      kod: count(r.hosts, 'kod').map((x) => x.host.spec),
      badReply: count(r.hosts, 'bad-reply').map((x) => x.host.spec),
      outliers: count(r.hosts, 'outlier').map((x) => x.host.spec),
      worst: r.status.worst === null ? null : { host: r.hosts[r.status.worst]?.host.spec, offset: r.hosts[r.status.worst]?.verdict.offset },
      spread: r.analysis.spread,
      robustSigma: r.analysis.robustSigma,
    },
    warnings: r.analysis.warnings,
    transport: r.transport.kind,
    ...(r.transport.reason ? { transportReason: r.transport.reason } : {}),
    elapsedSeconds: r.elapsedMs / 1000,
    requestsSent: r.requestsSent,
    ignoredReplies: r.ignoredReplies,
    settings: r.settings,
  };
}
