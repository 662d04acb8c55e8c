/**
 * The reports besides tracking/sources/sourcestats read over chrony's
 * command protocol (chronyc -h): each asks what chronyc 4.3 asks, in its
 * order, and gives the same result the JSON socket's command gives, so that
 * one formatter prints both. Over UDP chronyd 4.3 serves only its open
 * requests (cmdmon.c PERMIT_OPEN: tracking, sources, sourcestats, activity,
 * smoothing, rtcdata, manual list, sourcename); ntpdata, serverstats,
 * clients, selectdata and authdata are refused there with "501 Not
 * authorised", as chronyc shows, and served over the Unix socket (-h PATH).
 */
import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { type CandmClient, CandmStatusError } from '../control/candm/client.js';
import { type DaemonSnapshot, SNAPSHOT_VERSION, type TrackingSnapshot } from '../core/engine/snapshot.js';
import { ipFromText, ipToText } from '../control/candm/addresses.js';
import { ControlError } from '../control/errors.js';
import type { AuthDataReport, SelectDataReport, SelectOptions } from '../core/engine/engine-api.js';
import type { SmoothingReport } from '../core/engine/time-smoothing.js';
import type { ClientReport } from '../core/server/client-report.js';
import type { ServerStats } from '../core/server/server-stats.js';
import type { ManualListRow } from '../daemon/manual-time.js';
import { type CandmIp, type CandmTimespec, IPADDR_ID, IPADDR_INET4, IPADDR_INET6, IPADDR_UNSPEC, MAX_CLIENT_ACCESSES, REQ, RPY, STT } from '../proto/candm/index.js';
import type { NtpDataRow } from './ntpdata-format.js';
import { remoteName, type RemoteNames, remoteSourceName, unix } from './remote-snapshot.js';

const LEAP = ['normal', 'insert', 'delete', 'unsynchronized'] as const;
const NO_SAMPLE = 0xffffffff;
const MODE_CLIENT = 0;
const MODE_PEER = 1;

function num(body: Readonly<Record<string, unknown>>, name: string): number {
  const v = body[name];
  return typeof v === 'number' ? v : 0;
}

interface IndexedSource { readonly index: number; readonly ip: CandmIp; readonly mode: number }

/** n_sources then source_data of each: the addresses chronyc walks for ntpdata and authdata. */
async function walkSources(client: CandmClient): Promise<IndexedSource[]> {
  const n = num((await client.request(REQ.N_SOURCES, {}, RPY.N_SOURCES)).body, 'n_sources');
  const out: IndexedSource[] = [];
  for (let index = 0; index < n; index++) {
    const d = (await client.request(REQ.SOURCE_DATA, { index }, RPY.SOURCE_DATA)).body;
    out.push({ index, ip: d.ip_addr as CandmIp, mode: num(d, 'mode') });
  }
  return out;
}

const isReal = (ip: CandmIp): boolean => ip.family === IPADDR_INET4 || ip.family === IPADDR_INET6;
const STAMP: Readonly<Record<number, string>> = { 0x44: 'daemon', 0x4b: 'kernel', 0x48: 'hardware' };

/** candm.h's NTP test bits as chronyc's "%.3b %.3b %.4b". */
function testBits(flags: number): string {
  const b = (flags & 0x3ff).toString(2).padStart(10, '0');
  return `${b.slice(0, 3)} ${b.slice(3, 6)} ${b.slice(6)}`;
}

/** An address or a host name as chronyc's parse_source_address takes it. */
async function sourceAddress(text: string): Promise<CandmIp> {
  if (isIP(text) !== 0) return ipFromText(text);
  try {
    return ipFromText((await lookup(text)).address);
  } catch {
    throw new ControlError('bad-args', 'Could not get address for hostname');
  }
}

