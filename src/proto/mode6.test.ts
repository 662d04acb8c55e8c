import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzParams } from './arbitraries.test.js';
import { parseControlMessage } from './control.js';
import {
  ControlErrorCode, encodeControlError, encodeControlResponse, formatVariables, MAX_FRAGMENT_DATA, parseVariableNames, PeerSelection,
  peerStatusWord, systemStatusWord,
} from './mode6.js';

const REQUEST = (() => {
  const r = parseControlMessage(Uint8Array.from([0x16, 0x02, 0x00, 0x07, 0, 0, 0, 3, 0, 0, 0, 0]));
  assert.ok(r.ok);
  return r.value;
})();

test('a long response is cut into fragments ntpq reassembles: offsets, M on all but the last, 4-octet padding', () => {
  const data = Uint8Array.from({ length: 1000 }, (_, i) => 0x41 + (i % 26));
  const frags = encodeControlResponse({ request: REQUEST, status: 0x9614, associationId: 3, leap: 0 }, data);
  assert.equal(frags.length, 3);
  const joined: number[] = [];
  frags.forEach((f, i) => {
    assert.equal(f.length % 4, 0, `fragment ${i} is ${f.length} octets`);
    const m = parseControlMessage(f);
    assert.ok(m.ok);
    assert.equal(m.value.response, true);
    assert.equal(m.value.error, false);
    assert.equal(m.value.more, i < 2);
    assert.equal(m.value.opcode, 2);
    assert.equal(m.value.sequence, 7, 'the request\'s sequence');
    assert.equal(m.value.associationId, 3);
    assert.equal(m.value.status, 0x9614);
    assert.equal(m.value.offset, i * MAX_FRAGMENT_DATA);
    assert.ok(m.value.data.length <= MAX_FRAGMENT_DATA);
    joined.push(...m.value.data);
  });
  assert.deepEqual(Uint8Array.from(joined), data);
  const empty = encodeControlResponse({ request: REQUEST, status: 0, associationId: 0, leap: 3 }, new Uint8Array(0));
  assert.equal(empty.length, 1);
  assert.equal(empty[0]?.length, 12);
  assert.equal((empty[0]?.[0] as number) >> 6, 3, 'the leap indicator');
});

test('an error response: E set, the code in the high octet of the status, no data', () => {
  const m = parseControlMessage(encodeControlError(REQUEST, 0, ControlErrorCode.BadAssociation));
  assert.ok(m.ok);
  assert.equal(m.value.error, true);
  assert.equal(m.value.response, true);
  assert.equal(m.value.status >> 8, 4);
  assert.equal(m.value.data.length, 0);
});

test('status words as ntpq decodes them (RFC 9327 §2.3)', () => {
  // "status=9600 conf, reach, sel_sys.peer" and "status=0615 leap_none, sync_ntp, 1 event, clock_sync", as ntpq shows them.
  assert.equal(peerStatusWord({ configured: true, authEnabled: false, authentic: false, reachable: true }, PeerSelection.SystemPeer, 0, 0), 0x9600);
  assert.equal(peerStatusWord({ configured: true, authEnabled: true, authentic: true, reachable: false }, PeerSelection.Falseticker, 1, 4), 0xe114);
  assert.equal(systemStatusWord(0, 6, 1, 5), 0x0615);
  assert.equal(systemStatusWord(3, 0, 0, 0), 0xc000);
});

test('the variable list: "name=value" items, comma-separated, wrapped before 72 characters as ntpd does', () => {
  assert.equal(formatVariables([['stratum', '2'], ['refid', 'GPS'], ['flag', '']]), 'stratum=2, refid=GPS, flag');
  const long = formatVariables(Array.from({ length: 30 }, (_, i) => [`name${i}`, String(i * 1000)] as const));
  for (const line of long.split('\r\n')) assert.ok(line.length <= 72, `a ${line.length}-character line`);
  assert.equal(long.replace(/\r\n/g, ' ').split(', ').length, 30);
});

test('the names a READVAR asks for: trimmed, values and empty items dropped, binary refused', () => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  assert.deepEqual(parseVariableNames(enc('offset,sys_jitter')), ['offset', 'sys_jitter']);
  assert.deepEqual(parseVariableNames(enc(' offset , ,stratum=3,\r\n')), ['offset', 'stratum']);
  assert.deepEqual(parseVariableNames(Uint8Array.from([...enc('leap'), 0, 0, 0])), ['leap']);
  assert.deepEqual(parseVariableNames(new Uint8Array(0)), []);
  assert.equal(parseVariableNames(Uint8Array.from([0x6f, 0x01, 0x66])), null);
  assert.equal(parseVariableNames(Uint8Array.from([0xc3, 0xa9])), null);
});

test('property: any data round-trips through the fragments', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 0, max: 0xffff }), (data, status) => {
    const frags = encodeControlResponse({ request: REQUEST, status, associationId: 9, leap: 0 }, data);
    assert.equal(frags.length, Math.max(1, Math.ceil(data.length / MAX_FRAGMENT_DATA)));
    const joined: number[] = [];
    for (const f of frags) {
      const m = parseControlMessage(f);
      assert.ok(m.ok);
      assert.equal(m.value.offset, joined.length);
      joined.push(...m.value.data);
    }
    assert.deepEqual(Uint8Array.from(joined), data);
  }), fuzzParams(300));
});
