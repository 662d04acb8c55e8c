/**
 * The reports' snapshot read over chrony's command protocol (chronyc -h),
 * so that tracking, sources and sourcestats print what they print from the
 * JSON socket. Sources are named as chronyc 4.3's format_name names them:
 * by address with -n (and in -c), by the name the daemon was given with -N
 * (REQ_NTP_SOURCE_NAME, "?" when it has none), else by the address's
 * reverse lookup (getnameinfo, the address when none); a reference clock by
 * its refid, an unresolved source ("ID#0000000001") only with -a. Figures
 * the protocol lacks read as zero, except that jitter is carried as the
 * sourcestats standard deviation and root distance as the last sample's
 * error bound (half the root delay plus the root dispersion), which is
 * what chronyd reports in their place.
 */
import { lookup, lookupService } from 'node:dns/promises';
import { isIP } from 'node:net';
import { CandmClient, type CandmClientOptions, type CandmEndpoint, CandmStatusError } from '../control/candm/client.js';
import { ipToText } from '../control/candm/addresses.js';
import { ControlError } from '../control/errors.js';
import type { ActivityReport } from '../core/engine/engine-api.js';
import type { DaemonSnapshot, SourceSnapshot, SourceVerdict, TrackingSnapshot } from '../core/engine/snapshot.js';
import { SNAPSHOT_VERSION } from '../core/engine/snapshot.js';
import { type CandmIp, type CandmTimespec, DEFAULT_CANDM_PORT, IPADDR_ID, IPADDR_INET4, IPADDR_UNSPEC, REQ, RPY } from '../proto/candm/index.js';

/** One word of -h: a host (name or address) and port, or a Unix socket path (starting with '/'). */
export type RemoteTarget =
  | { readonly host: string; readonly port: number; readonly path?: undefined }
  | { readonly path: string; readonly host?: undefined; readonly port?: undefined };

/** How sources are named: -n, -N, or chronyc's default reverse lookup. */
export type RemoteNaming = 'numeric' | 'source' | 'dns';

export interface RemoteNames {
  readonly naming?: RemoteNaming;
  /** -a: also the sources whose address is not known yet. */
  readonly all?: boolean;
}

/** chronyd's source states (candm.h RPY_SD_ST_*) as the snapshot's verdicts. */
const VERDICT: readonly SourceVerdict[] = ['selected', 'unusable', 'falseticker', 'jittery', 'combined', 'not-combined'];
const LEAP: readonly TrackingSnapshot['leapStatus'][] = ['normal', 'insert', 'delete', 'unsynchronized'];
const NO_SAMPLE = 0xffffffff;
const MODE_REF = 2;

/**
 * `-h HOST[:PORT]` and `-p PORT` as one target: a port inside the host
 * (`127.0.0.1:4323`, `[::1]:4323`) wins over -p; a bare IPv6 address has no port.
 */
export function parseRemoteTarget(host: string, port: number | undefined): RemoteTarget {
  const dflt = port ?? DEFAULT_CANDM_PORT;
  if (host.startsWith('/')) return { path: host };
  if (isIP(host) !== 0) return { host, port: dflt };
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(host) ?? /^([^:[\]]+):(\d+)$/.exec(host);
  const h = m?.[1] ?? host.replace(/^\[(.*)\]$/, '$1');
  const p = m?.[2] === undefined ? dflt : Number(m[2]);
  if (h === '' || !Number.isInteger(p) || p < 1 || p > 65535) throw new ControlError('bad-args', `Cannot use host "${host}": expected HOST, HOST:PORT with a port from 1 to 65535, or a socket path`);
  return { host: h, port: p };
}

/** chronyc's comma-separated -h list (`-h a,b`), each tried in turn. */
export function parseRemoteTargets(hosts: string, port: number | undefined): RemoteTarget[] {
  const words = hosts.split(',').filter((w) => w !== '');
  if (words.length === 0) throw new ControlError('bad-args', `Cannot use host "${hosts}": no host given`);
  return words.map((w) => parseRemoteTarget(w, port));
}

