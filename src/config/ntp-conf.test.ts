import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAccessTable, isAllowed } from '../core/server/access.js';
import { DISCIPLINE_DEFAULTS } from '../core/engine/engine-api.js';
import { SOURCE_DEFAULTS } from '../core/engine/source-options.js';
import { parseConfigText } from './parse-config.js';
import { formatDiagnostic } from './diagnostics.js';
import { memoryFiles } from '../testing/memory-files.js';

const ntp = (text: string, files: Record<string, string> = {}) => parseConfigText(text, '/etc/ntp.conf', { format: 'ntp', ...memoryFiles(files) });
const messages = (ds: readonly { file: string; line: number; message: string }[]) => ds.map(formatDiagnostic);

test('an empty ntp.conf gets ntpd\'s defaults: step at 0.128 s any time, panic at 1000 s, 500 ppm, serve everyone', () => {
  const r = ntp('');
  assert.deepEqual(r.errors, []);
  const c = r.config;
  assert.ok(c);
  assert.equal(c.format, 'ntp');
  assert.deepEqual(c.discipline, {
    ...DISCIPLINE_DEFAULTS, makestep: { threshold: 0.128, limit: -1 }, maxchange: { offset: 1000, start: 1, ignore: 0 },
    maxslewrate: 500, maxdrift: 500, maxdistance: 1.5,
  });
  assert.equal(c.server.port, 123);
  assert.deepEqual(c.server.access.map((a) => [a.allow, a.subnet]), [[true, null]]);
  assert.equal(c.server.rateLimit, null);
});

test('server/pool/peer options map onto SourceOptions', () => {
  const r = ntp(`server a.example.org iburst burst minpoll 4 maxpoll 10 prefer true version 3 key 5 xleave # trailing comment
pool pool.example.org iburst preempt
peer 192.0.2.1 noselect
server -6 2001:db8::1 bias 0.25
server 127.127.1.0
fudge 127.127.1.0 stratum 10
`);
  assert.deepEqual(messages(r.errors), []);
  const s = r.config?.sources ?? [];
  assert.deepEqual(s[0]?.options, { ...SOURCE_DEFAULTS, kind: 'server', host: 'a.example.org', iburst: true, burst: true, minpoll: 4, maxpoll: 10, prefer: true, trust: true, version: 3, key: 5, xleave: true });
  assert.deepEqual(s.map((x) => [x.options.kind, x.options.host]), [['server', 'a.example.org'], ['pool', 'pool.example.org'], ['peer', '192.0.2.1'], ['server', '2001:db8::1']]);
  assert.equal(s[2]?.options.noselect, true);
  // ntpd's -6 is chrony's ipv6; its bias is chrony's offset.
  assert.deepEqual([s[3]?.options.family, s[3]?.options.offset], ['ipv6', 0.25]);
  assert.deepEqual(messages(r.warnings), [
    '/etc/ntp.conf:2: pool pool.example.org: option preempt not implemented by ntpkit, ignored',
    '/etc/ntp.conf:5: server 127.127.1.0: reference clocks (127.127.t.u) are not supported by ntpkit, ignored',
    '/etc/ntp.conf:6: fudge: not implemented by ntpkit (reference clocks are not supported), ignored',
  ]);
});

/** Whether the access rules of `text` let `addr` be served. */
function served(text: string, addr: string): boolean {
  const c = ntp(text).config;
  assert.ok(c);
  const t = buildAccessTable(c.server.access);
  assert.ok(t.ok);
  return isAllowed(t.table, addr);
}

test('restrict maps to access rules: the most specific entry decides, whatever the order', () => {
  const locked = `restrict 127.0.0.1
restrict 192.168.1.0 mask 255.255.255.0 nomodify notrap
restrict -4 default ignore
restrict -6 default noserve
restrict 192.168.1.66 noserve
restrict ::1
`;
  assert.equal(served(locked, '127.0.0.1'), true);
  assert.equal(served(locked, '192.168.1.5'), true);
  assert.equal(served(locked, '192.168.1.66'), false);
  assert.equal(served(locked, '10.0.0.1'), false);
  assert.equal(served(locked, '::1'), true);
  assert.equal(served(locked, '2001:db8::5'), false);
  // No restrict at all: ntpd serves everyone.
  assert.equal(served('server a.example.org\n', '203.0.113.7'), true);
  assert.equal(served('server a.example.org\n', '2001:db8::7'), true);
  // restrict default covers both families; nomodify etc. do not stop time service.
  assert.equal(served('restrict default ignore\n', '2001:db8::7'), false);
  assert.equal(served('restrict default nomodify notrap nopeer noquery\n', '203.0.113.7'), true);
  assert.equal(served('restrict default noserve\nrestrict 10.0.0.0/8\n', '10.1.2.3'), true);
});

