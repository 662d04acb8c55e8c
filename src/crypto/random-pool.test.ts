import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pooledRandomBytes } from './random-pool.js';

test('pooled random bytes: the lengths asked for, fresh copies, across refills and beyond the pool', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const b = pooledRandomBytes(16);
    assert.equal(b.length, 16);
    assert.equal(b.constructor, Uint8Array);
    const hex = Buffer.from(b).toString('hex');
    assert.ok(!seen.has(hex), 'a 16-byte nonce repeated');
    seen.add(hex);
  }
  const a = pooledRandomBytes(20);
  const copy = Uint8Array.from(a);
  pooledRandomBytes(20);
  assert.deepEqual(a, copy, 'a later draw changed bytes already handed out');
  assert.equal(pooledRandomBytes(10000).length, 10000);
  assert.equal(pooledRandomBytes(0).length, 0);
});
