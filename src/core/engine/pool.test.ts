import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSeconds, diffSeconds, instantFromUnixSeconds } from '../../time/instant.js';
import { addressKey, isAddressLiteral, Resolver, RESOLVE_RETRY_MAX, RESOLVE_RETRY_MIN } from './pool.js';
import { sourceOptions } from './source-options.js';
import { server, World } from './engine-harness.test-helper.js';

const T0 = instantFromUnixSeconds(1_750_000_000);
const [A, B, C, D, E] = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5'] as const;

test('addressKey: one key per address however it is spelt', () => {
  assert.equal(addressKey('192.0.2.1'), addressKey('::ffff:192.0.2.1'));
  assert.equal(addressKey('[2001:db8::1]'), addressKey('2001:0db8:0:0::1'));
  assert.equal(addressKey('2001:DB8::1'), addressKey('2001:db8::1'));
  assert.notEqual(addressKey('2001:db8::1'), addressKey('2001:db8::2'));
  assert.equal(addressKey('Pool.Example'), 'pool.example');
});

test('isAddressLiteral: addresses need no resolution, names do', () => {
  for (const a of ['192.0.2.1', '::1', '[2001:db8::1]', '::ffff:10.0.0.1']) assert.equal(isAddressLiteral(a), true, a);
  for (const n of ['pool.ntp.org', 'localhost', '192.0.2', '1.2.3.4.5', '']) assert.equal(isAddressLiteral(n), false, n);
});

test('Resolver: one resolution at a time; refreshed after the refresh interval', () => {
  const r = new Resolver('pool.example', 1000);
  assert.equal(r.request(T0), true);
  assert.equal(r.request(T0), false, 'already in flight');
  r.resolved({ addresses: [A, B] }, T0);
  assert.deepEqual(r.addresses, [A, B]);
  assert.equal(r.due(addSeconds(T0, 999)), false);
  assert.equal(r.due(addSeconds(T0, 1000)), true);
  // Asked early (a member needs replacing) while addresses are known: not before the refresh.
  assert.equal(r.request(addSeconds(T0, 10)), false);
  assert.equal(r.request(addSeconds(T0, 1000)), true);
});

test('Resolver: an urgent request (a member must be replaced) resolves early, at doubling intervals; a refresh resets them', () => {
  const r = new Resolver('pool.example', 1_209_600);
  r.request(T0);
  r.resolved({ addresses: [A] }, T0);
  const at = (s: number) => addSeconds(T0, s);
  assert.equal(r.request(at(RESOLVE_RETRY_MIN - 1), true), false);
  assert.equal(r.request(at(8), true), true);
  r.resolved({ addresses: [A] }, at(8));
  assert.equal(r.request(at(8 + 15), true), false);
  assert.equal(r.request(at(8 + 16), true), true);
  r.resolved({ addresses: [A] }, at(24));
  assert.equal(r.request(at(24 + 31), true), false);
  assert.equal(r.request(at(24 + 32), true), true);
  r.resolved({ addresses: [A] }, at(56));
  // The scheduled refresh resets the interval.
  const refresh = r.nextAt as bigint;
  assert.equal(r.request(refresh), true);
  r.resolved({ addresses: [A] }, refresh);
  assert.equal(r.request(addSeconds(refresh, RESOLVE_RETRY_MIN), true), true);
});

test('Resolver: failures are retried at doubling intervals up to the maximum, and a success resets them', () => {
  const r = new Resolver('pool.example', 1_209_600);
  let now = T0;
  const waits: number[] = [];
  for (let i = 0; i < 12; i++) {
    assert.ok(r.request(now));
    r.resolved(i % 2 === 0 ? { error: 'SERVFAIL' } : { addresses: [] }, now);
    const next = r.nextAt;
    if (next === null) throw new Error('no retry scheduled');
    waits.push(diffSeconds(next, now));
    assert.equal(r.due(next), true);
    now = next;
  }
  assert.equal(waits[0], RESOLVE_RETRY_MIN);
  assert.deepEqual(waits.slice(0, 5), [8, 16, 32, 64, 128]);
  assert.equal(Math.max(...waits), RESOLVE_RETRY_MAX);
  assert.equal(r.lastError, 'no addresses');
  r.request(now);
  r.resolved({ addresses: [A] }, now);
  assert.equal(r.lastError, null);
  r.request(addSeconds(now, 1_209_600));
  r.resolved({ error: 'timeout' }, addSeconds(now, 1_209_600));
  assert.equal(diffSeconds(r.nextAt as bigint, addSeconds(now, 1_209_600)), RESOLVE_RETRY_MIN);
});