test('Debian\'s stock restrict lines: limited + kod become rate limiting with RATE KoDs, with a warning that it is global', () => {
  const r = ntp(`restrict -4 default kod notrap nomodify nopeer noquery limited
restrict -6 default kod notrap nomodify nopeer noquery limited
restrict 127.0.0.1
restrict ::1
restrict source notrap nomodify noquery
discard average 4 minimum 2
`);
  assert.deepEqual(messages(r.errors), []);
  assert.deepEqual(r.config?.server.rateLimit, { interval: 4, burst: 8, leak: 2, kod: 1 });
  assert.equal(r.config?.server.denyKod, false);
  assert.deepEqual(messages(r.warnings), [
    '/etc/ntp.conf:6: discard minimum: not implemented by ntpkit (chrony\'s ratelimit burst and leak apply), ignored',
    '/etc/ntp.conf:1: restrict: rate limiting ("limited") applies to every client in ntpkit, also to 127.0.0.1/32, ::1/128',
  ]);
});

test('restrict: kod with noserve sends DENY kisses; repeated entries add flags as ntpd does; bad masks are errors', () => {
  const r = ntp('restrict 10.0.0.0 mask 255.0.0.0 kod\nrestrict 10.0.0.0 mask 255.0.0.0 noserve\n');
  assert.equal(r.config?.server.denyKod, true);
  assert.deepEqual(r.config?.server.access.map((a) => [a.allow, a.subnet]), [[true, null], [false, '10.0.0.0/8']]);
  const bad = ntp('restrict 10.0.0.0 mask 255.0.255.0\nrestrict ntp.example.org\nrestrict default frob\nrestrict 10.0.0.0/33\nrestrict source mask 255.0.0.0\n');
  assert.equal(bad.config, null);
  assert.deepEqual(messages(bad.errors), [
    '/etc/ntp.conf:1: restrict: "255.0.255.0" is not a contiguous IPv4 netmask',
    '/etc/ntp.conf:2: restrict: "ntp.example.org" is not an IP address (host names are not accepted here: give an address)',
    '/etc/ntp.conf:3: restrict: unknown flag "frob"',
    '/etc/ntp.conf:4: restrict: bad prefix length in "10.0.0.0/33"',
    '/etc/ntp.conf:5: restrict: "restrict source" takes no mask',
  ]);
  assert.deepEqual(messages(ntp('restrict default notrust version\n').warnings), ['/etc/ntp.conf:1: restrict: flags notrust, version not implemented by ntpkit, ignored']);
});

test('tinker step/panic, tos minsane/maxdist/orphan', () => {
  const c = ntp('tinker panic 0 step 0.5\ntos minsane 3 maxdist 2 orphan 7\n').config;
  assert.ok(c);
  assert.deepEqual(c.discipline.makestep, { threshold: 0.5, limit: -1 });
  assert.equal(c.discipline.maxchange, null);
  assert.equal(c.discipline.minsources, 3);
  assert.equal(c.discipline.maxdistance, 2);
  assert.deepEqual(c.server.local, { stratum: 7, orphan: true, distance: 1 });
  const never = ntp('tinker step 0 panic 600\n').config;
  assert.equal(never?.discipline.makestep, null);
  assert.deepEqual(never?.discipline.maxchange, { offset: 600, start: 1, ignore: 0 });
  const r = ntp('tinker stepout 300\ntos maxclock 7\n');
  assert.deepEqual(messages(r.warnings), ['/etc/ntp.conf:1: tinker stepout: not implemented by ntpkit, ignored', '/etc/ntp.conf:2: tos maxclock: not implemented by ntpkit, ignored']);
  assert.deepEqual(messages(ntp('tinker step\ntinker wobble 3\ntos minsane 0\ntos frob 1\n').errors), [
    '/etc/ntp.conf:1: tinker: expected KEY VALUE pairs, got "step"',
    '/etc/ntp.conf:2: tinker: unknown option "wobble"',
    '/etc/ntp.conf:3: tos: minsane must be a whole number >= 1, got "0"',
    '/etc/ntp.conf:4: tos: unknown option "frob"',
  ]);
});

