/**
 * The mode 6 system and peer variables, in ntpd's names, units and text
 * formats, from the daemon's own snapshot and ntpdata report: what ntpq's
 * `rv`, `peers` and `associations` and Nagios' check_ntp_peer read.
 *
 * Units as ntpd's: offsets, delays, dispersions and jitters in
 * milliseconds; frequency and wander in ppm; precision, poll and time
 * constant as log2 seconds; timestamps as NTP l_fp in hex ("0xe8f0...");
 * reach in hex. Signs as ntpd's: offset is RFC 5905's theta (positive when
 * the source, or the reference, is ahead of our clock).
 *
 * chronyd keeps no figure for a few of ntpd's variables; what stands in
 * for each, documented in docs/control.md:
 * - sys `offset`: the offset measured at the last clock update
 *   (chronyc tracking's Last offset, in ntpd's sign);
 * - `sys_jitter`: the selected source's jitter; `clk_jitter`: the RMS
 *   offset; `clk_wander`: the frequency's error bound (Skew);
 * - `tc`: the selected source's poll; `mintc`: ntpd's minimum, 3;
 * - peer `ppoll`: our poll (chronyd's servers echo it back);
 * - `dispersion`: the last sample's error estimate less half its delay.
 * Nothing here is kept of the filter register ntpd shows as filtdelay,
 * filtoffset and filtdisp, so they are not served (an unknown variable).
 */
import type { NtpDataReport } from '../engine/engine-api.js';
import { ntpqOffset, ntpqRefIdAndStratum } from '../engine/ntpq-view.js';
import type { DaemonSnapshot, SourceSnapshot, SourceVerdict } from '../engine/snapshot.js';
import { addSeconds, type Instant, instantFromUnixNanos } from '../../time/instant.js';
import { toNtpTimestamp } from '../../time/timestamp.js';
import { Leap } from '../../proto/constants.js';
import { formatRefId, refIdToIPv4 } from '../../proto/refid.js';
import { ClockSource, type ControlVariable, PeerSelection, peerStatusWord, systemStatusWord } from '../../proto/mode6.js';

/** What the daemon says about itself in `version`, `processor` and `system` (from the IO edge). */
export interface HostInfo {
  readonly version: string;
  readonly processor: string;
  readonly system: string;
}

/** Everything a response is built from: one reading of the daemon's state. */
export interface QueryView {
  readonly snapshot: DaemonSnapshot;
  readonly ntpdata: readonly NtpDataReport[];
  readonly host: HostInfo;
  /** The precision the daemon's server announces (log2 s). */
  readonly precision: number;
}

/** ntpd's smallest time constant, log2 s (NTP_MINPOLL). */
const MIN_TIME_CONSTANT = 3;

const SELECTION: Readonly<Record<SourceVerdict, number>> = {
  selected: PeerSelection.SystemPeer,
  combined: PeerSelection.Candidate,
  'not-combined': PeerSelection.Backup,
  falseticker: PeerSelection.Falseticker,
  jittery: PeerSelection.Outlier,
  unusable: PeerSelection.Reject,
};

const LEAP: Readonly<Record<NtpDataReport['leap'], number>> = {
  normal: Leap.NoWarning, insert: Leap.InsertSecond, delete: Leap.DeleteSecond, unsynchronized: Leap.Unsynchronized,
};

/** A source's association id: its id in the daemon, which never changes while it lives, folded into 1..65535. */
export function associationId(src: SourceSnapshot): number {
  return ((src.id - 1) % 0xffff) + 1;
}

function ms(seconds: number, decimals: number): string {
  return Number.isFinite(seconds) ? (seconds * 1e3).toFixed(decimals) : '0';
}

function l_fp(ts: bigint): string {
  const hex = (ts & 0xffffffffffffffffn).toString(16).padStart(16, '0');
  return `0x${hex.slice(0, 8)}.${hex.slice(8)}`;
}

/** Unix seconds with up to 9 decimals (the snapshot's instants) as an instant. */
function instantOf(unix: string): Instant {
  const [whole = '0', frac = ''] = unix.split('.');
  const neg = whole.startsWith('-');
  const ns = BigInt(neg ? whole.slice(1) : whole) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
  return instantFromUnixNanos(neg ? -ns : ns);
}

function quoted(s: string): string {
  return `"${s.replace(/["\\\r\n,]/g, ' ')}"`;
}

function systemLeap(v: QueryView): number {
  const t = v.snapshot.tracking;
  if (!t.synchronized) return Leap.Unsynchronized;
  return LEAP[t.leapStatus];
}

/** The system status word: leap, where the time comes from, no events recorded (ntpkit keeps no event log in ntpd's sense). */
export function systemStatus(v: QueryView): number {
  const selected = v.snapshot.sources.find((s) => s.verdict === 'selected');
  const source = selected === undefined ? ClockSource.Unspecified : selected.kind === 'refclock' ? ClockSource.Unspecified : ClockSource.Ntp;
  return systemStatusWord(systemLeap(v), source, 0, 0);
}

/** A source's peer status word: configured, authentication, reach, selection. */
export function peerStatus(src: SourceSnapshot, data: NtpDataReport | undefined): number {
  const authEnabled = data !== undefined && data.authMode !== 'none';
  return peerStatusWord(
    { configured: true, authEnabled, authentic: authEnabled && data.authenticated, reachable: src.reach !== 0 },
    SELECTION[src.verdict], 0, 0,
  );
}

