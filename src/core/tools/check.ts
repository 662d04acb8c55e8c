/**
 * `ntpkit check`'s judgement, as a Nagios/Icinga plugin makes it (the
 * monitoring-plugins development guidelines): thresholds are ranges, the
 * worst metric decides the state, the state is the exit code, and one status
 * line carries the values and their performance data.
 *
 * Pure: the command measures, this decides.
 */
import type { DaemonSnapshot } from '../engine/snapshot.js';

/** Plugin states; each is also the plugin's exit code. */
export const CheckState = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
export type CheckState = (typeof CheckState)[keyof typeof CheckState];

export const CHECK_STATE_NAME: Readonly<Record<CheckState, 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN'>> = Object.freeze({
  0: 'OK', 1: 'WARNING', 2: 'CRITICAL', 3: 'UNKNOWN',
});

/** Severity order for combining states (monitoring-plugins' max_state_alt): CRITICAL > WARNING > UNKNOWN > OK. */
const SEVERITY: Readonly<Record<CheckState, number>> = { 0: 0, 3: 1, 1: 2, 2: 3 };

export function worstState(states: readonly CheckState[]): CheckState {
  return states.reduce<CheckState>((a, b) => (SEVERITY[b] > SEVERITY[a] ? b : a), CheckState.OK);
}

/**
 * A threshold range in the guidelines' format: `10` (alert outside 0..10),
 * `10:` (below 10), `~:10` (above 10), `10:20` (outside 10..20), and `@`
 * before any of them to alert inside instead. Ends are inclusive.
 */
