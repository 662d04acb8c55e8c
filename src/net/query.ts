/**
 * One-shot queries over UDP: the IO half of core/client-request.ts,
 * core/reply-validation.ts and core/tools/server-estimate.ts. It resolves names,
 * sends each sample from a fresh socket (a fresh random source port, RFC 9109),
 * timestamps send and receive (with the kernel's packet timestamps where the
 * native socket is available, else with realtime() around node:dgram; see
 * udp-transport.ts), and leaves every judgement to the sans-IO engine.
 */
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { realtimeInfo, type RealtimeInfo } from '../clock/realtime.js';
import { buildClientRequest } from '../core/client-request.js';
import { evaluateReply, type ReplyRejection } from '../core/reply-validation.js';
import { combineServers, type CombinedVerdict, estimateServer, type ServerEstimate } from '../core/tools/server-estimate.js';
import type { Sample } from '../core/sample.js';
import type { NtpHeader } from '../proto/header.js';
import type { Instant } from '../time/instant.js';
import type { NtpTimestamp } from '../time/timestamp.js';
import { parseTarget, type Target } from './target.js';
import type { UdpPreferences } from './udp-socket.js';
import { chooseUdpTransport, type SentRequest, type UdpTransport, type UdpTransportInfo } from './udp-transport.js';

export const QUERY_DEFAULTS = {
  samples: 4,
  /** ntpdate-like spacing, so servers with rate limits (chrony's `ratelimit`, ntpd's `discard`) keep answering. */
  intervalMs: 1000,
  timeoutMs: 5000,
  version: 4,
  port: 123,
} as const;

/**
 * How precisely a JS-side timestamp marks a packet's departure or arrival.
 * clock_gettime itself resolves 1 ns, but the reading is taken in the event
 * loop next to the send/receive call; about 1 us (2^-20 s) is honest.
 */
export const CLIENT_PRECISION = 2 ** -20;

export interface QueryOptions {
  readonly samples?: number;
  readonly intervalMs?: number;
  /** The whole query, DNS included, ends by this time. */
  readonly timeoutMs?: number;
  readonly version?: number;
  /** 4 or 6 to restrict name resolution and sockets to one family; 0 for either. */
  readonly family?: 0 | 4 | 6;
  readonly port?: number;
  /** The clock that timestamps packets; realtime() unless a test injects one (then over node:dgram: kernel timestamps are not on its timescale). */
  readonly now?: () => Instant;
  /** The composition root's say in the socket backend (the CLI's NTPKIT_UDP). */
  readonly udp?: UdpPreferences;
  /** Name resolution; node:dns lookup unless a test injects one (tests must not send DNS queries). */
  readonly lookup?: (host: string, family: 0 | 4 | 6) => Promise<{ address: string; family: number }>;
  /** Called as each sample settles: progress for interactive use. */
  readonly onSample?: (spec: string, record: SampleRecord) => void;
}

/** Why a server or sample failed. Stable names: they appear in JSON output and map to exit codes. */
export type FailureCode = 'bad-target' | 'dns' | 'unreachable' | 'timeout' | ReplyRejection;

export interface SampleRecord {
  readonly index: number;
  readonly status: 'ok' | FailureCode;
  readonly message?: string;
  readonly sample?: Sample;
  readonly header?: NtpHeader;
  readonly kissCode?: string;
}

export interface ServerFailure {
  readonly code: FailureCode;
  readonly message: string;
  readonly kissCode?: string;
}

export interface ServerResult {
  /** The operand as given. */
  readonly spec: string;
  readonly host: string;
  readonly port: number;
  /** The address queried, once resolved. */
  readonly address: string | null;
  readonly samples: readonly SampleRecord[];
  readonly estimate: ServerEstimate | null;
  /** Set when no sample was valid. */
  readonly error: ServerFailure | null;
}

export interface QueryReport {
  readonly servers: readonly ServerResult[];
  /** The combined verdict; null unless at least 3 servers gave valid estimates. */
  readonly verdict: CombinedVerdict | null;
  readonly clock: RealtimeInfo;
  /** How packets were sent and timestamped: the native socket with kernel timestamps, or node:dgram (`reason` says why). */
  readonly transport: UdpTransportInfo;
  readonly settings: { readonly samples: number; readonly intervalMs: number; readonly timeoutMs: number; readonly version: number };
}

/** Minimum number of answering servers for a combined verdict: with 2, a disagreement has no majority. */
export const MIN_SERVERS_FOR_VERDICT = 3;

