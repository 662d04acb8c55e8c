import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceOptions } from './source-options.js';
import { server, World, requestFields } from './engine-harness.test-helper.js';
import { Leap } from '../../proto/constants.js';
import { instantFromUnixSeconds } from '../../time/instant.js';

const A = '192.0.2.1';
const B = '192.0.2.2';
const C = '192.0.2.3';
const D = '192.0.2.4';
const E = '192.0.2.5';

function world(hosts: readonly string[], o: ConstructorParameters<typeof World>[0] extends infer T ? Partial<T> & { opts?: Parameters<typeof sourceOptions>[2] } : never = {}): World {
  const w = new World({ sources: hosts.map((h) => sourceOptions('server', h, { iburst: true, ...(o.opts ?? {}) })), ...o });
  for (const h of hosts) w.servers.set(h, server());
  return w;
}

const sendTimes = (w: World, address: string): number[] => w.sends.filter((s) => s.address === address).map((s) => s.t);

test('iburst: the first 4 requests go 2 s apart, then the poll interval', () => {
  const w = world([A], { opts: { minpoll: 6, maxpoll: 6 } });
  w.run(200);
  const t = sendTimes(w, A);
  assert.deepEqual(t.slice(0, 4).map((x) => Math.round(x)), [0, 2, 4, 6]);
  const gap = (t[4] as number) - (t[3] as number);
  assert.ok(gap > 60 && gap <= 64.01, String(gap));
});

test('the poll interval adapts between minpoll and maxpoll and stays in range', () => {
  const w = world([A], { opts: { minpoll: 4, maxpoll: 8 } });
  (w.servers.get(A) as { jitter?: number }).jitter = 0.002;
  w.run(20000);
  const polls = new Set<number>();
  const t = sendTimes(w, A).slice(4);
  for (let i = 1; i < t.length; i++) polls.add(Math.round(Math.log2((t[i] as number) - (t[i - 1] as number))));
  for (const p of polls) assert.ok(p >= 4 && p <= 8, `poll ${p}`);
  assert.ok(polls.size >= 2, `poll never moved: ${[...polls]}`);
  assert.ok(w.source(A).poll >= 7, `a noisy path with a steady clock polls slowly: ${w.source(A).poll}`);
});

test('reach register: shifted at each request, bit 0 set by a valid reply; backoff while unreachable', () => {
  const w = world([A], { opts: { minpoll: 4, maxpoll: 7, iburst: false } });
  w.run(16 * 3 + 1);
  assert.equal(w.source(A).reach, 0b1111);
  (w.servers.get(A) as { down: boolean }).down = true;
  w.run(16 * 3 + 1 + 16 * 2);
  assert.equal(w.source(A).reach & 0b11, 0);
  w.run(2000);
  assert.equal(w.source(A).reach, 0);
  assert.equal(w.source(A).verdict, 'unusable');
  assert.match(w.source(A).reason, /unreachable/);
  assert.ok(w.events.some((e) => e.event.type === 'source-unreachable'));
  // Backed off to maxpoll.
  const t = sendTimes(w, A);
  assert.ok((t[t.length - 1] as number) - (t[t.length - 2] as number) > 100, 'backs off towards maxpoll');
  (w.servers.get(A) as { down: boolean }).down = false;
  w.run(2400);
  assert.ok((w.source(A).reach & 1) === 1);
  assert.equal(w.source(A).poll, 4, 'back to minpoll once it answers');
});

test('RATE KoD naming poll 17 leaves the poll within minpoll..maxpoll and spaces requests by 5 intervals', () => {
  const w = world([A, B], { opts: { minpoll: 0, maxpoll: 1, iburst: false } });
  w.run(20);
  Object.assign(w.servers.get(A) as object, { kiss: 'RATE', poll: 17 });
  const from = w.t;
  const polls: number[] = [];
  for (let t = from; t < from + 300; t += 1) {
    w.run(t);
    polls.push(w.source(A).poll);
  }
  assert.ok(polls.every((p) => p >= 0 && p <= 1), `poll left 0..1: ${[...new Set(polls)]}`);
  assert.equal(w.events.filter((e) => e.event.type === 'kiss').length, 1, 'reported once, not at every kiss');
  assert.equal(w.source(A).kod?.code, 'RATE');
  assert.equal(w.source(A).kod?.action, 'reduce-rate');
  const t = sendTimes(w, A).filter((x) => x > from + 5);
  assert.ok(t.length >= 10, `still polled: ${t.length} requests`);
  for (let i = 1; i < t.length; i++) {
    const gap = (t[i] as number) - (t[i - 1] as number);
    assert.ok(gap >= 5 * 2 ** 0 - 1e-6 && gap <= 5 * 2 ** 1 + 1e-6, `gap ${gap}`);
  }
  // The server relents: the next reply ends it.
  Object.assign(w.servers.get(A) as object, { kiss: null, poll: undefined });
  w.run(from + 320);
  assert.equal(w.source(A).kod, null);
  assert.notEqual(w.source(A).reach & 0b11, 0);
});

