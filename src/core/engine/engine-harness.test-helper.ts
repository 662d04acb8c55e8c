/**
 * A tiny deterministic world for the engine's tests: one client clock (offset,
 * frequency error, corrections applied as the engine asks), servers that
 * answer basic and interleaved requests, fixed or seeded-random delays, and an
 * event loop in true time. Much smaller than src/sim, which core may not import.
 */
import { addSeconds, diffSeconds, instantFromUnixSeconds, type Instant } from '../../time/instant.js';
import { fromNtpTimestamp, toNtpTimestamp } from '../../time/timestamp.js';
import { Leap, Mode } from '../../proto/constants.js';
import { encodeHeader, parseHeader, type NtpHeader } from '../../proto/header.js';
import { refIdFromCode } from '../../proto/refid.js';
import { secondsToShort } from '../../time/short.js';
import { DISCIPLINE_DEFAULTS, type DisciplineOptions, type EngineAction, type EngineCommand, type EngineCommandResult, type EngineEvent } from './engine-api.js';
import { SyncEngine, type EngineTuning } from './engine.js';
import type { SourceOptions } from './source-options.js';

export const START = instantFromUnixSeconds(1_750_000_000);

export interface FakeServer {
  /** Server time − true time, seconds. */
  offset: number;
  /** One-way delay, seconds (each way); `jitter` adds seeded Exp(1)·jitter per direction. */
  delay: number;
  jitter?: number;
  /** The jitter of the way back instead of `jitter` (0: all queueing on the way to the server). */
  jitterBack?: number;
  /** Extra seeded Exp(1)·downJitter on the way back only (an asymmetric path). */
  downJitter?: number;
  /** t3 − t2 the server reports, seconds (default 10 us); beyond the round trip it gives a negative delay, as a server whose clock runs fast does. */
  hold?: number;
  stratum?: number;
  leap?: number;
  /** Answer with this kiss code instead. */
  kiss?: string | null;
  /** Poll field of replies (log2). */
  poll?: number;
  /** Drop every request. */
  down?: boolean;
  /** Answer interleaved requests interleaved (RFC 9769). */
  interleaved?: boolean;
  requests: number;
  /** Per-client interleaved state: last receive and transmit (wire). */
  lastRx?: bigint;
  lastTx?: bigint;
}

export function server(o: Partial<FakeServer> = {}): FakeServer {
  return { offset: 0, delay: 0.001, requests: 0, ...o };
}

export class World {
  /** True seconds since START. */
  t = 0;
  /** Client clock − true time, seconds. */
  offset: number;
  /** Oscillator error, ppm (positive: runs fast). */
  freqErr: number;
  /** Correction in force, ppm. */
  corrPpm = 0;
  readonly engine: SyncEngine;
  readonly servers = new Map<string, FakeServer>();
  readonly actions: { t: number; action: EngineAction }[] = [];
  readonly events: { t: number; event: EngineEvent }[] = [];
  readonly sends: { t: number; sourceId: number; address: string }[] = [];
  readonly steps: { t: number; seconds: number }[] = [];
  readonly freqs: { t: number; ppm: number }[] = [];
  private timer: Instant | null = null;
  private inflight: { at: number; address: string; port: number; data: Uint8Array }[] = [];
  private resolves: { at: number; id: number; host: string }[] = [];
  dns: (host: string) => readonly string[] | { error: string } = () => ({ error: 'no such host' });
  private seed = 12345;

  constructor(o: {
    sources: readonly SourceOptions[];
    discipline?: Partial<DisciplineOptions>;
    offset?: number;
    freqErr?: number;
    tuning?: EngineTuning;
    startAt?: Instant;
    /** chronyd -r's dumps, by file name. */
    restore?: ReadonlyMap<string, string>;
  }) {
    this.offset = o.offset ?? 0;
    this.freqErr = o.freqErr ?? 0;
    this.start = o.startAt ?? START;
    let s = 1;
    this.engine = new SyncEngine({
      sources: o.sources,
      discipline: { ...DISCIPLINE_DEFAULTS, ...o.discipline },
      precision: 2 ** -24,
      random: () => { s = (s * 16807) % 2147483647; return s / 2147483647; },
      ...(o.tuning !== undefined ? { tuning: o.tuning } : {}),
      ...(o.restore !== undefined ? { restore: o.restore } : {}),
    });
  }

  readonly start: Instant;

  rand(): number {
    this.seed = (this.seed * 16807) % 2147483647;
    return this.seed / 2147483647;
  }

  trueNow(): Instant { return addSeconds(this.start, this.t); }
  clientNow(): Instant { return addSeconds(this.start, this.t + this.offset); }

  private advance(to: number): void {
    if (to > this.t) {
      this.offset += (this.freqErr + this.corrPpm) * 1e-6 * (to - this.t);
      this.t = to;
    }
  }

