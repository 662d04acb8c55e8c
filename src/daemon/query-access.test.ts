import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../config/parse-config.js';
import { ControlQueryServer, DEFAULT_QUERY_RATE_LIMIT } from '../core/server/mode6-server.js';
import { sampleQueryView } from '../core/server/mode6-view.test-helper.js';
import { queryAccessTable } from './query-access.js';

/** Which of `addresses` get an answer to `ntpq -c rv` from a daemon with this config. */
function answered(text: string, name: string, addresses: readonly string[]): string[] {
  const r = parseConfigText(text, name);
  assert.ok(r.config, JSON.stringify(r.errors));
  const server = new ControlQueryServer({ access: queryAccessTable(r.config.server), rateLimit: DEFAULT_QUERY_RATE_LIMIT });
  const rv = Uint8Array.from([0x16, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  return addresses.filter((address) => server.handle({ packet: rv, address, port: 40000, elapsed: 0, view: () => sampleQueryView() }).action === 'respond');
}

const ADDRESSES = ['127.0.0.1', '127.0.35.9', '::1', '192.0.2.7', '198.51.100.3', '2001:db8::5'];

test('chrony.conf: loopback only, whatever allow serves NTP to', () => {
  assert.deepEqual(answered('allow all\nserver 192.0.2.1\n', 'chrony.conf', ADDRESSES), ['127.0.0.1', '127.0.35.9', '::1']);
});

test('chrony.conf: cmdallow opens more, cmddeny takes away (loopback too), with allow/deny\'s rules', () => {
  assert.deepEqual(answered('allow all\ncmdallow 192.0.2.0/24\ncmdallow 2001:db8::/32\n', 'chrony.conf', ADDRESSES), ['127.0.0.1', '127.0.35.9', '::1', '192.0.2.7', '2001:db8::5']);
  assert.deepEqual(answered('cmdallow\ncmddeny 198.51.100.0/24\n', 'chrony.conf', ADDRESSES), ['127.0.0.1', '127.0.35.9', '::1', '192.0.2.7', '2001:db8::5']);
  assert.deepEqual(answered('cmddeny 127.0.0.1\n', 'chrony.conf', ADDRESSES), ['127.0.35.9', '::1']);
  assert.deepEqual(answered('cmddeny all\n', 'chrony.conf', ADDRESSES), []);
  const bad = parseConfigText('cmdallow ntp.example.net\n', 'chrony.conf');
  assert.equal(bad.config, null);
  assert.match(bad.errors[0]?.message ?? '', /cmdallow.*not an address or subnet/);
  assert.equal(bad.errors[0]?.line, 1);
});

test('ntp.conf: restrict entries without noquery permit queries, noquery and ignore refuse them, loopback stays', () => {
  // Debian's ntp.conf: queries from loopback only.
  const debian = 'restrict -4 default kod notrap nomodify nopeer noquery limited\nrestrict -6 default kod notrap nomodify nopeer noquery limited\nrestrict 127.0.0.1\nrestrict ::1\n';
  assert.deepEqual(answered(debian, 'ntp.conf', ADDRESSES), ['127.0.0.1', '127.0.35.9', '::1']);
  // No noquery: ntpd answers everyone, and so does ntpkit.
  assert.deepEqual(answered('restrict default kod limited nomodify\n', 'ntp.conf', ADDRESSES), ADDRESSES);
  // The most specific entry decides.
  const mixed = 'restrict default noquery\nrestrict 192.0.2.0/24\nrestrict 198.51.100.0 mask 255.255.255.0 ignore\nrestrict 127.0.35.0/24 noquery\n';
  assert.deepEqual(answered(mixed, 'ntp.conf', ADDRESSES), ['127.0.0.1', '::1', '192.0.2.7']);
});
