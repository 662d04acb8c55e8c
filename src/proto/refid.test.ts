import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex, fuzzParams } from './arbitraries.test.js';
import { parsePacket } from './packet.js';
import {
  decodeRefId, formatRefId, formatRefIdHex, type Md5, refIdAscii, refIdFromAddress, refIdFromCode, refIdFromIPv4,
  refIdFromIPv6, refIdToIPv4,
} from './refid.js';

// MD5 digests computed with node:crypto when this test was written (the pure
// layer takes the hash function as an argument; tests need no crypto).
const KNOWN_MD5: Record<string, string> = {
  '00000000000000000000000000000001': 'cf404dc806178c245b5b4fe2531e6d8c', // ::1
  '20010db8000000000000000000000001': '39ab9b3749629b8f2c7ccf39226f680c', // 2001:db8::1
};
const md5: Md5 = (data) => {
  const key = Array.from(data, (b) => b.toString(16).padStart(2, '0')).join('');
  const digest = KNOWN_MD5[key];
  if (!digest) throw new Error(`no MD5 on file for ${key}`);
  return fromHex(digest);
};

test('stratum 0 is a kiss code, 1 a source name, 2..15 an address, 16 unsynchronized', () => {
  assert.deepEqual(decodeRefId(0x52415445, 0), { kind: 'kiss', raw: 0x52415445, code: 'RATE' });
  assert.deepEqual(decodeRefId(0x47505300, 1), { kind: 'source', raw: 0x47505300, code: 'GPS' });
  assert.deepEqual(decodeRefId(0xc0000201, 2), { kind: 'address', raw: 0xc0000201, address: '192.0.2.1' });
  assert.deepEqual(decodeRefId(0x47505300, 15), { kind: 'address', raw: 0x47505300, address: '71.80.83.0' });
  assert.deepEqual(decodeRefId(0x494e4954, 16), { kind: 'unsynchronized', raw: 0x494e4954, code: 'INIT' });
  assert.deepEqual(decodeRefId(0, 16), { kind: 'unsynchronized', raw: 0, code: null });
});

test('display: plain, ntpq -p and chronyc tracking styles', () => {
  assert.equal(formatRefId(0x47505300, 1), 'GPS');
  assert.equal(formatRefId(0x4c4f434c, 1, 'ntpq'), '.LOCL.');
  assert.equal(formatRefId(0x47505300, 1, 'chronyc'), '47505300 (GPS)');
  assert.equal(formatRefId(0xc0000201, 3), '192.0.2.1');
  assert.equal(formatRefId(0xc0000201, 3, 'ntpq'), '192.0.2.1');
  assert.equal(formatRefId(0xc0000201, 3, 'chronyc'), 'C0000201 (192.0.2.1)');
  assert.equal(formatRefId(0x44454e59, 0, 'ntpq'), '.DENY.');
  assert.equal(formatRefId(0x494e4954, 16, 'ntpq'), '.INIT.');
  // chronyd's `local stratum 1` refid is 127.127.1.1, not text: shown as an address; chronyc shows "()".
  assert.equal(formatRefId(0x7f7f0101, 1), '127.127.1.1');
  assert.equal(formatRefId(0x7f7f0101, 1, 'chronyc'), '7F7F0101 ()');
  assert.equal(formatRefIdHex(0xab), '000000AB');
});

test('refIdAscii: 1 to 4 printable characters, left-justified, NUL-padded', () => {
  assert.equal(refIdAscii(0x50505300), 'PPS');
  assert.equal(refIdAscii(0x41000000), 'A');
  assert.equal(refIdAscii(0), null);
  assert.equal(refIdAscii(0x00414243), null);
  assert.equal(refIdAscii(0x41004300), null);
  assert.equal(refIdAscii(0x4142430a), null);
  assert.equal(refIdAscii(0x414243ff), null);
});

test('encoders: codes, IPv4, and IPv6 through the first four octets of an MD5', () => {
  assert.equal(refIdFromCode('GPS'), 0x47505300);
  assert.equal(refIdFromCode('LOCL'), 0x4c4f434c);
  assert.equal(refIdFromIPv4('192.0.2.1'), 0xc0000201);
  assert.equal(refIdFromIPv4(Uint8Array.of(255, 255, 255, 255)), 0xffffffff);
  assert.equal(refIdFromIPv6('::1', md5), 0xcf404dc8);
  assert.equal(refIdFromIPv6('2001:db8::1', md5), 0x39ab9b37);
  assert.equal(refIdFromAddress('2001:DB8:0:0:0:0:0:1', md5), 0x39ab9b37);
  assert.equal(refIdFromAddress('10.1.2.3', md5), 0x0a010203);
  assert.equal(refIdFromAddress(fromHex('00000000000000000000000000000001'), md5), 0xcf404dc8);
  // An IPv4 server seen through a dual-stack socket is still an IPv4 upstream.
  assert.equal(refIdFromAddress('::ffff:192.0.2.1', md5), 0xc0000201);
  assert.equal(refIdFromAddress(fromHex('00000000000000000000ffffc0000201'), md5), 0xc0000201);
  assert.throws(() => refIdFromAddress('example.org', md5), RangeError);
  assert.throws(() => refIdFromAddress(new Uint8Array(5), md5), RangeError);
  for (const bad of [() => refIdFromCode(''), () => refIdFromCode('TOOLONG'), () => refIdFromCode('é'),
    () => refIdFromIPv4('1.2.3'), () => refIdFromIPv4('256.1.1.1'), () => refIdFromIPv6('1.2.3.4', md5),
    () => refIdFromIPv6(new Uint8Array(4), md5)]) {
    assert.throws(bad, (e: unknown) => e instanceof RangeError && /^Cannot encode refid: /.test(e.message));
  }
});

test('a chronyd at stratum 2 with an IPv6 upstream (::1) sends the MD5-derived refid', () => {
  // Captured on loopback from chronyd 4.3 (-x) synchronized to another chronyd on [::1].
  const reply = fromHex('240200e70000000100000001cf404dc8eeae928e0e7ed9ba1122334455667788eeae928ed410131feeae928ed41555a2');
  const r = parsePacket(reply);
  assert.ok(r.ok);
  assert.equal(r.value.header.stratum, 2);
  assert.equal(r.value.header.referenceId, refIdFromIPv6('::1', md5));
  // Indistinguishable from an IPv4 address on the wire.
  assert.equal(formatRefId(r.value.header.referenceId, 2), '207.64.77.200');
});

test('property: text codes and IPv4 addresses round-trip through refids', () => {
  fc.assert(fc.property(fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,3}$/), (code) => {
    const id = refIdFromCode(code);
    assert.equal(refIdAscii(id), code);
    assert.equal(formatRefId(id, 1), code);
  }), fuzzParams(2000));
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0, max: 255 }), (id, stratum) => {
    assert.equal(refIdFromIPv4(refIdToIPv4(id)), id);
    assert.equal(typeof formatRefId(id, stratum, 'ntpq'), 'string');
    assert.equal(decodeRefId(id, stratum).raw, id);
  }), fuzzParams(2000));
});
