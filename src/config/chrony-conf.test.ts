import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DISCIPLINE_DEFAULTS } from '../core/engine/engine-api.js';
import { SOURCE_DEFAULTS } from '../core/engine/source-options.js';
import { DEFAULT_CONTROLSOCKET, DEFAULT_HTTP_PORT } from './config.js';
import { parseConfigText } from './parse-config.js';
import { formatDiagnostic } from './diagnostics.js';
import { memoryFiles } from '../testing/memory-files.js';

const chrony = (text: string, files: Record<string, string> = {}) =>
  parseConfigText(text, 'chrony.conf', { format: 'chrony', ...memoryFiles(files) });
const messages = (ds: readonly { file: string; line: number; message: string }[]) => ds.map(formatDiagnostic);

test('an empty chrony.conf gives chrony\'s defaults', () => {
  const r = chrony('');
  assert.deepEqual(r.errors, []);
  const c = r.config;
  assert.ok(c);
  assert.equal(c.format, 'chrony');
  assert.deepEqual(c.files, ['chrony.conf']);
  assert.deepEqual(c.sources, []);
  assert.deepEqual(c.discipline, DISCIPLINE_DEFAULTS);
  assert.equal(c.driftfile, null);
  assert.equal(c.server.port, 123);
  // chrony serves nothing until an allow.
  assert.deepEqual(c.server.access, []);
  assert.equal(c.controlsocket, DEFAULT_CONTROLSOCKET);
  assert.deepEqual(c.command, { bind: [], port: 323, access: [] });
  assert.deepEqual([c.logdir, c.log, c.leapsectz, c.leapseclist, c.keyfile, c.logfile, c.httpaddress], [null, [], null, null, null, null, null]);
});

test('server, pool and peer lines with every implemented option', () => {
  const r = chrony(`
server a.example.org minpoll 0 maxpoll 2 iburst burst prefer noselect trust require maxdelay 0.5 minsamples 4 maxsamples 32 polltarget 12 port 11123 version 3 xleave key 7 nts
pool pool.example.org iburst maxsources 3
peer 192.0.2.1
server 2001:db8::1 MINPOLL -6 maxpoll 24
`);
  assert.deepEqual(messages(r.errors), []);
  const s = r.config?.sources ?? [];
  assert.deepEqual(s.map((x) => [x.options.kind, x.options.host, x.line]), [
    ['server', 'a.example.org', 2], ['pool', 'pool.example.org', 3], ['peer', '192.0.2.1', 4], ['server', '2001:db8::1', 5],
  ]);
  assert.deepEqual(s[0]?.options, {
    ...SOURCE_DEFAULTS, kind: 'server', host: 'a.example.org', minpoll: 0, maxpoll: 2, iburst: true, burst: true, prefer: true,
    noselect: true, trust: true, require: true, maxdelay: 0.5, minsamples: 4, maxsamples: 32, polltarget: 12, port: 11123,
    version: 3, xleave: true, key: 7, nts: true,
  });
  assert.deepEqual(s[1]?.options, { ...SOURCE_DEFAULTS, kind: 'pool', host: 'pool.example.org', iburst: true, maxsources: 3 });
  assert.deepEqual(s[2]?.options, { ...SOURCE_DEFAULTS, kind: 'peer', host: '192.0.2.1' });
  assert.deepEqual([s[3]?.options.minpoll, s[3]?.options.maxpoll], [-6, 24]);
  assert.deepEqual(messages(r.warnings), []);
});

test('a peer refuses xleave (interleaved symmetric mode) and nts, naming file:line and the option', () => {
  assert.deepEqual(messages(chrony('peer 192.0.2.1 key 1 xleave\n').errors), ['chrony.conf:1: peer: 192.0.2.1: option xleave (interleaved symmetric mode) is not implemented by ntpkit']);
  assert.deepEqual(messages(chrony('\npeer 192.0.2.1 nts\n').errors), ['chrony.conf:2: peer: 192.0.2.1: option nts cannot secure a peer (NTS has no symmetric mode); use key N']);
  assert.deepEqual(messages(chrony('server 192.0.2.1 xleave\n').errors), []);
});

