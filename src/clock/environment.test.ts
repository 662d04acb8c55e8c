import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import {
  CAP_SYS_TIME_BIT,
  type EnvironmentProbe,
  chooseClockKind,
  detectContainer,
  hasCapSysTime,
  parseEffectiveCapabilities,
  systemClockControl,
} from './environment.js';

/** A machine made of the given files and environment. */
function probe(files: Record<string, string>, env: Record<string, string> = {}, platform: NodeJS.Platform = 'linux'): EnvironmentProbe {
  return { exists: (p) => p in files, readFile: (p) => files[p], env, platform };
}

const HOST_CGROUP_V2 = '0::/init.scope\n';
const HOST_MOUNTINFO = '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n22 27 0:21 / /proc rw,relatime - proc proc rw\n';
/** A Docker host sees its containers' overlays, but its own root is ext4. */
const DOCKER_HOST_MOUNTINFO = `${HOST_MOUNTINFO}300 27 0:50 / /var/lib/docker/overlay2/abc/merged rw - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X\n`;
const CAPS_ROOT = 'Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n';
const CAPS_NO_TIME = `Name:\tnode\nCapEff:\t${(0x1ffffffffffn & ~(1n << 25n)).toString(16).padStart(16, '0')}\n`;
const CAPS_ONLY_TIME = `Name:\tnode\nCapEff:\t${(1n << 25n).toString(16).padStart(16, '0')}\n`;
const CAPS_NONE = 'Name:\tnode\nCapEff:\t0000000000000000\n';

const bareHost = (caps = CAPS_ROOT): EnvironmentProbe =>
  probe({ '/proc/1/cgroup': HOST_CGROUP_V2, '/proc/self/mountinfo': HOST_MOUNTINFO, '/proc/self/status': caps });

test('a plain host, and a Docker host, are not containers', () => {
  assert.deepEqual(detectContainer(bareHost()), { inContainer: false, kind: null, evidence: [] });
  const dockerHost = probe({ '/proc/1/cgroup': HOST_CGROUP_V2, '/proc/self/mountinfo': DOCKER_HOST_MOUNTINFO });
  assert.equal(detectContainer(dockerHost).inContainer, false);
});

test('Docker: /.dockerenv, cgroup v1 paths, or the overlay root', () => {
  const a = detectContainer(probe({ '/.dockerenv': '' }));
  assert.deepEqual(a, { inContainer: true, kind: 'docker', evidence: ['/.dockerenv exists'] });
  const b = detectContainer(probe({ '/proc/1/cgroup': '12:memory:/docker/0123abcd\n0::/system.slice/docker-0123abcd.scope\n' }));
  assert.equal(b.kind, 'docker');
  assert.match(b.evidence[0] ?? '', /^\/proc\/1\/cgroup: .*docker/);
  const c = detectContainer(
    probe({ '/proc/self/mountinfo': '600 500 0:60 / / rw - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A:/var/lib/docker/overlay2/l/B\n' }),
  );
  assert.equal(c.kind, 'docker');
});

test('Podman, containerd, Kubernetes, LXC and nspawn are named', () => {
  assert.equal(detectContainer(probe({ '/run/.containerenv': 'engine="podman-4.3"' })).kind, 'podman');
  assert.equal(detectContainer(probe({}, { container: 'podman' })).kind, 'podman');
  assert.equal(detectContainer(probe({ '/proc/1/cgroup': '0::/system.slice/containerd.service/kubepods-besteffort-pod1.slice:cri-containerd:ab\n' })).kind, 'kubernetes');
  assert.equal(detectContainer(probe({ '/proc/1/cgroup': '0::/default/cri-containerd-abc\n' })).kind, 'containerd');
  assert.equal(detectContainer(probe({}, { KUBERNETES_SERVICE_HOST: '10.0.0.1' })).kind, 'kubernetes');
  assert.equal(detectContainer(probe({}, { container: 'lxc' })).kind, 'lxc');
  assert.equal(detectContainer(probe({ '/run/systemd/container': 'systemd-nspawn\n' })).kind, 'systemd-nspawn');
  const other = detectContainer(probe({}, { container: 'wsl' }));
  assert.deepEqual(other, { inContainer: true, kind: 'other', evidence: ['container=wsl in the environment'] });
  // Kubernetes wins over the runtime under it: it is the more useful name.
  assert.equal(detectContainer(probe({ '/.dockerenv': '' }, { KUBERNETES_SERVICE_HOST: 'x' })).kind, 'kubernetes');
});

test('not Linux: never a container as far as the clock goes', () => {
  assert.equal(detectContainer(probe({ '/.dockerenv': '' }, {}, 'darwin')).inContainer, false);
});

test('CapEff parsing and CAP_SYS_TIME (bit 25)', () => {
  assert.equal(CAP_SYS_TIME_BIT, 25);
  assert.equal(parseEffectiveCapabilities(CAPS_ROOT), 0x1ffffffffffn);
  assert.equal(parseEffectiveCapabilities('Name: x\n'), undefined);
  assert.equal(hasCapSysTime(bareHost(CAPS_ROOT)), true);
  assert.equal(hasCapSysTime(bareHost(CAPS_ONLY_TIME)), true);
  assert.equal(hasCapSysTime(bareHost(CAPS_NO_TIME)), false);
  assert.equal(hasCapSysTime(bareHost(CAPS_NONE)), false);
  assert.equal(hasCapSysTime(probe({})), false);
});

