/**
 * A leap second in the simulator, for each leapsecmode, and a leap second
 * smeared for the clients with `smoothtime ... leaponly`: what the client's
 * clock does across the leap, and what its NTP server would serve (the
 * engine's served state applied as daemon/ntp-server.ts applies it),
 * against true UTC.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyncEngine } from '../core/engine/engine.js';
import type { DisciplineOptions, EngineOptions, SyncEngineApi } from '../core/engine/engine-api.js';
import { sourceOptions } from '../core/engine/source-options.js';
import { smoothedReply } from '../core/smoothing.js';
import { Leap } from '../proto/constants.js';
import { addSeconds, diffSeconds, instantFromUnixSeconds } from '../time/instant.js';
import type { Scenario, SimContext } from './scenario.js';
import { simulate, type SimResult } from './simulator.js';

const engine = (o: EngineOptions): SyncEngineApi => new SyncEngine(o);
const MIDNIGHT = 1_719_792_000; // 2024-07-01T00:00:00Z, after a June 30 (a day that may end with a leap)
const LEAD = 1800;
const ADDRESSES = ['192.0.2.61', '192.0.2.62', '192.0.2.63'];
const lan = { delay: 1e-3, jitter: 50e-6 } as const;

/** `error`: served minus true UTC; `drift`: served minus the continuous timescale (no leap), where a step would show. */
interface Served { readonly t: number; readonly error: number; readonly drift: number; readonly leap: Leap; readonly refid: number }

/** True UTC `t` seconds into the run: the inserted second repeats, so after midnight UTC is 1 s behind the continuous timescale. */
function utcAt(t: number): bigint {
  return addSeconds(instantFromUnixSeconds(MIDNIGHT - LEAD), t - (t >= LEAD ? 1 : 0));
}

function leapRun(discipline: Partial<DisciplineOptions>, duration: number, probeEvery: number): { r: SimResult; served: Served[] } {
  const served: Served[] = [];
  const probe = (sim: SimContext): void => {
    const now = sim.clock.now();
    const reply = smoothedReply(sim.engine.systemState(now), now);
    const t = sim.elapsed();
    const out = addSeconds(now, reply.shift);
    served.push({ t, error: diffSeconds(out, utcAt(t)), drift: diffSeconds(out, addSeconds(instantFromUnixSeconds(MIDNIGHT - LEAD), t)), leap: reply.state.leap, refid: reply.state.referenceId });
  };
  const hooks = Array.from({ length: Math.floor(duration / probeEvery) }, (_, i) => ({ at: (i + 1) * probeEvery, run: probe }));
  const scenario: Scenario = {
    startUnix: MIDNIGHT - LEAD, duration, leapSecond: 'insert',
    client: { sources: ADDRESSES.map((a) => sourceOptions('server', a, { minpoll: 4, maxpoll: 6, iburst: true })), discipline },
    servers: ADDRESSES.map((address) => ({ address, path: lan })),
    convergedAfter: duration, hooks,
  };
  return { r: simulate(scenario, { engine, seed: 7 }), served };
}

const near = (x: number, want: number, tol: number): boolean => Math.abs(x - want) <= tol;
const errorAt = (r: SimResult, t: number): number => {
  const s = r.series.find((p) => p.t >= t);
  if (s === undefined) throw new Error(`no sample at ${t}`);
  return s.error;
};

test('leapsecmode step: one step of -1 s at the leap, nothing else', () => {
  const { r } = leapRun({ leapsecmode: 'step' }, LEAD + 600, 10);
  assert.equal(r.leaps.length, 0, 'the kernel was not asked to insert it');
  assert.equal(r.steps.length, 1);
  assert.equal(r.steps[0]?.seconds, -1);
  assert.ok(near(r.steps[0]?.t ?? 0, LEAD, 0.01), `stepped at ${r.steps[0]?.t}`);
  assert.ok(Math.abs(errorAt(r, LEAD + 2)) < 1e-3 && Math.abs(errorAt(r, LEAD - 2)) < 1e-3);
});

