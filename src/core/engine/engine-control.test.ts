import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceOptions } from './source-options.js';
import { server, World } from './engine-harness.test-helper.js';

const A = '192.0.2.1';
const B = '192.0.2.2';

function world(hosts: readonly string[], o: Partial<ConstructorParameters<typeof World>[0]> & { opts?: Parameters<typeof sourceOptions>[2] } = {}): World {
  const w = new World({ sources: hosts.map((h) => sourceOptions('server', h, { iburst: true, ...(o.opts ?? {}) })), ...o });
  for (const h of hosts) w.servers.set(h, server());
  return w;
}

const sendsTo = (w: World, address: string, from = 0): number => w.sends.filter((s) => s.address === address && s.t >= from).length;

test('makestep steps out the correction still being slewed, at once', () => {
  // A slow slew (10 ppm) leaves most of a 0.5 s correction pending for a long time.
  const w = world([A], { offset: 0.5, discipline: { makestep: null, maxslewrate: 10 } as never });
  w.run(10);
  const pending = w.snapshot().tracking.systemTime;
  assert.ok(Math.abs(pending) > 0.4, `pending ${pending}`);
  assert.equal(w.steps.length, 0);
  const r = w.control({ op: 'makestep' });
  assert.ok(r.ok);
  assert.equal(w.steps.length, 1);
  assert.ok(Math.abs(r.value.seconds + pending) < 1e-6, `${r.value.seconds} vs ${pending}`);
  assert.ok(Math.abs(w.offset) < 1e-3, String(w.offset));
  assert.equal(Math.abs(w.snapshot().tracking.systemTime), 0);
  // Nothing left: a second makestep steps nothing.
  const again = w.control({ op: 'makestep' });
  assert.ok(again.ok && again.value.seconds === 0);
  assert.equal(w.steps.length, 1);
});

test('makestep THRESHOLD LIMIT: steps resume for LIMIT updates from now', () => {
  const w = world([A], { offset: 0.5, discipline: { makestep: { threshold: 0.1, limit: 1 } } as never });
  w.run(100);
  assert.equal(w.steps.length, 1);
  w.offset += 0.5; // past the limit: would be slewed
  assert.ok(w.control({ op: 'set-makestep', threshold: 0.1, limit: 2 }).ok);
  w.run(400);
  assert.equal(w.steps.length, 2, JSON.stringify(w.steps));
  const bad = w.control({ op: 'set-makestep', threshold: -1, limit: 2 });
  assert.ok(!bad.ok && bad.code === 'bad-value');
});

test('offline: no requests while the source keeps its state; online polls at once', () => {
  const w = world([A], { opts: { minpoll: 4, maxpoll: 4 } });
  w.run(60);
  const reach = w.source(A).reach;
  assert.ok(reach !== 0);
  const off = w.control({ op: 'offline', selector: null });
  assert.ok(off.ok && off.value.sources === 1);
  const n = w.sends.length;
  w.run(600);
  assert.equal(w.sends.length, n, 'no request while offline');
  assert.equal(w.source(A).reach, reach, 'reach kept');
  assert.ok(w.source(A).stats.samples > 0, 'samples kept');
  const act = w.control({ op: 'activity' });
  assert.ok(act.ok);
  assert.deepEqual(act.value, { online: 0, offline: 1, burstOnline: 0, burstOffline: 0, unresolved: 0 });
  const on = w.control({ op: 'online', selector: A });
  assert.ok(on.ok);
  assert.equal(w.sends.length, n + 1, 'online sends at once');
  w.run(700);
  assert.ok(sendsTo(w, A, 610) >= 5);
  const none = w.control({ op: 'online', selector: '198.51.100.1' });
  assert.ok(!none.ok && none.code === 'no-such-source');
});

test('burst GOOD/MAX: stops after GOOD good replies, or after MAX requests without replies', () => {
  const w = world([A], { opts: { minpoll: 8, maxpoll: 8 } });
  w.run(100);
  const r = w.control({ op: 'burst', selector: null, good: 2, max: 6 });
  assert.ok(r.ok && r.value.sources === 1);
  assert.deepEqual(w.control({ op: 'activity' }).ok && (w.control({ op: 'activity' }) as { value: unknown }).value, { online: 0, offline: 0, burstOnline: 1, burstOffline: 0, unresolved: 0 });
  w.run(130);
  assert.equal(sendsTo(w, A, 100), 2, 'two good replies end it');
  // Unanswered, the burst sends MAX requests, 2 s apart.
  (w.servers.get(A) as { down?: boolean }).down = true;
  w.control({ op: 'burst', selector: A, good: 2, max: 6 });
  w.run(160);
  const t = w.sends.filter((s) => s.address === A && s.t >= 130).map((s) => s.t);
  assert.equal(t.length, 6, JSON.stringify(t));
  assert.ok(t.every((x, i) => i === 0 || Math.abs(x - (t[i - 1] as number) - 2) < 0.01));
  const bad = w.control({ op: 'burst', selector: null, good: 5, max: 4 });
  assert.ok(!bad.ok && bad.code === 'bad-value');
});