test('this process: CapEff read from /proc agrees with being root here', (t) => {
  if (process.platform !== 'linux') {
    t.skip('Linux only');
    return;
  }
  // Either answer is legitimate; what matters is that the real file parses.
  const caps = parseEffectiveCapabilities(readFileSync('/proc/self/status', 'utf8'));
  assert.notEqual(caps, undefined);
  assert.equal(hasCapSysTime(), (((caps as bigint) >> 25n) & 1n) === 1n);
  // And this machine's container markers are reported, whatever they are.
  const c = detectContainer();
  assert.equal(c.inContainer, c.evidence.length > 0);
  if (existsSync('/.dockerenv')) assert.equal(c.inContainer, true);
});

const addonOk = (): { ok: boolean } => ({ ok: true });
const addonMissing = (): { ok: boolean; reason: string } => ({ ok: false, reason: 'Cannot load the native clock addon x: it was not built' });

test('systemClockControl says why it cannot control the clock', () => {
  assert.deepEqual(systemClockControl(bareHost(), addonOk), { ok: true });
  const noCap = systemClockControl(bareHost(CAPS_NO_TIME), addonOk);
  assert.equal(noCap.ok, false);
  assert.match(noCap.ok ? '' : noCap.reason, /needs CAP_SYS_TIME: run as root or grant the capability.*or use --clock virtual/);
  const noAddon = systemClockControl(bareHost(), addonMissing);
  assert.match(noAddon.ok ? '' : noAddon.reason, /not built; use --clock virtual/);
  const mac = systemClockControl(probe({}, {}, 'darwin'), addonOk);
  assert.match(mac.ok ? '' : mac.reason, /only be disciplined on Linux \(this is darwin\)/);
});

test('chooseClockKind: auto picks system only when privileged and not in a container', () => {
  const sys = chooseClockKind('auto', { probe: bareHost(), addon: addonOk });
  assert.deepEqual(sys, { ok: true, kind: 'system', reason: '--clock auto: CAP_SYS_TIME and not in a container', warnings: [] });

  const unpriv = chooseClockKind('auto', { probe: bareHost(CAPS_NONE), addon: addonOk });
  assert.equal(unpriv.ok && unpriv.kind, 'virtual');
  assert.match(unpriv.ok ? unpriv.reason : '', /CAP_SYS_TIME/);

  const docker = probe({ '/.dockerenv': '', '/proc/self/status': CAPS_ROOT });
  const inDocker = chooseClockKind('auto', { probe: docker, addon: addonOk });
  assert.equal(inDocker.ok && inDocker.kind, 'virtual');
  assert.match(inDocker.ok ? inDocker.reason : '', /in a container \(docker: \/\.dockerenv exists\)/);

  const noAddon = chooseClockKind('auto', { probe: bareHost(), addon: addonMissing });
  assert.equal(noAddon.ok && noAddon.kind, 'virtual');
});

test('chooseClockKind: explicit requests', () => {
  assert.deepEqual(chooseClockKind('virtual', { probe: bareHost(CAPS_NONE), addon: addonMissing }), {
    ok: true,
    kind: 'virtual',
    reason: '--clock virtual',
    warnings: [],
  });
  const denied = chooseClockKind('system', { probe: bareHost(CAPS_NONE), addon: addonOk });
  assert.equal(denied.ok, false);
  assert.match(denied.ok ? '' : denied.error, /needs CAP_SYS_TIME/);
  // In a container with the capability: allowed, but the operator hears about it.
  const docker = probe({ '/.dockerenv': '', '/proc/self/status': CAPS_ROOT });
  const c = chooseClockKind('system', { probe: docker, addon: addonOk });
  assert.equal(c.ok && c.kind, 'system');
  assert.match(c.ok ? (c.warnings[0] ?? '') : '', /container .* shared with the host/);
});

test('a User-mode Linux guest on hostfs is not a container, though it sees the host\'s /.dockerenv', () => {
  const cpuinfo = 'processor\t: 0\nvendor_id\t: User Mode Linux\nmodel name\t: UML\nmode\t\t: skas\n';
  const guest = probe({ '/proc/cpuinfo': cpuinfo, '/.dockerenv': '', '/run/.containerenv': '', '/proc/1/cgroup': '0::/\n', '/proc/self/mountinfo': '14 1 0:13 / / rw - hostfs none rw\n' });
  assert.deepEqual(detectContainer(guest), { inContainer: false, kind: null, evidence: [] });
  // The same files without UML's cpuinfo: a container.
  assert.equal(detectContainer(probe({ '/.dockerenv': '' })).kind, 'docker');
});

test('Kubernetes: the service account mount gives a pod away even without the env var', () => {
  const c = detectContainer(probe({ '/var/run/secrets/kubernetes.io/serviceaccount': '' }));
  assert.equal(c.kind, 'kubernetes');
  assert.deepEqual(c.evidence, ['/var/run/secrets/kubernetes.io/serviceaccount exists']);
});
