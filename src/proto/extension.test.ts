import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { arbExtensionField, fromHex, fuzzParams } from './arbitraries.test.js';
import {
  encodeExtensionFieldList, EXTENSION_FIELD_NAMES, ExtensionFieldType, extensionFieldProblem, paddedBodyLength,
  parseExtensionField, parseExtensionFieldList,
} from './extension.js';

test('NTS and chrony field types have their registered numbers', () => {
  assert.equal(ExtensionFieldType.NtsUniqueIdentifier, 0x0104);
  assert.equal(ExtensionFieldType.NtsCookie, 0x0204);
  assert.equal(ExtensionFieldType.NtsCookiePlaceholder, 0x0304);
  assert.equal(ExtensionFieldType.NtsAuthenticator, 0x0404);
  assert.equal(ExtensionFieldType.ChronyMonoRoot, 0xf323);
  assert.equal(EXTENSION_FIELD_NAMES[0x0404], 'nts-authenticator');
});

test('a field parses with its body, padding included, and reports its length', () => {
  const buf = fromHex('aaaa' + '0104001c' + '00112233'.repeat(6) + 'ffff');
  const r = parseExtensionField(buf, 2);
  assert.ok(r.ok);
  assert.equal(r.value.length, 28);
  assert.equal(r.value.field.type, 0x0104);
  assert.deepEqual(r.value.field.body, fromHex('00112233'.repeat(6)));
});

test('length rules: multiple of 4, at least 16, within the buffer', () => {
  const cases: [string, RegExp][] = [
    ['0104', /need 4 bytes, 2 remain/],
    ['01040011' + '00'.repeat(13), /length 17 is not a multiple of 4/],
    ['0104000c' + '00'.repeat(8), /length 12 is below the minimum of 16/],
    ['01040014' + '00'.repeat(12), /length 20 runs past the end \(16 bytes remain\)/],
  ];
  for (const [hex, message] of cases) {
    const r = parseExtensionField(fromHex(hex), 0);
    assert.ok(!r.ok, hex);
    assert.equal(r.reason, 'bad-field-length');
    assert.match(r.message, /^Cannot parse extension field at offset 0: /);
    assert.match(r.message, message);
  }
  assert.ok(!parseExtensionField(new Uint8Array(20), -1).ok);
  assert.ok(!parseExtensionField(new Uint8Array(20), 1.5).ok);
});

test('NTS plaintext: fields back to back, with a 4-byte minimum as chrony parses them', () => {
  // An empty 4-byte field then a cookie: not valid as packet fields, fine inside an NTS ciphertext.
  const plain = fromHex('0f0f0004' + '0204000c' + 'c0ffee00c0ffee01');
  const strict = parseExtensionFieldList(plain);
  assert.ok(!strict.ok && strict.reason === 'bad-field-length');
  const r = parseExtensionFieldList(plain, { minLength: 4 });
  assert.ok(r.ok);
  assert.deepEqual(r.value, [{ type: 0x0f0f, body: new Uint8Array(0) }, { type: 0x0204, body: fromHex('c0ffee00c0ffee01') }]);
  assert.deepEqual(encodeExtensionFieldList(r.value, 4), plain);
  assert.throws(() => encodeExtensionFieldList(r.value), RangeError);
  const empty = parseExtensionFieldList(new Uint8Array(0));
  assert.ok(empty.ok && empty.value.length === 0);
});

test('extensionFieldProblem and paddedBodyLength', () => {
  assert.equal(extensionFieldProblem({ type: 1, body: new Uint8Array(12) }), null);
  assert.match(extensionFieldProblem({ type: 1, body: new Uint8Array(12) }, 28) ?? '', /below the minimum of 28/);
  assert.match(extensionFieldProblem({ type: 1, body: new Uint8Array(13) }) ?? '', /multiple of 4/);
  assert.match(extensionFieldProblem({ type: 1, body: new Uint8Array(0xfffc) }) ?? '', /16-bit length/);
  assert.equal(paddedBodyLength(0), 12);
  assert.equal(paddedBodyLength(13), 16);
  assert.equal(paddedBodyLength(30, 28), 32);
  assert.equal(paddedBodyLength(5, 28), 24);
});

test('property: field lists round-trip exactly', () => {
  fc.assert(fc.property(fc.array(arbExtensionField(16), { maxLength: 5 }), (fields) => {
    const bytes = encodeExtensionFieldList(fields);
    const r = parseExtensionFieldList(bytes);
    assert.ok(r.ok);
    assert.deepEqual(r.value, fields);
  }), fuzzParams(3000));
});

test('fuzz: the field parsers never throw on random bytes, offsets and minimums', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: -4, max: 90 }), fc.integer({ min: 0, max: 40 }), (buf, offset, minLength) => {
    const one = parseExtensionField(buf, offset, { minLength });
    if (one.ok) {
      assert.ok(one.value.length >= Math.max(4, minLength) && one.value.length % 4 === 0 && offset + one.value.length <= buf.length);
    }
    const list = parseExtensionFieldList(buf, { minLength });
    if (list.ok) assert.deepEqual(encodeExtensionFieldList(list.value, minLength), buf);
  }), fuzzParams());
});
