import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ntpConfToChrony } from './ntp-to-chrony.js';
import { parseConfigText } from './parse-config.js';

/** The directive lines of a conversion (comments and blanks dropped). */
const directives = (text: string): string[] => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
const convert = (text: string): string[] => directives(ntpConfToChrony(text, 'ntp.conf').text);

test('servers, pools and peers keep their options in chrony spelling; what has none is dropped with a note', () => {
  assert.deepEqual(convert('server a.example.org iburst minpoll 4 maxpoll 10 prefer true key 3 version 3\npool p.example.org iburst preempt\npeer 192.0.2.1 xleave\ntinker step 0\n'), [
    'server a.example.org iburst minpoll 4 maxpoll 10 prefer trust key 3 version 3', 'pool p.example.org iburst', 'peer 192.0.2.1 xleave',
  ]);
  const r = ntpConfToChrony('pool p.example.org iburst preempt\n', 'ntp.conf');
  assert.match(r.text, /^#ntp\.conf: pool p\.example\.org iburst preempt {2}-- dropped preempt \(chrony replaces unreachable pool servers by itself\)\npool p\.example\.org iburst$/m);
  assert.equal(r.converted, 1);
});

test('restrict: allow or deny by prefix, default for both families or one, names and source left as comments', () => {
  assert.deepEqual(convert('restrict default kod nomodify notrap nopeer noquery\nrestrict -6 default ignore\nrestrict 10.0.0.0 mask 255.0.0.0 nomodify\nrestrict 192.0.2.7 noserve\nrestrict 2001:db8::/32\n'), [
    'allow', 'deny ::/0', 'allow 10.0.0.0/8', 'deny 192.0.2.7', 'allow 2001:db8::/32', 'makestep 0.128 -1',
  ]);
  // limited: one global ratelimit with ntpd's discard defaults, written once.
  assert.deepEqual(convert('restrict -4 default limited\nrestrict -6 default limited\n').slice(0, 3), ['allow 0.0.0.0/0', 'ratelimit interval 3 burst 8', 'allow ::/0']);
  const r = ntpConfToChrony('restrict source nomodify\nrestrict ntp.example.org nomodify\nrestrict 10.0.0.0 mask 255.0.255.0\n', 'ntp.conf');
  assert.deepEqual(r.commented.map((c) => c.line), [1, 2, 3]);
  assert.match(r.text, /^#ntp\.conf: restrict ntp\.example\.org nomodify {2}-- not converted: chrony's allow\/deny take addresses, not names/m);
});

test('tinker and tos where chrony has an equivalent; ntpd\'s step default written out when no tinker step', () => {
  assert.deepEqual(convert('tinker panic 600 step 0.5 stepout 300\ntos minsane 2 maxdist 3 orphan 8 floor 2\n'), ['maxchange 600 1 0', 'makestep 0.5 -1', 'minsources 2', 'maxdistance 3', 'local stratum 8 orphan']);
  assert.match(ntpConfToChrony('tinker stepout 300\n', 'x').text, /not converted: stepout 300/);
  assert.deepEqual(convert('server a.example.org\n'), ['server a.example.org', 'makestep 0.128 -1']);
  assert.deepEqual(convert('tinker step 0\n'), []);
});

test('driftfile, keys, statistics, leapfile, pidfile; the local clock with its fudge stratum; a SHM refclock', () => {
  assert.deepEqual(convert('driftfile /var/lib/ntp/drift\nkeys /etc/ntp/keys\nstatsdir /var/log/ntpstats/\nstatistics loopstats peerstats cryptostats\nleapfile /usr/share/zoneinfo/leap-seconds.list\npidfile /run/ntpd.pid\nserver 127.127.1.0\nfudge 127.127.1.0 stratum 8\nserver 127.127.28.1\n'), [
    'driftfile /var/lib/ntp/drift', 'keyfile /etc/ntp/keys', 'logdir /var/log/ntpstats/', 'log tracking measurements', 'leapsectz right/UTC', 'pidfile /run/ntpd.pid', 'local stratum 8', 'refclock SHM 1', 'makestep 0.128 -1',
  ]);
});

test('comments, blank lines and order are kept; a trailing comment gets its own line; unknown lines stay as comments', () => {
  const r = ntpConfToChrony('# head\n\nserver a.example.org iburst # the main one\nbroadcastclient\nfrobnicate 1\n', 'ntp.conf');
  const body = r.text.split('\n').slice(3);
  assert.deepEqual(body.slice(0, 6), [
    '# head', '', '# the main one', 'server a.example.org iburst',
    '#ntp.conf: broadcastclient  -- not converted: chrony does not listen to broadcast servers',
    '#ntp.conf: frobnicate 1  -- not converted: unknown ntp.conf directive "frobnicate"',
  ]);
  assert.deepEqual(r.commented.map((c) => c.line), [4, 5]);
});

test('every conversion loads in ntpkit as chrony.conf with no error', () => {
  const text = 'driftfile /var/lib/ntp/drift\nrestrict default kod nomodify\nrestrict -6 default limited\nrestrict 10.0.0.0 mask 255.0.0.0\nserver 127.127.1.0\nfudge 127.127.1.0 stratum 10\nserver a.example.org iburst minpoll 4 maxpoll 10\npool p.example.org iburst\ntos minsane 1\ntinker panic 0\nstatistics loopstats\nleapfile /x\n';
  const r = parseConfigText(ntpConfToChrony(text, 'ntp.conf').text, 'converted.conf', { format: 'chrony' });
  assert.deepEqual(r.errors, []);
});
