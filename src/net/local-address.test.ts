import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routeLocalAddress } from './local-address.js';

test('the local address towards a loopback server is the one the kernel picks (127.0.0.1 for any 127/8 address), null for a name', async () => {
  assert.equal(await routeLocalAddress('127.0.25.9'), '127.0.0.1');
  assert.equal(await routeLocalAddress('127.0.0.1'), '127.0.0.1');
  assert.equal(await routeLocalAddress('not-an-address'), null);
});
