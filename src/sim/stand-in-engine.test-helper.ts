/**
 * A deliberately simple engine for the simulator's own tests: it polls every
 * source at 2^minpoll, steps beyond makestep's threshold and otherwise
 * corrects with a plain proportional-integral loop on the first source that
 * answered. It lets the simulator be tested without the real engine; it is
 * not an NTP client anyone should use. (Compiled only for tests: the file
 * name ends in .test-helper.ts and nothing outside tests imports it.)
 */
import { type EngineAction, type EngineCommandResult, type EngineOptions, refuseControl, type SyncEngineApi } from '../core/engine-api.js';
import { SNAPSHOT_VERSION, type DaemonSnapshot } from '../core/snapshot.js';
import { buildClientRequest } from '../core/client-request.js';
import { computeSample } from '../core/sample.js';
import { parsePacket } from '../proto/packet.js';
import { kissAction, kissCode } from '../proto/kiss.js';
import { Leap } from '../proto/constants.js';
import { addSeconds, type Instant } from '../time/instant.js';
import { fromNtpTimestamp } from '../time/timestamp.js';
import { unsynchronizedState, type SystemState } from '../core/system.js';

interface Src {
  id: number;
  host: string;
  port: number;
  poll: number;
  address: string | null;
  cookie: bigint;
  t1: Instant | null;
  next: Instant;
  stopped: boolean;
  lastOffset: number | null;
}

export class StandInEngine implements SyncEngineApi {
  readonly sources: Src[];
  freqPpm = 0;
  updates = 0;
  readonly offsets: number[] = [];
  readonly #o: EngineOptions;

  constructor(o: EngineOptions) {
    this.#o = o;
    this.sources = o.sources.map((s, id) => ({
      id, host: s.host, port: s.port, poll: s.minpoll, address: null, cookie: 0n, t1: null, next: 0n, stopped: false, lastOffset: null,
    }));
  }

  start(now: Instant): EngineAction[] {
    const out: EngineAction[] = [];
    for (const s of this.sources) {
      s.next = now;
      if (/^[\d.]+$/.test(s.host) || s.host.includes(':')) s.address = s.host;
      else out.push({ kind: 'resolve', sourceId: s.id, host: s.host });
    }
    return [...out, ...this.tick(now)];
  }

  tick(now: Instant): EngineAction[] {
    const out: EngineAction[] = [];
    for (const s of this.sources) {
      if (s.stopped || !s.address || s.next > now) continue;
      s.cookie = BigInt(Math.floor(this.#o.random() * 2 ** 32)) << 32n | 1n;
      out.push({ kind: 'send', sourceId: s.id, address: s.address, port: s.port, packet: buildClientRequest(4, s.cookie) });
      s.next = addSeconds(now, 2 ** s.poll);
    }
    const due = this.sources.filter((s) => !s.stopped && s.address).map((s) => s.next);
    if (due.length > 0) out.push({ kind: 'timer', at: due.reduce((a, b) => (b < a ? b : a)) });
    return out;
  }

  sent(sourceId: number, t1: Instant): void {
    const s = this.sources[sourceId];
    if (s) s.t1 = t1;
  }

  receive(d: { address: string; port: number; data: Uint8Array; t4: Instant }, now: Instant): EngineAction[] {
    const s = this.sources.find((x) => x.address === d.address && x.port === d.port);
    const p = parsePacket(d.data);
    if (!s || !p.ok || s.t1 === null) return [];
    const h = p.value.header;
    if (h.originTimestamp !== s.cookie) return [];
    const code = kissCode(h);
    if (code !== null) {
      if (code === 'DENY') s.stopped = true;
      if (code === 'RATE') s.poll += 1;
      return [{ kind: 'event', event: { type: 'kiss', sourceId: s.id, code, action: kissAction(code), poll: s.poll } }];
    }
    const sample = computeSample({
      t1: s.t1, t2: fromNtpTimestamp(h.receiveTimestamp, now), t3: fromNtpTimestamp(h.transmitTimestamp, now), t4: d.t4,
    }, 1e-9, 1e-9);
    s.t1 = null;
    s.lastOffset = sample.offset;
    this.offsets.push(sample.offset);
    if (s !== this.sources.find((x) => x.lastOffset !== null)) return [];
    const out: EngineAction[] = [];
    const ms = this.#o.discipline.makestep;
    this.updates++;
    if (ms && Math.abs(sample.offset) > ms.threshold && (ms.limit < 0 || this.updates <= ms.limit)) {
      out.push({ kind: 'step', seconds: sample.offset }, { kind: 'event', event: { type: 'step', seconds: sample.offset } });
      return out;
    }
    const interval = 2 ** s.poll;
    // PI loop: integral term tracks frequency, proportional term slews the phase.
    this.freqPpm += (sample.offset / interval) * 1e6 * 0.3;
    const slew = Math.max(-this.#o.discipline.maxslewrate, Math.min(this.#o.discipline.maxslewrate, (sample.offset / interval) * 1e6 * 0.5));
    out.push({ kind: 'set-frequency', ppm: this.freqPpm + slew });
    if (h.leap === Leap.InsertSecond) out.push({ kind: 'set-status', synchronized: true, leap: 'insert', estError: 0, maxError: 0 });
    else out.push({ kind: 'set-status', synchronized: true, leap: 'none', estError: 0, maxError: 0 });
    return out;
  }

  resolved(sourceId: number, result: { addresses: readonly string[] } | { error: string }, now: Instant): EngineAction[] {
    const s = this.sources[sourceId];
    if (!s || !('addresses' in result) || result.addresses.length === 0) return [];
    s.address = result.addresses[0] as string;
    s.next = now;
    return this.tick(now);
  }

  systemState(_now: Instant): SystemState {
    return unsynchronizedState(-24);
  }

  drift(): { frequencyPpm: number; skewPpm: number } {
    return { frequencyPpm: this.freqPpm, skewPpm: 0 };
  }

  control(): EngineCommandResult<never> {
    return refuseControl();
  }

  snapshot(_now: Instant, clock: DaemonSnapshot['clock']): DaemonSnapshot {
    return {
      version: SNAPSHOT_VERSION, time: '0', clock,
      tracking: {
        referenceId: 0, referenceName: null, stratum: 0, refTime: null, systemTime: 0, lastOffset: 0, rmsOffset: 0,
        frequencyPpm: this.freqPpm, residualFreqPpm: 0, skewPpm: 0, rootDelay: 0, rootDispersion: 0, updateInterval: 0,
        leapStatus: 'normal', synchronized: this.updates > 0,
      },
      sources: [],
    };
  }
}
