import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex, fuzzParams } from './arbitraries.test.js';
import {
  buildKeErrorResponse, buildKeNoCommonResponse, buildKeRequest, buildKeResponse, encodeNtsKeRecords, interpretKeRequest, interpretKeResponse,
  NTS_KE_MAX_MESSAGE_LENGTH, ntsExporterContext, type NtsKeRecord, scanNtsKeMessage,
} from './nts-ke.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('a client request encodes as RFC 8915 §4 records: critical Next Protocol NTPv4, AEAD 15, End', () => {
  const bytes = encodeNtsKeRecords(buildKeRequest({ aeads: [15] }));
  assert.equal(hex(bytes), '80010002' + '0000' + '80040002' + '000f' + '80000000');
});

test('server and port records encode as ASCII and a 16-bit port', () => {
  const bytes = encodeNtsKeRecords([{ type: 'server', critical: true, host: '127.0.0.5' }, { type: 'port', critical: true, port: 1234 }]);
  assert.equal(hex(bytes), '80060009' + Buffer.from('127.0.0.5').toString('hex') + '80070002' + '04d2');
});

test('scan: incomplete until End of Message, then every record', () => {
  const msg = encodeNtsKeRecords(buildKeResponse({ aeadId: 15, cookies: [fromHex('aabbcc'), fromHex('dd')], server: 'ntp.example', port: 4123 }));
  for (let cut = 0; cut < msg.length; cut++) {
    const r = scanNtsKeMessage(msg.subarray(0, cut));
    assert.deepEqual(r, { ok: true, complete: false }, `cut at ${cut}`);
  }
  const r = scanNtsKeMessage(msg);
  assert.ok(r.ok && r.complete);
  assert.equal(r.length, msg.length);
  const v = interpretKeResponse(r.records, [15]);
  assert.ok(v.ok);
  assert.equal(v.value.aeadId, 15);
  assert.deepEqual(v.value.cookies.map(hex), ['aabbcc', 'dd']);
  assert.equal(v.value.server, 'ntp.example');
  assert.equal(v.value.port, 4123);
});

test('scan: named errors for bad lengths, bad server names, data after End and oversized messages', () => {
  const cases: [string, string][] = [
    ['80000001' + '00', 'bad-record-length'],          // End with a body
    ['80010003' + '000000', 'bad-record-length'],      // odd protocol list
    ['80020001' + '00', 'bad-record-length'],          // short error code
    ['80070003' + '000000', 'bad-record-length'],      // 3-octet port
    ['80060000', 'bad-server-name'],                    // empty server
    ['80060003' + '612062', 'bad-server-name'],         // a blank inside
    ['80000000' + '00', 'data-after-end'],
  ];
  for (const [h, reason] of cases) {
    const r = scanNtsKeMessage(fromHex(h));
    assert.equal(r.ok, false, h);
    assert.equal(!r.ok && r.reason, reason, h);
    assert.match(!r.ok ? r.message : '', /^Cannot parse NTS-KE/);
  }
  const big = encodeNtsKeRecords([{ type: 'cookie', critical: false, cookie: new Uint8Array(NTS_KE_MAX_MESSAGE_LENGTH) }]);
  const r = scanNtsKeMessage(big);
  assert.equal(!r.ok && r.reason, 'too-long');
  // A huge announced length with no End in sight is also refused once the buffer passes the bound.
  const partial = new Uint8Array(NTS_KE_MAX_MESSAGE_LENGTH + 1);
  partial.set(fromHex('0005ffff'));
  assert.equal(((x) => !x.ok && x.reason)(scanNtsKeMessage(partial)), 'too-long');
});

test('request rules (§4.1): one Next Protocol, one AEAD, unknown critical records earn error 0', () => {
  const ok = interpretKeRequest(buildKeRequest({ aeads: [30, 15] }), [15]);
  assert.deepEqual(ok, { ok: true, value: { aeadId: 15, ntpv4: true } });
  const none = interpretKeRequest(buildKeRequest({ aeads: [30] }), [15]);
  assert.deepEqual(none, { ok: true, value: { aeadId: null, ntpv4: true } });
  const unknownCritical: NtsKeRecord[] = [...buildKeRequest({ aeads: [15] }).slice(0, -1), { type: 'unknown', critical: true, recordType: 0x4000, body: new Uint8Array(2) }, { type: 'end', critical: true }];
  const u = interpretKeRequest(unknownCritical, [15]);
  assert.equal(!u.ok && u.reason, 'unknown-critical');
  assert.equal(!u.ok && u.errorCode, 0);
  const unknownOptional = unknownCritical.map((r) => (r.type === 'unknown' ? { ...r, critical: false } : r));
  assert.ok(interpretKeRequest(unknownOptional, [15]).ok);
  const noAead = interpretKeRequest([{ type: 'next-protocol', critical: true, protocols: [0] }, { type: 'end', critical: true }], [15]);
  assert.equal(!noAead.ok && noAead.errorCode, 1);
  const twoProtocols = interpretKeRequest([...buildKeRequest({ aeads: [15] }).slice(0, 1), ...buildKeRequest({ aeads: [15] })], [15]);
  assert.equal(!twoProtocols.ok && twoProtocols.reason, 'bad-request');
  const clientCookie = interpretKeRequest([{ type: 'cookie', critical: false, cookie: new Uint8Array(4) }, ...buildKeRequest({ aeads: [15] })], [15]);
  assert.equal(!clientCookie.ok && clientCookie.reason, 'bad-request');
});

