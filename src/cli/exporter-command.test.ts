import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_EXPORTER_PORT, parseListen } from './exporter-command.js';
import { runCaptured } from './run-captured.test-helper.js';

test('--listen: an IP address and an optional port; IPv6 in brackets before a port', () => {
  assert.deepEqual(parseListen('127.0.0.1'), { address: '127.0.0.1', port: DEFAULT_EXPORTER_PORT });
  assert.deepEqual(parseListen('127.0.56.9:0'), { address: '127.0.56.9', port: 0 });
  assert.deepEqual(parseListen('[::1]:9999'), { address: '::1', port: 9999 });
  assert.deepEqual(parseListen('::1'), { address: '::1', port: DEFAULT_EXPORTER_PORT });
  // A bare IPv6 address's colons are its own: ::1:9474 is an address, not ::1 port 9474.
  assert.deepEqual(parseListen('::1:9474'), { address: '::1:9474', port: DEFAULT_EXPORTER_PORT });
  for (const bad of ['localhost:9474', '::g:1', '[127.0.0.1]:1', '127.0.0.1:99999', '127.0.0.1:x', '']) {
    assert.throws(() => parseListen(bad), /--listen must be ADDRESS\[:PORT\]/, bad);
  }
});

test('bad references and Host names stop the exporter before it listens, with the reason', async () => {
  const r = await runCaptured(['exporter', '--ref', 'a:b:c', '--listen', '127.0.56.200:0']);
  assert.equal(r.code, 2);
  assert.match(r.err, /ntpkit exporter: --ref: Cannot parse server "a:b:c"/);
  assert.doesNotMatch(r.out, /listening/);
  const h = await runCaptured(['exporter', '--http-host', 'not a name', '--listen', '127.0.56.200:0']);
  assert.equal(h.code, 2);
  assert.match(h.err, /--http-host: "not a name" is not a host name or IP address/);
  const missing = await runCaptured(['exporter', '--refs-from', '/nonexistent/chrony.conf', '--listen', '127.0.56.200:0']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /nonexistent\/chrony\.conf/);
});
