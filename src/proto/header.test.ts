import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { arbHeader, fromHex, fuzzParams } from './arbitraries.test.js';
import { Leap, LEAP_NAMES, Mode } from './constants.js';
import { encodeHeader, HEADER_LENGTH, headerProblem, type NtpHeader, parseFirstOctet, parseHeader, writeHeader } from './header.js';

const SAMPLE: NtpHeader = {
  leap: Leap.InsertSecond, version: 4, mode: Mode.Server, stratum: 2, poll: -3, precision: -24,
  rootDelay: 0x0001_8000, rootDispersion: 0xffff_ffff, referenceId: 0xc000_0201,
  referenceTimestamp: 0xeeae_91fb_e53d_c3c9n, originTimestamp: 0xffff_ffff_ffff_ffffn,
  receiveTimestamp: 1n, transmitTimestamp: 0x8000_0000_0000_0000n,
};

test('every header field lands at its RFC 5905 §7.3 position', () => {
  const b = encodeHeader(SAMPLE);
  assert.equal(b.length, HEADER_LENGTH);
  assert.deepEqual([...b.subarray(0, 16)], [
    0x64, 2, 0xfd, 0xe8, // LI 1, VN 4, mode 4; stratum; poll -3; precision -24
    0x00, 0x01, 0x80, 0x00, 0xff, 0xff, 0xff, 0xff, 0xc0, 0x00, 0x02, 0x01,
  ]);
  const r = parseHeader(b);
  assert.ok(r.ok);
  assert.deepEqual(r.value, SAMPLE);
});

test('the first octet: 0x24 is a v4 server reply, 0xe3 an unsynchronized v4 client (ntpdig, ntpdate)', () => {
  assert.deepEqual(parseFirstOctet(Uint8Array.of(0x24)), { ok: true, value: { leap: Leap.NoWarning, version: 4, mode: Mode.Server } });
  assert.deepEqual(parseFirstOctet(Uint8Array.of(0xe3)), { ok: true, value: { leap: Leap.Unsynchronized, version: 4, mode: Mode.Client } });
  assert.deepEqual(parseFirstOctet(Uint8Array.of(0x1b)), { ok: true, value: { leap: Leap.NoWarning, version: 3, mode: Mode.Client } });
  assert.deepEqual(parseFirstOctet(Uint8Array.of(0x0d)), { ok: true, value: { leap: Leap.NoWarning, version: 1, mode: Mode.Broadcast } });
});

test('leap indicator values are named', () => {
  assert.deepEqual(Object.values(LEAP_NAMES), ['normal', 'insert-second', 'delete-second', 'unsynchronized']);
  assert.equal(LEAP_NAMES[Leap.Unsynchronized], 'unsynchronized');
});

test('modes 6 and 7 are recognised from the first octet alone, not read as a 48-byte header', () => {
  // ntpq's 12-byte "read variables" request (RFC 9327).
  const r = parseHeader(fromHex('160200010000000000000000'));
  assert.ok(!r.ok);
  assert.equal(r.reason, 'control-mode');
  const seven = parseHeader(fromHex('1700032a00000000'));
  assert.ok(!seven.ok && seven.reason === 'control-mode');
});

test('bad version, reserved mode and short buffers are named reasons', () => {
  const cases: [string, string][] = [
    ['', 'too-short'], ['24', 'too-short'], ['24' + '00'.repeat(46), 'too-short'],
    ['04' + '00'.repeat(47), 'bad-version'], ['2c' + '00'.repeat(47), 'bad-version'], ['3c' + '00'.repeat(47), 'bad-version'],
    ['20' + '00'.repeat(47), 'bad-mode'],
  ];
  for (const [hex, reason] of cases) {
    const r = parseHeader(fromHex(hex));
    assert.ok(!r.ok, hex);
    assert.equal(r.reason, reason, `${hex}: ${r.message}`);
    assert.match(r.message, /^Cannot parse NTP (header|packet): /);
  }
});

test('parseHeader reads the header at the start of a view into a larger buffer', () => {
  const big = new Uint8Array(100);
  big.set(encodeHeader(SAMPLE), 7);
  const r = parseHeader(big.subarray(7));
  assert.ok(r.ok);
  assert.deepEqual(r.value, SAMPLE);
  const out = new Uint8Array(60);
  writeHeader(SAMPLE, out, 5);
  assert.deepEqual(out.subarray(5, 53), encodeHeader(SAMPLE));
});

test('headerProblem flags fields that do not fit the wire; writeHeader masks them', () => {
  assert.equal(headerProblem(SAMPLE), null);
  assert.match(headerProblem({ ...SAMPLE, poll: 128 }) ?? '', /poll 128/);
  assert.match(headerProblem({ ...SAMPLE, rootDelay: 2 ** 32 }) ?? '', /root delay/);
  assert.match(headerProblem({ ...SAMPLE, version: 5 }) ?? '', /version 5/);
  assert.match(headerProblem({ ...SAMPLE, transmitTimestamp: 1n << 64n }) ?? '', /transmit timestamp/);
  assert.equal(encodeHeader({ ...SAMPLE, stratum: 0x1_02 })[1], 2);
});

test('property: parseHeader(encodeHeader(h)) deep-equals h', () => {
  fc.assert(fc.property(arbHeader(), (h) => {
    const r = parseHeader(encodeHeader(h));
    assert.ok(r.ok);
    assert.deepEqual(r.value, h);
  }), fuzzParams(5000));
});

test('fuzz: parseHeader never throws and accepts exactly the 48+ byte buffers of modes 1..5, versions 1..4', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (buf) => {
    const r = parseHeader(buf);
    const b0 = buf[0] ?? 0;
    const expected = buf.length >= 48 && ((b0 >> 3) & 7) >= 1 && ((b0 >> 3) & 7) <= 4 && (b0 & 7) >= 1 && (b0 & 7) <= 5;
    assert.equal(r.ok, expected);
    if (r.ok) assert.deepEqual(encodeHeader(r.value), buf.subarray(0, 48));
  }), fuzzParams());
});
