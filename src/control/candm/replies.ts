/**
 * What the daemon answers to each of chronyc's requests (cmdmon.c's
 * handlers): monitoring replies from the daemon's one snapshot and the
 * JSON command table's monitoring commands, and every changing request
 * handed to the JSON command table by name, so that chronyc and `ntpkit`
 * run the same code. A name the table does not have answers STT_INVALID
 * ("Invalid command"), as chronyd does for what it cannot do.
 */
import type { DaemonSnapshot, SourceSnapshot, SourceVerdict } from '../../core/engine/snapshot.js';
import {
  type CandmIp, type CandmRequest, type CandmTimespec, IPADDR_ID, IPADDR_INET4, IPADDR_INET6, IPADDR_UNSPEC, REQ, type ReplyBody, RPY, STT,
} from '../../proto/candm/index.js';
import { createHash } from 'node:crypto';
import type { AuthDataReport, SelectDataReport, SelectOptions } from '../../core/engine/engine-api.js';
import { refIdFromAddress } from '../../proto/refid.js';
import type { ControlReply } from '../protocol.js';
import { inSubnet, ipFromRefId, ipFromText, ipToText } from './addresses.js';

export interface CandmContext {
  snapshot(): DaemonSnapshot;
  /** Runs a JSON control command by name (CommandTable.call). */
  call(command: string, args: Readonly<Record<string, unknown>>): Promise<ControlReply>;
  /** cmdallow/cmddeny's verdict for an address. */
  cmdAllowed(address: string): boolean;
  /** The command packets counted so far, for serverstats when the daemon serves no NTP clients. */
  commandCounts?(): { readonly received: number; readonly dropped: number };
}

export interface CandmAnswer {
  readonly status: number;
  readonly body?: ReplyBody;
}

const OK: CandmAnswer = { status: STT.SUCCESS };

const STATE: Readonly<Record<SourceVerdict, number>> = {
  selected: 0, unusable: 1, falseticker: 2, jittery: 3, combined: 4, 'not-combined': 5,
};
const LEAP: Readonly<Record<string, number>> = { normal: 0, insert: 1, delete: 2, unsynchronized: 3 };
const NO_SAMPLE = 0xffffffff;

/** An instant of the snapshot (Unix seconds, 9 decimals) as a timespec. */
function timespec(unix: string | null): CandmTimespec {
  if (unix === null) return { sec: 0n, nsec: 0 };
  const [whole = '0', frac = ''] = unix.split('.');
  return { sec: BigInt(whole), nsec: Number(frac.padEnd(9, '0').slice(0, 9)) };
}

/** A source whose name is not resolved yet carries an ID address, as chronyd's do: chronyc then lists it only with -a. */
function sourceIp(s: SourceSnapshot): CandmIp {
  if (s.kind === 'refclock') return ipFromRefId(s.referenceId);
  return s.address === null ? ipFromRefId(s.id) : ipFromText(s.address);
}

/** source_data's address: a reference clock's refid as an IPv4 address, as sources.c SRC_ReportSource gives it (chronyc names it by that). */
function sourceDataIp(s: SourceSnapshot): CandmIp {
  return s.kind === 'refclock' ? { ...ipFromRefId(s.referenceId), family: IPADDR_INET4 } : sourceIp(s);
}

/** sourcestats' address: none for a reference clock (SRC_ReportSourcestats), which chronyc names by the refid beside it. */
function sourcestatsIp(s: SourceSnapshot): CandmIp {
  return s.kind === 'refclock' ? ipFromText(null) : sourceIp(s);
}

/** Equal addresses; an IPv4 or ID address is its first four bytes (the rest of chronyd's union is not set). */
function sameIp(a: CandmIp, b: CandmIp): boolean {
  const n = a.family === IPADDR_INET6 ? 16 : 4;
  return a.family === b.family && a.addr.subarray(0, n).every((x, i) => x === b.addr[i]);
}

