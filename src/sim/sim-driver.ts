/**
 * Carries out the engine's actions in the simulated world as the daemon
 * does for real: requests travel the path to a server and back, timers and
 * resolutions come back as events, frequency changes, steps and status go to
 * the client's clock. It records what the engine did for the result.
 *
 * With a MeasurementPath (the 'kernel' world) it also does what
 * daemon/engine-driver.ts does around the engine: t1 and t4 come from the
 * kernel's stamps or from JavaScript readings, each late by the path's
 * latencies; replies are processed after the event loop's delay; timers are
 * armed in whole milliseconds, rounded up, and fire late; a step re-aims the
 * timer.
 */
import type { EngineAction, EngineEvent, SyncEngineApi } from '../core/engine/engine-api.js';
import { TICKS_PER_SECOND, type Instant } from '../time/instant.js';
import type { EventQueue } from './event-queue.js';
import type { MeasurementPath } from './measurement-path.js';
import type { DnsAnswer, Scenario } from './scenario.js';
import { secondsToTicks, type SimClock } from './sim-clock.js';
import type { SimServer } from './sim-server.js';
import type { ServerFarm } from './server-farm.js';
import type { SimResult } from './simulator.js';

const TICKS = Number(TICKS_PER_SECOND);

/** The simulated moment: the true instant and the seconds since the start. */
export interface SimTime {
  now(): Instant;
  elapsed(): number;
}

export class SimDriver {
  readonly events: { t: number; event: EngineEvent }[] = [];
  readonly steps: { t: number; seconds: number }[] = [];
  readonly frequency: { t: number; ppm: number }[] = [];
  readonly resolves: { t: number; host: string }[] = [];
  status: SimResult['status'] = null;
  drift: SimResult['drift'] = null;
  maxFrequencyPpm = 0;
  maxSlewPpm = 0;
  requests = 0;
  replies = 0;
  unroutable = 0;
  /** Only the latest timer request counts (engine-api.ts: it replaces earlier ones). */
  private timerGeneration = 0;
  /** The instant of the clock the pending timer aims at ('kernel' world: a step re-aims it, as the daemon does). */
  private timerAt: Instant | null = null;
  private readonly clientPort: number;

  constructor(
    private readonly engine: SyncEngineApi,
    private readonly clock: SimClock,
    private readonly farm: ServerFarm,
    private readonly queue: EventQueue,
    private readonly time: SimTime,
    private readonly scenario: Scenario,
    private readonly path: MeasurementPath | null = null,
  ) {
    this.clientPort = scenario.client.port ?? 40123;
  }