/** Queries several servers at once and combines what they say. */
export async function queryServers(specs: readonly string[], opts: QueryOptions = {}): Promise<QueryReport> {
  const settings = resolveSettings(opts);
  const deadline = performance.now() + settings.timeoutMs;
  // Exchanges with different servers are staggered across the sampling
  // interval: replies arriving together queue in the event loop, and every
  // reply but the first would get a late receive timestamp.
  const stagger = specs.length > 1 ? settings.intervalMs / specs.length : 0;
  const transport = chooseUdpTransport(opts);
  const servers = await Promise.all(specs.map((spec, i) => queryOne(spec, opts, settings, transport, deadline, i * stagger)));
  const answered = servers.filter((s): s is ServerResult & { estimate: ServerEstimate } => s.estimate !== null);
  let verdict: CombinedVerdict | null = null;
  if (answered.length >= MIN_SERVERS_FOR_VERDICT) {
    const v = combineServers(answered.map((s) => s.estimate));
    // Re-index from "answering servers" to positions in `servers`.
    const pos = answered.map((s) => servers.indexOf(s));
    verdict = v.ok ? { ...v, agree: v.agree.map((i) => pos[i] as number), falsetickers: v.falsetickers.map((i) => pos[i] as number) } : v;
  }
  return { servers, verdict, clock: realtimeInfo(), transport: transport.info, settings };
}

/** Queries one server. */
export async function queryServer(spec: string, opts: QueryOptions = {}): Promise<ServerResult> {
  const settings = resolveSettings(opts);
  return queryOne(spec, opts, settings, chooseUdpTransport(opts), performance.now() + settings.timeoutMs);
}

type Settings = QueryReport['settings'] & { readonly port: number };

function resolveSettings(opts: QueryOptions): Settings {
  const samples = Math.max(1, Math.trunc(opts.samples ?? QUERY_DEFAULTS.samples));
  const timeoutMs = Math.max(1, opts.timeoutMs ?? QUERY_DEFAULTS.timeoutMs);
  // The last request goes out by 60% of the timeout, so it has time to come back.
  const intervalCap = samples > 1 ? (0.6 * timeoutMs) / (samples - 1) : Infinity;
  const intervalMs = Math.max(0, Math.min(opts.intervalMs ?? QUERY_DEFAULTS.intervalMs, intervalCap));
  return { samples, intervalMs, timeoutMs, version: opts.version ?? QUERY_DEFAULTS.version, port: opts.port ?? QUERY_DEFAULTS.port };
}

async function queryOne(spec: string, opts: QueryOptions, settings: Settings, transport: UdpTransport, deadline: number, delayMs = 0): Promise<ServerResult> {
  const parsed = parseTarget(spec, settings.port);
  if (!parsed.ok) {
    return { spec, host: spec, port: settings.port, address: null, samples: [], estimate: null, error: { code: 'bad-target', message: parsed.message } };
  }
  const target = parsed.target;
  const resolved = await resolve(target, opts.family ?? 0, deadline, opts.lookup ?? ((h, f) => lookup(h, { family: f })));
  if (!resolved.ok) {
    return { spec, host: target.host, port: target.port, address: null, samples: [], estimate: null, error: resolved.error };
  }
  const { address, family } = resolved;
  const records: Promise<SampleRecord>[] = [];
  let stop = false;
  const start = performance.now() + delayMs;
  for (let i = 0; i < settings.samples && !stop; i++) {
    const at = start + i * settings.intervalMs;
    if (at >= deadline) break;
    await sleep(at - performance.now());
    if (stop) break;
    records.push(runSample(transport, i, address, family, target.port, settings.version, deadline).then((r) => {
      // RFC 5905 §7.4: a kiss-o'-death asks us to stop (DENY, RSTR) or slow down (RATE);
      // either way a one-shot query sends no more to that server.
      if (r.status === 'kod') stop = true;
      opts.onSample?.(spec, r);
      return r;
    }));
  }
  const samples = await Promise.all(records);
  const valid = samples.filter((r): r is SampleRecord & { sample: Sample; header: NtpHeader } => r.status === 'ok');
  const estimate = estimateServer(valid);
  return {
    spec, host: target.host, port: target.port, address, samples, estimate,
    error: estimate ? null : worstFailure(samples, settings.timeoutMs),
  };
}

type Resolved = { ok: true; address: string; family: 4 | 6 } | { ok: false; error: ServerFailure };

