import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { addSeconds, instantFromUnixSeconds } from '../../time/instant.js';
import { DISCIPLINE_DEFAULTS } from './engine-api.js';
import { SyncEngine } from './engine.js';
import { REFCLOCK_DEFAULTS } from './refclock-options.js';
import { sourceOptions } from './source-options.js';
import { server, World } from './engine-harness.test-helper.js';
import { formatSourceDump, isDumpFileName, parseSourceDump, type SourceDump } from './source-dump.js';

const A = '192.0.2.1';
const B = '192.0.2.2';

/** A client synchronized to A and B for 300 s; its clock 3 ms off at the start, its oscillator 25 ppm fast. */
function synced(): World {
  const w = new World({ sources: [A, B].map((h) => sourceOptions('server', h, { iburst: true, minpoll: 4, maxpoll: 4 })), offset: 0.003, freqErr: 25 });
  w.servers.set(A, server({ offset: 0.0002 }));
  w.servers.set(B, server({ offset: -0.0002 }));
  w.run(300);
  return w;
}

/** The same machine 20 s after the first daemon stopped, started with its dumps (or none). */
function restarted(first: World, restore: ReadonlyMap<string, string> | undefined): World {
  const w = new World({
    sources: [A, B].map((h) => sourceOptions('server', h, { iburst: true, minpoll: 4, maxpoll: 4 })),
    offset: first.offset + (first.freqErr + first.corrPpm) * 1e-6 * 20, freqErr: first.freqErr,
    startAt: addSeconds(first.trueNow(), 20),
    ...(restore !== undefined ? { restore } : {}),
  });
  // Replies take a while: what the sources show right after the start is the dump's.
  w.servers.set(A, server({ offset: 0.0002, delay: 5 }));
  w.servers.set(B, server({ offset: -0.0002, delay: 5 }));
  w.run(0.5);
  return w;
}

test('dumpSources: one chronyd-format file per source with samples, named by its address', () => {
  const w = synced();
  const files = w.engine.dumpSources(w.clientNow());
  assert.deepEqual(files.map((f) => f.file).sort(), [`${A}.dat`, `${B}.dat`]);
  const a = files.find((f) => f.file === `${A}.dat`)?.text ?? '';
  const lines = a.split('\n');
  assert.equal(lines[0], 'SRC0');
  assert.equal(lines[1], A);
  assert.match(lines[2] as string, /^0 377 8 1 0$/, 'auth, reach (octal), reach size, stratum, leap');
  const n = Number((lines[3] as string).split(' ')[0]);
  assert.equal(n, w.source(A).stats.samples);
  assert.match(lines[4] as string, /^\d{10}\.\d{9}( -?\d\.\d{6}e[-+]\d{2}){6}$/);
  // chronyd's sense of the offset: local − source. The clock was 3 ms ahead at first.
  const p = parseSourceDump(a, w.clientNow());
  assert.ok(p.ok);
  const first = p.dump.samples[0];
  assert.ok(first !== undefined && first.origOffset > 0.002, `first measured offset ${first?.origOffset}`);
  // Re-based onto the clock now: the last sample's offset is about the source's offset now.
  const last = p.dump.samples[p.dump.samples.length - 1];
  assert.ok(last !== undefined && Math.abs(last.offset + w.source(A).stats.offset) < 1e-4, `${last?.offset} vs ${w.source(A).stats.offset}`);
});

test('-r: a restarted engine shows the dumped samples and reach at once and synchronizes before any reply', () => {
  const first = synced();
  const files = new Map(first.engine.dumpSources(first.clientNow()).map((f) => [f.file, f.text]));
  const before = first.source(A);
  const w = restarted(first, files);
  const a = w.source(A);
  assert.equal(a.stats.samples, before.stats.samples);
  // 377 restored; the first poll since has shifted in its bit, which the slow reply has not set yet.
  assert.equal(a.reach, 0o376);
  assert.equal(a.stratum, 1);
  assert.ok(Math.abs(a.stats.offset - before.stats.offset) < 2e-4, `offset ${a.stats.offset} vs ${before.stats.offset} before the restart`);
  assert.ok(w.events.some((e) => e.event.type === 'dump-loaded'));
  assert.equal(w.snapshot().tracking.synchronized, true, 'the clock is updated from the reloaded samples, as chronyd does after SRC_ReloadSources');
  // Without the dumps: nothing until replies come.
  const cold = restarted(first, undefined);
  assert.equal(cold.source(A).stats.samples, 0);
  assert.equal(cold.snapshot().tracking.synchronized, false);
});