export interface ThresholdRange {
  /** As given, for perfdata and messages. */
  readonly text: string;
  readonly low: number;
  readonly high: number;
  /** `@`: alert when the value is inside. */
  readonly inside: boolean;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function parseRange(text: string): { ok: true; range: ThresholdRange } | { ok: false; message: string } {
  const t = text.trim();
  const bad = (why: string) => ({ ok: false as const, message: `Cannot parse the threshold "${text}": ${why} (expected N, N:, ~:N, N:M or @N:M)` });
  const inside = t.startsWith('@');
  const body = inside ? t.slice(1) : t;
  if (body === '') return bad('it is empty');
  const colon = body.indexOf(':');
  const lowText = colon < 0 ? '' : body.slice(0, colon);
  const highText = colon < 0 ? body : body.slice(colon + 1);
  let low: number;
  if (lowText === '~') low = -Infinity;
  else if (lowText === '') low = 0;
  else if (NUMBER.test(lowText)) low = Number(lowText);
  else return bad(`"${lowText}" is not a number`);
  let high: number;
  if (highText === '' && colon >= 0) high = Infinity;
  else if (NUMBER.test(highText)) high = Number(highText);
  else return bad(`"${highText}" is not a number`);
  if (low > high) return bad(`the start ${low} is above the end ${high}`);
  return { ok: true, range: { text: t, low, high, inside } };
}

/** Whether `value` raises this threshold's alert. */
export function rangeAlerts(r: ThresholdRange, value: number): boolean {
  const within = value >= r.low && value <= r.high;
  return r.inside ? within : !within;
}

export interface ThresholdPair {
  readonly warn: ThresholdRange | null;
  readonly crit: ThresholdRange | null;
}

/** What was measured. null: the target cannot tell (left out of the judgement and of perfdata). */
export interface CheckMetrics {
  /** The reference's time minus the checked clock's, seconds (check_ntp_time's sign: positive when the clock is behind). Thresholds apply to its magnitude. */
  readonly offset: number | null;
  readonly stratum: number | null;
  /** Seconds. */
  readonly jitter: number | null;
  /** Selectable sources: chrony's `*`, `+` and `-` (check_ntp_peer's truechimers). The daemon only. */
  readonly sources: number | null;
  /** Polls answered among the last 8 of the source the clock follows (0-8). The daemon only. */
  readonly reach: number | null;
  /** Round-trip delay of the sample used, seconds (perfdata only). */
  readonly delay: number | null;
}

export type MetricName = 'offset' | 'stratum' | 'jitter' | 'sources' | 'reach';

export interface CheckThresholds {
  readonly offset: ThresholdPair;
  readonly stratum: ThresholdPair;
  readonly jitter: ThresholdPair;
  readonly sources: ThresholdPair;
  readonly reach: ThresholdPair;
  /** The state of an unsynchronized clock or server. */
  readonly unsynchronized: CheckState;
}

export interface CheckInput {
  /** What was checked, for the message, e.g. `127.0.0.2:123` or `the daemon at /run/ntpkit/ntpkit.sock`. */
  readonly target: string;
  readonly synchronized: boolean;
  /** Why not synchronized, in a few words. */
  readonly unsynchronizedReason?: string;
  readonly metrics: CheckMetrics;
}

export interface CheckAlert {
  readonly metric: MetricName | 'sync';
  readonly state: CheckState;
  readonly value: number | null;
  /** The threshold crossed; null for the sync state. */
  readonly threshold: string | null;
}

export interface CheckResult {
  readonly state: CheckState;
  /** The status line's text after `NTP STATE: `. */
  readonly summary: string;
  /** Space-separated `label=value[uom];warn;crit;min;max` items; '' when nothing was measured. */
  readonly perfdata: string;
  readonly alerts: readonly CheckAlert[];
}

/** A decimal without exponent (perfdata allows none), at most 9 places, trailing zeros dropped. */
export function plainNumber(x: number, places = 9): string {
  const s = x.toFixed(places);
  const trimmed = s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
  return trimmed === '-0' ? '0' : trimmed;
}

const METRIC_ORDER: readonly MetricName[] = ['offset', 'stratum', 'jitter', 'sources', 'reach'];
const UOM: Readonly<Record<MetricName | 'delay', string>> = { offset: 's', stratum: '', jitter: 's', sources: '', reach: '', delay: 's' };
const BOUNDS: Readonly<Record<MetricName | 'delay', string>> = { offset: '', stratum: ';0;16', jitter: ';0', sources: ';0', reach: ';0;8', delay: ';0' };

function describe(metric: MetricName, v: number): string {
  switch (metric) {
    case 'offset': return `Offset ${plainNumber(v)} secs`;
    case 'stratum': return `stratum ${v}`;
    case 'jitter': return `jitter ${plainNumber(v)} secs`;
    case 'sources': return `${v} source${v === 1 ? '' : 's'} selectable`;
    case 'reach': return `reach ${v}/8`;
  }
}

/** Judges the measurements against the thresholds. */
export function evaluateCheck(input: CheckInput, t: CheckThresholds): CheckResult {
  const alerts: CheckAlert[] = [];
  const parts: string[] = [];
  if (!input.synchronized) {
    alerts.push({ metric: 'sync', state: t.unsynchronized, value: null, threshold: null });
    parts.push(`Not synchronized${input.unsynchronizedReason ? ` (${input.unsynchronizedReason})` : ''}`);
  }
  const perf: string[] = [];
  for (const metric of METRIC_ORDER) {
    const v = input.metrics[metric];
    if (v === null) continue;
    const pair = t[metric];
    // check_ntp_time compares the offset's magnitude: a clock 2 s ahead is as wrong as one 2 s behind.
    const judged = metric === 'offset' ? Math.abs(v) : v;
    let note = '';
    if (pair.crit !== null && rangeAlerts(pair.crit, judged)) {
      alerts.push({ metric, state: CheckState.CRITICAL, value: v, threshold: pair.crit.text });
      note = ` (CRITICAL, threshold ${pair.crit.text})`;
    } else if (pair.warn !== null && rangeAlerts(pair.warn, judged)) {
      alerts.push({ metric, state: CheckState.WARNING, value: v, threshold: pair.warn.text });
      note = ` (WARNING, threshold ${pair.warn.text})`;
    }
    parts.push(`${describe(metric, v)}${note}`);
    perf.push(`${metric}=${metric === 'offset' || metric === 'jitter' ? plainNumber(v) : String(v)}${UOM[metric]};${pair.warn?.text ?? ''};${pair.crit?.text ?? ''}${BOUNDS[metric]}`);
  }
  if (input.metrics.delay !== null) perf.push(`delay=${plainNumber(input.metrics.delay)}s;;${BOUNDS.delay}`);
  const state = worstState(alerts.map((a) => a.state));
  return { state, summary: `${parts.join(', ')} (${input.target})`, perfdata: perf.join(' '), alerts };
}

/** The result when nothing could be measured (no reply, no daemon). */
export function failedCheck(state: CheckState, message: string): CheckResult {
  return { state, summary: message, perfdata: '', alerts: [] };
}

/** The one line a plugin prints: `NTP OK: ...|perfdata`. */
export function statusLine(r: CheckResult): string {
  return `NTP ${CHECK_STATE_NAME[r.state]}: ${r.summary}${r.perfdata === '' ? '' : `|${r.perfdata}`}`;
}

/** Set bits of chrony's 8-bit reach register: polls answered among the last 8. */
export function reachCount(register: number): number {
  let n = 0;
  for (let r = register & 0xff; r !== 0; r >>= 1) n += r & 1;
  return n;
}

/** What the daemon's snapshot says, as check metrics. */
export function daemonCheckInput(snap: DaemonSnapshot, target: string): CheckInput {
  const tr = snap.tracking;
  const selectable = snap.sources.filter((s) => s.verdict === 'selected' || s.verdict === 'combined' || s.verdict === 'not-combined');
  const followed = snap.sources.find((s) => s.verdict === 'selected');
  // Without a selected source, the best-reached one tells whether anything answers at all.
  const reach = followed !== undefined ? reachCount(followed.reach) : snap.sources.reduce((m, s) => Math.max(m, reachCount(s.reach)), 0);
  const synchronized = tr.synchronized && tr.leapStatus !== 'unsynchronized';
  const unreached = snap.sources.filter((s) => s.reach === 0).length;
  const reason = snap.sources.length === 0 ? 'no sources configured'
    : selectable.length === 0 ? `no selectable source among ${snap.sources.length}${unreached > 0 ? `, ${unreached} never reached` : ''}`
      : 'no clock update yet';
  return {
    target,
    synchronized,
    ...(synchronized ? {} : { unsynchronizedReason: reason }),
    metrics: {
      // systemTime is how far the clock is ahead (chronyc "System time ... fast"); reference minus clock is its negation.
      offset: synchronized ? (tr.systemTime === 0 ? 0 : -tr.systemTime) : null,
      stratum: synchronized ? tr.stratum : null,
      jitter: synchronized && followed !== undefined ? followed.jitter : null,
      sources: selectable.length,
      reach: snap.sources.length === 0 ? null : reach,
      delay: null,
    },
  };
}