test('DENY KoD: polling backs off to maxpoll and goes on; the source shows the refusal; online asks it again at once', () => {
  const w = world([A, B], { opts: { minpoll: 4, maxpoll: 8, iburst: false } });
  w.run(40);
  Object.assign(w.servers.get(B) as object, { kiss: 'DENY' });
  w.run(2000);
  const src = w.source(B);
  assert.equal(src.verdict, 'unusable');
  assert.match(src.reason, /KoD DENY/);
  assert.equal(src.kod?.action, 'refused');
  assert.equal(src.reach, 0, 'a refusal sets no reach bit');
  assert.equal(src.poll, 8, 'backed off to maxpoll, not beyond');
  const t = sendTimes(w, B).filter((x) => x > 1000);
  assert.ok(t.length >= 3, 'still asking');
  for (let i = 1; i < t.length; i++) assert.ok((t[i] as number) - (t[i - 1] as number) <= 256 + 1e-6);
  assert.equal(w.events.filter((e) => e.event.type === 'kiss' && e.event.code === 'DENY').length, 1, 'reported once per episode');
  assert.ok(!w.events.some((e) => e.event.type === 'source-unreachable' && e.event.sourceId === src.id), 'it answers: not reported unreachable');
  // chronyc ntpdata shows the kiss as the last valid reply, as chronyd does.
  const nd = w.control({ op: 'ntpdata', selector: B });
  assert.ok(nd.ok);
  const row = nd.value[0];
  assert.equal(row?.stratum, 0);
  assert.equal(row?.referenceId, 0x44454e59);
  assert.equal(row?.leap, 'unsynchronized');
  assert.equal(row?.tests, '111 101 0000');
  assert.equal(row?.kissCode, 'DENY');
  assert.equal(row?.offset, 0);
  // It is polled, so chronyc activity counts it online.
  const act = w.control({ op: 'activity' });
  assert.ok(act.ok && act.value.online === 2);
  // The server lets us in again; the operator says so: a request at once, from minpoll.
  Object.assign(w.servers.get(B) as object, { kiss: null });
  const n = sendTimes(w, B).length;
  const on = w.control({ op: 'online', selector: B });
  assert.ok(on.ok && on.value.sources === 1);
  assert.equal(sendTimes(w, B).length, n + 1, 'online sends at once');
  w.run(w.t + 1);
  assert.equal(w.source(B).reach & 1, 1);
  assert.equal(w.source(B).kod, null);
  assert.equal(w.source(B).poll, 4);
  assert.notEqual(w.source(B).verdict, 'unusable');
});

test('a burst asked for restarts polling of a source that refused us', () => {
  const w = world([A], { opts: { minpoll: 4, maxpoll: 10, iburst: false } });
  Object.assign(w.servers.get(A) as object, { kiss: 'RSTR' });
  w.run(100);
  assert.equal(w.source(A).kod?.code, 'RSTR');
  Object.assign(w.servers.get(A) as object, { kiss: null });
  const n = sendTimes(w, A).length;
  const b = w.control({ op: 'burst', selector: A, good: 2, max: 4 });
  assert.ok(b.ok && b.value.sources === 1);
  w.run(w.t + 5);
  assert.ok(sendTimes(w, A).length >= n + 2);
  assert.equal(w.source(A).kod, null);
  assert.equal(w.source(A).reach & 0b11, 0b11);
});

test('a reply whose origin is not our cookie is ignored, and the real one still counts', () => {
  const w = world([A], { opts: { iburst: false } });
  w.run(0.0001);
  const before = w.source(A).reach;
  // A forged reply: right address, wrong origin.
  const forged = new Uint8Array(48);
  forged[0] = 0x24; forged[1] = 1;
  w.engine.receive({ address: A, port: 123, data: forged, t4: w.clientNow() }, w.clientNow());
  assert.equal(w.source(A).reach, before);
  w.run(1);
  assert.equal(w.source(A).reach & 1, 1);
});

