/**
 * The reports' snapshot read from a daemon's UDP command port (chronyc -h),
 * so that tracking, sources and sourcestats print what they print from the
 * JSON socket. chrony's protocol carries addresses, not configured names, so
 * every source is named by its address (as chronyc -n shows it), and figures
 * the protocol lacks (jitter, root distance, kiss codes) read as zero.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { CandmClient, type CandmClientOptions } from '../control/candm/client.js';
import { ipToText } from '../control/candm/addresses.js';
import { ControlError } from '../control/errors.js';
import type { ActivityReport } from '../core/engine/engine-api.js';
import type { DaemonSnapshot, SourceSnapshot, SourceVerdict, TrackingSnapshot } from '../core/engine/snapshot.js';
import { SNAPSHOT_VERSION } from '../core/engine/snapshot.js';
import { type CandmIp, type CandmTimespec, DEFAULT_CANDM_PORT, IPADDR_ID, REQ, RPY } from '../proto/candm/index.js';
import { refIdAscii } from '../proto/refid.js';

export interface RemoteTarget {
  readonly host: string;
  readonly port: number;
}

/** chronyd's source states (candm.h RPY_SD_ST_*) as the snapshot's verdicts. */
const VERDICT: readonly SourceVerdict[] = ['selected', 'unusable', 'falseticker', 'jittery', 'combined', 'not-combined'];
const LEAP: readonly TrackingSnapshot['leapStatus'][] = ['normal', 'insert', 'delete', 'unsynchronized'];
const NO_SAMPLE = 0xffffffff;

/**
 * `-h HOST[:PORT]` and `-p PORT` as one target: a port inside the host
 * (`127.0.0.1:4323`, `[::1]:4323`) wins over -p; a bare IPv6 address has no port.
 */
export function parseRemoteTarget(host: string, port: number | undefined): RemoteTarget {
  const dflt = port ?? DEFAULT_CANDM_PORT;
  if (isIP(host) !== 0) return { host, port: dflt };
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(host) ?? /^([^:[\]]+):(\d+)$/.exec(host);
  const h = m?.[1] ?? host.replace(/^\[(.*)\]$/, '$1');
  const p = m?.[2] === undefined ? dflt : Number(m[2]);
  if (h === '' || !Number.isInteger(p) || p < 1 || p > 65535) throw new ControlError('bad-args', `Cannot use host "${host}": expected HOST or HOST:PORT with a port from 1 to 65535`);
  return { host: h, port: p };
}

function num(body: Readonly<Record<string, unknown>>, name: string): number {
  const v = body[name];
  return typeof v === 'number' ? v : 0;
}

/** The snapshot's sign convention is RFC 5905's; chronyd's replies carry chronyc's (local minus source). */
function neg(x: number): number {
  return x === 0 ? 0 : -x;
}

function unix(ts: CandmTimespec): string {
  return `${ts.sec}.${String(ts.nsec).padStart(9, '0')}`;
}

/** A refclock is reported by its reference id (family ID), printed as its ASCII name as chronyc does. */
function sourceName(ip: CandmIp): { name: string; address: string | null } {
  const address = ipToText(ip);
  if (address !== null) return { name: address, address };
  if (ip.family === IPADDR_ID) {
    const id = new DataView(ip.addr.buffer, ip.addr.byteOffset, 4).getUint32(0);
    return { name: refIdAscii(id) ?? id.toString(16).toUpperCase(), address: null };
  }
  return { name: '', address: null };
}

async function resolve(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  try {
    return (await lookup(host)).address;
  } catch {
    throw new ControlError('no-daemon', `Could not get IP address for ${host}`);
  }
}

/** Opens a client to the target and runs `fn` with it, closing it afterwards. */
export async function withRemote<T>(target: RemoteTarget, opts: CandmClientOptions, fn: (c: CandmClient) => Promise<T>): Promise<T> {
  const client = await CandmClient.connect(await resolve(target.host), target.port, opts);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** tracking, n_sources, then source_data and sourcestats for each index: what chronyc asks for these reports. */
export async function fetchRemoteSnapshot(client: CandmClient, now: Date): Promise<DaemonSnapshot> {
  const t = (await client.request(REQ.TRACKING, {}, RPY.TRACKING)).body;
  const leapStatus = LEAP[num(t, 'leap_status')] ?? 'unsynchronized';
  const refIp = sourceName(t.ip_addr as CandmIp);
  const tracking: TrackingSnapshot = {
    referenceId: num(t, 'ref_id'), referenceName: refIp.address ?? refIp.name, stratum: num(t, 'stratum'),
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
    const mode = num(d, 'mode');
    const since = num(d, 'since_sample');
    sources.push({
      id: index, kind: mode === 1 ? 'peer' : mode === 2 ? 'refclock' : 'server', ...sourceName(d.ip_addr as CandmIp), port: 0,
      verdict: VERDICT[num(d, 'state')] ?? 'unusable', reason: '', prefer: false, noselect: false, stratum: num(d, 'stratum'),
      referenceId: num(st, 'ref_id'), poll: num(d, 'poll'), reach: num(d, 'reachability'), lastRxAgo: since === NO_SAMPLE ? null : since,
      lastSample: { adjustedOffset: neg(num(d, 'latest_meas')), measuredOffset: neg(num(d, 'orig_latest_meas')), error: num(d, 'latest_meas_err'), delay: 0 },
      jitter: 0, rootDistance: 0,
      stats: {
        samples: num(st, 'n_samples'), runs: num(st, 'n_runs'), span: num(st, 'span_seconds'), frequencyPpm: neg(num(st, 'resid_freq_ppm')),
        skewPpm: num(st, 'skew_ppm'), offset: neg(num(st, 'est_offset')), stdDev: num(st, 'sd'),
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
