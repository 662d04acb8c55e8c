import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Config } from '../config/config.js';
import { parseConfigText } from '../config/parse-config.js';
import { CAPABILITY, keptCapabilities } from './daemon-user.js';

function config(text: string): Config {
  const r = parseConfigText(text, 'chrony.conf', { format: 'chrony' });
  assert.ok(r.config !== null, JSON.stringify(r.errors));
  return r.config;
}

test('keptCapabilities: what chronyd 4.3 keeps (sys_linux.c SYS_Linux_DropRoot), by port, device, kernel and clock control', () => {
  const { NET_BIND_SERVICE, NET_RAW, SYS_TIME } = CAPABILITY;
  // The default port 123 is privileged: kept for a rebind, whether or not anything is served.
  assert.deepEqual(keptCapabilities(config('user nobody\n'), true, '6.1.0'), [NET_BIND_SERVICE, SYS_TIME]);
  assert.deepEqual(keptCapabilities(config('user nobody\n'), false, '6.1.0'), [NET_BIND_SERVICE]);
  assert.deepEqual(keptCapabilities(config('user nobody\nport 0\n'), false, '6.1.0'), []);
  assert.deepEqual(keptCapabilities(config('user nobody\nport 1123\n'), true, '6.1.0'), [SYS_TIME]);
  // SO_BINDTODEVICE needed CAP_NET_RAW before Linux 5.7.
  assert.deepEqual(keptCapabilities(config('user nobody\nport 0\nbinddevice eth0\n'), false, '5.6.19'), [NET_RAW]);
  assert.deepEqual(keptCapabilities(config('user nobody\nport 0\nbindacqdevice eth0\n'), false, '4.19.0-26-amd64'), [NET_RAW]);
  assert.deepEqual(keptCapabilities(config('user nobody\nport 0\nbinddevice eth0\n'), false, '5.7.0'), []);
});

test('user, binddevice, bindacqdevice: bad arguments are errors at their line', () => {
  for (const [line, message] of [
    ['user', /expected one user name/],
    ['user a b', /expected one user name/],
    ['binddevice', /expected one interface name of 1 to 15 bytes/],
    ['binddevice abcdefghijklmnop', /expected one interface name of 1 to 15 bytes/],
    ['bindacqdevice a/b', /expected one interface name/],
  ] as const) {
    const r = parseConfigText(`server 127.0.31.9\n${line}\n`, 'chrony.conf', { format: 'chrony' });
    assert.equal(r.config, null, line);
    assert.equal(r.errors[0]?.line, 2, line);
    assert.match(r.errors[0]?.message ?? '', message, line);
  }
});