test('chrony source options set their fields; extfield, maxdelayquant and certset N are refused at file:line', () => {
  const r = chrony('server a.example.org offline auto_offline maxdelayratio 2 maxdelaydevratio 5 presend 9 minstratum 3 filter 4 certset 0 copy ipv4 mindelay 0.001 asymmetry 0.1 offset 0.0001\n');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(messages(r.warnings), []);
  const o = r.config?.sources[0]?.options;
  assert.deepEqual(
    [o?.offline, o?.autoOffline, o?.maxdelayratio, o?.maxdelaydevratio, o?.presend, o?.minstratum, o?.filter, o?.copy, o?.family, o?.mindelay, o?.asymmetry, o?.offset],
    [true, true, 2, 5, 9, 3, 4, true, 'ipv4', 0.001, 0.1, 0.0001],
  );
  const bad = chrony('server a.example.org extfield F323\nserver b.example.org maxdelayquant 0.5\nserver c.example.org certset 1\nserver d.example.org asymmetry x\nserver e.example.org maxdelayratio 0.5\n');
  assert.equal(bad.config, null);
  assert.deepEqual(messages(bad.errors), [
    'chrony.conf:1: server: option extfield is not supported: the F323 extension field (chrony 4.3\'s only one) is not implemented',
    'chrony.conf:2: server: option maxdelayquant is not supported: the delay quantile test is not implemented (use maxdelaydevratio or maxdelayratio)',
    'chrony.conf:3: server: option certset 1 is not supported: only the default set 0 is (certificate sets are not implemented)',
    'chrony.conf:4: server: asymmetry must be a number, got "x"',
    'chrony.conf:5: server: maxdelayratio must be a number from 1 to 1000000000, got "0.5"',
  ]);
});

test('discipline, serving, control and logging directives', () => {
  const r = chrony(`
driftfile /var/lib/chrony/drift
makestep 0.1 3
maxslewrate 1000
maxchange 1000 1 2
maxdistance 16
minsources 2
maxdrift 100000
leapsecmode slew
leapsectz right/UTC
local stratum 10 orphan distance 0.1
allow 10/8
deny 10.1.2.3
ratelimit interval 1 burst 16
port 11123
bindaddress 127.0.0.1
bindcmdaddress /tmp/ntpkit-test.sock
bindcmdaddress 127.0.0.1
cmdport 0
logdir /var/log/chrony
log measurements statistics
log tracking measurements
makestep 1 -1
`);
  assert.deepEqual(messages(r.errors), []);
  const c = r.config;
  assert.ok(c);
  assert.equal(c.driftfile, '/var/lib/chrony/drift');
  assert.deepEqual(c.discipline, {
    ...DISCIPLINE_DEFAULTS, makestep: { threshold: 1, limit: -1 }, maxslewrate: 1000, maxchange: { offset: 1000, start: 1, ignore: 2 },
    maxdistance: 16, minsources: 2, maxdrift: 100000, leapsecmode: 'slew',
  });
  assert.equal(c.leapsectz, 'right/UTC');
  assert.deepEqual(c.server.local, { stratum: 10, orphan: true, distance: 0.1 });
  assert.deepEqual(c.server.access.map((a) => [a.allow, a.subnet]), [[true, '10/8'], [false, '10.1.2.3']]);
  assert.deepEqual(c.server.rateLimit, { interval: 1, burst: 16, leak: 2, kod: 0 });
  assert.equal(c.server.port, 11123);
  assert.deepEqual(c.server.bindAddresses, ['127.0.0.1']);
  assert.deepEqual(c.command, { bind: ['/tmp/ntpkit-test.sock', '127.0.0.1'], port: 0, access: [] });
  assert.equal(c.controlsocket, DEFAULT_CONTROLSOCKET);
  assert.equal(c.logdir, '/var/log/chrony');
  assert.deepEqual(c.log, ['measurements', 'statistics', 'tracking']);
  assert.deepEqual(messages(r.warnings), []);
});

test('the result is deep-frozen', () => {
  const c = chrony('server a.example.org\nallow\nmakestep 1 3\nlog tracking\n').config;
  assert.ok(c);
  for (const o of [c, c.files, c.sources, c.sources[0], c.sources[0]?.options, c.discipline, c.discipline.makestep, c.server, c.server.access, c.server.access[0], c.log]) {
    assert.ok(Object.isFrozen(o));
  }
  assert.throws(() => { (c.discipline as { maxdistance: number }).maxdistance = 1; }, TypeError);
});