test('IPv6 sources: addresses match whatever way the driver spells them', () => {
  const w = new World({ sources: [sourceOptions('server', '2001:db8::1', { iburst: true })] });
  w.servers.set('2001:db8::1', server());
  w.run(10);
  assert.equal(w.snapshot().sources[0]?.reach, 0b1111);
  assert.equal(w.snapshot().tracking.synchronized, true);
  assert.notEqual(w.snapshot().tracking.referenceId, 0);
});

test('1 falseticker among 4 is marked x and never selected', () => {
  const w = world([A, B, C, D]);
  (w.servers.get(D) as { offset: number }).offset = 2.5;
  w.run(300);
  const s = w.snapshot();
  assert.equal(w.source(D).verdict, 'falseticker');
  assert.ok(w.events.some((e) => e.event.type === 'falseticker' && e.event.sourceId === w.source(D).id));
  assert.ok(s.sources.filter((x) => x.verdict === 'selected').length === 1);
  assert.ok(Math.abs(w.offset) < 0.001, String(w.offset));
});

test('2 falsetickers among 5 are rejected', () => {
  const w = world([A, B, C, D, E]);
  (w.servers.get(D) as { offset: number }).offset = 2.5;
  (w.servers.get(E) as { offset: number }).offset = -1.5;
  w.run(300);
  assert.equal(w.source(D).verdict, 'falseticker');
  assert.equal(w.source(E).verdict, 'falseticker');
  assert.ok(Math.abs(w.offset) < 0.001);
});

test('minsources holds the clock until enough sources agree', () => {
  const w = world([A], { offset: 0.05, discipline: { minsources: 2 } });
  w.run(100);
  assert.equal(w.snapshot().tracking.synchronized, false);
  assert.equal(w.source(A).verdict, 'not-combined');
  assert.match(w.source(A).reason, /minsources/);
  assert.equal(w.offset, 0.05 + 0);
});

test('maxdistance: a source farther than the limit is ~ and not used', () => {
  const w = world([A], { discipline: { maxdistance: 0.001 } });
  w.run(30);
  assert.equal(w.source(A).verdict, 'jittery');
  assert.match(w.source(A).reason, /maxdistance/);
  assert.equal(w.snapshot().tracking.synchronized, false);
});

test('prefer picks the preferred source; noselect is never selected', () => {
  const w = new World({
    sources: [
      sourceOptions('server', A, { iburst: true }),
      sourceOptions('server', B, { iburst: true, prefer: true }),
      sourceOptions('server', C, { iburst: true, noselect: true }),
    ],
  });
  w.servers.set(A, server({ delay: 0.0005 }));
  w.servers.set(B, server({ delay: 0.003 }));
  w.servers.set(C, server({ delay: 0.0001 }));
  w.run(100);
  assert.equal(w.source(B).verdict, 'selected');
  assert.equal(w.source(A).verdict, 'not-combined');
  assert.equal(w.source(C).verdict, 'unusable');
  assert.equal(w.source(C).reason, 'noselect');
});

test('require: nothing is selected until a required source is a truechimer', () => {
  const w = new World({
    sources: [sourceOptions('server', A, { iburst: true }), sourceOptions('server', B, { iburst: true, require: true })],
  });
  w.servers.set(A, server());
  w.servers.set(B, server({ down: true }));
  w.run(60);
  assert.equal(w.snapshot().tracking.synchronized, false);
  assert.match(w.source(A).reason, /required/);
  (w.servers.get(B) as { down: boolean }).down = false;
  w.run(400);
  assert.equal(w.snapshot().tracking.synchronized, true);
});

test('trust: two trusted sources outvote three untrusted ones', () => {
  const hosts = [A, B, C, D, E];
  const w = new World({ sources: hosts.map((h, i) => sourceOptions('server', h, { iburst: true, trust: i < 2 })) });
  hosts.forEach((h, i) => w.servers.set(h, server({ offset: i < 2 ? 0 : 1 })));
  w.run(100);
  assert.ok(['selected', 'combined'].includes(w.source(A).verdict), w.source(A).verdict);
  for (const h of [C, D, E]) assert.equal(w.source(h).verdict, 'falseticker');
});