/** chronyd's report values use chronyc's sign: local clock minus source (the snapshot keeps RFC 5905's). */
function neg(x: number): number {
  return x === 0 ? 0 : -x;
}

function status(reply: ControlReply): number {
  if (reply.ok) return STT.SUCCESS;
  switch (reply.error.code) {
    case 'unknown-command': return STT.INVALID;
    case 'bad-args': return STT.INVALID;
    case 'no-such-source': return STT.NOSUCHSOURCE;
    case 'source-exists': return STT.SOURCEALREADYKNOWN;
    case 'not-enabled': case 'not-serving': return STT.NOTENABLED;
    default: return STT.FAILED;
  }
}

async function byName(ctx: CandmContext, command: string, args: Readonly<Record<string, unknown>> = {}): Promise<CandmAnswer> {
  return { status: status(await ctx.call(command, args)) };
}

function num(body: Readonly<Record<string, unknown>>, name: string): number {
  const v = body[name];
  return typeof v === 'number' ? v : 0;
}

function ipField(body: Readonly<Record<string, unknown>>, name: string): CandmIp {
  return body[name] as CandmIp;
}

/**
 * The sources an online/offline/burst request names: all of them
 * (unspecified address), one address, or a subnet (chronyc's ADDRESS/BITS).
 * Null means every source (the JSON commands' absent address).
 */
function selected(snap: DaemonSnapshot, base: CandmIp, mask: CandmIp): string[] | null {
  if (base.family === IPADDR_UNSPEC) return null;
  return snap.sources.filter((s) => s.address !== null && inSubnet(s.address, base, mask)).map((s) => s.address as string);
}

async function perSource(ctx: CandmContext, command: string, body: Readonly<Record<string, unknown>>, extra: Readonly<Record<string, unknown>> = {}): Promise<CandmAnswer> {
  const targets = selected(ctx.snapshot(), ipField(body, 'address'), ipField(body, 'mask'));
  if (targets === null) return byName(ctx, command, extra);
  if (targets.length === 0) return { status: STT.NOSUCHSOURCE };
  for (const address of targets) {
    const r = await byName(ctx, command, { ...extra, address });
    if (r.status !== STT.SUCCESS) return r;
  }
  return OK;
}

async function modify(ctx: CandmContext, body: Readonly<Record<string, unknown>>, field: string, valueField: string): Promise<CandmAnswer> {
  const address = ipToText(ipField(body, 'address'));
  if (address === null) return { status: STT.NOSUCHSOURCE };
  return byName(ctx, 'modify-source', { address, field, value: num(body, valueField) });
}