test('-r: a dump of another source, a corrupt one or another version is refused with a reason and the source starts empty', () => {
  const first = synced();
  const files = new Map(first.engine.dumpSources(first.clientNow()).map((f) => [f.file, f.text]));
  const bad = new Map([
    [`${A}.dat`, (files.get(`${A}.dat`) as string).replace(`\n${A}\n`, '\nother.example.org\n')],
    [`${B}.dat`, (files.get(`${B}.dat`) as string).replace('SRC0', 'SRC9')],
  ]);
  const w = restarted(first, bad);
  const refused = w.events.flatMap((e) => (e.event.type === 'dump-refused' ? [e.event.reason] : []));
  assert.equal(refused.length, 2);
  assert.match(refused.join('\n'), /other\.example\.org/);
  assert.match(refused.join('\n'), /SRC9/);
  assert.equal(w.source(A).stats.samples, 0);
  assert.equal(w.source(B).stats.samples, 0);
});

test('the dump format: what chronyd 4.3 writes parses, round trips, and its refusals are chronyd\'s', () => {
  // Written by chronyd 4.3 (chronyc dump) for a server on loopback.
  const chronyd = [
    'SRC0', '127.0.30.1', '0 377 8 2 0', '3 0',
    '1765138563.123456789 -1.234567e-05 -1.200000e-05 6.103516e-05 1.525879e-05 1.220703e-04 2.441406e-04',
    '1765138565.223456789 -1.134567e-05 -1.100000e-05 5.103516e-05 1.525879e-05 1.120703e-04 2.441406e-04',
    '1765138567.323456789 -1.034567e-05 -1.000000e-05 4.103516e-05 1.525879e-05 1.020703e-04 2.441406e-04', '',
  ].join('\n');
  const now = instantFromUnixSeconds(1765138600);
  const p = parseSourceDump(chronyd, now);
  assert.ok(p.ok);
  assert.deepEqual({ ...p.dump, samples: p.dump.samples.length }, { name: '127.0.30.1', authenticated: false, reach: 0o377, reachSize: 8, stratum: 2, leap: 0, asymmetryRun: 0, samples: 3 });
  assert.equal(formatSourceDump(p.dump), chronyd, 'written back byte for byte');
  const refuse = (text: string): string => { const r = parseSourceDump(text, now); return r.ok ? 'accepted' : r.reason; };
  assert.match(refuse(chronyd.replace('0 377 8 2 0', '0 377 8 16 0')), /stratum 16/);
  assert.match(refuse(chronyd.replace('0 377 8 2 0', '0 377 8 2 3')), /leap 3/);
  assert.match(refuse(chronyd.replace('3 0', '4 0')), /line 8/);
  assert.match(refuse(chronyd.replace('3 0', '65 0')), /65 samples/);
  assert.match(refuse(chronyd.replace('1765138565.2', '1765138561.2')), /out of order/);
  assert.match(refuse(chronyd.replace('1765138567.3', '1765138667.3')), /future/);
  assert.match(refuse(chronyd.replace('6.103516e-05', '2.0e+06')), /out of range/);
  assert.match(refuse('\u0000\u0001garbage'), /not a chronyd/);
  assert.match(refuse(''), /not a chronyd/);
  const d: SourceDump = { ...p.dump, reach: 0o17, reachSize: 4, leap: 1 };
  const again = parseSourceDump(formatSourceDump(d), now);
  assert.ok(again.ok);
  assert.deepEqual(again.dump, d);
  assert.ok(isDumpFileName('127.0.30.1.dat') && isDumpFileName('2001:db8::1.dat') && isDumpFileName('refid:47505300.dat'));
  assert.ok(!isDumpFileName('drift') && !isDumpFileName('ntskeys') && !isDumpFileName('a.example.org.dat'));
});

