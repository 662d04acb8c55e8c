import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { arbControlMessage, arbPrivateMessage, fromHex, fuzzParams } from './arbitraries.test.js';
import { controlModePacketProblem, encodeControlModePacket, parseControlMessage, parsePrivateMessage } from './control.js';

test('ntpq\'s "read variables" request: a 12-byte mode 6 message (RFC 9327)', () => {
  const bytes = fromHex('160200010000000000000000');
  const r = parseControlMessage(bytes);
  assert.ok(r.ok);
  assert.deepEqual(r.value, {
    kind: 'control', leap: 0, version: 2, response: false, error: false, more: false, opcode: 2,
    sequence: 1, status: 0, associationId: 0, offset: 0, data: new Uint8Array(0), trailer: new Uint8Array(0),
  });
  assert.deepEqual(encodeControlModePacket(r.value), bytes);
});

test('a mode 6 response with data, padding and a trailing authenticator', () => {
  const bytes = fromHex('d6a20007061500000000000b' + '76657273696f6e3d312e30' + '00' + '00000001' + 'aa'.repeat(16));
  const r = parseControlMessage(bytes);
  assert.ok(r.ok);
  assert.equal(r.value.leap, 3);
  assert.equal(r.value.response, true);
  assert.equal(r.value.error, false);
  assert.equal(r.value.more, true);
  assert.equal(r.value.opcode, 2);
  assert.equal(r.value.sequence, 7);
  assert.equal(r.value.status, 0x0615);
  assert.equal(new TextDecoder().decode(r.value.data), 'version=1.0');
  assert.equal(r.value.trailer.length, 21);
  assert.deepEqual(encodeControlModePacket(r.value), bytes);
});

test('ntpdc\'s monlist request: an 8-byte mode 7 header', () => {
  const bytes = fromHex('1700032a00000000' + '00'.repeat(40));
  const r = parsePrivateMessage(bytes);
  assert.ok(r.ok);
  assert.equal(r.value.version, 2);
  assert.equal(r.value.response, false);
  assert.equal(r.value.implementation, 3);
  assert.equal(r.value.requestCode, 42);
  assert.equal(r.value.data.length, 40);
  assert.deepEqual(encodeControlModePacket(r.value), bytes);
});

test('short messages, wrong modes and counts past the end are errors', () => {
  const cases: [ReturnType<typeof parseControlMessage> | ReturnType<typeof parsePrivateMessage>, string][] = [
    [parseControlMessage(fromHex('16020001')), 'too-short'],
    [parseControlMessage(fromHex('160200010000000000000005' + '0000')), 'too-short'],
    [parseControlMessage(fromHex('240200010000000000000000')), 'bad-mode'],
    [parseControlMessage(new Uint8Array(0)), 'too-short'],
    [parsePrivateMessage(fromHex('1700032a')), 'too-short'],
    [parsePrivateMessage(fromHex('160200010000000000000000')), 'bad-mode'],
    [parsePrivateMessage(fromHex('0700032a00000000')), 'bad-version'],
  ];
  for (const [r, reason] of cases) {
    assert.ok(!r.ok);
    assert.equal(r.reason, reason, r.message);
    assert.match(r.message, /^Cannot parse /);
  }
});

test('controlModePacketProblem catches values that do not fit their bits', () => {
  const r = parseControlMessage(fromHex('160200010000000000000000'));
  assert.ok(r.ok);
  assert.match(controlModePacketProblem({ ...r.value, opcode: 32 }) ?? '', /opcode/);
  assert.throws(() => encodeControlModePacket({ ...r.value, sequence: 0x10000 }), RangeError);
});

test('property: mode 6 and 7 messages round-trip exactly', () => {
  fc.assert(fc.property(arbControlMessage(), (m) => {
    const r = parseControlMessage(encodeControlModePacket(m));
    assert.ok(r.ok);
    assert.deepEqual(r.value, m);
  }), fuzzParams(3000));
  fc.assert(fc.property(arbPrivateMessage(), (m) => {
    const r = parsePrivateMessage(encodeControlModePacket(m));
    assert.ok(r.ok);
    assert.deepEqual(r.value, m);
  }), fuzzParams(3000));
});

test('fuzz: the mode 6/7 parsers never throw, and what they accept re-encodes exactly', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(0x16, 0x17, 0x26, 0xd6, 0x1f), (rest, b0) => {
    const buf = Uint8Array.from([b0, ...rest]);
    for (const r of [parseControlMessage(buf), parsePrivateMessage(buf)]) {
      if (r.ok) assert.deepEqual(encodeControlModePacket(r.value), buf);
    }
  }), fuzzParams());
});