/** The chrony.conf line an ADD_SOURCE request describes: its options where they differ from chronyc's defaults. */
export function sourceLine(body: Readonly<Record<string, unknown>>): string | null {
  const kind = ({ 1: 'server', 2: 'peer', 3: 'pool' } as Record<number, string>)[num(body, 'type')];
  const raw = body.name;
  if (kind === undefined || !(raw instanceof Uint8Array)) return null;
  const end = raw.indexOf(0);
  const name = new TextDecoder().decode(raw.subarray(0, end < 0 ? raw.length : end));
  if (!/^[A-Za-z0-9.:_-]+$/.test(name)) return null;
  const words = [kind, name];
  const opt = (word: string, field: string, dflt: number, round = false): void => {
    const v = num(body, field);
    if (round ? Math.abs(v - dflt) > 1e-6 * Math.max(1, Math.abs(dflt)) : v !== dflt) words.push(word, String(round ? Number(v.toPrecision(6)) : v));
  };
  opt('port', 'port', 123);
  opt('minpoll', 'minpoll', 6);
  opt('maxpoll', 'maxpoll', 10);
  opt('presend', 'presend_minpoll', 100);
  opt('minstratum', 'min_stratum', 0);
  opt('polltarget', 'poll_target', 8);
  if (num(body, 'version') !== 0) opt('version', 'version', 4);
  if (kind === 'pool') opt('maxsources', 'max_sources', 4);
  if (num(body, 'min_samples') >= 0) words.push('minsamples', String(num(body, 'min_samples')));
  if (num(body, 'max_samples') >= 0) words.push('maxsamples', String(num(body, 'max_samples')));
  opt('key', 'authkey', 0);
  opt('ntsport', 'nts_port', 4460);
  opt('maxdelay', 'max_delay', 3, true);
  opt('maxdelayratio', 'max_delay_ratio', 0, true);
  opt('maxdelaydevratio', 'max_delay_dev_ratio', 10, true);
  opt('mindelay', 'min_delay', 0, true);
  opt('asymmetry', 'asymmetry', 1, true);
  opt('offset', 'offset', 0, true);
  opt('filter', 'filter_length', 0);
  const flags = num(body, 'flags');
  const FLAGS: readonly [number, string][] = [
    [0x4, 'iburst'], [0x8, 'prefer'], [0x10, 'noselect'], [0x20, 'trust'], [0x40, 'require'], [0x80, 'xleave'],
    [0x100, 'burst'], [0x200, 'nts'], [0x400, 'copy'], [0x2, 'auto_offline'],
  ];
  for (const [bit, word] of FLAGS) if (flags & bit) words.push(word);
  if (!(flags & 0x1)) words.push('offline');
  return words.join(' ');
}

function trackingBody(snap: DaemonSnapshot): ReplyBody {
  const t = snap.tracking;
  const sel = snap.sources.find((s) => s.verdict === 'selected');
  return {
    reply: RPY.TRACKING,
    fields: {
      ref_id: t.referenceId, ip_addr: sel ? sourceIp(sel) : ipFromText(null), stratum: t.stratum, leap_status: LEAP[t.leapStatus] ?? 3,
      ref_time: timespec(t.refTime), current_correction: neg(t.systemTime), last_offset: neg(t.lastOffset), rms_offset: t.rmsOffset,
      freq_ppm: neg(t.frequencyPpm), resid_freq_ppm: neg(t.residualFreqPpm), skew_ppm: t.skewPpm, root_delay: t.rootDelay,
      root_dispersion: t.rootDispersion, last_update_interval: t.updateInterval,
    },
  };
}

function sourceDataBody(s: SourceSnapshot): ReplyBody {
  const last = s.lastSample;
  return {
    reply: RPY.SOURCE_DATA,
    fields: {
      ip_addr: sourceDataIp(s), poll: s.poll, stratum: s.stratum, state: STATE[s.verdict],
      mode: s.kind === 'peer' ? 1 : s.kind === 'refclock' ? 2 : 0, flags: 0, reachability: s.reach,
      since_sample: s.lastRxAgo === null ? NO_SAMPLE : Math.floor(s.lastRxAgo),
      orig_latest_meas: neg(last?.measuredOffset ?? 0), latest_meas: neg(last?.adjustedOffset ?? 0), latest_meas_err: last?.error ?? 0,
    },
  };
}

function sourcestatsBody(s: SourceSnapshot): ReplyBody {
  const st = s.stats;
  return {
    reply: RPY.SOURCESTATS,
    fields: {
      ref_id: s.referenceId, ip_addr: sourcestatsIp(s), n_samples: st.samples, n_runs: st.runs, span_seconds: Math.floor(st.span),
      sd: st.stdDev, resid_freq_ppm: neg(st.frequencyPpm), skew_ppm: st.skewPpm, est_offset: neg(st.offset), est_offset_err: st.offsetError ?? 0,
    },
  };
}

const TSS: Readonly<Record<string, number>> = { daemon: 0x44, kernel: 0x4b, hardware: 0x48 };