  handle(actions: readonly EngineAction[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'send':
          this.send(a);
          break;
        case 'timer':
          this.arm(a.at);
          break;
        case 'resolve': {
          this.resolves.push({ t: this.time.elapsed(), host: a.host });
          const at = this.time.now() + secondsToTicks(this.scenario.dnsDelay ?? 0.01);
          this.queue.push(at, () => {
            const answer = answerAt(this.scenario.dns?.[a.host], a.host, this.time.elapsed());
            this.handle(this.engine.resolved(a.sourceId, answer, this.clock.now()));
          });
          break;
        }
        case 'set-frequency': {
          const applied = this.clock.setFrequency(a.ppm);
          this.frequency.push({ t: this.time.elapsed(), ppm: applied });
          this.maxFrequencyPpm = Math.max(this.maxFrequencyPpm, Math.abs(applied));
          this.maxSlewPpm = Math.max(this.maxSlewPpm, Math.abs(applied - this.clock.idealCorrectionPpm()));
          break;
        }
        case 'step':
          this.clock.step(a.seconds);
          this.steps.push({ t: this.time.elapsed(), seconds: a.seconds });
          if (this.path !== null && this.timerAt !== null) this.arm(this.timerAt);
          break;
        case 'set-status':
          this.clock.setStatus({ synchronized: a.synchronized, leap: a.leap, estError: a.estError, maxError: a.maxError });
          this.status = a;
          break;
        case 'write-drift':
          this.drift = a;
          break;
        case 'event':
          this.events.push({ t: this.time.elapsed(), event: a.event });
          break;
      }
    }
  }

  /** Only the latest timer request counts (engine-api.ts: it replaces earlier ones). */
  private arm(at: Instant): void {
    const generation = ++this.timerGeneration;
    this.timerAt = at;
    this.queue.push(this.fireTime(at), () => {
      if (generation !== this.timerGeneration) return;
      this.timerAt = null;
      this.handle(this.engine.tick(this.clock.now()));
    });
  }

  /** The true instant a timer for clock instant `at` fires. */
  private fireTime(at: Instant): Instant {
    const p = this.path;
    if (p === null) return this.clock.trueTimeOf(at);
    const now = this.clock.now();
    let wait = Math.max(0, Number(at - now) / TICKS);
    if (p.spec.timerWholeMs) wait = Math.ceil(wait * 1000) / 1000;
    // libuv's timers run on CLOCK_MONOTONIC, which the kernel's frequency correction also scales: a wait of the disciplined clock.
    return this.clock.trueTimeOf(now + secondsToTicks(wait)) + secondsToTicks(p.draw('timerLateness'));
  }

  private send(a: Extract<EngineAction, { kind: 'send' }>): void {
    this.requests++;
    const p = this.path;
    // The datagram leaves when the kernel has it: at once in the ideal world.
    let leave = this.time.now();
    if (p === null || p.spec.stamping === 'js') this.engine.sent(a.sourceId, this.clock.now());
    if (p !== null) {
      leave += secondsToTicks(p.draw('sendLatency'));
      if (p.spec.stamping === 'kernel') {
        // The kernel's transmit stamp comes back through the error queue, before any reply.
        const stampAt = leave + secondsToTicks(p.draw('kernelStampLatency'));
        // A stamp taken after the datagram left reads the clock that much later; it is still
        // delivered before the reply (the error queue is drained first). The clock's rate over
        // those milliseconds is taken as exact: its correction (ppm) makes nanoseconds of them.
        const late = secondsToTicks(p.drawExtra('txStampLateness'));
        this.queue.push(stampAt, () => this.engine.sent(a.sourceId, this.clock.now() + late));
      }
    }
    const route = this.farm.route(a.address, a.port);
    if (route === null) {
      this.unroutable++;
      return;
    }
    const { server, path } = route;
    const out = path.transit('out');
    if (out === null) return;
    const outExtra = p?.drawExtra('outboundDelay') ?? 0;
    const packet = a.packet.slice();
    this.queue.push(leave + secondsToTicks(out + outExtra), () => {
      const res = server.handle(packet, { address: this.clientAddress(server), port: this.clientPort }, this.time.now(), this.time.elapsed());
      if (!res) return;
      const back = path.transit('back');
      if (back === null) return;
      const backExtra = p?.drawExtra('returnDelay') ?? 0;
      this.queue.push(this.time.now() + secondsToTicks(res.after + back + backExtra), () => this.arrive(server, res.reply));
    });
  }

  /** A reply reaches the client's kernel now. */
  private arrive(server: SimServer, data: Uint8Array): void {
    const p = this.path;
    const receive = (t4: Instant): void => {
      this.replies++;
      this.handle(this.engine.receive({ address: server.address, port: server.port, data, t4 }, this.clock.now()));
    };
    if (p === null) {
      receive(this.clock.now());
      return;
    }
    const stamped = this.time.now() + secondsToTicks(p.draw('kernelStampLatency'));
    const run = stamped + secondsToTicks(p.draw('eventLoopDelay'));
    if (p.spec.stamping === 'js') {
      this.queue.push(run, () => receive(this.clock.now()));
      return;
    }
    this.queue.push(stamped, () => {
      const t4 = this.clock.now();
      this.queue.push(run, () => receive(t4));
    });
  }

  private clientAddress(server: SimServer): string {
    const c = this.scenario.client;
    return server.address.includes(':') ? (c.addressV6 ?? '2001:db8::100') : (c.addressV4 ?? '192.0.2.100');
  }
}

function isAddressLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

/** The scenario's DNS table at `t` seconds: address literals resolve to themselves, other names without an entry fail. */
function answerAt(answers: readonly DnsAnswer[] | undefined, host: string, t: number): { addresses: readonly string[] } | { error: string } {
  if (answers) {
    let pick: DnsAnswer | undefined;
    for (const a of answers) if ((a.from ?? 0) <= t) pick = a;
    if (pick) return pick.error !== undefined ? { error: pick.error } : { addresses: pick.addresses ?? [] };
    return { error: `${host}: no answer yet` };
  }
  if (isAddressLiteral(host)) return { addresses: [host] };
  return { error: `${host}: NXDOMAIN` };
}