test('makestep steps within its limit, then only slews', () => {
  const w = world([A], { offset: 0.5, discipline: { makestep: { threshold: 0.1, limit: 3 } } });
  w.run(10);
  assert.equal(w.steps.length, 1);
  assert.ok(Math.abs((w.steps[0] as { seconds: number }).seconds + 0.5) < 0.001);
  assert.ok(w.events.some((e) => e.event.type === 'step'));
  w.run(200);
  w.offset += 0.5; // long after the limit: must slew, not step
  w.run(600);
  assert.equal(w.steps.length, 1);
  assert.ok(Math.abs(w.offset) < 0.001, String(w.offset));
});

test('slewing never exceeds maxslewrate', () => {
  const w = world([A], { offset: -0.2, discipline: { maxslewrate: 500 } });
  w.run(1200);
  assert.equal(w.steps.length, 0);
  const base = w.snapshot().tracking.frequencyPpm;
  for (const f of w.freqs) assert.ok(Math.abs(f.ppm - base) <= 500 + 1, `${f.ppm}`);
  assert.ok(Math.abs(w.offset) < 0.001, String(w.offset));
});

// The first update comes with the third sample (chronyd's regression needs 3), 4 s into iburst; a 1 s slew at maxslewrate (83.3 ms/s) takes 12 s more.
test('convergence from 1 s and 100 ppm: iburst + makestep within seconds; slewing only within 20 s', () => {
  const a = world([A], { offset: 1, freqErr: 100, discipline: { makestep: { threshold: 0.1, limit: 3 } } });
  a.run(5);
  assert.ok(Math.abs(a.offset) < 1e-3, String(a.offset));
  const b = world([A], { offset: 1, freqErr: 100 });
  b.run(20);
  assert.equal(b.steps.length, 0);
  assert.ok(Math.abs(b.offset) < 1e-3, String(b.offset));
  b.run(600);
  assert.ok(Math.abs(b.offset) < 5e-5, String(b.offset));
  assert.ok(Math.abs(b.snapshot().tracking.frequencyPpm + 100) < 1, String(b.snapshot().tracking.frequencyPpm));
});

test('maxchange ignores a too-large offset after start, then reports it fatal', () => {
  const w = world([A], { opts: { minpoll: 4, maxpoll: 4 }, discipline: { maxchange: { offset: 0.1, start: 1, ignore: 2 } } });
  w.run(100);
  w.offset += 1;
  w.run(400);
  const mc = w.events.filter((e) => e.event.type === 'maxchange');
  assert.ok(mc.length >= 3, String(mc.length));
  assert.ok(mc.some((e) => e.event.type === 'maxchange' && e.event.fatal));
  assert.ok(w.offset > 0.9, 'the offset was not corrected');
});

test('drift: the drift file frequency is used at start; write-drift hourly', () => {
  const w = world([A], { freqErr: 20, discipline: { initialFrequencyPpm: -20, initialSkewPpm: 0.1 } });
  w.run(0.001);
  assert.equal(w.freqs[0]?.ppm, -20);
  w.run(8000);
  const writes = w.actions.filter((a) => a.action.kind === 'write-drift');
  assert.ok(writes.length >= 1 && writes.length <= 3, String(writes.length));
  const last = writes[writes.length - 1]?.action;
  assert.ok(last?.kind === 'write-drift' && Math.abs(last.frequencyPpm + 20) < 0.5);
  assert.ok(Math.abs(w.engine.drift().frequencyPpm + 20) < 0.5);
  assert.ok(Math.abs(w.offset) < 1e-4, String(w.offset));
});

test('maxdrift clamps the frequency correction', () => {
  const w = world([A], { freqErr: 300, discipline: { maxdrift: 100 } });
  w.run(600);
  assert.ok(Math.abs(w.snapshot().tracking.frequencyPpm + 100) < 1e-9);
});

test('re-basing after a step: stored samples keep their meaning, no transient', () => {
  const w = world([A], { offset: 0.5, freqErr: 10, discipline: { makestep: { threshold: 0.1, limit: 10 } } });
  w.run(300);
  assert.equal(w.steps.length, 1);
  const src = w.source(A);
  assert.ok(src.stats.samples >= 5, String(src.stats.samples));
  assert.ok(Math.abs(src.stats.offset) < 1e-4, String(src.stats.offset));
  assert.ok(src.lastSample !== null && Math.abs(src.lastSample.adjustedOffset) < 1e-3);
  assert.ok(Math.abs(src.stats.frequencyPpm) < 0.5, String(src.stats.frequencyPpm));
});

