import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mode } from '../proto/constants.js';
import { parseHeader } from '../proto/header.js';
import { buildClientRequest } from './client-request.js';

const COOKIE = 0x0123_4567_89ab_cdefn;

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
