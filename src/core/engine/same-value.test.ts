import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sameValue } from './same-value.js';

test('sameValue: equal option values, nested; any difference in a field, a length or a key is a change', () => {
  assert.ok(sameValue({ a: 1, b: [1, { c: null }], d: Number.NaN }, { b: [1, { c: null }], a: 1, d: Number.NaN }));
  assert.ok(!sameValue({ a: 1 }, { a: 2 }));
  assert.ok(!sameValue({ a: 1 }, { a: 1, b: undefined }));
  assert.ok(!sameValue([1, 2], [1, 2, 3]));
  assert.ok(!sameValue([1], { 0: 1 }));
  assert.ok(!sameValue(null, {}));
  fc.assert(fc.property(fc.jsonValue(), (v) => assert.ok(sameValue(v, JSON.parse(JSON.stringify(v)) as unknown))));
  fc.assert(fc.property(fc.jsonValue(), fc.jsonValue(), (x, y) => assert.equal(sameValue(x, y), sameValue(y, x))));
});