async function resolve(target: Target, family: 0 | 4 | 6, deadline: number, lookupFn: NonNullable<QueryOptions['lookup']>): Promise<Resolved> {
  const literal = isIP(target.host);
  if (literal !== 0 && family !== 0 && literal !== family) {
    return { ok: false, error: { code: 'bad-target', message: `${target.host} is an IPv${literal} address, but -${family} was given` } };
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), Math.max(0, deadline - performance.now())); });
  try {
    const res = await Promise.race([lookupFn(target.host, family), timeout]);
    if (res === 'timeout') return { ok: false, error: { code: 'dns', message: `DNS lookup of ${target.host} timed out` } };
    return { ok: true, address: res.address, family: res.family === 6 ? 6 : 4 };
  } catch (e) {
    const fam = family ? ` (IPv${family})` : '';
    return { ok: false, error: { code: 'dns', message: `Cannot resolve ${target.host}${fam}: ${dnsFailureReason(e as NodeJS.ErrnoException)}` } };
  } finally {
    clearTimeout(timer);
  }
}

/** Why a lookup failed, in words for the common getaddrinfo errors; the daemon's resolver says it the same way. */
export function dnsFailureReason(err: NodeJS.ErrnoException): string {
  return err.code === 'ENOTFOUND' ? 'no such host' : err.code === 'EAI_AGAIN' ? 'temporary DNS failure' : (err.code ?? err.message);
}

/** One request and its reply, on a socket of its own, connected so the kernel filters other senders and reports ICMP errors. */
function runSample(transport: UdpTransport, index: number, address: string, family: 4 | 6, port: number, version: number, deadline: number): Promise<SampleRecord> {
  return new Promise((resolvePromise) => {
    let cookie: NtpTimestamp = 0n;
    let sent: SentRequest | null = null;
    let done = false;
    const finish = (r: Omit<SampleRecord, 'index'>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolvePromise({ index, ...r });
    };
    const timer = setTimeout(() => finish({ status: 'timeout', message: 'no reply before the timeout' }), Math.max(0, deadline - performance.now()));
    const sock = transport.open(family, address, port, {
      onReady: (send) => {
        cookie = randomCookie();
        sent = send(buildClientRequest(version, cookie));
      },
      onReply: (msg, arrival) => {
        if (sent === null) return;
        const v = evaluateReply(msg, { cookie, t1: sent.transmitTime().time, t4: arrival.time, clientPrecision: CLIENT_PRECISION });
        if (v.ok) finish({ status: 'ok', sample: v.sample, header: v.header });
        else finish({ status: v.rejection, message: v.message, ...(v.header ? { header: v.header } : {}), ...(v.kissCode ? { kissCode: v.kissCode } : {}) });
      },
      onError: (err) => finish(socketFailure(err, address, port)),
    });
  });
}

function socketFailure(err: NodeJS.ErrnoException, address: string, port: number): Omit<SampleRecord, 'index'> {
  const why = err.code === 'ECONNREFUSED' ? 'port unreachable (nothing listens there)'
    : err.code === 'EHOSTUNREACH' ? 'host unreachable'
      : err.code === 'ENETUNREACH' ? 'network unreachable'
        : `${err.code ?? 'error'}: ${err.message}`;
  return { status: 'unreachable', message: `${address} port ${port}: ${why}` };
}

function randomCookie(): NtpTimestamp {
  let c = 0n;
  while (c === 0n) c = randomBytes(8).readBigUInt64BE(0); // zero means "no timestamp" on the wire
  return c;
}

/** When every sample failed, the most telling failure speaks for the server. */
const FAILURE_RANK: readonly FailureCode[] = [
  'kod', 'unsynchronized', 'origin-mismatch', 'bogus-timestamps', 'wrong-mode', 'not-ntp', 'truncated', 'unreachable', 'timeout',
];

function worstFailure(samples: readonly SampleRecord[], timeoutMs: number): ServerFailure {
  for (const code of FAILURE_RANK) {
    const r = samples.find((s) => s.status === code);
    if (r) {
      const n = samples.filter((s) => s.status === code).length;
      const message = code === 'timeout' ? `no reply within ${timeoutMs / 1000} s` : (r.message ?? code);
      return { code, message: n > 1 ? `${message} (${n} of ${samples.length} samples)` : message, ...(r.kissCode ? { kissCode: r.kissCode } : {}) };
    }
  }
  return { code: 'timeout', message: `no request could be sent within ${timeoutMs / 1000} s` };
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