test('global minsamples/maxsamples fill in sources without their own; values above 64 are clamped as chronyd does', () => {
  const r = chrony('server a.example.org\nserver b.example.org minsamples 8 maxsamples 100\nminsamples 6\nmaxsamples 16\n');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.config?.sources.map((s) => [s.options.minsamples, s.options.maxsamples]), [[6, 16], [8, 64]]);
  assert.deepEqual(messages(r.warnings), ['chrony.conf:2: maxsamples 100 is above 64; using 64 (as chronyd does)']);
});

test('maxpoll below minpoll is raised to minpoll, with a warning', () => {
  const r = chrony('server a.example.org minpoll 8\n');
  assert.deepEqual(r.config?.sources.map((s) => [s.options.minpoll, s.options.maxpoll]), [[8, 10]]);
  const r2 = chrony('server a.example.org minpoll 8 maxpoll 4\n');
  assert.deepEqual(r2.config?.sources.map((s) => [s.options.minpoll, s.options.maxpoll]), [[8, 8]]);
  assert.deepEqual(messages(r2.warnings), ['chrony.conf:1: server a.example.org: maxpoll 4 is below minpoll 8; using maxpoll 8 (as chronyd does)']);
});

test('known chrony directives that change nothing observable, and chronyd\'s obsolete ones, are warnings saying why; keyfile is recorded for the daemon', () => {
  const r = chrony('hwtstimeout 0.001\nkeyfile /etc/chrony/chrony.keys\ndumponexit\nntscachedir /var/lib/chrony\ncommandkey 1\nntsprocesses 2\n');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(messages(r.warnings), [
    'chrony.conf:1: hwtstimeout: not implemented by ntpkit (it times out hardware transmit stamps, which ntpkit never gets: hardware timestamping always falls back to kernel stamps here), ignored',
    'chrony.conf:3: dumponexit: this directive is no longer supported by chronyd, ignored',
    'chrony.conf:5: commandkey: this directive is no longer supported by chronyd, ignored',
    'chrony.conf:6: ntsprocesses: not implemented by ntpkit (ntpkit\'s NTS-KE server runs in the daemon; the number of helper processes only spreads load), ignored',
  ]);
  assert.equal(r.config?.keyfile, '/etc/chrony/chrony.keys');
  // chrony's older name for ntsdumpdir, which chronyd 4.3 still reads.
  assert.equal(r.config?.server.nts.dumpDir, '/var/lib/chrony');
});

test('known chrony directives that ntpkit does not implement and that would change what the daemon does refuse to start, naming file:line and why', () => {
  const r = chrony('server a.example.org iburst\ntempcomp /sys/temp 30 26000 0.0 0.000183 0.0\nmailonchange root@localhost 0.5\ncmdratelimit interval 2\n');
  assert.equal(r.config, null);
  assert.deepEqual(messages(r.errors), [
    'chrony.conf:2: tempcomp: temperature compensation is not implemented',
    'chrony.conf:3: mailonchange: ntpkit sends no mail',
    'chrony.conf:4: cmdratelimit: rate limiting of the UDP command port is not implemented (only localhost and cmdallow hosts reach it)',
  ]);
});