test('a burst while offline returns to offline', () => {
  const w = world([A], { opts: { minpoll: 4, maxpoll: 4 } });
  w.run(50);
  w.control({ op: 'offline', selector: null });
  const n = w.sends.length;
  w.control({ op: 'burst', selector: null, good: 3, max: 3 });
  const act = w.control({ op: 'activity' });
  assert.ok(act.ok && act.value.burstOffline === 1);
  w.run(500);
  assert.equal(w.sends.length, n + 3);
});

test('add and delete change the sources and the selection', () => {
  const w = world([A], { opts: { minpoll: 4, maxpoll: 4 } });
  w.servers.set(B, server());
  w.run(60);
  assert.equal(w.snapshot().sources.find((s) => s.verdict === 'selected')?.address, A);
  const add = w.control({ op: 'add-source', source: sourceOptions('server', B, { iburst: true, minpoll: 4, maxpoll: 4 }) });
  assert.ok(add.ok);
  assert.equal(sendsTo(w, B), 1, 'the new source is polled at once');
  const dup = w.control({ op: 'add-source', source: sourceOptions('server', B) });
  assert.ok(!dup.ok && dup.code === 'source-exists');
  w.run(120);
  assert.deepEqual(w.snapshot().sources.map((s) => s.address), [A, B]);
  const del = w.control({ op: 'delete-source', selector: A });
  assert.ok(del.ok && del.value.sources === 1);
  assert.deepEqual(w.snapshot().sources.map((s) => s.address), [B]);
  const n = sendsTo(w, A);
  w.run(300);
  assert.equal(sendsTo(w, A), n, 'a deleted source gets no requests');
  assert.equal(w.snapshot().sources.find((s) => s.verdict === 'selected')?.address, B);
  const gone = w.control({ op: 'delete-source', selector: A });
  assert.ok(!gone.ok && gone.code === 'no-such-source');
});

test('ntpdata: the last valid reply and the packet counters', () => {
  const w = world([A], { opts: { minpoll: 4, maxpoll: 4 } });
  w.run(100);
  const r = w.control({ op: 'ntpdata', selector: null });
  assert.ok(r.ok);
  const d = r.value[0];
  assert.ok(d !== undefined);
  assert.equal(d.remoteAddress, A);
  assert.equal(d.stratum, 1);
  assert.equal(d.mode, 4);
  assert.equal(d.version, 4);
  assert.equal(d.totalTx, sendsTo(w, A));
  assert.ok(d.totalRx >= d.totalValidRx && d.totalValidRx >= d.totalGoodRx && d.totalGoodRx > 0);
  assert.ok(Math.abs(d.responseTime - 0.00001) < 1e-6, String(d.responseTime));
  assert.ok(d.peerDelay > 0);
  const none = w.control({ op: 'ntpdata', selector: B });
  assert.ok(!none.ok && none.code === 'no-such-source');
});

test("ntpdata's jitter asymmetry: chronyd's sign for queueing on one way only, 0 on a symmetric path", () => {
  const asymmetry = (jitter: number, jitterBack: number): number => {
    const w = world([A], { opts: { minpoll: 0, maxpoll: 0 } });
    w.servers.set(A, server({ jitter, jitterBack }));
    w.run(120);
    const r = w.control({ op: 'ntpdata', selector: A });
    assert.ok(r.ok);
    return (r.value[0] as { jitterAsymmetry: number }).jitterAsymmetry;
  };
  // chronyc: negative when the delay of packets sent to the source varies more.
  const toServer = asymmetry(0.002, 0);
  assert.ok(toServer <= -0.45 && toServer >= -0.5, String(toServer));
  const back = asymmetry(0, 0.002);
  assert.ok(back >= 0.45 && back <= 0.5, String(back));
  assert.equal(asymmetry(0.002, 0.002), 0);
});

test('delete: a pool member is replaced by another address; the pool name removes them all', () => {
  const w = new World({ sources: [sourceOptions('pool', 'pool.example', { iburst: true, minpoll: 4, maxpoll: 4, maxsources: 2 })] });
  const members = ['192.0.2.11', '192.0.2.12', '192.0.2.13'];
  for (const m of members) w.servers.set(m, server());
  w.dns = () => members;
  w.run(30);
  const before = w.snapshot().sources.map((s) => s.address);
  assert.equal(before.length, 2);
  const del = w.control({ op: 'delete-source', selector: before[0] as string });
  assert.ok(del.ok && del.value.sources === 1);
  w.run(120);
  const after = w.snapshot().sources.map((s) => s.address);
  assert.equal(after.length, 2);
  assert.ok(!after.includes(before[0] as string), `the deleted address came back: ${after.join(', ')}`);
  const all = w.control({ op: 'delete-source', selector: 'pool.example' });
  assert.ok(all.ok && all.value.sources === 2);
  w.run(400);
  assert.deepEqual(w.snapshot().sources, []);
  const act = w.control({ op: 'activity' });
  assert.ok(act.ok && act.value.unresolved === 0 && act.value.online === 0);
});

