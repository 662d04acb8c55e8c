/**
 * Drives the sans-IO synchronization engine (core/engine/engine-api.ts) over real
 * IO, as ntpd-rs's daemon drives ntp-proto: one client UDP socket per address
 * family, one timer, name resolution, and the Clock the engine disciplines.
 *
 * Timestamps. Every instant handed to the engine is a reading of the
 * disciplined clock. The native socket gives the kernel's RX and TX
 * timestamps, which are CLOCK_REALTIME readings: Clock.fromRealtime() maps
 * them (identity for the system clock, the virtual mapping otherwise), so a
 * virtual clock keeps kernel-stamp accuracy. Over node:dgram, t1 is read just
 * before send() and t4 first thing in the 'message' callback.
 *
 * The TX stamp of a request comes back through the socket's error queue,
 * which the addon drains before the receive queue, so it reaches us before
 * the reply. Until it comes the engine holds the user-space reading, given
 * to it at the latest just before it sees the next datagram, timer or
 * command (another source's poll timer often fires before the poll phase
 * that reads the stamp); the kernel's stamp then replaces it, as long as the
 * request is still its source's latest (a stamp for an older request must
 * not overwrite a newer one's T1). Each sent() and receive() says who read
 * the time, and the engine counts it per sample (ntpdata, measurements.log).
 *
 * The socket is unconnected: every datagram goes to the engine, which matches
 * it to a source or drops it (it knows the addresses and the request cookies).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Clock } from '../clock/clock.js';
import { realtime } from '../clock/realtime.js';
import type { EngineAction, EngineCommand, EngineCommandResult, EngineEvent, EngineOptions, StampSource, SyncEngineApi } from '../core/engine/engine-api.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import { type ClientSocket, type ClientSocketFactory, type ClientSocketOptions, clientSocketFactory } from '../net/client-socket.js';
import { dnsFailureReason } from '../net/query.js';
import type { UdpPreferences, UdpTransportInfo } from '../net/udp-socket.js';
import { diffSeconds, type Instant } from '../time/instant.js';
import { restampSymmetric } from '../core/client-request.js';
import { HEADER_LENGTH } from '../proto/header.js';
import type { DriftValues } from './drift-file.js';
import type { RefclockSample } from './refclock-reading.js';

/** Resolves a host name to addresses (all of them, for pools). Tests inject one: they must never query real DNS. */
export type Resolver = (host: string) => Promise<readonly string[]>;

export type { ClientSocket, ClientSocketFactory, ClientSocketHandlers } from '../net/client-socket.js';

export interface EngineDriverOptions {
  readonly engine: SyncEngineApi;
  readonly clock: Clock;
  /** Default: node:dns lookup of every address. */
  readonly resolve?: Resolver;
  /** Default: the socket factory's client socket (net/client-socket.ts), as `udp` prefers. */
  readonly openSocket?: ClientSocketFactory;
  /** The composition root's say in the default socket's backend. */
  readonly udp?: UdpPreferences;
  /** Where the default socket is bound (acquisitionport, bindacqaddress); default: an ephemeral port on every address. */
  readonly bind?: ClientSocketOptions['bind'];
  /**
   * CLOCK_REALTIME, the timescale of kernel packet stamps, which `clock` may
   * not be on (a virtual clock): read with each send, so that a kernel
   * transmit stamp from before it is known not to be that request's.
   * Default realtime().
   */
  readonly realtime?: () => Instant;
  /** The engine asked for the drift file to be saved. */
  readonly onWriteDrift?: (v: DriftValues) => void;
  /** Something the engine reports (synchronized, step, falseticker...). */
  readonly onEvent?: (event: EngineEvent) => void;
  /** After every batch of engine actions that touched the clock or the sync state: time to refresh what the NTP server serves. */
  readonly onUpdate?: () => void;
  /** Problems that do not stop the driver (socket errors, failed sends), one line each. */
  readonly log?: (line: string) => void;
  /**
   * Sends a peer's packet from the NTP server's socket (where the peer
   * expects it); false when there is none, and the client socket sends it.
   */
  readonly sendSymmetric?: (packet: Uint8Array, address: string, port: number) => boolean;
  /** Keep the process alive for the sockets and timer (default true; the library passes false). */
  readonly keepAlive?: boolean;
}

/** setTimeout's limit (2^31 - 1 ms); a later instant is reached in hops (an early tick() is harmless). */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface PendingSend {
  readonly sourceId: number;
  readonly userT1: Instant;
  /** The CLOCK_REALTIME reading taken with userT1: a kernel stamp before it cannot be this datagram's. */
  readonly realBefore: Instant;
}