function num(body: Readonly<Record<string, unknown>>, name: string): number {
  const v = body[name];
  return typeof v === 'number' ? v : 0;
}

/** The snapshot's sign convention is RFC 5905's; chronyd's replies carry chronyc's (local minus source). */
function neg(x: number): number {
  return x === 0 ? 0 : -x;
}

export function unix(ts: CandmTimespec): string {
  return `${ts.sec}.${String(ts.nsec).padStart(9, '0')}`;
}

function ipWord(ip: CandmIp): number {
  return new DataView(ip.addr.buffer, ip.addr.byteOffset, 4).getUint32(0);
}

/** candm's ID address as chronyd's UTI_IPToString prints it. */
export function idText(ip: CandmIp): string {
  return `ID#${String(ipWord(ip)).padStart(10, '0')}`;
}

/** A refid as chronyc's UTI_RefidToString: its printable bytes. */
export function refidName(id: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = (id >>> (24 - 8 * i)) & 0xff;
    if (c >= 0x20 && c <= 0x7e) s += String.fromCharCode(c);
  }
  return s;
}

/** A name of an address as chronyc's DNS_IPAddress2Name: getnameinfo, else the address. */
async function reverse(address: string): Promise<string> {
  try {
    return (await lookupService(address, 0)).hostname;
  } catch {
    return address;
  }
}

/** chronyc's get_source_name: the daemon's name for the source, null when it has none to give. */
export async function remoteSourceName(client: CandmClient, ip: CandmIp): Promise<string | null> {
  try {
    const raw = (await client.request(REQ.NTP_SOURCE_NAME, { ip }, RPY.NTP_SOURCE_NAME)).body.name as Uint8Array;
    const end = raw.indexOf(0);
    if (end < 0) return null;
    const name = new TextDecoder().decode(raw.subarray(0, end));
    return /^[\x21-\x7e]+$/.test(name) ? name : null;
  } catch (e) {
    if (e instanceof CandmStatusError) return null;
    throw e;
  }
}

/** chronyc's format_name for a source: refid for a reference clock, else per naming. */
export async function remoteName(client: CandmClient, ip: CandmIp, names: RemoteNames, refId?: number): Promise<string> {
  if (refId !== undefined) return refidName(refId);
  if (names.naming === 'source') return (await remoteSourceName(client, ip)) ?? '?';
  const text = ipToText(ip);
  if (ip.family === IPADDR_ID) return idText(ip);
  if (text === null) return '[UNSPEC]';
  return names.naming === 'dns' ? reverse(text) : text;
}