  private apply(actions: EngineAction[]): void {
    for (const a of actions) {
      this.actions.push({ t: this.t, action: a });
      switch (a.kind) {
        case 'timer': this.timer = a.at; break;
        case 'set-frequency': this.corrPpm = a.ppm; this.freqs.push({ t: this.t, ppm: a.ppm }); break;
        case 'step': this.offset += a.seconds; this.steps.push({ t: this.t, seconds: a.seconds }); break;
        case 'event': this.events.push({ t: this.t, event: a.event }); break;
        case 'resolve': this.resolves.push({ at: this.t + 0.01, id: a.sourceId, host: a.host }); break;
        case 'send': this.send(a); break;
        default: break;
      }
    }
  }

  private send(a: Extract<EngineAction, { kind: 'send' }>): void {
    this.sends.push({ t: this.t, sourceId: a.sourceId, address: a.address });
    this.engine.sent(a.sourceId, this.clientNow());
    const srv = this.servers.get(a.address);
    if (srv === undefined || srv.down === true) return;
    srv.requests++;
    const req = parseHeader(a.packet);
    if (!req.ok) return;
    const up = srv.delay + (srv.jitter ?? 0) * -Math.log(1 - this.rand());
    const down = srv.delay + (srv.jitterBack ?? srv.jitter ?? 0) * -Math.log(1 - this.rand()) + (srv.downJitter ? srv.downJitter * -Math.log(1 - this.rand()) : 0);
    const t2 = addSeconds(this.start, this.t + up + srv.offset);
    const t3 = addSeconds(t2, srv.hold ?? 0.000_01);
    const h = req.value;
    const interleaved = srv.interleaved === true && h.originTimestamp !== 0n && h.originTimestamp === srv.lastRx && srv.lastTx !== undefined;
    const reply: NtpHeader = {
      // A kiss-o'-death carries leap 3 (RFC 5905 §7.4).
      leap: (srv.kiss != null ? Leap.Unsynchronized : srv.leap ?? Leap.NoWarning) as NtpHeader['leap'], version: h.version, mode: Mode.Server,
      stratum: srv.kiss != null ? 0 : srv.stratum ?? 1, poll: srv.poll ?? h.poll, precision: -24,
      rootDelay: secondsToShort(0), rootDispersion: secondsToShort(0.0001),
      referenceId: srv.kiss != null ? refIdFromCode(srv.kiss) : 0x47505300,
      referenceTimestamp: toNtpTimestamp(addSeconds(t2, -10)),
      originTimestamp: interleaved ? h.receiveTimestamp : h.transmitTimestamp,
      receiveTimestamp: toNtpTimestamp(t2),
      // An interleaved reply carries the real departure of the previous one; a basic one an estimate.
      transmitTimestamp: interleaved ? (srv.lastTx as bigint) : toNtpTimestamp(t3),
    };
    srv.lastRx = toNtpTimestamp(t2);
    srv.lastTx = toNtpTimestamp(t3);
    this.inflight.push({ at: this.t + up + down, address: a.address, port: 123, data: encodeHeader(reply) });
  }

  /** Runs until `until` true seconds. */
  run(until: number): void {
    if (this.t === 0 && this.actions.length === 0) this.apply(this.engine.start(this.clientNow()));
    for (;;) {
      const rate = 1 + (this.freqErr + this.corrPpm) * 1e-6;
      const timerAt = this.timer === null ? Infinity : this.t + Math.max(0, diffSeconds(this.timer, this.clientNow()) / rate) + 1e-9;
      this.inflight.sort((x, y) => x.at - y.at);
      const arr = this.inflight[0]?.at ?? Infinity;
      const res = this.resolves[0]?.at ?? Infinity;
      const next = Math.min(timerAt, arr, res);
      if (next > until) { this.advance(until); return; }
      this.advance(next);
      if (next === res) {
        const r = this.resolves.shift() as { id: number; host: string };
        const out = this.dns(r.host);
        this.apply(this.engine.resolved(r.id, Array.isArray(out) ? { addresses: out } : out as { error: string }, this.clientNow()));
      } else if (next === arr) {
        const d = this.inflight.shift() as { address: string; port: number; data: Uint8Array };
        const now = this.clientNow();
        this.apply(this.engine.receive({ address: d.address, port: d.port, data: d.data, t4: now }, now));
      } else {
        this.timer = null;
        this.apply(this.engine.tick(this.clientNow()));
      }
    }
  }

  snapshot() { return this.engine.snapshot(this.clientNow(), 'sim'); }

  /** A control command now, its actions carried out as a driver would. */
  control<C extends EngineCommand>(c: C): EngineCommandResult<C['op']> {
    const r = this.engine.control(c, this.clientNow());
    if (r.ok) this.apply(r.actions);
    return r;
  }

  source(address: string) {
    const s = this.snapshot().sources.find((x) => x.address === address);
    if (s === undefined) throw new Error(`no source ${address}`);
    return s;
  }
}

/** Decodes the origin, receive and transmit fields of a request (for interleaved-mode checks). */
export function requestFields(packet: Uint8Array): { origin: bigint; receive: bigint; transmit: bigint } {
  const h = parseHeader(packet);
  if (!h.ok) throw new Error('bad request');
  return { origin: h.value.originTimestamp, receive: h.value.receiveTimestamp, transmit: h.value.transmitTimestamp };
}

export { fromNtpTimestamp };