test('a reference clock dumps to refid:HEX.dat (chronyd\'s name) and restores into the same refclock', () => {
  const rc = { ...REFCLOCK_DEFAULTS, driver: 'SHM' as const, parameter: '0', driverOptions: {}, refid: 'GPS', poll: 2 };
  const make = (restore?: ReadonlyMap<string, string>): SyncEngine => new SyncEngine({
    sources: [], refclocks: [rc], discipline: DISCIPLINE_DEFAULTS, precision: 2 ** -24, random: () => 0.5, ...(restore ? { restore } : {}),
  });
  const T0 = instantFromUnixSeconds(1_750_000_000);
  const engine = make();
  engine.start(T0);
  const [id] = engine.refclockIds();
  for (let i = 1; i <= 60; i++) {
    const now = addSeconds(T0, i);
    engine.refclockReading(id as number, { time: now, offset: 0.0001, leap: 'none' }, now);
    engine.tick(now);
  }
  const end = addSeconds(T0, 60);
  const files = engine.dumpSources(end);
  assert.deepEqual(files.map((f) => f.file), ['refid:47505300.dat']);
  assert.equal(files[0]?.text.split('\n')[1], '.');
  const n = engine.snapshot(end, 'sim').sources[0]?.stats.samples ?? 0;
  assert.ok(n >= 2, `${n} samples`);
  const again = make(new Map(files.map((f) => [f.file, f.text])));
  again.start(addSeconds(end, 5));
  assert.equal(again.snapshot(addSeconds(end, 5), 'sim').sources[0]?.stats.samples, n);
});

test('parseSourceDump: any text is a dump or a reason, never an exception; any dump it writes reads back the same', () => {
  const now = instantFromUnixSeconds(1_800_000_000);
  const lines = fc.array(fc.oneof(fc.string(), fc.constantFrom('SRC0', '127.0.30.1', '0 377 8 1 0', '1 0', '1790000000.000000001 1e-3 1e-3 1e-4 1e-6 1e-4 1e-6')), { maxLength: 8 });
  fc.assert(fc.property(lines, (ls) => {
    const r = parseSourceDump(ls.join('\n'), now);
    assert.ok(r.ok || r.reason.length > 0);
  }));
  const finite = fc.double({ min: -1e5, max: 1e5, noNaN: true });
  const sample = fc.record({ offset: finite, origOffset: finite, peerDelay: finite, peerDispersion: finite, rootDelay: finite, rootDispersion: finite });
  const dump = fc.record({
    authenticated: fc.boolean(), reach: fc.integer({ min: 0, max: 255 }), reachSize: fc.integer({ min: 0, max: 8 }),
    stratum: fc.integer({ min: 0, max: 15 }), leap: fc.integer({ min: 0, max: 2 }), asymmetryRun: fc.integer({ min: -1000, max: 1000 }),
    samples: fc.array(sample, { minLength: 1, maxLength: 64 }),
  });
  fc.assert(fc.property(dump, (d) => {
    const full: SourceDump = { ...d, name: 'ntp.example.org', samples: d.samples.map((s, i) => ({ ...s, time: addSeconds(now, -1000 + i * 1.5) })) };
    const r = parseSourceDump(formatSourceDump(full), now);
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.deepEqual({ ...r.dump, samples: r.dump.samples.length }, { ...full, samples: full.samples.length });
    r.dump.samples.forEach((s, i) => {
      const w = full.samples[i] as typeof s;
      assert.equal(s.time, w.time);
      // %.6e keeps 7 significant digits.
      for (const k of ['offset', 'origOffset', 'peerDelay', 'peerDispersion', 'rootDelay', 'rootDispersion'] as const) assert.ok(Math.abs(s[k] - w[k]) <= Math.abs(w[k]) * 1e-6 + 1e-300, k);
    });
  }));
});

test('-r: a source with a key takes no dump of an unauthenticated one (chronyd\'s check)', () => {
  const first = synced();
  const files = new Map(first.engine.dumpSources(first.clientNow()).map((f) => [f.file, f.text]));
  const w = new World({ sources: [sourceOptions('server', A, { key: 1 })], restore: files, startAt: addSeconds(first.trueNow(), 20) });
  w.run(0.1);
  const refused = w.events.flatMap((e) => (e.event.type === 'dump-refused' ? [e.event.reason] : []));
  assert.deepEqual(refused, ['it was not authenticated and the source is']);
  assert.equal(w.source(A).stats.samples, 0);
});
