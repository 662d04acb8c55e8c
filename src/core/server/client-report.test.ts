import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIPv6 } from '../../proto/ip-address.js';
import { clientReports, formatIPv6 } from './client-report.js';
import { ClientTable, newClientKey, setClientKey } from './client-table.js';
import { limitRate } from './ratelimit.js';

test('clientReports: one row per client, counts, intervals from the rate estimates, most active first', () => {
  const t = new ClientTable({ slots: 64, seed: 7 });
  const key = newClientKey();
  const hit = (address: string, at: number, rate = false): void => {
    setClientKey(key, address);
    const slot = t.lookup(key);
    const elapsed = t.touch(slot, at);
    if (rate) limitRate(t, slot, elapsed, { interval: -10, burst: 16, leak: 2, kod: 0 }, 0);
  };
  for (let i = 0; i < 5; i++) hit('192.0.2.7', 100 + i * 0.25, true);
  hit('2001:db8::1', 90);
  const r = clientReports(t, 110);
  assert.equal(r.length, 2);
  // Requests 0.25 s apart: log2 interval -2.
  assert.deepEqual(r[0], { address: '192.0.2.7', ntpHits: 5, ntpDrops: 0, ntpInterval: -2, ntpTimeoutInterval: null, lastAgo: 9 });
  assert.deepEqual(r[1], { address: '2001:db8::1', ntpHits: 1, ntpDrops: 0, ntpInterval: null, ntpTimeoutInterval: null, lastAgo: 20 });
  assert.equal(clientReports(t, 110, 2).length, 1, 'minHits filters');
});

test('formatIPv6: RFC 5952 text that parses back to the same octets', () => {
  assert.equal(formatIPv6(parseIPv6('2001:0db8:0:0:1:0:0:1') as Uint8Array), '2001:db8::1:0:0:1');
  assert.equal(formatIPv6(new Uint8Array(16)), '::');
  assert.equal(formatIPv6(parseIPv6('::1') as Uint8Array), '::1');
  assert.equal(formatIPv6(parseIPv6('fe80::') as Uint8Array), 'fe80::');
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (o) => {
    const text = formatIPv6(o);
    assert.deepEqual(parseIPv6(text), o);
    assert.ok(!/(^|:)0\d/.test(text) && (text.match(/::/g) ?? []).length <= 1);
  }));
});
