/**
 * A simulated NTP server: the production responder (core/server/server.ts
 * NtpResponder) answering from its own SimClock, so the client under test
 * gets real NTP replies with real rate limiting, access control and KoD.
 * A server can be good, jittery (its path), a falseticker (clock offset),
 * stepping (scheduled clock steps), announcing a leap second, rate limiting
 * or denying (the responder's own RATE / DENY), forced to send a kiss code,
 * unsynchronized, or silent for periods.
 */
import { Leap } from '../proto/constants.js';
import { refIdFromCode } from '../proto/refid.js';
import { buildAccessTable, DENY_ALL, type AccessTable } from '../core/server/access.js';
import type { RateLimitConfig } from '../core/server/ratelimit.js';
import { NtpResponder, serverConfig, type ServerConfig } from '../core/server/server.js';
import { synchronizedState, unsynchronizedState, type SystemState } from '../core/system.js';
import { TICKS_PER_SECOND, type Instant } from '../time/instant.js';
import type { PathSpec } from './network.js';
import type { Random } from './random.js';
import { SimClock, type OscillatorSpec, type TrueTime } from './sim-clock.js';

/** A window of simulated seconds (from the start of the run); `to` absent: until the end. */
export interface TimeWindow {
  readonly from: number;
  readonly to?: number;
}

export interface ServerSpec {
  /** IPv4 or IPv6 address the client reaches it at. */
  readonly address: string;
  readonly port?: number;
  /** Its clock (default perfect). A falseticker is a constant `offset`. */
  readonly clock?: OscillatorSpec;
  /** The network between the client and this server. */
  readonly path?: PathSpec;
  /** Stratum it serves (default 1). */
  readonly stratum?: number;
  /** Reference id (default "GPS" for stratum 1, else 192.0.2.1). */
  readonly referenceId?: number;
  readonly rootDelay?: number;
  /** Root dispersion at each reference update, seconds (default 10 us). */
  readonly rootDispersion?: number;
  /** log2 seconds (default -24). */
  readonly precision?: number;
  /** Seconds between its receive and transmit timestamps (default 5 us). */
  readonly processing?: number;
  /** Periods when it does not answer at all (down, or the path is cut). */
  readonly down?: readonly TimeWindow[];
  /** Steps of its clock: at `at` s into the run, by `seconds`. */
  readonly steps?: readonly { readonly at: number; readonly seconds: number }[];
  /** chrony `ratelimit` on the responder; with `kod` > 0 it sends RATE kisses. */
  readonly rateLimit?: RateLimitConfig;
  /** The responder's access table denies the client; `denyKod` answers it with DENY (default true). */
  readonly deny?: boolean;
  readonly denyKod?: boolean;
  /** Every reply in these windows is turned into a kiss-o'-death with this code (crafted, not from the responder's policy). */
  readonly kiss?: { readonly code: string; readonly windows?: readonly TimeWindow[] };
  /** Serves leap 3 / stratum 0 like an unsynchronized chronyd (default false). */
  readonly unsynchronized?: boolean;
  /** Follows and announces the scenario's leap second (default true). */
  readonly leap?: boolean;
}

/** Seconds between the served reference time updates (a stratum 1 polling its refclock). */
const REFERENCE_UPDATE = 16n * TICKS_PER_SECOND;

export interface ServerCountersSim {
  requests: number;
  replies: number;
  kissRate: number;
  kissDeny: number;
  kissOther: number;
  ignored: number;
  silentWhileDown: number;
}

export class SimServer {
  readonly spec: ServerSpec;
  readonly address: string;
  readonly port: number;
  readonly clock: SimClock;
  readonly responder: NtpResponder;
  readonly counters: ServerCountersSim = { requests: 0, replies: 0, kissRate: 0, kissDeny: 0, kissOther: 0, ignored: 0, silentWhileDown: 0 };
  /** When each request arrived, seconds into the run. */
  readonly requestTimes: number[] = [];
  readonly #config: ServerConfig;
  readonly #random: Random;
  readonly #precision: number;

  constructor(spec: ServerSpec, time: TrueTime, random: Random) {
    this.spec = spec;
    this.address = spec.address;
    this.port = spec.port ?? 123;
    this.#random = random;
    this.clock = new SimClock(spec.clock ?? {}, time, random.fork('clock'));
    this.responder = new NtpResponder({ seed: random.uint32(), clientSlots: 64 });
    this.#precision = spec.precision ?? -24;
    let access: AccessTable = DENY_ALL;
    if (!spec.deny) {
      const built = buildAccessTable([{ allow: true, subnet: null, all: false }]);
      if (!built.ok) throw new Error(built.message);
      access = built.table;
    }
    this.#config = serverConfig({
      access,
      rateLimit: spec.rateLimit ?? null,
      denied: spec.deny && spec.denyKod !== false ? 'kod' : 'ignore',
    });
  }

  /**
   * A request arrives at true time `t` (seconds into the run: `elapsed`).
   * Returns the reply and how long after `t` it leaves, or null (no reply).
   */
  handle(packet: Uint8Array, from: { address: string; port: number }, t: Instant, elapsed: number): { reply: Uint8Array; after: number } | null {
    this.counters.requests++;
    this.requestTimes.push(elapsed);
    if (inWindows(this.spec.down, elapsed)) {
      this.counters.silentWhileDown++;
      return null;
    }
    const t2 = this.clock.readingAt(t);
    const processing = this.spec.processing ?? 5e-6;
    const t3 = t2 + BigInt(Math.round(processing * Number(TICKS_PER_SECOND)));
    const action = this.responder.handleRequest({
      packet, receivedAt: t2, now: t3, address: from.address, port: from.port,
      system: this.#system(t2), config: this.#config, random: this.#random.uint32(),
    });
    if (action.action === 'ignore') {
      this.counters.ignored++;
      return null;
    }
    const reply = action.reply;
    const kiss = this.spec.kiss;
    if (kiss && (kiss.windows === undefined || inWindows(kiss.windows, elapsed))) {
      reply[0] = ((reply[0] as number) & 0x3f) | (Leap.Unsynchronized << 6);
      reply[1] = 0;
      new DataView(reply.buffer, reply.byteOffset).setUint32(12, refIdFromCode(kiss.code));
      this.#countKiss(kiss.code);
    } else if (action.kod) this.#countKiss(action.kod);
    else this.counters.replies++;
    return { reply, after: processing };
  }

  #countKiss(code: string): void {
    if (code === 'RATE') this.counters.kissRate++;
    else if (code === 'DENY') this.counters.kissDeny++;
    else this.counters.kissOther++;
  }

  #system(now: Instant): SystemState {
    if (this.spec.unsynchronized) return unsynchronizedState(this.#precision);
    const pending = this.spec.leap === false ? null : this.clock.pendingLeap();
    const stratum = this.spec.stratum ?? 1;
    return synchronizedState({
      leap: pending === 'insert' ? Leap.InsertSecond : pending === 'delete' ? Leap.DeleteSecond : Leap.NoWarning,
      stratum,
      referenceId: this.spec.referenceId ?? (stratum === 1 ? refIdFromCode('GPS') : 0xc0000201),
      referenceTime: now - (now % REFERENCE_UPDATE),
      rootDelay: this.spec.rootDelay ?? 0,
      rootDispersion: this.spec.rootDispersion ?? 10e-6,
      precision: this.#precision,
    });
  }
}

export function inWindows(windows: readonly TimeWindow[] | undefined, t: number): boolean {
  if (!windows) return false;
  return windows.some((w) => t >= w.from && (w.to === undefined || t < w.to));
}
