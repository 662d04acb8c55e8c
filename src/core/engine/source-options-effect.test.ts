/**
 * The effect of each chrony source option and selection directive on the
 * engine (chrony.conf(5), chrony 4.3's ntp_core.c, sources.c, sourcestats.c):
 * what the clock, the served state or the reports do with the option, beside
 * the same world without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceOptions, type SourceOptions } from './source-options.js';
import { server, World } from './engine-harness.test-helper.js';
import type { DisciplineOptions, EngineEvent } from './engine-api.js';

const A = '192.0.2.1';
const B = '192.0.2.2';
const V6 = '2001:db8::1';

type Opts = Partial<Omit<SourceOptions, 'kind' | 'host'>>;

function world(opts: Opts = {}, discipline: Partial<DisciplineOptions> = {}, srv: Partial<Parameters<typeof server>[0]> = {}, o: { offset?: number; freqErr?: number } = {}): World {
  const w = new World({ sources: [sourceOptions('server', A, { iburst: true, minpoll: 4, maxpoll: 4, ...opts })], discipline: { makestep: { threshold: 0.1, limit: 3 }, ...discipline }, ...o });
  w.servers.set(A, server(srv));
  return w;
}

type Measurement = Extract<EngineEvent, { type: 'measurement' }>;
const measurements = (w: World): Measurement[] => w.events.map((e) => e.event).filter((e): e is Measurement => e.type === 'measurement');
const ntpdata = (w: World) => {
  const r = w.control({ op: 'ntpdata', selector: null });
  assert.ok(r.ok);
  return (r.value as readonly { tests: string; peerDelay: number; offset: number }[])[0] as { tests: string; peerDelay: number; offset: number };
};

test('offset (and ntpd bias): the clock follows the source plus the correction', () => {
  const plain = world();
  plain.run(300);
  assert.ok(Math.abs(plain.offset) < 0.002, `without: ${plain.offset}`);
  const w = world({ offset: 0.5 });
  w.run(300);
  // The source counts as 0.5 s ahead: the clock ends 0.5 s ahead of true time.
  assert.ok(Math.abs(w.offset - 0.5) < 0.002, `with offset 0.5: ${w.offset}`);
});

test('minstratum: selection and the served stratum take the source as at least that stratum; copy serves the server\'s own stratum and refid', () => {
  const plain = world({}, {}, { stratum: 2 });
  plain.run(120);
  assert.equal(plain.engine.systemState(plain.clientNow()).stratum, 3);
  const w = world({ minstratum: 5 }, {}, { stratum: 2 });
  w.run(120);
  assert.equal(w.engine.systemState(w.clientNow()).stratum, 6);
  assert.equal(w.source(A).stratum, 5);
  const c = world({ copy: true }, {}, { stratum: 2 });
  c.run(120);
  const st = c.engine.systemState(c.clientNow());
  assert.equal(st.stratum, 2);
  // The harness's servers give refid "GPS".
  assert.equal(st.referenceId, 0x47505300);
  assert.notEqual(plain.engine.systemState(plain.clientNow()).referenceId, 0x47505300);
});

test('negative delay: taken as its absolute value (ntpdata shows it), and test C fails it once the source has a history, as chronyd does', () => {
  const w = world({}, {}, { delay: 0.001, jitter: 0.00001 });
  w.run(200);
  assert.equal(ntpdata(w).tests, '111 111 1111');
  const good = w.source(A).stats.samples;
  // The server now reports holding each request 10 ms, longer than the 2 ms round trip, with its
  // transmit stamp where it would be if it had (its offset moved back by half, so the offset stays).
  const srv = w.servers.get(A) as { hold: number; offset: number };
  srv.hold = 0.01;
  srv.offset -= 0.005;
  w.run(400);
  const d = ntpdata(w);
  assert.ok(Math.abs(d.peerDelay - 0.008) < 0.0002, `delay ${d.peerDelay}: |2 ms - 10 ms|, not the precision`);
  assert.equal(d.tests, '111 111 1101');
  assert.equal(w.source(A).stats.samples, good, 'no such sample reached the statistics');
  const neg = measurements(w).filter((m) => m.delay > 0.005);
  assert.ok(neg.length > 5 && neg.every((m) => m.tests.join() === 'true,true,false,true'));
});

test('maxdelay fails test A, maxdelayratio test B: the sample is not used and ntpdata says which test failed', () => {
  const w = world({ maxdelay: 0.001 }, {}, { delay: 0.002 });
  w.run(100);
  assert.equal(ntpdata(w).tests, '111 111 0111');
  assert.equal(w.source(A).stats.samples, 0);
  // A path whose round trip grows to 3 times its minimum: with maxdelayratio 2 those fail test B.
  const r = world({ maxdelayratio: 2 }, {}, { delay: 0.001 });
  r.run(300);
  (r.servers.get(r.source(A).address as string) as { delay: number }).delay = 0.003;
  r.run(400);
  assert.match(ntpdata(r).tests, /^111 111 10/);
  const without = world({}, {}, { delay: 0.001 });
  without.run(300);
  (without.servers.get(A) as { delay: number }).delay = 0.003;
  without.run(400);
  assert.match(ntpdata(without).tests, /^111 111 1[1]/);
});

test('mindelay: delays below it are reflected about it, and the distance rests on it', () => {
  const plain = world({}, {}, { delay: 0.001 });
  plain.run(200);
  const w = world({ mindelay: 0.05 }, {}, { delay: 0.001 });
  w.run(200);
  assert.ok(plain.source(A).rootDistance < 0.01, String(plain.source(A).rootDistance));
  assert.ok(w.source(A).rootDistance > 0.025, String(w.source(A).rootDistance));
});

test('asymmetry: offsets are corrected by that share of the extra delay', () => {
  // All the jitter on the way back: plain samples read the server late by half of it.
  const srv = { delay: 0.001, downJitter: 0.004 };
  const plain = world({}, {}, srv);
  plain.run(1500);
  const w = world({ asymmetry: 0.5 }, {}, srv);
  w.run(1500);
  assert.ok(plain.offset < -0.00005, `without: the clock runs behind by the return path's bias: ${plain.offset}`);
  assert.ok(Math.abs(w.offset) < -plain.offset / 2, `with asymmetry 0.5: ${w.offset} vs ${plain.offset}`);
});

test('filter N: N polls make one sample for the statistics', () => {
  const plain = world();
  plain.run(16 * 40);
  const w = world({ filter: 4 });
  w.run(16 * 40);
  const n = plain.source(A).stats.samples;
  const f = w.source(A).stats.samples;
  assert.ok(n >= 38, String(n));
  assert.ok(f >= Math.floor(n / 4) - 1 && f <= Math.ceil(n / 4) + 1, `${f} samples from ${n} polls`);
});

test('offline: no request until chronyc online; auto_offline: a request that cannot be sent takes the source offline', () => {
  const w = world({ offline: true });
  w.run(100);
  assert.equal(w.sends.length, 0);
  w.control({ op: 'online', selector: null });
  w.run(200);
  assert.ok(w.sends.length > 3);
  const a = world({ autoOffline: true, iburst: false });
  a.run(40);
  const before = a.sends.length;
  assert.ok(before > 0);
  a.engine.sendFailed(1, a.clientNow());
  a.run(400);
  assert.equal(a.sends.length, before, 'offline after the failed send');
  const plainFail = world({ iburst: false });
  plainFail.run(40);
  plainFail.engine.sendFailed(1, plainFail.clientNow());
  plainFail.run(400);
  assert.ok(plainFail.sends.length > before + 5, 'without auto_offline the source keeps polling');
});

test('presend: from that poll on, each poll is a pair 2 s apart and the first reply is no sample', () => {
  const w = world({ presend: 4, iburst: false });
  w.run(16 * 10 + 5);
  const t = w.sends.map((s) => s.t);
  assert.ok(t.length >= 18, String(t.length));
  for (let i = 0; i + 1 < t.length; i += 2) assert.ok(Math.abs((t[i + 1] as number) - (t[i] as number) - 2) < 0.01, `pair ${i}: ${t[i]} ${t[i + 1]}`);
  const m = measurements(w);
  assert.equal(m.filter((x) => !x.tests[0]).length, Math.ceil(m.length / 2));
  const plain = world({ iburst: false });
  plain.run(16 * 10 + 5);
  assert.ok(plain.sends.length <= 12);
});

test('ipv4 / ipv6: only addresses of that family are used', () => {
  for (const [family, want] of [['ipv6', V6], ['ipv4', B], ['any', B]] as const) {
    const w = new World({ sources: [sourceOptions('server', 'ntp.example.org', { family })] });
    w.dns = () => [B, V6];
    w.servers.set(B, server());
    w.servers.set(V6, server());
    w.run(5);
    assert.equal(w.snapshot().sources[0]?.address, want, family);
  }
});

test('polltarget: a larger target keeps the poll interval shorter', () => {
  const polls = (polltarget: number): number => {
    const w = world({ minpoll: 4, maxpoll: 10, polltarget }, {}, { jitter: 0.002 });
    w.run(20000);
    return w.source(A).poll;
  };
  const low = polls(6);
  const high = polls(60);
  assert.ok(high < low, `polltarget 60 polls at 2^${high}, polltarget 6 at 2^${low}`);
});

test('maxsamples caps the statistics window', () => {
  const w = world({ maxsamples: 4 });
  w.run(16 * 30);
  assert.ok(w.source(A).stats.samples <= 4, String(w.source(A).stats.samples));
  const plain = world();
  plain.run(16 * 30);
  assert.ok(plain.source(A).stats.samples > 8);
});

test('maxupdateskew: an estimate more uncertain than that moves no frequency', () => {
  const free = world({}, { maxupdateskew: 1e-6 }, {}, { freqErr: 20 });
  free.run(600);
  assert.equal(free.engine.drift().frequencyPpm, 0, 'the base frequency never moved');
  const plain = world({}, {}, {}, { freqErr: 20 });
  plain.run(600);
  assert.ok(Math.abs(plain.engine.drift().frequencyPpm + 20) < 2, `frequency corrected: ${plain.engine.drift().frequencyPpm}`);
});