test('unknown directives and bad values are errors with file:line, and no config comes out', () => {
  const r = chrony(`server a.example.org
frobnicate 1
server
server bad/host
server a.example.org minpoll 25
server a.example.org maxdelay 0
server a.example.org bogus
server a.example.org version 5
pool p.example.org maxsources 17
makestep 1
makestep x 3
maxchange 1000 1
maxslewrate 0
rtcsync yes
leapsecmode smear
log everything
driftfile
bindcmdaddress run/sock
cmdport 70000
allow 300.1.1.1
server a.example.org maxdelayratio
`);
  assert.equal(r.config, null);
  assert.deepEqual(messages(r.errors), [
    'chrony.conf:2: unknown directive "frobnicate"',
    'chrony.conf:3: server: expected a host name or address',
    'chrony.conf:4: server: "bad/host" is not a host name or an IP address',
    'chrony.conf:5: server: minpoll must be an integer from -6 to 24, got "25"',
    'chrony.conf:6: server: maxdelay must be a number of seconds above 0 and at most 1000, got "0"',
    'chrony.conf:7: server: unknown option "bogus"',
    'chrony.conf:8: server: version must be an integer from 1 to 4, got "5"',
    'chrony.conf:9: pool: maxsources must be an integer from 1 to 16, got "17"',
    'chrony.conf:10: makestep: expected a threshold in seconds and a limit of updates (an integer, negative for no limit), got "1"',
    'chrony.conf:11: makestep: expected a threshold in seconds and a limit of updates (an integer, negative for no limit), got "x 3"',
    'chrony.conf:12: maxchange: expected an offset in seconds (> 0), a number of updates before the check starts and a number of offsets to ignore, got "1000 1"',
    'chrony.conf:13: maxslewrate: expected a number of ppm above 0, got "0"',
    'chrony.conf:14: rtcsync: expected no arguments, got "yes"',
    'chrony.conf:15: leapsecmode: expected system, step, slew or ignore, got "smear"',
    'chrony.conf:16: log: unknown option "everything" (expected rawmeasurements, measurements, statistics, selection, tracking, rtc, refclocks, tempcomp)',
    'chrony.conf:17: driftfile: expected one file name, got ""',
    'chrony.conf:18: bindcmdaddress: expected a Unix socket path (starting with /) or an IP address, got "run/sock"',
    'chrony.conf:19: cmdport: expected a port number from 0 to 65535, got "70000"',
    'chrony.conf:20: allow: "300.1.1.1" is not an address or subnet (host names are not accepted here: give an address or subnet)',
    'chrony.conf:21: server: option maxdelayratio needs a value',
  ]);
});

test('include expands a glob in place, sorted; at least one file must match', () => {
  const files = {
    '/etc/chrony/chrony.d/b.conf': 'server b.example.org\n',
    '/etc/chrony/chrony.d/a.conf': 'server a.example.org\nmakestep 1 3\n',
    '/etc/chrony/chrony.d/.hidden.conf': 'frobnicate\n',
    '/etc/chrony/chrony.d/c.txt': 'frobnicate\n',
    '/etc/chrony/extra.conf': 'maxdistance 5\n',
  };
  const r = chrony('server first.example.org\ninclude /etc/chrony/chrony.d/*.conf\ninclude /etc/chrony/extra.conf\nserver last.example.org\nmakestep 2 1\n', files);
  assert.deepEqual(messages(r.errors), []);
  const c = r.config;
  assert.ok(c);
  assert.deepEqual(c.files, ['chrony.conf', '/etc/chrony/chrony.d/a.conf', '/etc/chrony/chrony.d/b.conf', '/etc/chrony/extra.conf']);
  assert.deepEqual(c.sources.map((s) => `${s.file}:${s.line} ${s.options.host}`), [
    'chrony.conf:1 first.example.org', '/etc/chrony/chrony.d/a.conf:1 a.example.org', '/etc/chrony/chrony.d/b.conf:1 b.example.org', 'chrony.conf:4 last.example.org',
  ]);
  // The later line wins: the main file's makestep comes after the included one.
  assert.deepEqual(c.discipline.makestep, { threshold: 2, limit: 1 });
  assert.equal(c.discipline.maxdistance, 5);

  assert.deepEqual(messages(chrony('include /etc/chrony/none/*.conf\n', files).errors), ['chrony.conf:1: include: no file matches /etc/chrony/none/*.conf']);
  assert.deepEqual(messages(chrony('include /etc/chrony/missing.conf\n', files).errors), ['chrony.conf:1: include: cannot read /etc/chrony/missing.conf: ENOENT (no such file or directory)']);
  // An error inside an included file names that file.
  assert.deepEqual(messages(chrony('include /x.conf\n', { '/x.conf': 'server ok.example.org\nfrobnicate\n' }).errors), ['/x.conf:2: unknown directive "frobnicate"']);
  // Without file access (parseConfigText on a string), including is an error, not a silent skip.
  assert.deepEqual(messages(parseConfigText('include /x.conf\n', 'chrony.conf', { format: 'chrony' }).errors), ['chrony.conf:1: include: cannot read other files here (no file access given)']);
});

