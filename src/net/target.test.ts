import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatEndpoint, parseTarget } from './target.js';

test('parses names, IPv4 and IPv6 with and without ports', () => {
  const cases: [string, string, number][] = [
    ['ntp.example.org', 'ntp.example.org', 123],
    ['ntp.example.org:1123', 'ntp.example.org', 1123],
    ['127.0.0.2', '127.0.0.2', 123],
    ['127.0.0.2:11123', '127.0.0.2', 11123],
    ['::1', '::1', 123],
    ['fe80::1:2', 'fe80::1:2', 123],
    ['[::1]', '::1', 123],
    ['[::1]:4123', '::1', 4123],
  ];
  for (const [spec, host, port] of cases) {
    const r = parseTarget(spec, 123);
    assert.ok(r.ok, `${spec}: ${r.ok ? '' : r.message}`);
    assert.deepEqual({ host: r.target.host, port: r.target.port }, { host, port }, spec);
  }
});

test('rejects bad operands with a message naming them', () => {
  for (const spec of ['', 'host:', 'host:0', 'host:65536', 'host:12x', '[nothost]:1', 'a::zz', 'has space']) {
    const r = parseTarget(spec, 123);
    assert.equal(r.ok, false, spec);
    if (!r.ok) assert.match(r.message, /^Cannot parse server/);
  }
});

test('formats endpoints with brackets for IPv6', () => {
  assert.equal(formatEndpoint('::1', 123), '[::1]:123');
  assert.equal(formatEndpoint('127.0.0.1', 123), '127.0.0.1:123');
});