/** chronyc ntpdata [ADDRESS]: NTP_DATA of the one address, or of every NTP source with a real address. */
export async function fetchRemoteNtpData(client: CandmClient, address: string | undefined): Promise<{ sources: NtpDataRow[] }> {
  const targets = address !== undefined
    ? [{ index: 0, ip: await sourceAddress(address), mode: MODE_CLIENT }]
    : (await walkSources(client)).filter((s) => (s.mode === MODE_CLIENT || s.mode === MODE_PEER) && isReal(s.ip));
  const sources: NtpDataRow[] = [];
  for (const s of targets) {
    const r = (await client.request(REQ.NTP_DATA, { ip: s.ip }, RPY.NTP_DATA)).body;
    const flags = num(r, 'flags');
    const remote = ipToText(r.remote_addr as CandmIp) ?? '[UNSPEC]';
    sources.push({
      sourceId: s.index, name: remote, remoteAddress: remote, remotePort: num(r, 'remote_port'), localAddress: ipToText(r.local_addr as CandmIp),
      leap: LEAP[num(r, 'leap')] ?? 'unsynchronized', version: num(r, 'version'), mode: num(r, 'mode'), stratum: num(r, 'stratum'),
      poll: num(r, 'poll'), precision: num(r, 'precision'), rootDelay: num(r, 'root_delay'), rootDispersion: num(r, 'root_dispersion'),
      referenceId: num(r, 'ref_id'), referenceTime: unix(r.ref_time as CandmTimespec), offset: num(r, 'offset'), peerDelay: num(r, 'peer_delay'),
      peerDispersion: num(r, 'peer_dispersion'), responseTime: num(r, 'response_time'), jitterAsymmetry: num(r, 'jitter_asymmetry'),
      tests: testBits(flags), kissCode: null, interleaved: (flags & 0x4000) !== 0, authenticated: (flags & 0x8000) !== 0,
      authMode: 'none', authFailures: 0, authNaks: 0, lastAuthFailure: null,
      txTimestamping: STAMP[num(r, 'tx_tss_char')] ?? 'invalid', rxTimestamping: STAMP[num(r, 'rx_tss_char')] ?? 'invalid',
      totalTx: num(r, 'total_tx_count'), totalRx: num(r, 'total_rx_count'), totalValidRx: num(r, 'total_valid_count'), totalGoodRx: num(r, 'total_good_count'),
    } as NtpDataRow);
  }
  return { sources };
}

/** chronyc serverstats: SERVER_STATS (RPY_SERVER_STATS3's eleven counters; ntpkit's own breakdowns are not carried, and not printed). */
export async function fetchRemoteServerStats(client: CandmClient): Promise<ServerStats> {
  const s = (await client.request(REQ.SERVER_STATS, {}, RPY.SERVER_STATS3)).body;
  return {
    ntpPacketsReceived: num(s, 'ntp_hits'), ntpPacketsDropped: num(s, 'ntp_drops'),
    commandPacketsReceived: num(s, 'cmd_hits'), commandPacketsDropped: num(s, 'cmd_drops'), clientLogRecordsDropped: num(s, 'log_drops'),
    ntsKeConnectionsAccepted: num(s, 'nke_hits'), ntsKeConnectionsDropped: num(s, 'nke_drops'),
    authenticatedNtpPackets: num(s, 'ntp_auth_hits'), interleavedNtpPackets: num(s, 'ntp_interleaved_hits'),
    ntpTimestampsHeld: num(s, 'ntp_timestamps'), ntpTimestampSpan: num(s, 'ntp_span_seconds'),
  } as unknown as ServerStats;
}

/** A log2 interval byte as the client report's seconds exponent (127: none). */
function interval(x: number): number | null {
  return x === 127 ? null : x;
}