test('an include loop stops with an error', () => {
  const r = chrony('include /a.conf\n', { '/a.conf': 'include /b.conf\n', '/b.conf': 'include /a.conf\n' });
  assert.equal(r.config, null);
  assert.equal(r.errors.length, 1);
  assert.match(formatDiagnostic(r.errors[0] as never), /^\/[ab]\.conf:1: include: files included more than 10 levels deep/);
});

test('confdir: *.conf from several directories, the first directory wins a name, sorted by name', () => {
  const files = {
    '/etc/chrony/conf.d/20-b.conf': 'server etc-b.example.org\n',
    '/etc/chrony/conf.d/10-a.conf': 'server etc-a.example.org\n',
    '/usr/lib/chrony/conf.d/10-a.conf': 'server usr-a.example.org\n',
    '/usr/lib/chrony/conf.d/15-c.conf': 'server usr-c.example.org\n',
    '/usr/lib/chrony/conf.d/README': 'not a config\n',
  };
  const r = chrony('confdir /etc/chrony/conf.d /usr/lib/chrony/conf.d /nonexistent\n', files);
  assert.deepEqual(messages(r.errors), []);
  assert.deepEqual(r.config?.sources.map((s) => s.options.host), ['etc-a.example.org', 'usr-c.example.org', 'etc-b.example.org']);
  assert.deepEqual(r.config?.files.slice(1), ['/etc/chrony/conf.d/10-a.conf', '/usr/lib/chrony/conf.d/15-c.conf', '/etc/chrony/conf.d/20-b.conf']);
});

test('sourcedir: *.sources files, which may hold only sources', () => {
  const files = {
    '/run/chrony-dhcp/eth0.sources': 'server 192.0.2.10 iburst\n',
    '/etc/chrony/sources.d/local.sources': 'pool pool.example.org\n',
    '/etc/chrony/sources.d/local.conf': 'server ignored.example.org\n',
    '/bad/x.sources': 'server 192.0.2.11\nmakestep 1 3\n',
  };
  const r = chrony('sourcedir /run/chrony-dhcp\nsourcedir /etc/chrony/sources.d\n', files);
  assert.deepEqual(messages(r.errors), []);
  assert.deepEqual(r.config?.sources.map((s) => s.options.host), ['192.0.2.10', 'pool.example.org']);
  assert.deepEqual(messages(chrony('sourcedir /bad\n', files).errors), ['/bad/x.sources:2: "makestep" is not allowed in a sourcedir file (only server, pool, peer and refclock)']);
});

test('httpaddress: an IP and an optional port, in chrony.conf and ntp.conf alike; bad ones name file and line', () => {
  assert.deepEqual(chrony('httpaddress 127.0.0.1\n').config?.httpaddress, { address: '127.0.0.1', port: DEFAULT_HTTP_PORT });
  assert.deepEqual(chrony('httpaddress ::1 0\n').config?.httpaddress, { address: '::1', port: 0 });
  assert.deepEqual(chrony('httpaddress [::1] 8080\n').config?.httpaddress, { address: '::1', port: 8080 });
  assert.deepEqual(parseConfigText('httpaddress 0.0.0.0 9100\n', 'ntp.conf', { format: 'ntp' }).config?.httpaddress, { address: '0.0.0.0', port: 9100 });
  for (const [line, why] of [['httpaddress localhost', 'expected an IP address'], ['httpaddress 127.0.0.1 70000', 'expected a port number'], ['httpaddress', 'expected an IP address and an optional port'], ['httpaddress 127.0.0.1 80 x', 'expected an IP address and an optional port']]) {
    const r = chrony(`${line}\n`);
    assert.equal(r.config, null, line);
    assert.match(formatDiagnostic(r.errors[0]!), new RegExp(`^chrony\\.conf:1: httpaddress: ${why}`), line);
  }
});

test('logchange sets the threshold of the "clock wrong by" report; it must be a positive number of seconds', () => {
  const ok = chrony('logchange 0.5\n');
  assert.deepEqual(messages(ok.warnings), []);
  assert.equal(ok.config?.discipline.logchange, 0.5);
  assert.equal(chrony('server 192.0.2.1\n').config?.discipline.logchange, 1);
  const bad = chrony('logchange soon\n');
  assert.equal(bad.errors.length, 1);
});

