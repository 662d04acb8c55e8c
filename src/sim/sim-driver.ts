/**
 * Carries out the engine's actions in the simulated world as the daemon
 * does for real: requests travel the path to a server and back, timers and
 * resolutions come back as events, frequency changes, steps and status go to
 * the client's clock. It records what the engine did for the result.
 */
import type { EngineAction, EngineEvent, SyncEngineApi } from '../core/engine-api.js';
import type { Instant } from '../time/instant.js';
import type { EventQueue } from './event-queue.js';
import type { DnsAnswer, Scenario } from './scenario.js';
import { secondsToTicks, type SimClock } from './sim-clock.js';
import type { SimServer } from './sim-server.js';
import type { ServerFarm } from './server-farm.js';
import type { SimResult } from './simulator.js';

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
  private readonly clientPort: number;

  constructor(
    private readonly engine: SyncEngineApi,
    private readonly clock: SimClock,
    private readonly farm: ServerFarm,
    private readonly queue: EventQueue,
    private readonly time: SimTime,
    private readonly scenario: Scenario,
  ) {
    this.clientPort = scenario.client.port ?? 40123;
  }

  handle(actions: readonly EngineAction[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'send':
          this.send(a);
          break;
        case 'timer': {
          const generation = ++this.timerGeneration;
          this.queue.push(this.clock.trueTimeOf(a.at), () => {
            if (generation === this.timerGeneration) this.handle(this.engine.tick(this.clock.now()));
          });
          break;
        }
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

  private send(a: Extract<EngineAction, { kind: 'send' }>): void {
    this.requests++;
    this.engine.sent(a.sourceId, this.clock.now());
    const route = this.farm.route(a.address, a.port);
    if (route === null) {
      this.unroutable++;
      return;
    }
    const { server, path } = route;
    const out = path.transit('out');
    if (out === null) return;
    const packet = a.packet.slice();
    this.queue.push(this.time.now() + secondsToTicks(out), () => {
      const res = server.handle(packet, { address: this.clientAddress(server), port: this.clientPort }, this.time.now(), this.time.elapsed());
      if (!res) return;
      const back = path.transit('back');
      if (back === null) return;
      this.queue.push(this.time.now() + secondsToTicks(res.after + back), () => {
        this.replies++;
        const t4 = this.clock.now();
        this.handle(this.engine.receive({ address: server.address, port: server.port, data: res.reply, t4 }, t4));
      });
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
