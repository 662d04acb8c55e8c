/**
 * Queries many NTP servers at once (`ntpkit fleet`): the IO half of
 * core/tools/fleet.ts, sharing the request (core/client-request.ts), reply
 * checks (core/reply-validation.ts) and best-sample choice
 * (core/tools/server-estimate.ts) with `ntpkit query`.
 *
 * - One unconnected socket per address family (fleet-query-socket.ts);
 *   requests are paced (`rate` per second) and bounded (`maxInFlight`), so a
 *   thousand hosts neither flood the network nor queue replies behind each
 *   other in the event loop.
 * - Each request carries a fresh random transmit timestamp, as chrony's
 *   clients send, which the reply must echo as its origin; a reply is taken
 *   only from the address and port the request went to, with that cookie. A
 *   reply with another origin (a late answer to an earlier attempt, or a
 *   forgery) is ignored and the exchange keeps waiting.
 * - Per host: up to `samples` valid samples, one at a time, each attempt
 *   given `timeoutMs`; after `retries` consecutive timeouts the host is
 *   given up. The minimum-delay sample is kept (estimateServer, as in
 *   `ntpkit query`), because the least-delayed exchange bounds the offset
 *   error most tightly.
 * - A kiss-o'-death or an unsynchronized reply ends that host's queries.
 */
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { buildClientRequest } from '../core/client-request.js';
import { evaluateReply } from '../core/reply-validation.js';
import { estimateServer, type ServerEstimate } from '../core/tools/server-estimate.js';
import type { Sample } from '../core/sample.js';
import { Leap } from '../proto/constants.js';
import type { NtpHeader } from '../proto/header.js';
import { parseIPv6 } from '../proto/ip-address.js';
import type { Instant } from '../time/instant.js';
import type { NtpTimestamp } from '../time/timestamp.js';
import { CLIENT_PRECISION, dnsFailureReason, type FailureCode, type SampleRecord, type ServerFailure } from './query.js';
import { chooseSharedTransport, type SentDatagram, type SharedSocket, type SharedTransport } from './fleet-query-socket.js';
import type { UdpPreferences, UdpTransportInfo } from './udp-socket.js';

export const FLEET_QUERY_DEFAULTS = {
  samples: 3,
  timeoutMs: 1000,
  retries: 2,
  /** Requests per second: 3000 samples of 1000 hosts go out in about 1.5 s. */
  rate: 2000,
  maxInFlight: 512,
  version: 4,
  resolveConcurrency: 32,
} as const;

export interface FleetEndpoint {
  /** Host name or address literal (no brackets). */
  readonly host: string;
  readonly port: number;
}

export interface FleetQueryOptions {
  readonly samples?: number;
  /** Per attempt. */
  readonly timeoutMs?: number;
  /** Consecutive timeouts tolerated before a host is given up. */
  readonly retries?: number;
  readonly rate?: number;
  readonly maxInFlight?: number;
  readonly version?: number;
  readonly family?: 0 | 4 | 6;
  readonly resolveConcurrency?: number;
  /** Forces node:dgram with this clock (tests). */
  readonly now?: () => Instant;
  /** The composition root's say in the socket backend (the CLI's NTPKIT_UDP). */
  readonly udp?: UdpPreferences;
  /** Name resolution; node:dns unless injected (tests must not send DNS queries). */
  readonly lookup?: (host: string, family: 0 | 4 | 6) => Promise<{ address: string; family: number }>;
  /** Called as each endpoint is finished. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface EndpointResult {
  readonly host: string;
  readonly port: number;
  readonly address: string | null;
  readonly samples: readonly SampleRecord[];
  readonly estimate: ServerEstimate | null;
  readonly error: ServerFailure | null;
}

export interface FleetQueryResult {
  /** In the order of the endpoints given. */
  readonly results: readonly EndpointResult[];
  readonly transport: UdpTransportInfo;
  readonly elapsedMs: number;
  readonly requestsSent: number;
  /** Datagrams that matched no outstanding request (wrong source, stale or forged origin). */
  readonly ignoredReplies: number;
}

