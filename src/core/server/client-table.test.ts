import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ClientTable, clientKeyOctets, clientTime, DEFAULT_CLIENT_SLOTS, newClientKey, setClientKey, WAYS } from './client-table.js';

function key(address: string | Uint8Array) {
  const k = newClientKey();
  assert.ok(setClientKey(k, address), String(address));
  return k;
}

test('client keys: IPv4 text and octets, IPv6, and IPv4-mapped IPv6 as IPv4', () => {
  assert.deepEqual(clientKeyOctets(key('192.0.2.200')), new Uint8Array([192, 0, 2, 200]));
  assert.deepEqual(clientKeyOctets(key(new Uint8Array([192, 0, 2, 200]))), new Uint8Array([192, 0, 2, 200]));
  const mapped = key('::ffff:192.0.2.200');
  assert.equal(mapped.family, 4);
  assert.deepEqual(clientKeyOctets(mapped), new Uint8Array([192, 0, 2, 200]));
  const v6 = key('2001:db8::1');
  assert.equal(v6.family, 6);
  assert.deepEqual(clientKeyOctets(v6), new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
  assert.equal(key('0.0.0.0').words[0], 0);
  assert.equal(key('255.255.255.255').words[0], 0xffffffff);
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '01.2.3.4', '256.1.1.1', '1..2.3', '1.2.3.', 'localhost', ':::', '1.2.3.4 ']) {
    assert.equal(setClientKey(newClientKey(), bad), false, bad);
  }
  assert.equal(setClientKey(newClientKey(), new Uint8Array(5)), false);
});

test('property: the allocation-free dotted-quad parser agrees with the octets', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (o) => {
    assert.deepEqual(key(Array.from(o).join('.')).words, key(o).words);
  }));
});

test('a client keeps its record; unknown clients have none', () => {
  const t = new ClientTable({ seed: 1 });
  assert.equal(t.slots, DEFAULT_CLIENT_SLOTS);
  const a = t.lookup(key('192.0.2.1'));
  assert.equal(t.lookup(key('192.0.2.1')), a);
  assert.equal(t.lookup(key('::ffff:192.0.2.1')), a);
  assert.equal(t.find(key('192.0.2.1')), a);
  assert.equal(t.find(key('192.0.2.2')), -1);
  assert.ok(t.holds(a, key('192.0.2.1')));
  assert.ok(!t.holds(a, key('192.0.2.2')));
  assert.ok(Number.isNaN(t.touch(a, 100)));
  assert.equal(t.touch(a, 108.5), 8.5);
  assert.equal(t.hits[a], 2);
});

test('a full bucket replaces its least recently seen record, and counts it', () => {
  const t = new ClientTable({ slots: WAYS, seed: 7 }); // a single bucket
  for (let i = 0; i < WAYS; i++) t.touch(t.lookup(key(`10.0.0.${i}`)), 100 + i);
  assert.equal(t.used(), WAYS);
  assert.equal(t.recordsDropped, 0);
  t.touch(t.lookup(key('10.0.0.0')), 200); // 10.0.0.1 is now the oldest
  const n = t.lookup(key('10.0.1.1'));
  assert.equal(t.recordsDropped, 1);
  assert.equal(t.find(key('10.0.0.1')), -1);
  assert.ok(t.find(key('10.0.0.0')) >= 0);
  assert.ok(Number.isNaN(t.touch(n, 201)), 'a replacing record starts afresh');
  assert.equal(t.tokens[n], Number.POSITIVE_INFINITY);
});

test('sizes: a power of two from 8 to 2^24', () => {
  for (const slots of [0, 7, 12, 1000, 2 ** 25, 1.5]) assert.throws(() => new ClientTable({ slots, seed: 0 }), RangeError);
  assert.equal(new ClientTable({ slots: 8, seed: 0 }).slots, 8);
});

test('property: memory stays fixed under any flood of distinct addresses', () => {
  const t = new ClientTable({ slots: 256, seed: 0x9e3779b9 });
  const arrays = [t.family, t.words, t.lastSeen, t.hits, t.tokens, t.rxSent, t.txSent];
  const lengths = arrays.map((a) => a.length);
  let time = 0;
  fc.assert(fc.property(fc.array(fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })), { maxLength: 200 }), (addrs) => {
    for (const a of addrs) {
      const k = newClientKey();
      setClientKey(k, a);
      const slot = t.lookup(k);
      assert.ok(slot >= 0 && slot < 256);
      assert.ok(t.holds(slot, k));
      t.touch(slot, time++);
    }
    assert.ok(t.used() <= 256);
    assert.deepEqual(arrays.map((a) => a.length), lengths);
  }), { numRuns: 300 });
});

test('clientTime is seconds since 1900 with 2^-16 s resolution', () => {
  assert.equal(clientTime(5n << 32n), 5);
  assert.equal(clientTime((5n << 32n) + (1n << 31n)), 5.5);
});