async function ntpDataBody(ctx: CandmContext, ip: CandmIp): Promise<CandmAnswer> {
  const address = ipToText(ip);
  if (address === null) return { status: STT.NOSUCHSOURCE };
  const r = await ctx.call('ntpdata', { address });
  if (!r.ok) return { status: status(r) };
  const row = ((r.result as { sources?: Record<string, unknown>[] }).sources ?? [])[0];
  if (row === undefined) return { status: STT.NOSUCHSOURCE };
  const tests = String(row.tests ?? '').replace(/\s/g, '');
  let flags = 0;
  for (let i = 0; i < Math.min(tests.length, 10); i++) if (tests[i] === '1') flags |= 1 << (9 - i);
  if (row.interleaved === true) flags |= 0x4000;
  if (row.authenticated === true) flags |= 0x8000;
  return {
    status: STT.SUCCESS,
    body: {
      reply: RPY.NTP_DATA,
      fields: {
        remote_addr: ipFromText(String(row.remoteAddress)), local_addr: ipFromText(typeof row.localAddress === 'string' ? row.localAddress : null),
        remote_port: row.remotePort, leap: LEAP[String(row.leap)] ?? 3, version: row.version, mode: row.mode, stratum: row.stratum,
        poll: row.poll, precision: row.precision, root_delay: row.rootDelay, root_dispersion: row.rootDispersion,
        ref_id: row.referenceId, ref_time: timespec(typeof row.referenceTime === 'string' ? row.referenceTime : null), offset: row.offset,
        peer_delay: row.peerDelay, peer_dispersion: row.peerDispersion, response_time: row.responseTime,
        jitter_asymmetry: row.jitterAsymmetry, flags, tx_tss_char: TSS[String(row.txTimestamping)] ?? 0x49,
        rx_tss_char: TSS[String(row.rxTimestamping)] ?? 0x49, total_tx_count: row.totalTx, total_rx_count: row.totalRx,
        total_valid_count: row.totalValidRx, total_good_count: row.totalGoodRx, reserved: new Uint8Array(12).fill(0xff),
      },
    },
  };
}

async function serverStatsBody(ctx: CandmContext): Promise<ReplyBody> {
  const r = await ctx.call('serverstats', {});
  // chronyd counts its command packets whether or not it serves NTP.
  const counts = ctx.commandCounts?.();
  const s = (r.ok ? r.result : { commandPacketsReceived: counts?.received, commandPacketsDropped: counts?.dropped }) as Record<string, number | undefined>;
  return {
    reply: RPY.SERVER_STATS3,
    fields: {
      ntp_hits: s.ntpPacketsReceived, nke_hits: s.ntsKeConnectionsAccepted, cmd_hits: s.commandPacketsReceived,
      ntp_drops: s.ntpPacketsDropped, nke_drops: s.ntsKeConnectionsDropped, cmd_drops: s.commandPacketsDropped,
      log_drops: s.clientLogRecordsDropped, ntp_auth_hits: s.authenticatedNtpPackets, ntp_interleaved_hits: s.interleavedNtpPackets,
      ntp_timestamps: s.ntpTimestampsHeld, ntp_span_seconds: s.ntpTimestampSpan,
    },
  };
}

async function manualListBody(ctx: CandmContext): Promise<ReplyBody> {
  const r = await ctx.call('manual', { action: 'list' });
  const list = r.ok ? ((r.result as { samples?: Record<string, unknown>[] }).samples ?? []) : [];
  const samples = list.slice(0, 16).map((x) => {
    const when = typeof x.when === 'number' ? x.when : 0;
    const sec = Math.floor(when);
    return {
      when: { sec: BigInt(sec), nsec: Math.min(999_999_999, Math.round((when - sec) * 1e9)) },
      slewed_offset: x.slewedOffset ?? x.offset, orig_offset: x.offset, residual: x.residual,
    };
  });
  return { reply: RPY.MANUAL_LIST2, fields: { n_samples: samples.length, samples } };
}

/** chronyd's client log interval byte: log2 of the mean interval, 127 when unknown. */
function interval(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) ? Math.max(-128, Math.min(126, Math.round(x))) : 127;
}