test('leapsecmode slew: no step; the second is slewed out no faster than maxslewrate, starting at the leap', () => {
  const rate = 1000; // ppm: 1 s takes 1000 s
  const { r } = leapRun({ leapsecmode: 'slew', maxslewrate: rate }, LEAD + 1600, 10);
  assert.equal(r.steps.length, 0);
  assert.equal(r.leaps.length, 0);
  assert.ok(r.metrics.maxSlewPpm <= rate * 1.01, `slew ${r.metrics.maxSlewPpm} ppm`);
  assert.ok(Math.abs(errorAt(r, LEAD - 2)) < 1e-3);
  assert.ok(near(errorAt(r, LEAD + 1), 1, 2e-3), `just after the leap: ${errorAt(r, LEAD + 1)}`);
  // Half-way, half of it is gone (the bound: never faster than maxslewrate).
  const mid = errorAt(r, LEAD + 500);
  assert.ok(mid >= 0.5 - 2e-3 && mid < 0.55, `at +500 s: ${mid}`);
  assert.ok(Math.abs(errorAt(r, LEAD + 1500)) < 1e-3, `after the slew: ${errorAt(r, LEAD + 1500)}`);
});

test('leapsecmode ignore: nothing at the leap; the next updates find a 1 s offset and correct it as any other', () => {
  const { r } = leapRun({ leapsecmode: 'ignore', makestep: { threshold: 0.5, limit: -1 } }, LEAD + 600, 10);
  assert.equal(r.leaps.length, 0);
  assert.ok(near(errorAt(r, LEAD + 1), 1, 2e-3), 'still on the old timescale right after the leap');
  assert.equal(r.steps.length, 1);
  const step = r.steps[0];
  assert.ok(step !== undefined && near(step.seconds, -1, 5e-3) && step.t > LEAD + 1, `step ${JSON.stringify(step)}`);
  assert.ok(r.events.some((e) => e.t >= LEAD && e.event.type === 'clock-update' && Math.abs(e.event.offset - 1) < 5e-3), 'found as an offset by an update');
  assert.ok(Math.abs(r.metrics.finalError) < 1e-3);
});

test('smoothtime 400 0.001 leaponly with leapsecmode slew: the server smears the leap: no step, within the frequency bound, ending on true UTC', () => {
  const maxFreqPpm = 400;
  const maxWanderPpm = 0.001;
  // The smear lasts 2 x sqrt(1 s / 1e-9 s/s^2) = 63246 s.
  const smear = 2 * Math.sqrt(1 / (maxWanderPpm * 1e-6));
  const probeEvery = 16;
  const { r, served } = leapRun({ leapsecmode: 'slew', maxslewrate: 1000, smoothtime: { maxFreqPpm, maxWanderPpm, leapOnly: true } }, LEAD + smear + 1200, probeEvery);
  assert.ok(r.events.some((e) => e.event.type === 'smoothing-activated' && e.event.leapOnly), 'activated at the first update');
  // The client's own clock slews the leap out (no step), as leapsecmode slew does.
  assert.equal(r.steps.length, 0);
  const before = served.filter((s) => s.t < LEAD - 1);
  assert.ok(before.every((s) => Math.abs(s.error) < 1e-3), 'before the leap the served time is UTC');
  // The leap is not announced to clients, who would insert it on top of the smear.
  assert.ok(before.some((s) => s.t > 900) && before.every((s) => s.leap === Leap.NoWarning));
  assert.equal(r.snapshots.length, 0);
  // No step: between two probes the served time moves against the continuous timescale by at most
  // MAXFREQ x interval (plus the client's own tracking noise, well under 100 us); in fact by no more
  // than the wander times half the smear.
  let peak = 0;
  for (let i = 1; i < served.length; i++) {
    const a = served[i - 1] as Served;
    const b = served[i] as Served;
    const rate = Math.abs(b.drift - a.drift) / (b.t - a.t);
    if (a.t > LEAD - 1 && a.t < LEAD + smear) peak = Math.max(peak, rate);
    assert.ok(Math.abs(b.drift - a.drift) <= maxFreqPpm * 1e-6 * (b.t - a.t) + 1e-4, `at ${b.t}: ${a.drift} -> ${b.drift}`);
  }
  assert.ok(peak <= maxWanderPpm * 1e-6 * (smear / 2) * 1.05 + 1e-5 && peak > 25e-6, `peak rate ${peak * 1e6} ppm`);
  // Right after the leap the served time is still one second ahead of UTC, then comes down to it.
  const first = served.find((s) => s.t > LEAD + 1) as Served;
  assert.ok(near(first.error, 1, 1e-3), `after the leap: ${first.error}`);
  assert.equal(first.refid, 0x7f7f01ff);
  const half = served.find((s) => s.t >= LEAD + smear / 2) as Served;
  assert.ok(near(half.error, 0.5, 0.01), `half-way: ${half.error}`);
  const after = served.filter((s) => s.t > LEAD + smear + 60);
  assert.ok(after.length > 0 && after.every((s) => Math.abs(s.error) < 1e-3 && s.refid !== 0x7f7f01ff), `after the smear: ${after[0]?.error}`);
});