test('files, statistics, keys and the directives that only warn', () => {
  const r = ntp(`driftfile /var/lib/ntp/ntp.drift
logfile /var/log/ntp.log
statsdir /var/log/ntpstats/
statistics loopstats peerstats clockstats sysstats
filegen loopstats file loopstats type day enable
leapfile /usr/share/zoneinfo/leap-seconds.list
keys /etc/ntp/keys
trustedkey 1 2
controlkey 1
requestkey 1
disable monitor
enable kernel
broadcastclient
interface listen 127.0.0.1
interface ignore wildcard
includefile /etc/ntp/extra.conf
`, { '/etc/ntp/extra.conf': 'server extra.example.org iburst\n' });
  assert.deepEqual(messages(r.errors), []);
  const c = r.config;
  assert.ok(c);
  assert.equal(c.driftfile, '/var/lib/ntp/ntp.drift');
  assert.equal(c.logfile, '/var/log/ntp.log');
  assert.equal(c.logdir, '/var/log/ntpstats/');
  assert.deepEqual(c.log, ['tracking', 'measurements', 'refclocks']);
  assert.equal(c.leapseclist, '/usr/share/zoneinfo/leap-seconds.list');
  assert.equal(c.keyfile, '/etc/ntp/keys');
  assert.deepEqual(c.server.bindAddresses, ['127.0.0.1']);
  assert.deepEqual(c.files, ['/etc/ntp.conf', '/etc/ntp/extra.conf']);
  assert.deepEqual(c.sources.map((s) => `${s.file}:${s.line} ${s.options.host}`), ['/etc/ntp/extra.conf:1 extra.example.org']);
  assert.deepEqual(messages(r.warnings), [
    '/etc/ntp.conf:4: statistics: sysstats not implemented by ntpkit, ignored',
    '/etc/ntp.conf:5: filegen: not implemented by ntpkit (file generation sets are not implemented (statistics use statsdir with chrony\'s file names)), ignored',
    '/etc/ntp.conf:8: trustedkey: not implemented by ntpkit (every key in the keys file is trusted, as in chrony), ignored',
    '/etc/ntp.conf:9: controlkey: not implemented by ntpkit (mode 6 requests that need a key (writes, configuration) are refused; queries need none), ignored',
    '/etc/ntp.conf:10: requestkey: not implemented by ntpkit (mode 7 requests are not supported), ignored',
    '/etc/ntp.conf:11: disable monitor: not implemented by ntpkit, ignored',
    '/etc/ntp.conf:12: enable kernel: not implemented by ntpkit, ignored',
    '/etc/ntp.conf:13: broadcastclient: not implemented by ntpkit (broadcast mode is not supported), ignored',
    '/etc/ntp.conf:15: interface ignore wildcard: not implemented by ntpkit (only "interface listen ADDRESS" maps, to bindaddress), ignored',
  ]);
});

test('unknown ntp.conf directives and options are errors', () => {
  const r = ntp('server a.example.org maxsources 3\nmakestep 1 3\nstatistics everything\nenable frob\nincludefile /missing.conf\n');
  assert.equal(r.config, null);
  assert.deepEqual(messages(r.errors), [
    '/etc/ntp.conf:1: server: unknown option "maxsources"',
    '/etc/ntp.conf:2: unknown directive "makestep"',
    '/etc/ntp.conf:3: statistics: unknown statistics "everything" (expected loopstats, peerstats, rawstats, clockstats, sysstats, cryptostats, protostats, timingstats, usestats, ntsstats, ntskestats)',
    '/etc/ntp.conf:4: enable: unknown flag "frob" (expected auth, bclient, calibrate, kernel, mode7, monitor, ntp, stats, peer_clear_digest_early, unpeer_crypto_early, unpeer_crypto_nak_early, unpeer_digest_early, manycastserver)',
    '/etc/ntp.conf:5: includefile: cannot read /missing.conf: ENOENT (no such file or directory)',
  ]);
});

test('a restrict list longer than the call stack can spread: every entry becomes a rule', () => {
  const lines: string[] = [];
  for (let i = 0; i < 150_000; i++) lines.push(`restrict 10.${(i >> 8) & 255}.${i & 255}.${(i >> 16) & 255} mask 255.255.255.255 noserve`);
  const r = parseConfigText(`${lines.join('\n')}\n`, '/etc/ntp.conf', { format: 'ntp' });
  assert.deepEqual(r.errors, []);
  assert.equal(r.config?.server.access.length, 150_001);
});
