import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostAllowed, splitHost } from './host-check.js';

const none = new Set<string>();

test('splitHost: names, IPv4, bracketed IPv6, ports (80 when absent), lower case without the trailing dot', () => {
  assert.deepEqual(splitHost('Example.NET.'), { name: 'example.net', port: 80 });
  assert.deepEqual(splitHost('127.0.0.1:9473'), { name: '127.0.0.1', port: 9473 });
  assert.deepEqual(splitHost('[::1]:9473'), { name: '::1', port: 9473 });
  assert.deepEqual(splitHost('[FE80::1]'), { name: 'fe80::1', port: 80 });
  for (const bad of ['', '::1', '[::1', '[example.net]:80', 'a:b', 'a:99999', 'a:', 'a b', 'user@a', '[::1]:80:80']) assert.equal(splitHost(bad), null, bad);
});

test('hostAllowed: the address connected to, with its port, in any spelling of it', () => {
  assert.ok(hostAllowed('127.0.0.1:9473', { address: '127.0.0.1', port: 9473 }, none));
  assert.ok(hostAllowed('[::1]:9473', { address: '::1', port: 9473 }, none));
  assert.ok(hostAllowed('[0:0:0:0:0:0:0:1]:9473', { address: '::1', port: 9473 }, none));
  // A dual-stack socket reports IPv4 clients as IPv4-mapped IPv6.
  assert.ok(hostAllowed('192.0.2.7:9473', { address: '::ffff:192.0.2.7', port: 9473 }, none));
  assert.ok(hostAllowed('192.0.2.7', { address: '192.0.2.7', port: 80 }, none), 'no port: 80');
  assert.ok(!hostAllowed('192.0.2.7', { address: '192.0.2.7', port: 9473 }, none));
  assert.ok(!hostAllowed('192.0.2.8:9473', { address: '192.0.2.7', port: 9473 }, none));
  assert.ok(!hostAllowed(undefined, { address: '127.0.0.1', port: 9473 }, none));
});

test('hostAllowed: localhost only on a loopback address; listed names on any port; nothing else', () => {
  assert.ok(hostAllowed('localhost:9473', { address: '127.0.0.1', port: 9473 }, none));
  assert.ok(hostAllowed('localhost:9473', { address: '127.3.2.1', port: 9473 }, none));
  assert.ok(hostAllowed('localhost:9473', { address: '::1', port: 9473 }, none));
  assert.ok(hostAllowed('localhost:9473', { address: '::ffff:127.0.0.1', port: 9473 }, none));
  assert.ok(!hostAllowed('localhost:9473', { address: '192.0.2.7', port: 9473 }, none), 'a rebinding name may be called localhost elsewhere');
  assert.ok(!hostAllowed('localhost:9474', { address: '127.0.0.1', port: 9473 }, none));
  const listed = new Set(['ntp.example.net', '203.0.113.5']);
  assert.ok(hostAllowed('NTP.example.net:8443', { address: '10.0.0.1', port: 9473 }, listed));
  assert.ok(hostAllowed('ntp.example.net', { address: '10.0.0.1', port: 9473 }, listed));
  assert.ok(hostAllowed('203.0.113.5:80', { address: '10.0.0.1', port: 9473 }, listed), 'an address seen through NAT, listed');
  assert.ok(!hostAllowed('evil.example:9473', { address: '10.0.0.1', port: 9473 }, listed));
  assert.ok(!hostAllowed('ntp.example.net.evil.example', { address: '10.0.0.1', port: 9473 }, listed));
});
