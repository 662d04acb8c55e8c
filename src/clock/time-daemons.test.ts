import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ProcessProbe, classifyProcess, describeTimeDaemon, findTimeDaemons, hostProcessProbe, splitCmdline, systemdUnit } from './time-daemons.js';

interface FakeProc {
  comm?: string;
  cmdline?: string[];
  exe?: string;
  cgroup?: string;
}

/** A /proc tree of the given processes; PID 4242 is "us". */
function procs(tree: Record<number, FakeProc>, self = 4242): ProcessProbe {
  return {
    pids: () => Object.keys(tree).map(Number),
    comm: (pid) => tree[pid]?.comm,
    cmdline: (pid) => tree[pid]?.cmdline,
    exe: (pid) => tree[pid]?.exe,
    cgroup: (pid) => tree[pid]?.cgroup,
    self,
  };
}

const unit = (name: string): string => `0::/system.slice/${name}\n`;

const HOST: Record<number, FakeProc> = {
  1: { comm: 'systemd', cmdline: ['/sbin/init'], cgroup: '0::/init.scope\n' },
  2: { comm: 'kthreadd', cmdline: [] },
  300: { comm: 'sshd', cmdline: ['sshd: /usr/sbin/sshd -D'], cgroup: unit('ssh.service') },
  4242: { comm: 'node', cmdline: ['/usr/bin/node', '/usr/lib/ntpkit/bin/ntpkit', 'daemon', '-f', '/etc/ntpkit.conf'] },
};

test('a host without time daemons (ourselves excluded): nothing found', () => {
  assert.deepEqual(findTimeDaemons(procs(HOST)), []);
});

test('chronyd under systemd is named with its PID and unit; -x and -Q are not clock owners', () => {
  const found = findTimeDaemons(procs({ ...HOST, 812: { comm: 'chronyd', cmdline: ['/usr/sbin/chronyd', '-F', '1'], exe: '/usr/sbin/chronyd', cgroup: unit('chrony.service') } }));
  assert.deepEqual(found, [{ kind: 'chronyd', pid: 812, command: '/usr/sbin/chronyd -F 1', unit: 'chrony.service' }]);
  assert.match(describeTimeDaemon(found[0] as (typeof found)[number]), /^chronyd is running \(PID 812, unit chrony\.service: .*\); stop and disable it with: systemctl disable --now chrony$/);
  for (const args of [['-x'], ['-d', '-x', '-f', '/tmp/c.conf'], ['-dx'], ['-Q', 'server 127.0.0.1 iburst']]) {
    assert.equal(classifyProcess({ pid: 9, comm: 'chronyd', cmdline: ['chronyd', ...args], exe: undefined }), null, args.join(' '));
  }
  // chronyd -q sets the clock once: it owns it while it runs.
  assert.equal(classifyProcess({ pid: 9, comm: 'chronyd', cmdline: ['chronyd', '-q'], exe: undefined })?.kind, 'chronyd');
});

test('ntpd: classic NTP and NTPsec told apart by their paths or unit; OpenNTPD by its engines', () => {
  const classic = classifyProcess({ pid: 10, comm: 'ntpd', cmdline: ['/usr/sbin/ntpd', '-p', '/var/run/ntpd.pid', '-g', '-u', '105:110'], exe: undefined, cgroup: unit('ntp.service') });
  assert.equal(classic?.kind, 'ntpd');
  const sec = classifyProcess({ pid: 11, comm: 'ntpd', cmdline: ['/usr/sbin/ntpd', '-p', '/run/ntpd.pid', '-c', '/etc/ntpsec/ntp.conf', '-g', '-N', '-u', 'ntpsec:ntpsec'], exe: undefined });
  assert.equal(sec?.kind, 'ntpsec');
  const secByUnit = classifyProcess({ pid: 12, comm: 'ntpd', cmdline: ['/usr/sbin/ntpd', '-g'], exe: undefined, cgroup: unit('ntpsec.service') });
  assert.equal(secByUnit?.kind, 'ntpsec');
  assert.match(describeTimeDaemon(secByUnit as NonNullable<typeof secByUnit>), /NTPsec.*systemctl disable --now ntpsec$/);
  // RHEL's classic ntpd unit is ntpd.service.
  const rhel = classifyProcess({ pid: 13, comm: 'ntpd', cmdline: ['/usr/sbin/ntpd', '-u', 'ntp:ntp', '-g'], exe: undefined, cgroup: unit('ntpd.service') });
  assert.match(describeTimeDaemon(rhel as NonNullable<typeof rhel>), /systemctl disable --now ntpd$/);
  // OpenNTPD: a privileged parent plus engines whose titles replace argv; one finding.
  const openntpd = findTimeDaemons(procs({
    ...HOST,
    500: { comm: 'ntpd', cmdline: ['/usr/sbin/ntpd', '-f', '/etc/openntpd/ntpd.conf'], cgroup: unit('openntpd.service') },
    501: { comm: 'ntpd', cmdline: ['ntpd: ntp engine'], cgroup: unit('openntpd.service') },
    502: { comm: 'ntpd', cmdline: ['ntpd: dns engine'], cgroup: unit('openntpd.service') },
  }));
  assert.deepEqual(openntpd.map((d) => [d.kind, d.pid]), [['openntpd', 500]]);
});