/**
 * `chronyc clients` pages through the client log MAX_CLIENT_ACCESSES at a
 * time by index; ntpkit's `clients` command gives the whole list, which is
 * indexed here in its order.
 */
async function clientsBody(ctx: CandmContext, b: Readonly<Record<string, unknown>>): Promise<CandmAnswer> {
  const r = await ctx.call('clients', { minPackets: num(b, 'min_hits') });
  // A daemon that serves no NTP clients has an empty client log, as chronyd's (which never turns it off unless noclientlog).
  if (!r.ok && r.error.code !== 'not-serving') return { status: status(r) };
  const list = r.ok ? (r.result as { clients?: Record<string, unknown>[] }).clients ?? [] : [];
  const first = num(b, 'first_index');
  const page = list.slice(first, first + Math.min(num(b, 'n_clients'), 8));
  const clients = page.map((c) => ({
    ip: ipFromText(String(c.address)), ntp_hits: c.ntpHits, ntp_drops: c.ntpDrops, ntp_interval: interval(c.ntpInterval),
    ntp_timeout_interval: interval(c.ntpTimeoutInterval), nke_interval: 127, cmd_interval: 127,
    last_ntp_hit_ago: typeof c.lastAgo === 'number' ? Math.floor(c.lastAgo) : NO_SAMPLE, last_nke_hit_ago: NO_SAMPLE, last_cmd_hit_ago: NO_SAMPLE,
  }));
  return {
    status: STT.SUCCESS,
    body: { reply: RPY.CLIENT_ACCESSES_BY_INDEX3, fields: { n_indices: list.length, next_index: Math.min(list.length, first + page.length), n_clients: clients.length, clients } },
  };
}

/** candm.h's RPY_SD_OPTION_* bits. */
function selectOptions(o: SelectOptions): number {
  return (o.noselect ? 0x1 : 0) | (o.prefer ? 0x2 : 0) | (o.trust ? 0x4 : 0) | (o.require ? 0x8 : 0);
}

const md5 = (b: Uint8Array): Uint8Array => createHash('md5').update(b).digest();

/**
 * One source's selection figures by its index (sources.c SRC_GetSelectReport):
 * a reference clock has no address, so chronyc names it by its refid; a
 * source still unresolved carries an ID address, which chronyc lists only
 * with -a, as it does chronyd's unresolved sources.
 */
async function selectDataBody(ctx: CandmContext, index: number): Promise<CandmAnswer> {
  const r = await ctx.call('selectdata', {});
  if (!r.ok) return { status: status(r) };
  const row = (r.result as { sources: SelectDataReport[] }).sources[index];
  if (row === undefined) return { status: STT.NOSUCHSOURCE };
  const ip = row.referenceId !== null ? ipFromText(null) : row.address === null ? ipFromRefId(row.sourceId) : ipFromText(row.address);
  const refId = row.referenceId ?? (row.address === null ? 0 : refIdFromAddress(row.address, md5));
  return {
    status: STT.SUCCESS,
    body: {
      reply: RPY.SELECT_DATA,
      fields: {
        ref_id: refId >>> 0, ip_addr: ip, state_char: row.state.charCodeAt(0), authentication: row.authenticated ? 1 : 0,
        leap: LEAP[row.leap] ?? 3, conf_options: selectOptions(row.configuredOptions), eff_options: selectOptions(row.effectiveOptions),
        last_sample_ago: Math.floor(row.lastSampleAgo), score: row.score, lo_limit: row.loLimit, hi_limit: row.hiLimit,
      },
    },
  };
}

const AUTH_MODE: Readonly<Record<AuthDataReport['mode'], number>> = { none: 0, symmetric: 1, nts: 2 };