interface HostState {
  readonly host: string;
  readonly port: number;
  readonly address: string;
  readonly family: 4 | 6;
  readonly records: SampleRecord[];
  ok: number;
  attempts: number;
  timeouts: number;
  done: boolean;
  cookie: NtpTimestamp;
  sent: SentDatagram | null;
  deadline: number;
}

/** Queries every endpoint; never rejects for a host's failure. */
export async function queryEndpoints(endpoints: readonly FleetEndpoint[], opts: FleetQueryOptions = {}): Promise<FleetQueryResult> {
  const started = performance.now();
  const samples = Math.max(1, Math.trunc(opts.samples ?? FLEET_QUERY_DEFAULTS.samples));
  const timeoutMs = Math.max(1, opts.timeoutMs ?? FLEET_QUERY_DEFAULTS.timeoutMs);
  const retries = Math.max(0, Math.trunc(opts.retries ?? FLEET_QUERY_DEFAULTS.retries));
  const rate = Math.max(1, opts.rate ?? FLEET_QUERY_DEFAULTS.rate);
  const maxInFlight = Math.max(1, Math.trunc(opts.maxInFlight ?? FLEET_QUERY_DEFAULTS.maxInFlight));
  const version = opts.version ?? FLEET_QUERY_DEFAULTS.version;
  const total = endpoints.length;
  let finished = 0;
  const progress = (): void => { finished++; opts.onProgress?.(finished, total); };

  const resolved = await resolveAll(endpoints, opts, timeoutMs * (retries + 1));
  // Duplicates (the same address and port under two names) are queried once.
  const states = new Map<string, HostState>();
  const failures = new Map<number, ServerFailure>();
  resolved.forEach((r, i) => {
    if (!r.ok) { failures.set(i, r.error); progress(); return; }
    const key = endpointKey(r.address, (endpoints[i] as FleetEndpoint).port);
    if (states.has(key)) return;
    states.set(key, {
      host: (endpoints[i] as FleetEndpoint).host, port: (endpoints[i] as FleetEndpoint).port, address: r.address, family: r.family,
      records: [], ok: 0, attempts: 0, timeouts: 0, done: false, cookie: 0n, sent: null, deadline: 0,
    });
  });

  const transport = chooseSharedTransport(opts);
  const counters = { sent: 0, ignored: 0 };
  if (states.size > 0) await runExchanges([...states.values()], transport, { samples, timeoutMs, retries, rate, maxInFlight, version }, counters, () => {
    progress();
  });
  // Duplicate endpoints finish with their first occurrence; count them for progress too.
  for (let i = finished; i < total; i++) progress();

  const results = endpoints.map((e, i): EndpointResult => {
    const fail = failures.get(i);
    const r = resolved[i];
    if (fail !== undefined || r === undefined || !r.ok) {
      return { host: e.host, port: e.port, address: null, samples: [], estimate: null, error: fail ?? { code: 'dns', message: 'not resolved' } };
    }
    const s = states.get(endpointKey(r.address, e.port)) as HostState;
    const valid = s.records.filter((x): x is SampleRecord & { sample: Sample; header: NtpHeader } => x.status === 'ok');
    const estimate = estimateServer(valid);
    return { host: e.host, port: e.port, address: r.address, samples: s.records, estimate, error: estimate ? null : hostFailure(s.records, timeoutMs) };
  });
  return { results, transport: transport.info, elapsedMs: performance.now() - started, requestsSent: counters.sent, ignoredReplies: counters.ignored };
}

interface Pace { samples: number; timeoutMs: number; retries: number; rate: number; maxInFlight: number; version: number }

/** How often the scheduler wakes to send and to expire attempts, ms. */
const TICK_MS = 2;