/** chronyc clients: CLIENT_ACCESSES_BY_INDEX3 pages of eight until the daemon's index runs out. */
export async function fetchRemoteClients(client: CandmClient, minPackets: number, names: RemoteNames): Promise<{ clients: ClientReport[] }> {
  const clients: ClientReport[] = [];
  let next = 0;
  for (;;) {
    const r = (await client.request(REQ.CLIENT_ACCESSES_BY_INDEX3, { first_index: next, n_clients: MAX_CLIENT_ACCESSES, min_hits: minPackets, reset: 0 }, RPY.CLIENT_ACCESSES_BY_INDEX3)).body;
    const n = num(r, 'n_clients');
    const page = (r.clients as Record<string, unknown>[]).slice(0, Math.min(n, MAX_CLIENT_ACCESSES));
    for (const c of page) {
      const ip = c.ip as CandmIp;
      if (ip.family === IPADDR_UNSPEC) continue;
      const last = num(c, 'last_ntp_hit_ago');
      const lastCmd = num(c, 'last_cmd_hit_ago');
      const address = ipToText(ip) ?? '';
      clients.push({
        address, ntpHits: num(c, 'ntp_hits'), ntpDrops: num(c, 'ntp_drops'), ntpInterval: interval(num(c, 'ntp_interval')),
        ntpTimeoutInterval: interval(num(c, 'ntp_timeout_interval')), lastAgo: last === NO_SAMPLE ? Number.NaN : last,
        command: { hits: num(c, 'cmd_hits'), drops: num(c, 'cmd_drops'), interval: interval(num(c, 'cmd_interval')), lastAgo: lastCmd === NO_SAMPLE ? null : lastCmd },
        ...(names.naming === 'dns' ? { name: await remoteName(client, ip, names) } : {}),
      } as ClientReport);
    }
    next = num(r, 'next_index');
    if (next >= num(r, 'n_indices') || n < MAX_CLIENT_ACCESSES) break;
  }
  return { clients };
}

function options(bits: number): SelectOptions {
  return { noselect: (bits & 0x1) !== 0, prefer: (bits & 0x2) !== 0, trust: (bits & 0x4) !== 0, require: (bits & 0x8) !== 0 };
}

/** chronyc selectdata: SELECT_DATA by index; an unresolved source only with -a. */
export async function fetchRemoteSelectData(client: CandmClient, names: RemoteNames): Promise<{ sources: SelectDataReport[] }> {
  const n = num((await client.request(REQ.N_SOURCES, {}, RPY.N_SOURCES)).body, 'n_sources');
  const sources: SelectDataReport[] = [];
  for (let index = 0; index < n; index++) {
    const r = (await client.request(REQ.SELECT_DATA, { index }, RPY.SELECT_DATA)).body;
    const ip = r.ip_addr as CandmIp;
    if (ip.family === IPADDR_ID && names.all !== true) continue;
    const refclock = ip.family === IPADDR_UNSPEC;
    const name = await remoteName(client, ip, names, refclock ? num(r, 'ref_id') : undefined);
    sources.push({
      sourceId: index, name, address: refclock ? null : names.naming === 'numeric' || ip.family === IPADDR_ID ? name : ipToText(ip),
      referenceId: refclock ? num(r, 'ref_id') : null, state: String.fromCharCode(num(r, 'state_char')), authenticated: num(r, 'authentication') !== 0,
      configuredOptions: options(num(r, 'conf_options')), effectiveOptions: options(num(r, 'eff_options')), lastSampleAgo: num(r, 'last_sample_ago'),
      score: num(r, 'score'), loLimit: num(r, 'lo_limit'), hiLimit: num(r, 'hi_limit'), leap: LEAP[num(r, 'leap')] ?? 'unsynchronized',
    });
  }
  return { sources };
}

const AUTH_MODE = ['none', 'symmetric', 'nts'] as const;

/** chronyc authdata: AUTH_DATA of each NTP source's address, walked by source_data. */
export async function fetchRemoteAuthData(client: CandmClient, names: RemoteNames): Promise<{ sources: AuthDataReport[] }> {
  const sources: AuthDataReport[] = [];
  for (const s of await walkSources(client)) {
    if (s.mode !== MODE_CLIENT && s.mode !== MODE_PEER) continue;
    if (s.ip.family === IPADDR_ID && names.all !== true) continue;
    const r = (await client.request(REQ.AUTH_DATA, { ip: s.ip }, RPY.AUTH_DATA)).body;
    const name = await remoteName(client, s.ip, names);
    const last = num(r, 'last_ke_ago');
    sources.push({
      sourceId: s.index, name, address: names.naming === 'numeric' || s.ip.family === IPADDR_ID ? name : ipToText(s.ip),
      mode: AUTH_MODE[num(r, 'mode')] ?? 'none', keyId: num(r, 'key_id'), keyType: num(r, 'key_type'), keyLengthBits: num(r, 'key_length'),
      lastKeAgo: last === NO_SAMPLE ? null : last, keAttempts: num(r, 'ke_attempts'), cookies: num(r, 'cookies'), cookieLength: num(r, 'cookie_length'),
      naks: num(r, 'nak'),
    } as AuthDataReport);
  }
  return { sources };
}