test('a server that steps by 1 s is followed after a few samples', () => {
  const w = world([A], { opts: { minpoll: 4, maxpoll: 4 }, discipline: { makestep: { threshold: 0.1, limit: -1 } } });
  w.run(300);
  (w.servers.get(A) as { offset: number }).offset = 1;
  w.run(600);
  assert.ok(Math.abs(w.offset - 1) < 1e-3, String(w.offset));
});

test('holdover: all sources lost, the clock keeps its frequency, then recovers', () => {
  const w = world([A], { freqErr: 30, opts: { minpoll: 4, maxpoll: 6 } });
  w.run(1500);
  (w.servers.get(A) as { down: boolean }).down = true;
  w.run(3000);
  assert.ok(w.events.some((e) => e.event.type === 'unsynchronized'));
  assert.ok(Math.abs(w.offset) < 2e-3, `held over within ${w.offset}`);
  assert.ok(Math.abs(w.corrPpm + 30) < 0.5);
  (w.servers.get(A) as { down: boolean }).down = false;
  w.run(4500);
  assert.equal(w.snapshot().tracking.synchronized, true);
  assert.ok(Math.abs(w.offset) < 1e-4);
});

test('interleaved mode (xleave): requests carry the previous exchange; samples are marked interleaved', () => {
  const w = world([A], { opts: { xleave: true, minpoll: 4, maxpoll: 4 } });
  (w.servers.get(A) as { interleaved: boolean }).interleaved = true;
  w.run(100);
  const sends = w.actions.filter((a) => a.action.kind === 'send').map((a) => a.action.kind === 'send' ? requestFields(a.action.packet) : null);
  assert.equal(sends[0]?.origin, 0n);
  assert.notEqual(sends[2]?.origin, 0n);
  assert.equal(w.source(A).interleaved, true);
  assert.equal(w.snapshot().tracking.synchronized, true);
  assert.ok(Math.abs(w.offset) < 1e-4);
});

test('snapshot fields: tracking and sources carry the engine state', () => {
  const w = world([A], { freqErr: 5, opts: { minpoll: 4, maxpoll: 6 } });
  (w.servers.get(A) as { stratum: number }).stratum = 2;
  w.run(2000);
  const s = w.snapshot();
  assert.equal(s.version, 1);
  assert.equal(s.clock, 'sim');
  assert.match(s.time, /^\d+\.\d{9}$/);
  const t = s.tracking;
  assert.equal(t.synchronized, true);
  assert.equal(t.stratum, 3);
  assert.equal(t.referenceId, 0xc0000201);
  assert.equal(t.referenceName, A);
  assert.equal(t.leapStatus, 'normal');
  assert.ok(t.refTime !== null && /^\d+\.\d{9}$/.test(t.refTime));
  assert.ok(Math.abs(t.frequencyPpm + 5) < 0.1, String(t.frequencyPpm));
  assert.ok(t.updateInterval >= 15 && t.updateInterval <= 65, String(t.updateInterval));
  assert.ok(t.rootDelay > 0.0019 && t.rootDelay < 0.0025, String(t.rootDelay));
  assert.ok(t.rootDispersion > 0);
  assert.ok(t.rmsOffset >= 0 && t.rmsOffset < 1e-4);
  const src = s.sources[0];
  assert.ok(src !== undefined);
  assert.equal(src.verdict, 'selected');
  assert.equal(src.stratum, 2);
  assert.equal(src.reach, 255);
  assert.ok(src.lastRxAgo !== null && src.lastRxAgo < 65);
  assert.ok(src.stats.samples > 10 && src.stats.span > 100);
  assert.ok(src.stats.runs >= 1);
  assert.ok(Math.abs(src.stats.offset) < 1e-4);
  assert.ok(src.lastSample !== null && Math.abs(src.lastSample.delay - 0.002) < 1e-4);
  const sys = w.engine.systemState(w.clientNow());
  assert.equal(sys.synchronized, true);
  assert.equal(sys.stratum, 3);
  assert.equal(sys.referenceId, 0xc0000201);
});