function runExchanges(hosts: HostState[], transport: SharedTransport, p: Pace, counters: { sent: number; ignored: number }, onDone: () => void): Promise<void> {
  return new Promise((resolveAll) => {
    const byKey = new Map(hosts.map((h) => [endpointKey(h.address, h.port), h]));
    const sockets = new Map<4 | 6, SharedSocket>();
    const ready: HostState[] = [...hosts];
    let readAt = 0;
    const inFlight = new Set<HostState>();
    let remaining = hosts.length;
    const start = performance.now();
    let socketError: NodeJS.ErrnoException | null = null;

    const finishHost = (h: HostState): void => {
      h.sent?.release();
      h.sent = null;
      inFlight.delete(h);
      if (h.done) return;
      h.done = true;
      remaining--;
      onDone();
    };
    const record = (h: HostState, r: Omit<SampleRecord, 'index'>): void => { h.records.push({ index: h.records.length, ...r }); };
    const next = (h: HostState): void => {
      h.sent?.release();
      h.sent = null;
      inFlight.delete(h);
      if (h.ok >= p.samples || h.timeouts > p.retries || h.attempts >= p.samples + p.retries) finishHost(h);
      else ready.push(h);
    };
    const onReply = (data: Uint8Array, address: string, port: number, arrival: { time: Instant }): void => {
      const h = byKey.get(endpointKey(address, port));
      if (h === undefined || h.sent === null) { counters.ignored++; return; }
      const v = evaluateReply(data, { cookie: h.cookie, t1: h.sent.transmitTime().time, t4: arrival.time, clientPrecision: CLIENT_PRECISION });
      if (v.ok) {
        record(h, { status: 'ok', sample: v.sample, header: v.header });
        h.ok++;
        h.timeouts = 0;
        next(h);
        return;
      }
      if (v.rejection === 'origin-mismatch') { counters.ignored++; return; }
      // chronyd with no source answers stratum 0, leap 3, refid 0: not a kiss (no code), just no time.
      const unsynced = v.rejection === 'kod' && v.header?.leap === Leap.Unsynchronized && v.header.referenceId === 0;
      if (unsynced) record(h, { status: 'unsynchronized', message: 'server is not synchronized (leap 3, stratum 0)', ...(v.header ? { header: v.header } : {}) });
      else record(h, { status: v.rejection, message: v.message, ...(v.header ? { header: v.header } : {}), ...(v.kissCode ? { kissCode: v.kissCode } : {}) });
      // RFC 5905 §7.4: a KoD asks us to stop or slow down; an unsynchronized server has no time to give.
      if (v.rejection === 'kod' || v.rejection === 'unsynchronized') finishHost(h);
      else next(h);
    };
    const socketFor = (family: 4 | 6): SharedSocket | null => {
      let s = sockets.get(family);
      if (s === undefined) {
        try {
          s = transport.open(family, { onReply, onError: (err) => { socketError = err; } });
        } catch (e) {
          socketError = e as NodeJS.ErrnoException;
          return null;
        }
        sockets.set(family, s);
      }
      return s;
    };

    const tick = (): void => {
      const now = performance.now();
      for (const h of inFlight) {
        if (now < h.deadline) continue;
        record(h, { status: 'timeout', message: 'no reply before the timeout' });
        h.timeouts++;
        next(h);
      }
      let budget = Math.floor(((now - start) * p.rate) / 1000) + 1 - counters.sent;
      while (budget > 0 && inFlight.size < p.maxInFlight && readAt < ready.length) {
        const h = ready[readAt++] as HostState;
        const sock = socketFor(h.family);
        h.attempts++;
        if (sock === null) {
          record(h, { status: 'unreachable', message: `cannot open an IPv${h.family} socket: ${socketError?.message ?? 'unknown error'}` });
          finishHost(h);
          continue;
        }
        h.cookie = randomCookie();
        try {
          h.sent = sock.send(buildClientRequest(p.version, h.cookie), h.address, h.port);
        } catch (e) {
          const err = e as NodeJS.ErrnoException;
          record(h, { status: 'unreachable', message: `${h.address} port ${h.port}: ${err.code ?? 'error'}: ${err.message}` });
          next(h);
          continue;
        }
        counters.sent++;
        budget--;
        h.deadline = now + p.timeoutMs;
        inFlight.add(h);
      }
      if (readAt > 4096 && readAt * 2 > ready.length) { ready.splice(0, readAt); readAt = 0; }
      if (remaining === 0) {
        clearInterval(timer);
        for (const s of sockets.values()) s.close();
        resolveAll();
      }
    };
    const timer = setInterval(tick, TICK_MS);
    tick();
  });
}

