import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeChronyFloat, encodeChronyFloat, encodeReply, encodeRequest, IPADDR_INET4, MAX_REQUEST_LENGTH, parseReply,
  parseRequest, REQ, requestLength, RPY, STT,
} from './index.js';

test('chrony floats: exact words for 1 and -1, and chronyd\'s round-trip bound (1e-5) from 2^-89 to 2^62', () => {
  assert.equal(encodeChronyFloat(1).toString(16), '4800000');
  assert.equal(encodeChronyFloat(-1).toString(16), '3000000');
  assert.equal(decodeChronyFloat(0x04800000), 1);
  assert.equal(decodeChronyFloat(0x03000000), -1);
  assert.equal(encodeChronyFloat(0), 0);
  assert.equal(encodeChronyFloat(Number.NaN), 0);
  for (let i = -89; i < 63; i++) {
    const x = 2 ** i;
    const y = decodeChronyFloat(encodeChronyFloat(x));
    assert.ok(y / x > 0.99999 && y / x < 1.00001, `2^${i}`);
  }
  fc.assert(fc.property(fc.double({ min: -1000, max: 1000, noNaN: true }).filter((x) => Math.abs(x) > 2 ** -60), (x) => {
    const y = decodeChronyFloat(encodeChronyFloat(x));
    return y / x > 0.99999 && y / x < 1.00001;
  }));
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (w) => Number.isFinite(decodeChronyFloat(w))));
});

test('request lengths follow chrony 4.3\'s padding: each request is as long as the reply it asks for, at least', () => {
  // Lengths of chronyc 4.3's datagrams (header 20 bytes, reply header 28).
  assert.equal(requestLength(REQ.TRACKING), 104);
  assert.equal(requestLength(REQ.N_SOURCES), 32);
  assert.equal(requestLength(REQ.SOURCE_DATA), 76);
  assert.equal(requestLength(REQ.CLIENT_ACCESSES_BY_INDEX3), 36 + 484);
  assert.equal(requestLength(REQ.ADD_SOURCE), 20 + 352);
  assert.equal(requestLength(REQ.SELECT_DATA), 28 + 48);
  assert.equal(requestLength(REQ.AUTH_DATA), 28 + 24);
  assert.equal(requestLength(REQ.DOFFSET), 0, 'the old doffset is not served in version 6');
  assert.equal(MAX_REQUEST_LENGTH, 860);
});

test('parseRequest: chronyd\'s drops and status replies for broken requests', () => {
  const good = encodeRequest(REQ.TRACKING, {}, 7);
  const r = parseRequest(good);
  assert.equal(r.kind, 'request');
  assert.equal(parseRequest(good.subarray(0, 27)).kind, 'drop');
  const v5 = good.slice(); v5[0] = 5;
  assert.deepEqual(parseRequest(v5), { kind: 'status', status: STT.BADPKTVERSION, header: { command: REQ.TRACKING, sequence: 7 }, length: 104, reason: 'bad-version' });
  const v4 = good.slice(); v4[0] = 4;
  assert.deepEqual(parseRequest(v4), { kind: 'drop', reason: 'old-version' });
  const reply = good.slice(); reply[1] = 2;
  assert.deepEqual(parseRequest(reply), { kind: 'drop', reason: 'not-request' });
  const unknown = good.slice(); unknown[5] = 200;
  assert.equal(parseRequest(unknown).kind === 'status' && (parseRequest(unknown) as { status: number }).status, STT.INVALID);
  const short = parseRequest(good.subarray(0, 100));
  assert.equal(short.kind === 'status' && short.status, STT.BADPKTLENGTH);
  assert.equal(parseRequest(new Uint8Array(MAX_REQUEST_LENGTH + 1)).kind, 'drop');
});

test('a reply round-trips through the same layout, and a status reply is the 28-byte header alone', () => {
  const ip = { family: IPADDR_INET4, addr: new Uint8Array([127, 0, 33, 1, ...new Array<number>(12).fill(0)]) };
  const bytes = encodeReply({ command: REQ.TRACKING, sequence: 9 }, STT.SUCCESS, {
    reply: RPY.TRACKING,
    fields: { ref_id: 0x7f002101, ip_addr: ip, stratum: 3, leap_status: 0, ref_time: { sec: 1_700_000_000n, nsec: 5 }, freq_ppm: -12.5, root_delay: 0.001 },
  });
  assert.equal(bytes.length, 104);
  const p = parseReply(bytes);
  assert.ok(p.ok);
  assert.equal(p.reply.sequence, 9);
  assert.deepEqual(p.reply.body.ip_addr, ip);
  assert.deepEqual(p.reply.body.ref_time, { sec: 1_700_000_000n, nsec: 5 });
  assert.equal(p.reply.body.freq_ppm, -12.5);
  assert.ok(Math.abs((p.reply.body.root_delay as number) - 0.001) < 1e-9);
  assert.equal(encodeReply({ command: 1, sequence: 1 }, STT.UNAUTH).length, 28);
});