test('unresolved names: resolve action, retry on failure, then poll', () => {
  const w = new World({ sources: [sourceOptions('server', 'ntp.example', { iburst: true })] });
  w.servers.set(A, server());
  let fail = true;
  w.dns = () => (fail ? { error: 'SERVFAIL' } : [A]);
  w.run(1);
  assert.ok(w.actions.some((a) => a.action.kind === 'resolve'));
  assert.equal(w.snapshot().sources[0]?.address, null);
  assert.match(w.snapshot().sources[0]?.reason ?? '', /SERVFAIL/);
  fail = false;
  w.run(60);
  assert.equal(w.snapshot().sources[0]?.address, A);
  assert.equal(w.snapshot().tracking.synchronized, true);
});

test('pool: maxsources addresses used; an unreachable member is replaced by a fresh address', () => {
  const w = new World({ sources: [sourceOptions('pool', 'pool.example', { iburst: true, maxsources: 3, minpoll: 4, maxpoll: 6 })] });
  for (const h of [A, B, C, D]) w.servers.set(h, server());
  w.dns = () => [A, B, C, D];
  w.run(100);
  const used = w.snapshot().sources.map((s) => s.address);
  assert.deepEqual(used, [A, B, C]);
  (w.servers.get(B) as { down: boolean }).down = true;
  w.run(3000);
  const replaced = w.events.find((e) => e.event.type === 'source-replaced');
  assert.ok(replaced?.event.type === 'source-replaced' && replaced.event.oldAddress === B && replaced.event.newAddress === D);
  assert.deepEqual(w.snapshot().sources.map((s) => s.address).sort(), [A, C, D]);
});

test('pool: a persistent falseticker is replaced', () => {
  const w = new World({ sources: [sourceOptions('pool', 'pool.example', { iburst: true, maxsources: 3, minpoll: 4, maxpoll: 4 })] });
  for (const h of [A, B, C, D]) w.servers.set(h, server());
  (w.servers.get(C) as { offset: number }).offset = 3;
  w.dns = () => [A, B, C, D];
  w.run(1000);
  assert.ok(w.events.some((e) => e.event.type === 'source-replaced' && e.event.oldAddress === C));
  assert.ok(!w.snapshot().sources.some((s) => s.address === C));
});

for (const mode of ['system', 'step', 'slew', 'ignore'] as const) {
  test(`leap second insert, leapsecmode ${mode}`, () => {
    // Start 10 minutes before the end of 2016-12-31 (a real leap second).
    const startAt = instantFromUnixSeconds(1483228800 - 600);
    const w = new World({ sources: [sourceOptions('server', A, { iburst: true, minpoll: 4, maxpoll: 4 })], startAt, discipline: { leapsecmode: mode, makestep: mode === 'ignore' ? { threshold: 0.5, limit: -1 } : null } });
    w.servers.set(A, server({ leap: Leap.InsertSecond }));
    w.run(300);
    assert.ok(w.events.some((e) => e.event.type === 'leap' && e.event.leap === 'insert'));
    assert.equal(w.snapshot().tracking.leapStatus, 'insert');
    const status = w.actions.filter((a) => a.action.kind === 'set-status').map((a) => a.action).pop();
    assert.ok(status?.kind === 'set-status' && status.leap === (mode === 'system' ? 'insert' : 'none'));
    // At midnight UTC repeats a second: the servers' time goes back by 1 s.
    w.run(600);
    const srv = w.servers.get(A) as { offset: number; leap?: number };
    srv.offset = -1;
    srv.leap = Leap.NoWarning;
    if (mode === 'system') w.offset -= 1; // the kernel inserts it
    w.run(600.5);
    if (mode === 'step') assert.ok(w.steps.some((s) => s.seconds === -1));
    if (mode === 'slew') {
      assert.equal(w.steps.length, 0);
      const f = w.freqs[w.freqs.length - 1];
      assert.ok(f !== undefined && f.ppm < -80000, 'slews at maxslewrate');
    }
    w.run(1200);
    assert.ok(Math.abs(w.offset + 1) < 2e-3, `${mode}: ${w.offset}`);
    if (mode !== 'ignore') assert.equal(w.steps.filter((s) => s.seconds !== -1).length, 0);
  });
}

test('unsynchronized servers (leap 3) are not used', () => {
  const w = world([A]);
  (w.servers.get(A) as { leap: number }).leap = Leap.Unsynchronized;
  w.run(30);
  assert.equal(w.source(A).verdict, 'unusable');
  assert.match(w.source(A).reason, /unsynchronized/);
  assert.equal(w.snapshot().tracking.synchronized, false);
});