/** An NTP source's authentication by its address (ntp_sources.c NSR_GetAuthReport); a reference clock or unknown address has none. */
async function authDataBody(ctx: CandmContext, ip: CandmIp): Promise<CandmAnswer> {
  const address = ipToText(ip);
  // An unresolved source by the ID address its source_data gave, as chronyd finds it.
  const id = ip.family === IPADDR_ID ? new DataView(ip.addr.buffer, ip.addr.byteOffset, 4).getUint32(0) : null;
  if (address === null && id === null) return { status: STT.NOSUCHSOURCE };
  const r = await ctx.call('authdata', {});
  if (!r.ok) return { status: status(r) };
  const row = (r.result as { sources: AuthDataReport[] }).sources.find((s) => (address !== null ? s.address === address : s.address === null && s.sourceId === id));
  if (row === undefined) return { status: STT.NOSUCHSOURCE };
  return {
    status: STT.SUCCESS,
    body: {
      reply: RPY.AUTH_DATA,
      fields: {
        mode: AUTH_MODE[row.mode], key_type: row.keyType, key_id: row.keyId, key_length: row.keyLengthBits, ke_attempts: row.keAttempts,
        last_ke_ago: row.lastKeAgo === null ? NO_SAMPLE : Math.floor(row.lastKeAgo), cookies: row.cookies, cookie_length: row.cookieLength, nak: row.naks,
      },
    },
  };
}

const ALLOW_DENY: Readonly<Record<number, readonly [string, boolean]>> = {
  [REQ.ALLOW]: ['allow', false], [REQ.ALLOWALL]: ['allow', true], [REQ.DENY]: ['deny', false], [REQ.DENYALL]: ['deny', true],
  [REQ.CMDALLOW]: ['cmdallow', false], [REQ.CMDALLOWALL]: ['cmdallow', true], [REQ.CMDDENY]: ['cmddeny', false], [REQ.CMDDENYALL]: ['cmddeny', true],
};

/**
 * allow/deny/cmdallow/cmddeny [all]: chronyc sends the subnet as an address
 * and a prefix length; an unspecified address is every address of both
 * families, and takes only a prefix of 0 (addrfilt.c). A subnet the table
 * cannot take is STT_BADSUBNET.
 */
async function allowDeny(ctx: CandmContext, command: number, b: Readonly<Record<string, unknown>>): Promise<CandmAnswer> {
  const [name, all] = ALLOW_DENY[command] as readonly [string, boolean];
  const ip = ipField(b, 'ip');
  const bits = num(b, 'subnet_bits');
  let subnet: string | null = null;
  if (ip.family === IPADDR_UNSPEC) {
    if (bits !== 0) return { status: STT.BADSUBNET };
  } else {
    const address = ipToText(ip);
    if (address === null) return { status: STT.BADSUBNET };
    subnet = `${address}/${bits}`;
  }
  const r = await ctx.call(name, { subnet, all });
  if (!r.ok && r.error.code === 'bad-args') return { status: STT.BADSUBNET };
  return { status: status(r) };
}