/** chronyc smoothing: SMOOTHING's figures. */
export async function fetchRemoteSmoothing(client: CandmClient): Promise<SmoothingReport> {
  const r = (await client.request(REQ.SMOOTHING, {}, RPY.SMOOTHING)).body;
  const flags = num(r, 'flags');
  return {
    active: (flags & 1) !== 0, leapOnly: (flags & 2) !== 0, offset: num(r, 'offset'), freqPpm: num(r, 'freq_ppm'), wanderPpm: num(r, 'wander_ppm'),
    lastUpdateAgo: num(r, 'last_update_ago'), remainingTime: num(r, 'remaining_time'),
  };
}

/** chronyc rtcdata's figures. */
export interface RtcReport {
  readonly refTime: string;
  readonly samples: number;
  readonly runs: number;
  readonly span: number;
  readonly secondsFast: number;
  readonly gainRatePpm: number;
}

/** chronyc rtcdata: RTCREPORT; its figures, or the daemon's refusal (513 without an RTC driver). */
export async function fetchRemoteRtc(client: CandmClient): Promise<RtcReport> {
  const r = (await client.request(REQ.RTCREPORT, {}, RPY.RTC)).body;
  return {
    refTime: unix(r.ref_time as CandmTimespec), samples: num(r, 'n_samples'), runs: num(r, 'n_runs'), span: num(r, 'span_seconds'),
    secondsFast: num(r, 'rtc_seconds_fast'), gainRatePpm: num(r, 'rtc_gain_rate_ppm'),
  };
}

/** chronyc manual list: MANUAL_LIST's samples. */
export async function fetchRemoteManualList(client: CandmClient): Promise<{ samples: ManualListRow[] }> {
  const r = (await client.request(REQ.MANUAL_LIST, {}, RPY.MANUAL_LIST2)).body;
  const list = (r.samples as Record<string, unknown>[]).slice(0, num(r, 'n_samples'));
  return {
    samples: list.map((x) => {
      const w = x.when as CandmTimespec;
      return { when: Number(w.sec) + w.nsec / 1e9, offset: num(x, 'orig_offset'), slewedOffset: num(x, 'slewed_offset'), residual: num(x, 'residual') } as ManualListRow;
    }),
  };
}

/** chronyc sourcename ADDRESS: the daemon's name for it, or its 503. */
export async function fetchRemoteSourceName(client: CandmClient, address: string): Promise<string | null> {
  return remoteSourceName(client, ipFromText(address));
}

/**
 * chronyc smoothing asks SMOOTHING alone: a snapshot of nothing but the
 * smoothing (none when the daemon has no smoothtime: 505), for the report
 * that prints only that.
 */
export async function remoteSmoothingSnapshot(client: CandmClient, now: Date): Promise<DaemonSnapshot> {
  let smoothing: SmoothingReport | undefined;
  try {
    smoothing = await fetchRemoteSmoothing(client);
  } catch (e) {
    if (!(e instanceof CandmStatusError && e.status === STT.NOTENABLED)) throw e;
  }
  const ms = BigInt(now.getTime());
  const tracking: TrackingSnapshot = {
    referenceId: 0, referenceName: '', stratum: 0, refTime: null, systemTime: 0, lastOffset: 0, rmsOffset: 0, frequencyPpm: 0, residualFreqPpm: 0,
    skewPpm: 0, rootDelay: 0, rootDispersion: 0, updateInterval: 0, leapStatus: 'unsynchronized', synchronized: false,
  };
  return {
    version: SNAPSHOT_VERSION, time: `${ms / 1000n}.${String(ms % 1000n).padStart(3, '0')}000000`, clock: 'system', tracking, sources: [],
    ...(smoothing !== undefined ? { smoothing } : {}),
  };
}
