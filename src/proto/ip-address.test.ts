import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex, fuzzParams, toHex } from './arbitraries.test.js';
import { parseIPv4, parseIPv6 } from './ip-address.js';

test('IPv4 dotted quads', () => {
  assert.deepEqual(parseIPv4('192.0.2.1'), Uint8Array.of(192, 0, 2, 1));
  assert.deepEqual(parseIPv4('0.0.0.0'), new Uint8Array(4));
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-4', '1..3.4', ' 1.2.3.4', '1.2.3.4 ', '0x1.2.3.4', '1e2.0.0.1']) {
    assert.equal(parseIPv4(bad), null, bad);
  }
});

test('IPv6 text forms (RFC 4291 §2.2)', () => {
  const cases: [string, string][] = [
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['1::', '00010000000000000000000000000000'],
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:DB8:0:0:8:800:200C:417A', '20010db80000000000080800200c417a'],
    ['ff01::101', 'ff010000000000000000000000000101'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221'],
    ['fe80::1%eth0', 'fe800000000000000000000000000001'],
    ['1:2:3:4:5:6::8', '00010002000300040005000600000008'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
  ];
  for (const [text, hex] of cases) {
    const b = parseIPv6(text);
    assert.ok(b, text);
    assert.equal(toHex(b), hex, text);
  }
  for (const bad of ['', ':', ':::', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', '12345::', 'g::',
    '::1.2.3', '1.2.3.4', '::1.2.3.4:5', ':1::', '1::2:', 'fe80::1%', '1:2:3:4:5:6:7:1.2.3.4']) {
    assert.equal(parseIPv6(bad), null, bad);
  }
  assert.deepEqual(parseIPv6('::1'), fromHex('00000000000000000000000000000001'));
});

test('property: the full text form of any 16 bytes parses back to them; random strings never throw', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((((b[i] as number) << 8) | (b[i + 1] as number)).toString(16));
    assert.deepEqual(parseIPv6(groups.join(':')), b);
  }), fuzzParams(2000));
  fc.assert(fc.property(fc.string({ maxLength: 45, unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%x -') }), (s) => {
    const v6 = parseIPv6(s);
    if (v6) assert.equal(v6.length, 16);
    const v4 = parseIPv4(s);
    if (v4) assert.equal(v4.length, 4);
  }), fuzzParams());
});