test('Resolver: fresh addresses skip those in use and those retired, until the retired are forgotten', () => {
  const r = new Resolver('pool.example', 1000);
  r.request(T0);
  r.resolved({ addresses: [A, B, C] }, T0);
  assert.equal(r.fresh(new Set()), A);
  assert.equal(r.fresh(new Set([addressKey(A)])), B);
  r.retire('::ffff:192.0.2.2');
  assert.equal(r.fresh(new Set([addressKey(A)])), C);
  assert.equal(r.fresh(new Set([addressKey(A), addressKey(C)])), null);
  r.forgetRetired();
  assert.equal(r.fresh(new Set([addressKey(A), addressKey(C)])), B);
});

function poolWorld(addresses: () => readonly string[], o: { maxsources?: number; maxpoll?: number } = {}): World {
  const w = new World({
    sources: [sourceOptions('pool', 'pool.example', { iburst: true, maxsources: o.maxsources ?? 3, minpoll: 4, maxpoll: o.maxpoll ?? 6 })],
  });
  for (const h of [A, B, C, D, E]) w.servers.set(h, server());
  w.dns = addresses;
  return w;
}

const inUse = (w: World): string[] => w.snapshot().sources.map((s) => s.address ?? '').sort();
const resolves = (w: World): number[] => w.actions.filter((a) => a.action.kind === 'resolve').map((a) => a.t);

test('pool: never more than maxsources members; fewer addresses than that fill up when the name gives more', () => {
  let answer: readonly string[] = [A];
  const w = poolWorld(() => answer, { maxsources: 3 });
  w.run(30);
  assert.deepEqual(inUse(w), [A]);
  answer = [A, B, C, D, E];
  // The pool is short, so the name is resolved again (retry/refresh schedule) and fills up to 3.
  w.run(4000);
  assert.equal(w.snapshot().sources.length, 3);
  assert.equal(new Set(inUse(w)).size, 3);
  assert.ok(resolves(w).length >= 2);
});

test('pool: an unreachable member with no fresh address left makes the engine resolve the name again, then replaces it', () => {
  let answer: readonly string[] = [A, B, C];
  const w = poolWorld(() => answer);
  w.run(100);
  assert.deepEqual(inUse(w), [A, B, C]);
  const before = resolves(w).length;
  (w.servers.get(B) as { down: boolean }).down = true;
  answer = [A, B, C, E];
  w.run(5000);
  assert.ok(resolves(w).length > before, 'resolved again');
  assert.deepEqual(inUse(w), [A, C, E]);
  const ev = w.events.find((e) => e.event.type === 'source-replaced');
  assert.ok(ev?.event.type === 'source-replaced' && ev.event.oldAddress === B && ev.event.newAddress === E);
});

test('pool: a member that denies us (KoD DENY) is replaced by a fresh address', () => {
  const w = poolWorld(() => [A, B, C, D]);
  w.run(100);
  (w.servers.get(A) as { kiss: string | null }).kiss = 'DENY';
  w.run(400);
  assert.deepEqual(inUse(w), [B, C, D]);
  assert.ok(w.events.some((e) => e.event.type === 'kiss' && e.event.code === 'DENY'));
});

test('pool: a persistent falseticker is replaced, and the replacement is a truechimer', () => {
  const w = poolWorld(() => [A, B, C, D], { maxpoll: 4 });
  (w.servers.get(B) as { offset: number }).offset = -2;
  w.run(1500);
  assert.deepEqual(inUse(w), [A, C, D]);
  assert.ok(w.snapshot().sources.every((s) => s.verdict !== 'falseticker'));
});

test('pool: a retired address comes back only when a new resolution has nothing fresh', () => {
  const w = poolWorld(() => [A, B, C], { maxsources: 2 });
  w.run(100);
  assert.deepEqual(inUse(w), [A, B]);
  (w.servers.get(A) as { down: boolean }).down = true;
  w.run(3000);
  // A was replaced by C, the only fresh address.
  assert.deepEqual(inUse(w), [B, C]);
  (w.servers.get(A) as { down: boolean }).down = false;
  (w.servers.get(C) as { down: boolean }).down = true;
  // C must go; nothing is fresh, so after a resolution that lists nothing new, A (retired) is used again.
  w.run(8000);
  assert.deepEqual(inUse(w), [A, B]);
});