test('maxsamples caps the window; minsamples above it grows the window (sourcestats NP)', () => {
  const samplesAfter = (opts: { minsamples?: number; maxsamples?: number }): number => {
    const w = world([A], { opts: { minpoll: 0, maxpoll: 0, ...opts } });
    w.run(300);
    return w.source(A).stats.samples;
  };
  assert.equal(samplesAfter({}), 64);
  assert.equal(samplesAfter({ maxsamples: 16 }), 16);
  assert.equal(samplesAfter({ minsamples: 100 }), 100);
  assert.equal(samplesAfter({ minsamples: 8, maxsamples: 16 }), 16);
});

test('the only source jumps 10 s: the update that sees it reports the clock wrong (chronyd\'s logchange), once, while the slew goes on', () => {
  const w = world([A], { opts: { minpoll: 2, maxpoll: 2 } });
  w.run(300);
  assert.equal(w.snapshot().tracking.synchronized, true);
  assert.deepEqual(w.events.filter((e) => e.event.type === 'clock-wrong'), [], 'nothing to report while in step');
  (w.servers.get(A) as { offset: number }).offset = 10;
  w.run(600);
  const wrong = w.events.filter((e) => e.event.type === 'clock-wrong');
  assert.ok(wrong.length >= 1, 'reported');
  const first = wrong[0]?.event as { seconds: number };
  // The server is ahead: the clock is behind and needs to go forward; the first estimate need not take the whole jump.
  assert.ok(first.seconds > 1 && first.seconds <= 10 + 1e-3, String(first.seconds));
  // The rest of the jump is reported only if an update finds more than 1 s beyond the correction under way.
  const total = wrong.reduce((sum, e) => sum + (e.event as { seconds: number }).seconds, 0);
  assert.ok(total <= 10 + 0.1, `reported ${total} s in all`);
  assert.ok(wrong.length <= 3, `${wrong.length} reports for one jump`);
});

test('clock-wrong comes before the step it leads to, and not at all below logchange', () => {
  const w = world([A], { offset: -5, discipline: { makestep: { threshold: 1, limit: 3 } } });
  w.run(30);
  const types = w.events.map((e) => e.event.type).filter((t) => t === 'clock-wrong' || t === 'step');
  assert.deepEqual(types.slice(0, 2), ['clock-wrong', 'step']);
  const q = world([A], { offset: -5, discipline: { makestep: { threshold: 1, limit: 3 }, logchange: 6 } });
  q.run(30);
  assert.ok(q.events.some((e) => e.event.type === 'step'));
  assert.ok(!q.events.some((e) => e.event.type === 'clock-wrong'));
});

/**
 * The oscillator needs no correction but the engine starts 100 ppm off, as
 * `initialSkewPpm` says (null: the kernel's frequency, no drift file): within
 * 30 s the frequency is right, and then the clock holds within 100 us (100
 * ppm left in force for a 4 s poll would be 400 us).
 */
function startsWrongBy100Ppm(initialSkewPpm: number | null): void {
  const w = world([A], { freqErr: 0, discipline: { initialFrequencyPpm: 100, initialSkewPpm, makestep: { threshold: 0.1, limit: 3 } }, opts: { minpoll: 0, maxpoll: 2 } });
  w.servers.set(A, server({ jitter: 100e-6 }));
  w.run(30);
  assert.ok(Math.abs(w.snapshot().tracking.frequencyPpm) < 5, `frequency ${w.snapshot().tracking.frequencyPpm} ppm`);
  let worst = 0;
  for (let t = 30; t <= 90; t += 1) {
    w.run(t);
    worst = Math.max(worst, Math.abs(w.offset));
  }
  assert.ok(worst < 100e-6, `worst error ${worst * 1e6} us`);
}

test('a frequency found in the kernel (no drift file) is only a start: 100 ppm wrong, the samples correct it within seconds', () => {
  // As after another daemon or a VM migration.
  startsWrongBy100Ppm(null);
});

test('a drift file 100 ppm wrong, however small its skew, is overruled by what the samples say', () => {
  startsWrongBy100Ppm(0.05);
});