export class EngineDriver {
  #engine: SyncEngineApi;
  readonly #clock: Clock;
  readonly #resolve: Resolver;
  readonly #openSocket: ClientSocketFactory;
  readonly #realtime: () => Instant;
  readonly #opts: EngineDriverOptions;
  readonly #log: (line: string) => void;
  readonly #sockets = new Map<4 | 6, Promise<ClientSocket>>();
  /** Requests awaiting their kernel TX stamp, by the socket's TX id. */
  readonly #pendingTx = new Map<number, PendingSend>();
  /** Each source's latest request: only its kernel stamp may still reach the engine. */
  readonly #latest = new Map<number, { readonly p: PendingSend; readonly id: number }>();
  /** Requests whose sent() is still owed (no kernel TX stamp yet), in send order. */
  readonly #unsent: PendingSend[] = [];
  #timer: NodeJS.Timeout | undefined;
  #timerAt: Instant | null = null;
  #running = false;
  /** Bumped by replaceEngine(): resolutions started for an old engine are dropped. */
  #generation = 0;
  #transport: UdpTransportInfo | null = null;

  constructor(opts: EngineDriverOptions) {
    this.#opts = opts;
    this.#engine = opts.engine;
    this.#clock = opts.clock;
    this.#resolve = opts.resolve ?? defaultResolver;
    this.#openSocket = opts.openSocket ?? clientSocketFactory({ keepAlive: opts.keepAlive ?? true, udp: opts.udp ?? {}, ...(opts.bind ? { bind: opts.bind } : {}) });
    this.#realtime = opts.realtime ?? realtime;
    this.#log = opts.log ?? (() => {});
  }

