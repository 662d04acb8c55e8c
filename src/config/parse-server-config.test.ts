import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic } from './diagnostics.js';
import { lexChronyConf } from './lexer.js';
import { parseServerConfig } from './parse-server-config.js';

const parse = (text: string) => parseServerConfig(lexChronyConf(text, 'test.conf'));

test('comments, blank lines and case follow chrony.conf(5)', () => {
  const lines = lexChronyConf('# c\n% c\n; c\n! c\n\n  PORT  11123 \nallow\t127.0.0.1\n', 'f');
  assert.deepEqual(lines.map((l) => [l.line, l.directive, l.args]), [[6, 'port', ['11123']], [7, 'allow', ['127.0.0.1']]]);
});

test('a typical server config loads with chrony defaults', () => {
  const r = parse(`
port 123
bindaddress 127.0.0.2
bindaddress ::1
allow 127.0.0.0/8
deny 127.0.0.9
allow all 10/8
local stratum 1
ratelimit interval 1 burst 16
`);
  assert.deepEqual(r.errors, []);
  const c = r.config;
  assert.ok(c);
  assert.equal(c.port, 123);
  assert.deepEqual(c.bindAddresses, ['127.0.0.2', '::1']);
  assert.deepEqual(c.access.map((a) => [a.allow, a.all, a.subnet, a.line]),
    [[true, false, '127.0.0.0/8', 5], [false, false, '127.0.0.9', 6], [true, true, '10/8', 7]]);
  assert.deepEqual(c.local, { stratum: 1, orphan: false, distance: 1 });
  assert.deepEqual(c.rateLimit, { interval: 1, burst: 16, leak: 2, kod: 0 });
  assert.equal(c.xleave, true);
  assert.equal(c.denyKod, false);
  assert.equal(parse('denykod\nxleave off').config?.denyKod, true);
  assert.equal(parse('xleave off').config?.xleave, false);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.access) && Object.isFrozen(c.access[0]));
});

test('the seeds\' client directives load, each named in a warning', () => {
  const r = parse('server ntp.cloud.aliyuncs.com minpoll 4 maxpoll 10 iburst\ndriftfile /var/lib/chrony/drift\nmakestep 1.0 3\nrtcsync\n');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings.map(formatDiagnostic), [
    'test.conf:1: server: not used by ntpkit server, ignored',
    'test.conf:2: driftfile: not used by ntpkit server, ignored',
    'test.conf:3: makestep: not used by ntpkit server, ignored',
    'test.conf:4: rtcsync: not used by ntpkit server, ignored',
  ]);
});

test('bad lines are errors naming file and line, and no config comes out', () => {
  const r = parse('port 123\nport 70000\nallow 300.1.1.1\nallow ntp.example.org\nratelimit interval 1 burst 0\nlocal stratum 16\nfrobnicate yes\nbindaddress 10.1\nxleave maybe\n');
  assert.equal(r.config, null);
  assert.deepEqual(r.errors.map(formatDiagnostic), [
    'test.conf:2: port: expected a port number from 0 to 65535, got "70000"',
    'test.conf:3: allow: "300.1.1.1" is not an address or subnet (host names are not accepted here: give an address or subnet)',
    'test.conf:4: allow: "ntp.example.org" is not an address or subnet (host names are not accepted here: give an address or subnet)',
    'test.conf:5: ratelimit: burst must be an integer from 1 to 255, got "0"',
    'test.conf:6: local: stratum must be an integer from 1 to 15, got "16"',
    'test.conf:7: unknown directive "frobnicate"',
    'test.conf:8: bindaddress: expected one IPv4 or IPv6 address, got "10.1"',
    'test.conf:9: xleave: expected "on" or "off", got "maybe"',
  ]);
});