test('a drift file that agrees with the samples is a good start: the clock holds from the first samples on, the frequency stays put', () => {
  const w = world([A], { freqErr: -20, discipline: { initialFrequencyPpm: 20, initialSkewPpm: 0.05 }, opts: { minpoll: 0, maxpoll: 2 } });
  w.servers.set(A, server({ jitter: 100e-6 }));
  w.run(0.001);
  assert.equal(w.freqs[0]?.ppm, 20);
  for (let t = 1; t <= 60; t++) {
    w.run(t);
    // 100 us of path jitter: the estimate's own error, never the 20 ppm a lost drift file would add.
    assert.ok(Math.abs(w.offset) < 150e-6, `at ${t} s: ${w.offset * 1e6} us`);
    if (t >= 10) assert.ok(Math.abs(w.snapshot().tracking.frequencyPpm - 20) < 3, `at ${t} s: ${w.snapshot().tracking.frequencyPpm} ppm`);
  }
});

test('the clock is updated once per poll of the selected source, not on every sample of every source (chronyc Update interval)', () => {
  const w = world([A, B, C], { opts: { minpoll: 4, maxpoll: 4 } });
  const intervals = new Set<number>();
  for (let t = 120; t <= 600; t += 1) {
    w.run(t);
    intervals.add(Math.round(w.snapshot().tracking.updateInterval));
  }
  // Three sources polled every 16 s: every interval is one poll of the selected one.
  for (const i of intervals) assert.ok(i >= 15 && i <= 17, `update intervals seen: ${[...intervals].join(', ')}`);
});

test('a reply whose round trip is shorter than the server held it (a late transmit stamp) counts with the absolute value of its delay, as chronyd takes it, never the precision', () => {
  const w = world([A, B, C]);
  // A holds each request 2 ms by its stamps, over a 1 ms round trip: every reply arrives 1 ms "before" it left.
  w.servers.set(A, server({ delay: 0.0005, hold: 0.002, offset: -0.001 }));
  w.run(60);
  const ms = w.events.filter((e) => e.event.type === 'measurement' && e.event.address === A);
  assert.ok(ms.length >= 4, `A answered ${ms.length} times`);
  // Every one the same: no history shows them as outliers, so chronyd takes them too (with a 1 ms delay).
  for (const m of ms) assert.ok(m.event.type === 'measurement' && Math.abs(m.event.delay - 0.001) < 1e-6 && m.event.tests.every((t) => t), `delay ${m.event.type === 'measurement' ? m.event.delay : ''}`);
  const src = w.snapshot().sources.find((s) => s.address === A);
  assert.ok((src?.stats.samples ?? 0) >= 4);
});

test('maxclockerror: the served root dispersion grows by it plus the skew', () => {
  const rates = [1, 11].map((maxclockerror) => {
    const w = new World({ sources: [sourceOptions('server', A, { iburst: true, minpoll: 4, maxpoll: 4 })], discipline: { maxclockerror } });
    w.servers.set(A, server());
    w.run(300);
    const now = w.clientNow();
    const skew = w.snapshot().tracking.skewPpm;
    return { rate: w.engine.systemState(now).dispersionRate, skew };
  });
  for (const [i, ppm] of [1, 11].entries()) {
    const r = rates[i] as { rate: number; skew: number };
    assert.ok(Math.abs(r.rate - (ppm + r.skew) * 1e-6) < 1e-12, `maxclockerror ${ppm}: rate ${r.rate}, skew ${r.skew}`);
  }
});

test('smoothtime leaponly with leapsecmode slew: the leap is smoothed in the served state and not announced to clients; the snapshot reports it', () => {
  const startAt = instantFromUnixSeconds(1483228800 - 600);
  const w = new World({
    sources: [sourceOptions('server', A, { iburst: true, minpoll: 4, maxpoll: 4 })], startAt,
    discipline: { leapsecmode: 'slew', maxslewrate: 1000, smoothtime: { maxFreqPpm: 400, maxWanderPpm: 0.001, leapOnly: true } },
  });
  w.servers.set(A, server({ leap: Leap.InsertSecond }));
  w.run(300);
  assert.equal(w.snapshot().tracking.leapStatus, 'insert');
  assert.equal(w.engine.systemState(w.clientNow()).leap, Leap.NoWarning);
  assert.deepEqual(w.snapshot().smoothing?.active, true);
  w.run(600);
  const srv = w.servers.get(A) as { offset: number; leap?: number };
  srv.offset = -1;
  srv.leap = Leap.NoWarning;
  w.run(610);
  const s = w.snapshot().smoothing;
  assert.ok(s !== undefined && s.offset > 0.99 && s.offset <= 1 && s.remainingTime > 60000 && s.leapOnly, JSON.stringify(s));
  const plain = new World({ sources: [] });
  plain.run(1);
  assert.equal(plain.snapshot().smoothing, undefined);
});