/** The answer to one request that passed the length and permission checks. */
export async function answerRequest(req: CandmRequest, ctx: CandmContext): Promise<CandmAnswer> {
  const b = req.body;
  switch (req.command) {
    case REQ.NULL: return OK;
    case REQ.LOGON: return { status: STT.FAILED };
    case REQ.N_SOURCES: return { status: STT.SUCCESS, body: { reply: RPY.N_SOURCES, fields: { n_sources: ctx.snapshot().sources.length } } };
    case REQ.SOURCE_DATA: {
      const s = ctx.snapshot().sources[num(b, 'index')];
      return s === undefined ? { status: STT.NOSUCHSOURCE } : { status: STT.SUCCESS, body: sourceDataBody(s) };
    }
    case REQ.SOURCESTATS: {
      const s = ctx.snapshot().sources[num(b, 'index')];
      return s === undefined ? { status: STT.NOSUCHSOURCE } : { status: STT.SUCCESS, body: sourcestatsBody(s) };
    }
    case REQ.TRACKING: return { status: STT.SUCCESS, body: trackingBody(ctx.snapshot()) };
    case REQ.NTP_SOURCE_NAME: {
      // By address, or by the ID address an unresolved source is reported with (chronyd's NSR_GetName finds both).
      const ip = ipField(b, 'ip');
      const s = ctx.snapshot().sources.find((x) => x.kind !== 'refclock' && sameIp(sourceIp(x), ip));
      if (s === undefined) return { status: STT.NOSUCHSOURCE };
      const name = new Uint8Array(256);
      name.set(new TextEncoder().encode(s.name).subarray(0, 255));
      return { status: STT.SUCCESS, body: { reply: RPY.NTP_SOURCE_NAME, fields: { name } } };
    }
    case REQ.ACTIVITY: {
      const r = await ctx.call('activity', {});
      if (!r.ok) return { status: status(r) };
      const a = r.result as Record<string, number>;
      return { status: STT.SUCCESS, body: { reply: RPY.ACTIVITY, fields: { online: a.online, offline: a.offline, burst_online: a.burstOnline, burst_offline: a.burstOffline, unresolved: a.unresolved } } };
    }
    case REQ.CLIENT_ACCESSES_BY_INDEX3: return clientsBody(ctx, b);
    case REQ.SERVER_STATS: return { status: STT.SUCCESS, body: await serverStatsBody(ctx) };
    case REQ.NTP_DATA: return ntpDataBody(ctx, ipField(b, 'ip'));
    case REQ.SELECT_DATA: return selectDataBody(ctx, num(b, 'index'));
    case REQ.AUTH_DATA: return authDataBody(ctx, ipField(b, 'ip'));
    case REQ.SMOOTHING: {
      const sm = ctx.snapshot().smoothing;
      if (sm === undefined) return { status: STT.NOTENABLED };
      return {
        status: STT.SUCCESS,
        body: {
          reply: RPY.SMOOTHING,
          fields: { flags: (sm.active ? 1 : 0) | (sm.leapOnly ? 2 : 0), offset: sm.offset, freq_ppm: sm.freqPpm, wander_ppm: sm.wanderPpm, last_update_ago: sm.lastUpdateAgo, remaining_time: sm.remainingTime },
        },
      };
    }
    // No RTC tracking (rtcfile): chronyd without an RTC driver answers so.
    case REQ.RTCREPORT: case REQ.WRITERTC: case REQ.TRIMRTC: return { status: STT.NORTC };
    case REQ.MANUAL_LIST: return { status: STT.SUCCESS, body: await manualListBody(ctx) };
    case REQ.CMDACCHECK: {
      const address = ipToText(ipField(b, 'ip'));
      if (address === null) return { status: STT.BADSUBNET };
      return { status: ctx.cmdAllowed(address) ? STT.ACCESSALLOWED : STT.ACCESSDENIED };
    }
    case REQ.ACCHECK: {
      const address = ipToText(ipField(b, 'ip'));
      if (address === null) return { status: STT.BADSUBNET };
      const r = await ctx.call('accheck', { address });
      if (!r.ok) return { status: status(r) };
      return { status: (r.result as { allowed?: boolean }).allowed === true ? STT.ACCESSALLOWED : STT.ACCESSDENIED };
    }
    case REQ.ONLINE: return perSource(ctx, 'online', b);
    case REQ.OFFLINE: return perSource(ctx, 'offline', b);
    case REQ.ONOFFLINE: return byName(ctx, 'onoffline');
    case REQ.ALLOW: case REQ.ALLOWALL: case REQ.DENY: case REQ.DENYALL:
    case REQ.CMDALLOW: case REQ.CMDALLOWALL: case REQ.CMDDENY: case REQ.CMDDENYALL: return allowDeny(ctx, req.command, b);
    case REQ.DFREQ: return byName(ctx, 'dfreq', { ppm: num(b, 'dfreq') });
    case REQ.RESELECT: return byName(ctx, 'reselect');
    case REQ.RESELECTDISTANCE: return byName(ctx, 'reselectdist', { distance: num(b, 'distance') });
    case REQ.BURST: return perSource(ctx, 'burst', b, { good: num(b, 'n_good_samples'), max: num(b, 'n_total_samples') });
    case REQ.MAKESTEP: return byName(ctx, 'makestep');
    case REQ.MODIFY_MAKESTEP: return byName(ctx, 'makestep', { threshold: num(b, 'threshold'), limit: num(b, 'limit') });
    case REQ.DEL_SOURCE: {
      const address = ipToText(ipField(b, 'ip'));
      return address === null ? { status: STT.NOSUCHSOURCE } : byName(ctx, 'delete', { address });
    }
    case REQ.ADD_SOURCE: {
      const line = sourceLine(b);
      return line === null ? { status: STT.INVALIDNAME } : byName(ctx, 'add', { line });
    }
    case REQ.RELOAD_SOURCES: return byName(ctx, 'reload');
    case REQ.DUMP: return byName(ctx, 'dump');
    case REQ.CYCLELOGS: return byName(ctx, 'cyclelogs');
    case REQ.REKEY: return byName(ctx, 'rekey');
    case REQ.REFRESH: return byName(ctx, 'refresh');
    case REQ.RESET_SOURCES: return byName(ctx, 'reset-sources');
    case REQ.SHUTDOWN: return byName(ctx, 'shutdown');
    case REQ.DOFFSET2: return byName(ctx, 'doffset', { offset: num(b, 'doffset') });
    case REQ.LOCAL2: return byName(ctx, 'local', { enable: num(b, 'on_off') !== 0, stratum: num(b, 'stratum'), orphan: num(b, 'orphan') !== 0, distance: num(b, 'distance') });
    case REQ.MANUAL: {
      const action = ({ 0: 'off', 1: 'on', 2: 'reset' } as Record<number, string>)[num(b, 'option')];
      return action === undefined ? { status: STT.INVALID } : byName(ctx, 'manual', { action });
    }
    case REQ.MANUAL_DELETE: return byName(ctx, 'manual', { action: 'delete', index: num(b, 'index') });
    case REQ.SETTIME: {
      const ts = b.ts as CandmTimespec;
      const r = await ctx.call('settime', { unixSeconds: `${ts.sec}.${String(ts.nsec).padStart(9, '0')}` });
      if (!r.ok) return { status: status(r) };
      const fast = (r.result as { fast?: number }).fast ?? 0;
      return { status: STT.SUCCESS, body: { reply: RPY.MANUAL_TIMESTAMP2, fields: { offset: fast } } };
    }
    case REQ.MODIFY_MINPOLL: return modify(ctx, b, 'minpoll', 'new_minpoll');
    case REQ.MODIFY_MAXPOLL: return modify(ctx, b, 'maxpoll', 'new_maxpoll');
    case REQ.MODIFY_MAXDELAY: return modify(ctx, b, 'maxdelay', 'new_max_delay');
    case REQ.MODIFY_MAXDELAYRATIO: return modify(ctx, b, 'maxdelayratio', 'new_max_delay_ratio');
    case REQ.MODIFY_MAXDELAYDEVRATIO: return modify(ctx, b, 'maxdelaydevratio', 'new_max_delay_dev_ratio');
    case REQ.MODIFY_MINSTRATUM: return modify(ctx, b, 'minstratum', 'new_min_stratum');
    case REQ.MODIFY_POLLTARGET: return modify(ctx, b, 'polltarget', 'new_poll_target');
    case REQ.MODIFY_MAXUPDATESKEW: return byName(ctx, 'modify-source', { field: 'maxupdateskew', value: num(b, 'new_max_update_skew') });
    case REQ.SMOOTHTIME: return byName(ctx, 'smoothtime', { action: num(b, 'option') === 1 ? 'activate' : 'reset' });
    default:
      return { status: STT.INVALID };
  }
}