test('httphost: names and addresses the dashboard answers to, repeatable, normalized as Host headers carry them; ports and junk are errors', () => {
  assert.deepEqual(chrony('').config?.httphosts, []);
  assert.deepEqual(chrony('httphost Dash.Example.NET. ntp1\nhttphost [2001:db8::1] 203.0.113.5 ntp1\n').config?.httphosts, ['dash.example.net', 'ntp1', '2001:db8::1', '203.0.113.5']);
  assert.deepEqual(parseConfigText('httphost ntp.example.org\n', 'ntp.conf', { format: 'ntp' }).config?.httphosts, ['ntp.example.org']);
  for (const line of ['httphost', 'httphost ntp.example.org:9473', 'httphost [ntp.example.org]', 'httphost a/b', 'httphost fe80::1%eth0', 'httphost 1.2.3']) {
    const r = chrony(`${line}\n`);
    assert.equal(r.config, null, line);
    assert.match(formatDiagnostic(r.errors[0]!), /^chrony\.conf:1: httphost: expected (one or more host names|a host name or an IP address \(without a port\))/, line);
  }
});

test('smoothtime and maxclockerror: their values reach the discipline; a bad line is an error at its line, an unknown option refused', () => {
  const ok = chrony('smoothtime 400 0.001 leaponly\nmaxclockerror 5\n');
  assert.deepEqual(ok.config?.discipline.smoothtime, { maxFreqPpm: 400, maxWanderPpm: 0.001, leapOnly: true });
  assert.equal(ok.config?.discipline.maxclockerror, 5);
  assert.equal(chrony('').config?.discipline.smoothtime, null);
  assert.deepEqual(chrony('smoothtime 50 0.01').config?.discipline.smoothtime, { maxFreqPpm: 50, maxWanderPpm: 0.01, leapOnly: false });
  // As chronyd: a limit of 0 leaves smoothing off, said in a warning.
  const off = chrony('smoothtime 0 0.001');
  assert.equal(off.config?.discipline.smoothtime, null);
  assert.match(messages(off.warnings).join('\n'), /chrony\.conf:1: .*not smoothed/);
  const bad = chrony('smoothtime 400\nsmoothtime 400 0.001 leapsonly\nsmoothtime x 1\nmaxclockerror -1\n');
  assert.equal(bad.config, null);
  assert.deepEqual(messages(bad.errors), [
    'chrony.conf:1: smoothtime: expected a maximum frequency (ppm), a maximum wander (ppm per second) and optionally leaponly, got "400"',
    'chrony.conf:2: smoothtime: expected a maximum frequency (ppm), a maximum wander (ppm per second) and optionally leaponly, got "400 0.001 leapsonly"',
    'chrony.conf:3: smoothtime: expected a maximum frequency (ppm), a maximum wander (ppm per second) and optionally leaponly, got "x 1"',
    'chrony.conf:4: maxclockerror: expected a number of ppm above 0, got "-1"',
  ]);
});

test('fallbackdrift: its exponents reach the discipline; chronyd\'s disabled forms warn, a bad line is an error at its line', () => {
  assert.deepEqual(chrony('fallbackdrift 16 19\n').config?.discipline.fallbackdrift, { min: 16, max: 19 });
  assert.equal(chrony('').config?.discipline.fallbackdrift, null);
  const off = chrony('fallbackdrift 0 4\n');
  assert.equal(off.config?.discipline.fallbackdrift, null);
  assert.match(messages(off.warnings).join('\n'), /chrony\.conf:1: fallbackdrift 0 4: no fallback drift is kept unless 0 < MIN <= MAX/);
  const bad = chrony('fallbackdrift 16\nfallbackdrift 16 x\nfallbackdrift 16 31\n');
  assert.equal(bad.config, null);
  assert.deepEqual(messages(bad.errors).map((m) => m.split(': ').slice(0, 2).join(': ')), [
    'chrony.conf:1: fallbackdrift', 'chrony.conf:2: fallbackdrift', 'chrony.conf:3: fallbackdrift',
  ]);
});
