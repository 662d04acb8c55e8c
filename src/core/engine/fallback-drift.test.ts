import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceOptions } from './source-options.js';
import { server, World } from './engine-harness.test-helper.js';
import type { FallbackDriftRange } from './fallback-drift.js';

const A = '192.0.2.1';

/**
 * One server polled every 4 s; the oscillator's rate changes half way, so
 * shortly before the end the averages over different spans differ; then the server goes away.
 */
function run(fallbackdrift: FallbackDriftRange | null): { w: World; updates: { t: number; ppm: number }[]; lastUpdate: number } {
  const w = new World({
    sources: [sourceOptions('server', A, { minpoll: 2, maxpoll: 2 })],
    discipline: { fallbackdrift },
    freqErr: 20,
  });
  w.servers.set(A, server({ delay: 0.0005 }));
  w.run(570);
  w.freqErr = 60;
  w.run(600);
  (w.servers.get(A) as { down: boolean }).down = true;
  w.run(900);
  const updates = w.events.flatMap((e) => (e.event.type === 'clock-update' ? [{ t: e.t, ppm: -e.event.frequencyPpm }] : []));
  return { w, updates, lastUpdate: (updates[updates.length - 1] as { t: number }).t };
}

/** chrony's reference.c update_fb_drifts, applied to the updates the engine reported: the averages as chronyd would hold them. */
function chronyAverages(updates: readonly { t: number; ppm: number }[], range: FallbackDriftRange): number[] {
  const avg = Array.from({ length: range.max - range.min + 1 }, () => ({ freq: 0, secs: 0 }));
  for (let k = 1; k < updates.length; k++) {
    const u = updates[k] as { t: number; ppm: number };
    const interval = u.t - (updates[k - 1] as { t: number }).t;
    if (interval < 1) continue;
    avg.forEach((a, i) => {
      const secs = 2 ** (i + range.min);
      if (a.secs < secs) {
        a.freq = (a.freq * a.secs + interval * 0.5 * u.ppm) / (interval * 0.5 + a.secs);
        a.secs += interval * 0.5;
      } else {
        a.freq += (1 - 1 / Math.exp(interval / secs)) * (u.ppm - a.freq);
      }
    });
  }
  return avg.map((a) => a.freq);
}

test('fallbackdrift: without updates, the frequency falls back to each average at 2^MIN ... 2^MAX s after the last update, and the clock is unsynchronized', () => {
  const range = { min: 4, max: 6 };
  const { w, updates, lastUpdate } = run(range);
  const final = (updates[updates.length - 1] as { ppm: number }).ppm;
  const expected = chronyAverages(updates, range);
  // The base frequency changes the engine made after the last update (slews ending keep it).
  const changes = w.actions.filter((a) => a.t > lastUpdate + 1e-6 && a.action.kind === 'set-frequency')
    .map((a) => ({ t: a.t - lastUpdate, ppm: (a.action as { ppm: number }).ppm }))
    .filter((c, i, all) => Math.abs(c.ppm - (i === 0 ? final : (all[i - 1] as { ppm: number }).ppm)) > 1e-9);
  assert.deepEqual(changes.map((c) => Math.round(c.t * 100) / 100), [16, 32, 64], 'set 16, 32 and 64 s after the last update');
  changes.forEach((c, i) => assert.ok(Math.abs(c.ppm - (expected[i] as number)) < 1e-6, `2^${i + 4}: ${c.ppm} vs chronyd's ${expected[i]}`));
  // The averages are the frequency over their spans: the shortest is nearest the last estimate, each lies between the old rate and the new.
  const old = -20;
  for (const e of expected) assert.ok((e - old) * (final - e) >= -1e-6, `${e} between ${old} and ${final}`);
  assert.ok(Math.abs((expected[0] as number) - final) + 1 < Math.abs((expected[2] as number) - final), `2^4 ${expected[0]} nearer ${final} than 2^6 ${expected[2]}`);
  const tracking = w.snapshot().tracking;
  assert.equal(tracking.synchronized, false);
  assert.ok(Math.abs(tracking.frequencyPpm - (expected[2] as number)) < 1e-6);
});

test('fallbackdrift: without the directive the frequency stays at the last estimate', () => {
  const { w, updates, lastUpdate } = run(null);
  const final = (updates[updates.length - 1] as { ppm: number }).ppm;
  const later = w.actions.filter((a) => a.t > lastUpdate + 1e-6 && a.action.kind === 'set-frequency').map((a) => (a.action as { ppm: number }).ppm);
  assert.ok(later.every((p) => Math.abs(p - final) < 1e-9), `no base change: ${later.join(', ')}`);
  assert.ok(Math.abs(w.snapshot().tracking.frequencyPpm - final) < 1e-9);
});

test('fallbackdrift: an average is used only once it has seen its whole span of synchronized updates', () => {
  // Synchronized for about 150 s: 2^4 and 2^6 are filled (twice their span), 2^8 is not.
  const w = new World({ sources: [sourceOptions('server', A, { minpoll: 2, maxpoll: 2 })], discipline: { fallbackdrift: { min: 4, max: 8 } }, freqErr: 20 });
  w.servers.set(A, server({ delay: 0.0005 }));
  w.run(150);
  (w.servers.get(A) as { down: boolean }).down = true;
  w.run(800);
  const updates = w.events.flatMap((e) => (e.event.type === 'clock-update' ? [{ t: e.t }] : []));
  const lastUpdate = (updates[updates.length - 1] as { t: number }).t;
  const times = w.actions.filter((a) => a.t > lastUpdate + 1e-6 && a.action.kind === 'set-frequency').map((a) => Math.round((a.t - lastUpdate) * 100) / 100);
  assert.ok(times.includes(16) && times.includes(64), times.join(','));
  assert.ok(!times.some((t) => t > 100), `nothing after 2^6 s: ${times.join(',')}`);
});
