import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSeconds, instantFromUnixNanos, type Instant } from '../time/instant.js';
import { toNtpTimestamp } from '../time/timestamp.js';
import { Leap, Mode } from '../proto/constants.js';
import { encodeHeader, type NtpHeader, parseHeader } from '../proto/header.js';
import { buildClientRequest, combineServers, estimateServer, evaluateReply } from './query.js';
import { computeSample } from './sample.js';

const COOKIE = 0x0123_4567_89ab_cdefn;
const T1 = instantFromUnixNanos(1_790_000_000_000_000_000n);

function reply(over: Partial<NtpHeader> = {}, t1: Instant = T1, serverAhead = 0.25): NtpHeader {
  const t2 = addSeconds(t1, serverAhead + 0.001);
  return {
    leap: Leap.NoWarning, version: 4, mode: Mode.Server, stratum: 1, poll: 0, precision: -25,
    rootDelay: 0, rootDispersion: 0x10, referenceId: 0x4c4f434c,
    referenceTimestamp: toNtpTimestamp(addSeconds(t2, -10)),
    originTimestamp: COOKIE,
    receiveTimestamp: toNtpTimestamp(t2),
    transmitTimestamp: toNtpTimestamp(addSeconds(t2, 0.00001)),
    ...over,
  };
}

const ctx = { cookie: COOKIE, t1: T1, t4: addSeconds(T1, 0.00201), clientPrecision: 2 ** -20 };

test('the request carries only version, mode and the cookie (data minimization)', () => {
  const req = buildClientRequest(4, COOKIE);
  assert.equal(req.length, 48);
  const h = parseHeader(req);
  assert.ok(h.ok);
  assert.equal(h.value.mode, Mode.Client);
  assert.equal(h.value.version, 4);
  assert.equal(h.value.transmitTimestamp, COOKIE);
  assert.deepEqual([...req.subarray(1, 40)], new Array(39).fill(0));
});

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

test('the minimum-delay sample is used, and jitter measures the rest', () => {
  const mk = (offset: number, delay: number) => ({
    header: reply(),
    sample: computeSample({ t1: T1, t2: addSeconds(T1, offset + delay / 2), t3: addSeconds(T1, offset + delay / 2), t4: addSeconds(T1, delay) }, 0, 0),
  });
  const e = estimateServer([mk(0.003, 0.02), mk(0.001, 0.005), mk(0.002, 0.01)]);
  assert.ok(e);
  assert.equal(e.bestIndex, 1);
  assert.ok(Math.abs(e.best.offset - 0.001) < 1e-9);
  assert.ok(e.jitter > 0.001 && e.jitter < 0.003);
  assert.equal(estimateServer([]), null);
});

test('combineServers names the falseticker and averages the rest', () => {
  const est = (offset: number) => {
    const e = estimateServer([{ header: reply(), sample: computeSample({ t1: T1, t2: addSeconds(T1, offset + 0.0001), t3: addSeconds(T1, offset + 0.0001), t4: addSeconds(T1, 0.0002) }, 0, 0) }]);
    assert.ok(e);
    return e;
  };
  const v = combineServers([est(0.00001), est(-0.00001), est(2.5), est(0.00002)]);
  assert.ok(v.ok);
  assert.deepEqual(v.falsetickers, [2]);
  assert.deepEqual(v.agree, [0, 1, 3]);
  assert.ok(Math.abs(v.offset) < 0.00002);
});