test('refresh resolves every name again at once, not at the next scheduled refresh', () => {
  const w = new World({ sources: [sourceOptions('server', 'ntp.example', { iburst: true })] });
  const asked: string[] = [];
  w.dns = (host) => { asked.push(host); return [A]; };
  w.servers.set(A, server());
  w.run(60);
  assert.equal(asked.length, 1);
  const r = w.control({ op: 'refresh' });
  assert.ok(r.ok && r.value.resolving === 1);
  w.run(61);
  assert.deepEqual(asked, ['ntp.example', 'ntp.example']);
});

test("selectdata's effective options are authselectmode's: in mix, an authenticated source beside unauthenticated ones is also trusted and required", () => {
  const w = new World({ sources: [sourceOptions('server', A, { iburst: true, key: 1 }), sourceOptions('server', B, { iburst: true, noselect: true }), sourceOptions('server', '192.0.2.3', { iburst: true, prefer: true })] });
  for (const h of [A, B, '192.0.2.3']) w.servers.set(h, server());
  w.run(1);
  const r = w.control({ op: 'selectdata' });
  assert.ok(r.ok);
  const [a, b, c] = r.value;
  const none = { noselect: false, prefer: false, trust: false, require: false };
  assert.deepEqual(a?.configuredOptions, none);
  assert.deepEqual(a?.effectiveOptions, { ...none, trust: true, require: true });
  // A noselect source is counted on neither side and keeps its own options.
  assert.deepEqual(b?.effectiveOptions, { ...none, noselect: true });
  assert.deepEqual(c?.effectiveOptions, { ...none, prefer: true });
});

test('adjust-frequency (chronyc dfreq): chronyd\'s absolute frequency gains ppm, so the correction loses ppm * (1 + old * 1e-6); bounded by maxdrift', () => {
  const w = world([A], { discipline: { maxdrift: 500 } });
  w.run(30);
  assert.ok(w.control({ op: 'offline', selector: null }).ok);
  const f0 = w.snapshot().tracking.frequencyPpm;
  const r = w.control({ op: 'adjust-frequency', ppm: 10 });
  assert.ok(r.ok);
  const f1 = f0 - 10 * (1 + f0 * 1e-6);
  assert.ok(Math.abs(r.value.frequencyPpm - f1) < 1e-9, `${r.value.frequencyPpm} vs ${f1}`);
  assert.ok(Math.abs(w.snapshot().tracking.frequencyPpm - f1) < 1e-9);
  const back = w.control({ op: 'adjust-frequency', ppm: -1e4 });
  assert.ok(back.ok && back.value.frequencyPpm === 500, 'clamped to maxdrift');
  const bad = w.control({ op: 'adjust-frequency', ppm: Number.NaN });
  assert.ok(!bad.ok && bad.code === 'bad-value');
});

test('reselect and reselectdist: a better source waits for reselectdist, and reselect or a smaller reselectdist takes it at once', () => {
  const selected = (w: World): string | undefined => w.snapshot().sources.find((s) => s.verdict === 'selected')?.address ?? undefined;
  // A far (20 ms each way), B near; B starts offline, so A is chosen first.
  const w = new World({ sources: [A, B].map((h) => sourceOptions('server', h, { iburst: true, minpoll: 4, maxpoll: 4, offline: h === B })), discipline: { reselectdist: 1 } });
  w.servers.set(A, server({ delay: 0.02 }));
  w.servers.set(B, server({ delay: 0.0005 }));
  w.run(200);
  assert.equal(selected(w), A);
  assert.ok(w.control({ op: 'online', selector: B }).ok);
  w.run(400);
  assert.ok(w.source(B).stats.samples > 3, String(w.source(B).stats.samples));
  assert.equal(selected(w), A, 'B is better by far less than reselectdist 1 s');
  assert.ok(w.control({ op: 'reselect' }).ok);
  assert.equal(selected(w), B, 'reselect forgets A and takes the best');
  // With reselectdist 0 the best keeps winning at each selection.
  assert.ok(w.control({ op: 'set-reselectdist', distance: 0 }).ok);
  w.run(500);
  assert.equal(selected(w), B);
  const bad = w.control({ op: 'set-reselectdist', distance: Number.POSITIVE_INFINITY });
  assert.ok(!bad.ok && bad.code === 'bad-value');
});

test('set-reselectdist alone: a smaller distance lets the better source in at the next selection', () => {
  const selected = (w: World): string | undefined => w.snapshot().sources.find((s) => s.verdict === 'selected')?.address ?? undefined;
  const w = new World({ sources: [A, B].map((h) => sourceOptions('server', h, { iburst: true, minpoll: 4, maxpoll: 4, offline: h === B })), discipline: { reselectdist: 1 } });
  w.servers.set(A, server({ delay: 0.02 }));
  w.servers.set(B, server({ delay: 0.0005 }));
  w.run(200);
  assert.ok(w.control({ op: 'online', selector: B }).ok);
  w.run(400);
  assert.equal(selected(w), A);
  assert.ok(w.control({ op: 'set-reselectdist', distance: 1e-4 }).ok);
  w.run(450);
  assert.equal(selected(w), B);
});