type Resolved = { ok: true; address: string; family: 4 | 6 } | { ok: false; error: ServerFailure };

/** Literal addresses at once; names through `lookup`, at most `resolveConcurrency` at a time. */
async function resolveAll(endpoints: readonly FleetEndpoint[], opts: FleetQueryOptions, timeoutMs: number): Promise<Resolved[]> {
  const family = opts.family ?? 0;
  const out: Resolved[] = new Array<Resolved>(endpoints.length);
  const names: number[] = [];
  endpoints.forEach((e, i) => {
    const lit = isIP(e.host);
    if (lit === 0) { names.push(i); return; }
    out[i] = family !== 0 && lit !== family
      ? { ok: false, error: { code: 'bad-target', message: `${e.host} is an IPv${lit} address, but -${family} was given` } }
      : { ok: true, address: e.host, family: lit === 6 ? 6 : 4 };
  });
  const lookupFn = opts.lookup ?? ((h: string, f: 0 | 4 | 6) => lookup(h, { family: f }));
  let at = 0;
  const worker = async (): Promise<void> => {
    while (at < names.length) {
      const i = names[at++] as number;
      const host = (endpoints[i] as FleetEndpoint).host;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
      try {
        const res = await Promise.race([lookupFn(host, family), timeout]);
        out[i] = res === 'timeout'
          ? { ok: false, error: { code: 'dns', message: `DNS lookup of ${host} timed out` } }
          : { ok: true, address: res.address, family: res.family === 6 ? 6 : 4 };
      } catch (e) {
        out[i] = { ok: false, error: { code: 'dns', message: `Cannot resolve ${host}: ${dnsFailureReason(e as NodeJS.ErrnoException)}` } };
      } finally {
        clearTimeout(timer);
      }
    }
  };
  const n = Math.min(names.length, Math.max(1, opts.resolveConcurrency ?? FLEET_QUERY_DEFAULTS.resolveConcurrency));
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}

/** One spelling per address: IPv6 text forms vary ("::1", "0:0::1"), so they are keyed by their octets. */
export function endpointKey(address: string, port: number): string {
  if (isIP(address) === 6) {
    const b = parseIPv6(address);
    if (b !== null) {
      // An IPv4-mapped address is the IPv4 host itself.
      const mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
      return mapped ? `${b[12]}.${b[13]}.${b[14]}.${b[15]}|${port}` : `${Buffer.from(b).toString('hex')}|${port}`;
    }
  }
  return `${address}|${port}`;
}

function randomCookie(): NtpTimestamp {
  let c = 0n;
  while (c === 0n) c = randomBytes(8).readBigUInt64BE(0); // zero means "no timestamp" on the wire
  return c;
}

/** When no sample was valid, the most telling failure speaks for the host. */
const FAILURE_RANK: readonly FailureCode[] = [
  'kod', 'unsynchronized', 'bogus-timestamps', 'wrong-mode', 'not-ntp', 'truncated', 'unreachable', 'timeout',
];

function hostFailure(records: readonly SampleRecord[], timeoutMs: number): ServerFailure {
  for (const code of FAILURE_RANK) {
    const r = records.find((s) => s.status === code);
    if (r === undefined) continue;
    const n = records.filter((s) => s.status === code).length;
    const message = code === 'timeout' ? `no reply within ${timeoutMs / 1000} s` : (r.message ?? code);
    return { code, message: n > 1 ? `${message} (${n} attempts)` : message, ...(r.kissCode ? { kissCode: r.kissCode } : {}) };
  }
  return { code: 'timeout', message: 'no request could be sent' };
}