async function resolveAll(host: string): Promise<string[]> {
  if (isIP(host) !== 0) return [host];
  try {
    return (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return [];
  }
}

/** The targets as endpoints, every address of a name in turn (chronyc's get_addresses); a name that resolves to none is left out. */
export async function remoteEndpoints(targets: readonly RemoteTarget[]): Promise<CandmEndpoint[]> {
  const out: CandmEndpoint[] = [];
  for (const t of targets) {
    if (t.path !== undefined) out.push({ kind: 'unix', path: t.path });
    else for (const host of await resolveAll(t.host)) out.push({ kind: 'udp', host, port: t.port });
  }
  if (out.length === 0) {
    const names = targets.map((t) => t.path ?? t.host).join(',');
    throw new ControlError('no-daemon', `Could not get IP address for ${names}`);
  }
  return out;
}

/** Opens a client of the targets and runs `fn` with it, closing it afterwards. */
export async function withRemote<T>(targets: RemoteTarget | readonly RemoteTarget[], opts: CandmClientOptions, fn: (c: CandmClient) => Promise<T>): Promise<T> {
  const client = await CandmClient.open(await remoteEndpoints(Array.isArray(targets) ? targets : [targets as RemoteTarget]), opts);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** tracking, n_sources, then source_data and sourcestats for each index: what chronyc asks for these reports. */
export async function fetchRemoteSnapshot(client: CandmClient, now: Date, names: RemoteNames = {}): Promise<DaemonSnapshot> {
  const t = (await client.request(REQ.TRACKING, {}, RPY.TRACKING)).body;
  const leapStatus = LEAP[num(t, 'leap_status')] ?? 'unsynchronized';
  const refIp = t.ip_addr as CandmIp;
  const tracking: TrackingSnapshot = {
    referenceId: num(t, 'ref_id'), referenceName: await remoteName(client, refIp, names, refIp.family === IPADDR_UNSPEC ? num(t, 'ref_id') : undefined), stratum: num(t, 'stratum'),
    refTime: unix(t.ref_time as CandmTimespec), systemTime: neg(num(t, 'current_correction')), lastOffset: neg(num(t, 'last_offset')),
    rmsOffset: num(t, 'rms_offset'), frequencyPpm: neg(num(t, 'freq_ppm')), residualFreqPpm: neg(num(t, 'resid_freq_ppm')),
    skewPpm: num(t, 'skew_ppm'), rootDelay: num(t, 'root_delay'), rootDispersion: num(t, 'root_dispersion'),
    updateInterval: num(t, 'last_update_interval'), leapStatus, synchronized: leapStatus !== 'unsynchronized',
  };
  const n = num((await client.request(REQ.N_SOURCES, {}, RPY.N_SOURCES)).body, 'n_sources');
  const sources: SourceSnapshot[] = [];
  for (let index = 0; index < n; index++) {
    const d = (await client.request(REQ.SOURCE_DATA, { index }, RPY.SOURCE_DATA)).body;
    const st = (await client.request(REQ.SOURCESTATS, { index }, RPY.SOURCESTATS)).body;
    const ip = d.ip_addr as CandmIp;
    if (ip.family === IPADDR_ID && names.all !== true) continue;
    const mode = num(d, 'mode');
    // chronyd reports a reference clock's refid as its IPv4 address in source_data (sources.c SRC_ReportSource).
    const refclock = mode === MODE_REF && (ip.family === IPADDR_INET4 || ip.family === IPADDR_UNSPEC);
    const address = refclock ? null : ipToText(ip);
    const name = await remoteName(client, ip, names, refclock ? (ip.family === IPADDR_INET4 ? ipWord(ip) : num(st, 'ref_id')) : undefined);
    const since = num(d, 'since_sample');
    const err = num(d, 'latest_meas_err');
    sources.push({
      id: index, kind: mode === 1 ? 'peer' : refclock ? 'refclock' : 'server', name, address: names.naming === 'numeric' ? address ?? name : address, port: 0,
      verdict: VERDICT[num(d, 'state')] ?? 'unusable', reason: '', prefer: false, noselect: false, stratum: num(d, 'stratum'),
      referenceId: num(st, 'ref_id'), poll: num(d, 'poll'), reach: num(d, 'reachability'), lastRxAgo: since === NO_SAMPLE ? null : since,
      lastSample: { adjustedOffset: neg(num(d, 'latest_meas')), measuredOffset: neg(num(d, 'orig_latest_meas')), error: err, delay: 0 },
      jitter: num(st, 'sd'), rootDistance: err,
      stats: {
        samples: num(st, 'n_samples'), runs: num(st, 'n_runs'), span: num(st, 'span_seconds'), frequencyPpm: neg(num(st, 'resid_freq_ppm')),
        skewPpm: num(st, 'skew_ppm'), offset: neg(num(st, 'est_offset')), stdDev: num(st, 'sd'), offsetError: num(st, 'est_offset_err'),
      },
      kissCode: null, kod: null, authProblem: null, interleaved: false,
    });
  }
  const ms = BigInt(now.getTime());
  return { version: SNAPSHOT_VERSION, time: `${ms / 1000n}.${String(ms % 1000n).padStart(3, '0')}000000`, clock: 'system', tracking, sources };
}

/** chronyc activity's five counts. */
export async function fetchRemoteActivity(client: CandmClient): Promise<ActivityReport> {
  const a = (await client.request(REQ.ACTIVITY, {}, RPY.ACTIVITY)).body;
  return {
    online: num(a, 'online'), offline: num(a, 'offline'), burstOnline: num(a, 'burst_online'), burstOffline: num(a, 'burst_offline'),
    unresolved: num(a, 'unresolved'),
  };
}