test('systemd-timesyncd is found by its 15-byte comm, and told to be stopped with timedatectl', () => {
  const found = findTimeDaemons(procs({ ...HOST, 640: { comm: 'systemd-timesyn', cmdline: ['/lib/systemd/systemd-timesyncd'], cgroup: unit('systemd-timesyncd.service') } }));
  assert.equal(found.length, 1);
  assert.equal(found[0]?.kind, 'systemd-timesyncd');
  assert.match(describeTimeDaemon(found[0] as (typeof found)[number]), /timedatectl set-ntp false/);
});

test('PTP: ptp4l only with -S, phc2sys only when its target is CLOCK_REALTIME', () => {
  const c = (comm: string, args: string[]): string | undefined => classifyProcess({ pid: 7, comm, cmdline: [comm, ...args], exe: undefined })?.kind;
  assert.equal(c('ptp4l', ['-i', 'eth0', '-m']), undefined);
  assert.equal(c('ptp4l', ['-i', 'eth0', '-S']), 'ptp4l');
  assert.equal(c('phc2sys', ['-s', 'eth0', '-w']), 'phc2sys'); // -c defaults to CLOCK_REALTIME
  assert.equal(c('phc2sys', ['-s', 'eth0', '-c', 'CLOCK_REALTIME', '-w']), 'phc2sys');
  assert.equal(c('phc2sys', ['-s', 'CLOCK_REALTIME', '-c', 'eth1']), undefined);
  assert.equal(c('phc2sys', ['-a']), undefined);
  assert.equal(c('phc2sys', ['-a', '-r']), 'phc2sys');
  assert.equal(c('phc2sys', ['-ar']), 'phc2sys');
});

test('another ntpkit: a daemon not on the virtual clock, or a sync that is not a dry run', () => {
  const c = (args: string[]): string | undefined => classifyProcess({ pid: 8, comm: 'node', cmdline: ['/usr/bin/node', '/opt/ntpkit/bin/ntpkit.js', ...args], exe: '/usr/bin/node' })?.kind;
  assert.equal(c(['daemon', '-f', '/etc/ntpkit/chrony.conf']), 'ntpkit');
  assert.equal(c(['daemon', '-f', 'x.conf', '--clock', 'system']), 'ntpkit');
  assert.equal(c(['daemon', '-f', 'x.conf', '--clock', 'virtual']), undefined);
  assert.equal(c(['daemon', '-f', 'x.conf', '--clock=virtual']), undefined);
  assert.equal(c(['daemon', '-f', 'x.conf', '--virtual-offset', '0.5']), undefined);
  assert.equal(c(['sync', '127.0.0.2']), 'ntpkit');
  assert.equal(c(['sync', '--dry-run', '127.0.0.2']), undefined);
  assert.equal(c(['query', '127.0.0.2']), undefined);
  assert.equal(c(['tracking']), undefined);
  // Ourselves: never reported.
  const self = { 4242: { comm: 'node', cmdline: ['/usr/bin/node', '/usr/bin/ntpkit', 'daemon', '-f', 'c'] } };
  assert.deepEqual(findTimeDaemons(procs(self, 4242)), []);
  assert.equal(findTimeDaemons(procs(self, 1)).length, 1);
});

test('processes that vanish or cannot be read mid-scan are skipped', () => {
  const probe = procs({ 77: {} , 78: { comm: 'chronyd' } });
  // 78: cmdline unreadable (another user's, hidepid) but comm says chronyd.
  assert.deepEqual(findTimeDaemons(probe).map((d) => [d.kind, d.pid, d.command]), [['chronyd', 78, 'chronyd']]);
});

test('systemdUnit and splitCmdline', () => {
  assert.equal(systemdUnit('0::/system.slice/chrony.service\n'), 'chrony.service');
  assert.equal(systemdUnit('12:pids:/system.slice/ntp.service\n11:cpu:/system.slice/ntp.service\n'), 'ntp.service');
  assert.equal(systemdUnit('0::/user.slice/user-1000.slice/session-3.scope\n'), null);
  assert.equal(systemdUnit('0::/system.slice/ntpkit.service/worker\n'), 'ntpkit.service');
  assert.equal(systemdUnit(undefined), null);
  assert.deepEqual(splitCmdline('chronyd\0-x\0'), ['chronyd', '-x']);
  assert.deepEqual(splitCmdline(''), []);
});

test('the host probe reads this process table and never reports ourselves', () => {
  const probe = hostProcessProbe();
  assert.ok(probe.pids().includes(process.pid));
  assert.equal(probe.comm(process.pid)?.length !== undefined, true);
  assert.ok(findTimeDaemons(probe).every((d) => d.pid !== process.pid));
});
