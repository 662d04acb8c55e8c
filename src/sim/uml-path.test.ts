/**
 * The measurement path's knobs for a guest (uml-path.ts): extra one-way
 * delay and a late (non-causal) kernel TX stamp do to a sample what they say,
 * and stay off unless asked for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineOptions } from '../core/engine/engine-api.js';
import { sourceOptions } from '../core/engine/source-options.js';
import { parsePacket } from '../proto/packet.js';
import type { Instant } from '../time/instant.js';
import { diffSeconds } from '../time/instant.js';
import { fromNtpTimestamp } from '../time/timestamp.js';
import { MeasurementPath, type MeasurementPathSpec } from './measurement-path.js';
import { Random } from './random.js';
import type { Scenario } from './scenario.js';
import { simulate } from './simulator.js';
import { StandInEngine } from './stand-in-engine.test-helper.js';
import { closedLoopScenario, umlScenario } from './uml-scenarios.js';
import { KERNEL_PRESETS, UML_PATH } from './uml-path.js';
import { SyncEngine } from '../core/engine/engine.js';

/** The stand-in engine, also keeping each sample's round trip and offset as the packet's four stamps give them. */
class SampleRecorder extends StandInEngine {
  readonly samples: { delay: number; offset: number }[] = [];
  #t1: Instant | null = null;
  override sent(sourceId: number, t1: Instant): void {
    this.#t1 = t1;
    super.sent(sourceId, t1);
  }
  override receive(d: { address: string; port: number; data: Uint8Array; t4: Instant }, now: Instant): ReturnType<StandInEngine['receive']> {
    const p = parsePacket(d.data);
    if (p.ok && this.#t1 !== null) {
      const t1 = this.#t1;
      const t2 = fromNtpTimestamp(p.value.header.receiveTimestamp, now);
      const t3 = fromNtpTimestamp(p.value.header.transmitTimestamp, now);
      this.samples.push({ delay: diffSeconds(d.t4, t1) - diffSeconds(t3, t2), offset: (diffSeconds(t2, t1) + diffSeconds(t3, d.t4)) / 2 });
    }
    return super.receive(d, now);
  }
}

/** The first exchange of an exact clock over a 1 ms, jitter-free path, in the kernel world with `path`. */
function firstSample(path: MeasurementPathSpec): { delay: number; offset: number } {
  let engine: SampleRecorder | null = null;
  const scenario: Scenario = {
    duration: 3, world: 'kernel', kernel: { path },
    client: { clock: { offset: 0, freqPpm: 0 }, sources: [sourceOptions('server', '192.0.2.1', { minpoll: 0 })] },
    servers: [{ address: '192.0.2.1', path: { delay: 1e-3, jitter: 0 } }],
  };
  simulate(scenario, { engine: (o: EngineOptions) => (engine = new SampleRecorder(o)), seed: 1 });
  const s = (engine as SampleRecorder | null)?.samples[0];
  assert.ok(s, 'an exchange completed');
  return s;
}

const fixed = (seconds: number): { min: number; scale: number } => ({ min: seconds, scale: 0 });
// The default kernel stamps' own latencies are a few microseconds.
const near = (got: number, want: number, what: string): void => assert.ok(Math.abs(got - want) < 20e-6, `${what}: ${got}, expected ${want}`);

test('a TX stamp 1 ms late shortens the round trip by 1 ms and lowers the offset by half of it', () => {
  const s = firstSample({ txStampLateness: fixed(1e-3) });
  near(s.delay, 1e-3, 'delay');
  near(s.offset, -0.5e-3, 'offset');
});

test('extra delay out and back lengthens the round trip by both and shifts the offset by half their difference', () => {
  const s = firstSample({ outboundDelay: fixed(0.6e-3), returnDelay: fixed(0.2e-3) });
  near(s.delay, 2.8e-3, 'delay');
  near(s.offset, 0.2e-3, 'offset');
});

test('without them the exchange is the relay\'s: 2 ms, no offset', () => {
  const s = firstSample({});
  near(s.delay, 2e-3, 'delay');
  near(s.offset, 0, 'offset');
});

test('the optional latencies draw nothing when off, so the other latencies keep their sequence', () => {
  const on = new MeasurementPath({ outboundDelay: fixed(1e-3) }, new Random(7));
  const off = new MeasurementPath({}, new Random(7));
  assert.equal(off.drawExtra('outboundDelay'), 0);
  assert.equal(off.drawExtra('txStampLateness'), 0);
  assert.equal(off.drawExtra('returnDelay'), 0);
  const a = [off.draw('sendLatency'), off.draw('eventLoopDelay')];
  const b = new MeasurementPath({}, new Random(7));
  assert.deepEqual(a, [b.draw('sendLatency'), b.draw('eventLoopDelay')]);
  assert.ok(on.drawExtra('outboundDelay') === 1e-3);
});

test('a stall is at least stallMin', () => {
  const p = new MeasurementPath({ txStampLateness: { min: 1e-6, scale: 0, stallProbability: 1, stallMin: 2e-3, stallScale: 1e-3 } }, new Random(3));
  for (let i = 0; i < 100; i++) assert.ok(p.drawExtra('txStampLateness') >= 2e-3 + 1e-6);
});

test('the kernel world without the knobs is the same run as before they existed', () => {
  const engine = (o: EngineOptions): SyncEngine => new SyncEngine(o);
  const plain = simulate(umlScenario('a', { duration: 30 }), { engine, seed: 4 });
  const off = simulate(umlScenario('a', { duration: 30, kernel: { path: { outboundDelay: null, returnDelay: null, txStampLateness: null } } }), { engine, seed: 4 });
  assert.deepEqual(off.series, plain.series);
});

test('the uml preset turns every guest knob on; the closed-loop stale-drift starts the kernel at 0 and the daemon from the file', () => {
  assert.equal(KERNEL_PRESETS['uml']?.path, UML_PATH);
  for (const k of ['outboundDelay', 'returnDelay', 'txStampLateness'] as const) assert.ok(UML_PATH[k], k);
  const s = closedLoopScenario('stale-drift');
  assert.equal(s.kernel?.clock?.initialFrequencyPpm, 0);
  assert.equal(s.client.discipline?.initialFrequencyPpm, 100);
  assert.equal(s.client.discipline?.initialSkewPpm, 0.05);
  assert.throws(() => closedLoopScenario('no-such'), /Unknown closed-loop scenario "no-such"/);
});
