import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSeconds, instantFromUnixNanos } from '../time/instant.js';
import { toNtpTimestamp } from '../time/timestamp.js';
import { Leap } from '../proto/constants.js';
import { encodeHeader } from '../proto/header.js';
import { buildClientRequest } from './client-request.js';
import { evaluateReply } from './reply-validation.js';
import { COOKIE, reply, T1 } from './reply-fixture.test-helper.js';

const ctx = { cookie: COOKIE, t1: T1, t4: addSeconds(T1, 0.00201), clientPrecision: 2 ** -20 };

test('a good reply gives the server offset and the round-trip delay', () => {
  const v = evaluateReply(encodeHeader(reply()), ctx);
  assert.ok(v.ok, v.ok ? '' : v.message);
  assert.ok(Math.abs(v.sample.offset - 0.25) < 1e-8, String(v.sample.offset));
  assert.ok(Math.abs(v.sample.delay - 0.002) < 1e-8, String(v.sample.delay));
});

test('replies are judged and rejected by name', () => {
  const cases: [string, Uint8Array, string][] = [
    ['truncated', encodeHeader(reply()).subarray(0, 47), 'truncated'],
    ['garbage', new Uint8Array(48).fill(0xff), 'not-ntp'],
    ['client mode echoed back', buildClientRequest(4, COOKIE), 'wrong-mode'],
    ['origin mismatch', encodeHeader(reply({ originTimestamp: COOKIE + 1n })), 'origin-mismatch'],
    ['leap 3', encodeHeader(reply({ leap: Leap.Unsynchronized })), 'unsynchronized'],
    ['stratum 16', encodeHeader(reply({ stratum: 16 })), 'unsynchronized'],
    ['zero transmit', encodeHeader(reply({ transmitTimestamp: 0n })), 'bogus-timestamps'],
    ['transmit before receive', encodeHeader(reply({ transmitTimestamp: toNtpTimestamp(addSeconds(T1, -5)) })), 'bogus-timestamps'],
  ];
  for (const [name, buf, rejection] of cases) {
    const v = evaluateReply(buf, ctx);
    assert.equal(v.ok, false, name);
    if (!v.ok) assert.equal(v.rejection, rejection, `${name}: ${v.message}`);
  }
});

test('a kiss-o\'-death is named by its code', () => {
  const rate = 0x52415445; // "RATE"
  const v = evaluateReply(encodeHeader(reply({ stratum: 0, referenceId: rate, leap: Leap.Unsynchronized })), ctx);
  assert.equal(v.ok, false);
  if (!v.ok) {
    assert.equal(v.rejection, 'kod');
    assert.equal(v.kissCode, 'RATE');
  }
});

test('timestamps across the 2036 era rollover give the right offset', () => {
  const t1 = instantFromUnixNanos(2_085_978_496n * 1_000_000_000n - 100_000_000n); // 0.1 s before rollover
  const h = reply({}, t1, 0.5); // server already in era 1
  const v = evaluateReply(encodeHeader(h), { ...ctx, t1, t4: addSeconds(t1, 0.00201) });
  assert.ok(v.ok, v.ok ? '' : v.message);
  assert.ok(Math.abs(v.sample.offset - 0.5) < 1e-8);
});
