import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HTTP_PORT } from '../config/config.js';
import { httpUrl, parseHttpFlag } from './http-address.js';

test('--http accepts ADDRESS[:PORT], bracketed IPv6 with a port, bare IPv6, and off', () => {
  assert.deepEqual(parseHttpFlag('127.0.0.1:8080'), { address: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseHttpFlag('127.0.0.1'), { address: '127.0.0.1', port: DEFAULT_HTTP_PORT });
  assert.deepEqual(parseHttpFlag('0.0.0.0:0'), { address: '0.0.0.0', port: 0 });
  assert.deepEqual(parseHttpFlag('[::1]:9473'), { address: '::1', port: 9473 });
  assert.deepEqual(parseHttpFlag('[::1]'), { address: '::1', port: DEFAULT_HTTP_PORT });
  assert.deepEqual(parseHttpFlag('::1'), { address: '::1', port: DEFAULT_HTTP_PORT });
  assert.deepEqual(parseHttpFlag('fe80::1'), { address: 'fe80::1', port: DEFAULT_HTTP_PORT });
  assert.equal(parseHttpFlag('off'), 'off');
});

test('--http refuses names, bad ports and unbracketed IPv6 with a port, quoting the value', () => {
  for (const [bad, why] of [
    ['localhost:80', /not an IP address, got "localhost:80"/],
    ['127.0.0.1:65536', /port must be a number from 0 to 65535/],
    ['127.0.0.1:', /port must be/],
    ['127.0.0.1:-1', /port must be/],
    ['[127.0.0.1]:80', /not an IPv6 address/],
    ['[::1]x', /not an IP address|IPv6/],
    ['', /not an IP address/],
    ['::1:99999x', /brackets/],
  ] as const) {
    assert.throws(() => parseHttpFlag(bad), (e: Error) => why.test(e.message) && e.message.startsWith('--http must be'), bad);
  }
});

test('URLs put IPv6 literals in brackets', () => {
  assert.equal(httpUrl('127.0.0.1', 80), 'http://127.0.0.1:80/');
  assert.equal(httpUrl('::1', 9473), 'http://[::1]:9473/');
});