/** The system variables (association 0), in ntpd's order. */
export function systemVariables(v: QueryView): ControlVariable[] {
  const t = v.snapshot.tracking;
  const selected = v.snapshot.sources.find((s) => s.verdict === 'selected');
  const stratum = t.synchronized ? t.stratum : 16;
  return [
    ['version', quoted(v.host.version)],
    ['processor', quoted(v.host.processor)],
    ['system', quoted(v.host.system)],
    ['leap', String(systemLeap(v))],
    ['stratum', String(stratum)],
    ['precision', String(v.precision)],
    ['rootdelay', ms(t.rootDelay, 3)],
    ['rootdisp', ms(t.rootDispersion, 3)],
    // A stratum 1 system names its reference clock ("GPS"); above that, the refid is its source's address.
    ['refid', !t.synchronized ? 'INIT' : t.stratum <= 1 ? formatRefId(t.referenceId, 1, 'plain') : refIdToIPv4(t.referenceId)],
    ['reftime', l_fp(t.refTime === null ? 0n : toNtpTimestamp(instantOf(t.refTime)))],
    ['clock', l_fp(toNtpTimestamp(instantOf(v.snapshot.time)))],
    ['peer', String(selected === undefined ? 0 : associationId(selected))],
    ['tc', String(selected?.poll ?? MIN_TIME_CONSTANT)],
    ['mintc', String(MIN_TIME_CONSTANT)],
    // The snapshot's offsets are theta already, ntpd's sign.
    ['offset', ms(t.lastOffset, 6)],
    ['frequency', t.frequencyPpm.toFixed(3)],
    ['sys_jitter', ms(selected?.jitter ?? 0, 6)],
    ['clk_jitter', ms(t.rmsOffset, 6)],
    ['clk_wander', t.skewPpm.toFixed(3)],
  ];
}

/** A source's peer variables, in ntpd's order. */
export function peerVariables(v: QueryView, src: SourceSnapshot): ControlVariable[] {
  const data = v.ntpdata.find((d) => d.sourceId === src.id);
  const [refid, stratum] = ntpqRefIdAndStratum(src);
  const symmetric = src.kind === 'peer';
  const vars: ControlVariable[] = [
    ['srcadr', src.address ?? (src.address === null && src.name.includes(':') ? '::' : '0.0.0.0')],
    ['srcport', String(src.port)],
  ];
  if (src.address === null || src.address !== src.name) vars.push(['srchost', quoted(src.name)]);
  vars.push(
    ['dstadr', src.address?.includes(':') ? '::' : '0.0.0.0'],
    ['dstport', String(src.port)],
    ['leap', String(data === undefined || data.totalValidRx === 0 ? Leap.Unsynchronized : LEAP[data.leap])],
    ['stratum', String(stratum)],
    ['precision', String(data?.precision ?? 0)],
    ['rootdelay', ms(data?.rootDelay ?? 0, 3)],
    ['rootdisp', ms(data?.rootDispersion ?? 0, 3)],
    ['refid', refid],
  );
  // ntpq dates the "when" column by the last of these it reads: sent only once there is something to date.
  if (data?.referenceTime) vars.push(['reftime', l_fp(toNtpTimestamp(instantOf(data.referenceTime)))]);
  if (src.lastRxAgo !== null) {
    vars.push(['rec', l_fp(toNtpTimestamp(addSeconds(instantOf(v.snapshot.time), -src.lastRxAgo)))]);
  }
  const error = src.lastSample?.error ?? 0;
  const delay = src.lastSample?.delay ?? 0;
  vars.push(
    ['reach', `0x${src.reach.toString(16).padStart(2, '0')}`],
    ['unreach', String(unreachPolls(src.reach))],
    ['hmode', String(symmetric ? 1 : 3)],
    ['pmode', String(symmetric ? 2 : 4)],
    ['hpoll', String(src.poll)],
    ['ppoll', String(src.poll)],
    ['headway', '0'],
    ['flash', `0x${flash(data).toString(16)}`],
    ['keyid', '0'],
    ['offset', ms(ntpqOffset(src), 3)],
    ['delay', ms(delay, 3)],
    ['dispersion', ms(Math.max(0, error - delay / 2), 3)],
    ['jitter', ms(src.jitter, 3)],
    ['xleave', src.interleaved ? '1' : '0'],
  );
  return vars;
}

/** Polls since the last reply, as far as the 8-bit register tells (8 when it is empty). */
function unreachPolls(reach: number): number {
  for (let i = 0; i < 8; i++) if ((reach >> i) & 1) return i;
  return 8;
}

/**
 * ntpd's flash bits for the last reply: chronyd's tests 1-3 and 5-7 map to
 * ntpd's packet tests (duplicate, bogus, unsynchronized, ..., header); 0 when
 * all passed or nothing came yet.
 */
function flash(data: NtpDataReport | undefined): number {
  if (data === undefined || data.totalValidRx === 0) return 0;
  const bits = data.tests.replace(/\s/g, '').slice(0, 6);
  // "111 111": tests 1-3 (duplicate, bogus, invalid) and 5-7 (authentication, sync, header).
  const map = [0x0001, 0x0002, 0x0040, 0x0010, 0x0004, 0x0040];
  let f = 0;
  for (let i = 0; i < bits.length; i++) if (bits[i] === '0') f |= map[i] as number;
  return f;
}