  get engine(): SyncEngineApi { return this.#engine; }
  get clock(): Clock { return this.#clock; }
  /** How packets are sent and stamped, once the first socket is open. */
  get transport(): UdpTransportInfo | null { return this.#transport; }

  /** Starts the engine. Sockets open lazily, per family, on the first send. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#apply(this.#engine.start(this.#clock.now()));
  }

  /**
   * Replaces the engine (a reloaded config), keeping the clock, sockets and
   * everything the clock holds. The new engine starts now.
   */
  replaceEngine(engine: SyncEngineApi): void {
    this.#generation++;
    this.#engine = engine;
    this.#unsent.length = 0;
    this.#pendingTx.clear();
    this.#latest.clear();
    this.#clearTimer();
    if (this.#running) this.#apply(engine.start(this.#clock.now()));
  }

  /**
   * A reloaded config applied to the running engine (SyncEngineApi.reconfigure):
   * unchanged sources keep their state. null, changing nothing, when the
   * engine cannot take it in place; the caller then replaces the engine.
   */
  reconfigureEngine(options: EngineOptions): { readonly kept: number; readonly added: number; readonly removed: number } | null {
    if (!this.#running || this.#engine.reconfigure === undefined) return null;
    this.#flushSent();
    const r = this.#engine.reconfigure(options, this.#clock.now());
    if (r === null) return null;
    this.#apply(r.actions);
    return { kept: r.kept, added: r.added, removed: r.removed };
  }

  /** A run-time control command (chronyc makestep, burst, online...): its actions are carried out like a tick's. */
  control<C extends EngineCommand>(command: C): EngineCommandResult<C['op']> {
    if (!this.#running) return { ok: false, code: 'not-started', message: 'The daemon is not running' };
    this.#flushSent();
    const r = this.#engine.control(command, this.#clock.now());
    if (r.ok) this.#apply(r.actions);
    return r;
  }

  /** The steps and slews applied to the clock so far (see SyncEngineApi.clockPhase); 0 when the engine does not say. */
  clockPhase(): number {
    return this.#engine.clockPhase?.(this.#clock.now()) ?? 0;
  }

  snapshot(): DaemonSnapshot {
    return this.#engine.snapshot(this.#clock.now(), this.#clock.kind);
  }

  /** Stops timers and closes the sockets. Idempotent. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#generation++;
    this.#clearTimer();
    const socks = [...this.#sockets.values()];
    this.#sockets.clear();
    this.#ready.clear();
    await Promise.all(socks.map((p) => p.then((s) => s.close(), () => {})));
  }

  // --- engine calls -------------------------------------------------------

  #tick = (): void => {
    this.#timer = undefined;
    this.#timerAt = null;
    if (!this.#running) return;
    this.#flushSent();
    this.#apply(this.#engine.tick(this.#clock.now()));
  };

  /** A peer's datagram that reached the NTP server's socket (see NtpServer's PeerTraffic). */
  deliver(data: Uint8Array, address: string, port: number, rxTime: Instant | null, localAddress?: string): void {
    this.#onMessage(data, address, port, rxTime, localAddress);
  }

  /**
   * A reading of the `index`-th `refclock` line: the reference's time
   * against CLOCK_REALTIME, placed on the disciplined clock as a kernel
   * receive stamp is.
   */
  refclockReading(index: number, s: RefclockSample): void {
    if (!this.#running || this.#engine.refclockReading === undefined) return;
    const id = this.#engine.refclockIds?.()[index];
    if (id === undefined) return;
    const time = this.#clock.fromRealtime(s.realtime);
    // A pulse's position moves with the correction between CLOCK_REALTIME and our clock, as chrony's RCL_AddPulse adds it.
    const input = 'pulse' in s ? { time, pulse: s.pulse + diffSeconds(time, s.realtime) } : { time, offset: diffSeconds(s.reference, time), leap: s.leap };
    this.#apply(this.#engine.refclockReading(id, input, this.#clock.now()));
  }

  #onMessage(data: Uint8Array, address: string, port: number, rxTime: Instant | null, localAddress?: string): void {
    // First thing: without a kernel stamp, every statement before this reading is error in t4.
    const t4 = rxTime === null ? this.#clock.now() : this.#clock.fromRealtime(rxTime);
    if (!this.#running) return;
    this.#flushSent();
    const now = rxTime === null ? t4 : this.#clock.now();
    const rxStamp: StampSource = rxTime === null ? 'daemon' : 'kernel';
    this.#apply(this.#engine.receive({ address: unmapIpv4(address), port, data, t4, rxStamp, ...(localAddress !== undefined ? { localAddress } : {}) }, now));
  }

  #onTxTime(id: number, tx: Instant): void {
    const p = this.#pendingTx.get(id);
    if (p === undefined) return;
    this.#pendingTx.delete(id);
    const i = this.#unsent.indexOf(p);
    if (i >= 0) this.#unsent.splice(i, 1);
    // Given provisionally already: replace it only while this is still the source's latest request.
    else if (this.#latest.get(p.sourceId)?.p !== p) return;
    if (!this.#running) return;
    if (tx >= p.realBefore) this.#engine.sent(p.sourceId, this.#clock.fromRealtime(tx), 'kernel');
    else if (i >= 0) this.#engine.sent(p.sourceId, p.userT1, 'daemon');
  }

  /**
   * Gives the engine the user-space t1 of every request whose kernel stamp
   * has not come: provisionally, as the stamp may still come (#onTxTime).
   */
  #flushSent(): void {
    while (this.#unsent.length > 0) {
      const p = this.#unsent.shift() as PendingSend;
      this.#engine.sent(p.sourceId, p.userT1, 'daemon');
    }
  }

  // --- actions ------------------------------------------------------------

  #apply(actions: readonly EngineAction[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'send':
          if (a.symmetric !== true || !this.#sendSymmetric(a.sourceId, a.address, a.port, a.packet)) this.#send(a.sourceId, a.address, a.port, a.packet);
          break;
        case 'timer':
          this.#setTimer(a.at);
          break;
        case 'resolve':
          this.#startResolve(a.sourceId, a.host);
          break;
        case 'set-frequency':
          this.#clock.setFrequency(a.ppm);
          break;
        case 'step':
          this.#clock.step(a.seconds);
          // The timer's target is an instant of this clock: re-aim it.
          if (this.#timerAt !== null) this.#setTimer(this.#timerAt);
          break;
        case 'set-status':
          this.#clock.setStatus({ synchronized: a.synchronized, leap: a.leap, estError: a.estError, maxError: a.maxError });
          break;
        case 'write-drift':
          this.#opts.onWriteDrift?.({ frequencyPpm: a.frequencyPpm, skewPpm: a.skewPpm });
          break;
        case 'event':
          this.#opts.onEvent?.(a.event);
          break;
      }
    }
    // The sync state (selected source, stratum, root distance) can change on
    // any reply, not only with a clock update: refresh after every batch.
    if (actions.length > 0) this.#opts.onUpdate?.();
  }

  #setTimer(at: Instant): void {
    this.#clearTimer();
    if (!this.#running) return;
    this.#timerAt = at;
    const ms = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(diffSeconds(at, this.#clock.now()) * 1000)));
    this.#timer = setTimeout(this.#tick, ms);
    if (this.#opts.keepAlive === false) this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = null;
  }

  /** Sockets already open, so a send needs no await and t1 is read right at it. */
  readonly #ready = new Map<4 | 6, ClientSocket>();

  #socket(family: 4 | 6): Promise<ClientSocket> {
    let p = this.#sockets.get(family);
    if (p === undefined) {
      p = this.#openSocket(family, {
        onMessage: (d, a, port, rx) => this.#onMessage(d, a, port, rx),
        onTxTime: (id, tx) => this.#onTxTime(id, tx),
        onError: (err) => this.#log(`client socket (IPv${family}): ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' ')),
      });
      p.then((s) => { this.#transport ??= s.info; }, (e: NodeJS.ErrnoException) => {
        this.#log(`Cannot open the IPv${family} client socket: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' '));
        this.#sockets.delete(family); // try again on the next send
      });
      this.#sockets.set(family, p);
    }
    return p;
  }

  #send(sourceId: number, address: string, port: number, packet: Uint8Array): void {
    const family: 4 | 6 = isIP(address) === 6 ? 6 : 4;
    const generation = this.#generation;
    const go = (sock: ClientSocket): void => {
      if (!this.#running || generation !== this.#generation) return;
      const realBefore = this.#realtime();
      const userT1 = this.#clock.now();
      let id: number;
      try {
        id = sock.send(packet, address, port);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        this.#log(`Cannot send to ${address} port ${port}: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' '));
        // A source with auto_offline goes offline (the actions are applied after this send returns, not inside the loop carrying out the others).
        queueMicrotask(() => { if (this.#running) this.#apply(this.#engine.sendFailed?.(sourceId, this.#clock.now()) ?? []); });
        return;
      }
      const p: PendingSend = { sourceId, userT1, realBefore };
      this.#unsent.push(p);
      // The source's earlier request is answered or lost: its stamp no longer matters.
      const prev = this.#latest.get(sourceId);
      if (prev !== undefined) this.#pendingTx.delete(prev.id);
      this.#latest.set(sourceId, { p, id });
      if (id >= 0) this.#pendingTx.set(id, p);
      else this.#flushSent();
    };
    const ready = this.#ready.get(family);
    if (ready !== undefined) go(ready);
    else this.#socket(family).then((s) => { this.#ready.set(family, s); go(s); }, () => {});
  }

  /** A peer's packet through the server's socket: t1 is read here, as no kernel stamp comes for it. */
  #sendSymmetric(sourceId: number, address: string, port: number, packet: Uint8Array): boolean {
    const send = this.#opts.sendSymmetric;
    if (send === undefined) return false;
    const userT1 = this.#clock.now();
    // Without a MAC the transmit timestamp can still be made the send's (a MAC seals the engine's).
    const transmit = packet.length === HEADER_LENGTH ? restampSymmetric(packet, userT1) : undefined;
    try {
      if (!send(packet, address, port)) return false;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      this.#log(`Cannot send to ${address} port ${port}: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' '));
      return true;
    }
    this.#latest.delete(sourceId);
    this.#engine.sent(sourceId, userT1, 'daemon', transmit);
    return true;
  }

  #startResolve(sourceId: number, host: string): void {
    const generation = this.#generation;
    const finish = (result: { readonly addresses: readonly string[] } | { readonly error: string }): void => {
      if (!this.#running || generation !== this.#generation) return;
      this.#flushSent();
      this.#apply(this.#engine.resolved(sourceId, result, this.#clock.now()));
    };
    if (isIP(host) !== 0) {
      // A literal needs no DNS; answer asynchronously all the same, like a lookup.
      queueMicrotask(() => finish({ addresses: [host] }));
      return;
    }
    this.#resolve(host).then(
      (addresses) => finish({ addresses: [...addresses] }),
      (e: NodeJS.ErrnoException) => finish({ error: `Cannot resolve ${host}: ${dnsFailureReason(e)}` }),
    );
  }
}

/** '::ffff:192.0.2.1' -> '192.0.2.1': the engine knows IPv4 sources by their IPv4 form. */
export function unmapIpv4(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** node:dns, every address of the name (pools use several). */
export const defaultResolver: Resolver = async (host) => {
  const all = await lookup(host, { all: true, verbatim: true });
  return all.map((a) => a.address);
};