test('response rules: errors, unknown critical records, no common protocol or AEAD, no cookies', () => {
  const err = interpretKeResponse(buildKeErrorResponse(1), [15]);
  assert.equal(!err.ok && err.reason, 'server-error');
  assert.equal(!err.ok && err.code, 1);
  assert.equal(((r) => !r.ok && r.reason)(interpretKeResponse(buildKeNoCommonResponse(true), [15])), 'no-common-aead');
  assert.equal(((r) => !r.ok && r.reason)(interpretKeResponse(buildKeNoCommonResponse(false), [15])), 'no-common-protocol');
  assert.equal(((r) => !r.ok && r.reason)(interpretKeResponse(buildKeResponse({ aeadId: 15, cookies: [] }), [15])), 'no-cookies');
  assert.equal(((r) => !r.ok && r.reason)(interpretKeResponse(buildKeResponse({ aeadId: 30, cookies: [new Uint8Array(4)] }), [15])), 'no-common-aead');
  const withUnknown: NtsKeRecord[] = [{ type: 'unknown', critical: true, recordType: 99, body: new Uint8Array(0) }, ...buildKeResponse({ aeadId: 15, cookies: [new Uint8Array(4)] })];
  assert.equal(((r) => !r.ok && r.reason)(interpretKeResponse(withUnknown, [15])), 'unknown-critical');
  const warned = interpretKeResponse([{ type: 'warning', critical: true, code: 7 }, ...buildKeResponse({ aeadId: 15, cookies: [new Uint8Array(4)] })], [15]);
  assert.ok(warned.ok);
  assert.deepEqual(warned.value.warnings, [7]);
});

test('exporter context (§5.1): protocol 0x0000, AEAD id, 0x00 C2S / 0x01 S2C', () => {
  assert.equal(hex(ntsExporterContext(15, 'c2s')), '0000000f00');
  assert.equal(hex(ntsExporterContext(15, 's2c')), '0000000f01');
  assert.equal(hex(ntsExporterContext(30, 's2c')), '0000001e01');
});

const arbRecord: fc.Arbitrary<NtsKeRecord> = fc.oneof(
  fc.record({ type: fc.constant('next-protocol' as const), critical: fc.boolean(), protocols: fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 4 }) }),
  fc.record({ type: fc.constantFrom('error' as const, 'warning' as const), critical: fc.boolean(), code: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ type: fc.constant('aead' as const), critical: fc.boolean(), algorithms: fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 4 }) }),
  fc.record({ type: fc.constant('cookie' as const), critical: fc.boolean(), cookie: fc.uint8Array({ maxLength: 200 }) }),
  fc.record({ type: fc.constant('server' as const), critical: fc.boolean(), host: fc.stringMatching(/^[!-~]{1,40}$/) }),
  fc.record({ type: fc.constant('port' as const), critical: fc.boolean(), port: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ type: fc.constant('unknown' as const), critical: fc.boolean(), recordType: fc.integer({ min: 8, max: 0x7fff }), body: fc.uint8Array({ maxLength: 40 }) }),
);

test('property: any record list with End last round-trips through encode and scan', () => {
  fc.assert(fc.property(fc.array(arbRecord, { maxLength: 12 }), fc.boolean(), (records, critical) => {
    const msg = [...records.map((r) => ({ ...r })), { type: 'end', critical } as const];
    const scan = scanNtsKeMessage(encodeNtsKeRecords(msg));
    assert.ok(scan.ok && scan.complete);
    assert.deepEqual(scan.records, msg);
  }), fuzzParams(2000));
});

test('property: scan never throws on arbitrary bytes and its verdicts are consistent', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (buf) => {
    const r = scanNtsKeMessage(buf, 256);
    if (r.ok && r.complete) {
      assert.equal(r.length, buf.length);
      assert.equal(r.records[r.records.length - 1]?.type, 'end');
      interpretKeRequest(r.records, [15]);
      interpretKeResponse(r.records, [15]);
    }
  }), fuzzParams(10000));
});
