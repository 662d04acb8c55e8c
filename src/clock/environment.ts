/**
 * Where the daemon runs, and which clock it should therefore discipline.
 *
 * A container shares the host's kernel clock: a clock daemon inside one would
 * fight the host's (and every other container's) over CLOCK_REALTIME, so
 * `--clock auto` picks the VirtualClock there even when CAP_SYS_TIME happens to
 * be granted. Outside containers it picks the SystemClock only when it can
 * really use it (Linux, the native addon, CAP_SYS_TIME), as chronyd needs the
 * capability too (it warns "CAP_SYS_TIME not present"; `chronyd -x` is the
 * fallback).
 *
 * Every check reads through an {@link EnvironmentProbe}, so tests feed it
 * files instead of reading this machine's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadClockControl } from './native.js';

/** What the checks read. Paths are absolute. */
export interface EnvironmentProbe {
  exists(path: string): boolean;
  /** The file's text, or undefined when it cannot be read. */
  readFile(path: string): string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly platform: NodeJS.Platform;
}

/** This machine. */
export function hostProbe(): EnvironmentProbe {
  return {
    exists: (p) => existsSync(p),
    readFile: (p) => {
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return undefined;
      }
    },
    env: process.env,
    platform: process.platform,
  };
}

export type ContainerKind = 'docker' | 'podman' | 'containerd' | 'kubernetes' | 'lxc' | 'systemd-nspawn' | 'other';

export interface ContainerInfo {
  readonly inContainer: boolean;
  /** The most specific kind the evidence names; null outside containers. */
  readonly kind: ContainerKind | null;
  /** What gave it away, e.g. `/.dockerenv exists`, `/proc/1/cgroup: .../docker-<id>.scope`. */
  readonly evidence: readonly string[];
}

/** Markers in /proc/1/cgroup and /proc/self/mountinfo lines, most specific first. */
const PATH_MARKERS: readonly { readonly re: RegExp; readonly kind: ContainerKind }[] = [
  { re: /kubepods/, kind: 'kubernetes' },
  { re: /libpod|\/containers\/storage\/|podman/, kind: 'podman' },
  { re: /\/docker[-/]|\/docker\/containers\/|docker\.sock/, kind: 'docker' },
  { re: /containerd|cri-containerd/, kind: 'containerd' },
  { re: /\/lxc[./]|lxc\.payload/, kind: 'lxc' },
  { re: /machine\.slice\/.*nspawn|systemd-nspawn/, kind: 'systemd-nspawn' },
];

/** systemd's `container=` values (systemd.io/CONTAINER_INTERFACE) mapped to our kinds. */
function kindFromContainerEnv(v: string): ContainerKind {
  switch (v) {
    case 'docker':
      return 'docker';
    case 'podman':
      return 'podman';
    case 'lxc':
    case 'lxc-libvirt':
      return 'lxc';
    case 'systemd-nspawn':
      return 'systemd-nspawn';
    default:
      return 'other';
  }
}

const K8S_SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

const RANK: readonly ContainerKind[] = ['kubernetes', 'podman', 'docker', 'containerd', 'lxc', 'systemd-nspawn', 'other'];

/**
 * Is this process in a container? Reads /.dockerenv (Docker), /run/.containerenv
 * (Podman), Kubernetes' service account mount, the `container` environment variable (systemd's container
 * interface; also /run/systemd/container, which PID 1's environment leaves
 * behind), KUBERNETES_SERVICE_HOST, and container runtimes' paths in
 * /proc/1/cgroup and in the root mount of /proc/self/mountinfo (cgroup v1
 * paths name the runtime; under cgroup v2 often only the root overlay's
 * layer directories do).
 */
export function detectContainer(probe: EnvironmentProbe = hostProbe()): ContainerInfo {
  const evidence: string[] = [];
  const kinds = new Set<ContainerKind>();
  if (probe.platform !== 'linux') return { inContainer: false, kind: null, evidence };
  // A User-mode Linux guest is a kernel of its own, with its own clock; booted
  // on hostfs it sees the host's files, /.dockerenv included, which say
  // nothing about it. Its /proc (and so its cgroups) is its own.
  const uml = /^vendor_id\s*:\s*User Mode Linux/m.test(probe.readFile('/proc/cpuinfo') ?? '');
  if (!uml && probe.exists('/.dockerenv')) {
    evidence.push('/.dockerenv exists');
    kinds.add('docker');
  }
  if (!uml && probe.exists('/run/.containerenv')) {
    evidence.push('/run/.containerenv exists');
    kinds.add('podman');
  }
  const envVar = probe.env.container?.trim();
  if (envVar) {
    evidence.push(`container=${envVar} in the environment`);
    kinds.add(kindFromContainerEnv(envVar));
  }
  const runFile = uml ? undefined : probe.readFile('/run/systemd/container')?.trim();
  if (runFile) {
    evidence.push(`/run/systemd/container says ${runFile}`);
    kinds.add(kindFromContainerEnv(runFile));
  }
  if (probe.env.KUBERNETES_SERVICE_HOST) {
    evidence.push('KUBERNETES_SERVICE_HOST in the environment');
    kinds.add('kubernetes');
  }
  // Every pod gets its service account's token mounted here unless
  // automountServiceAccountToken is off; it stays when the env var is scrubbed.
  if (!uml && probe.exists(K8S_SERVICE_ACCOUNT)) {
    evidence.push(`${K8S_SERVICE_ACCOUNT} exists`);
    kinds.add('kubernetes');
  }
  // PID 1's cgroup is "/" or "/init.scope" on a host, even one running
  // containers; only the root mount counts in mountinfo, since a Docker host
  // sees its containers' overlay mounts under /var/lib/docker too.
  const cgroup = probe.readFile('/proc/1/cgroup');
  const rootMount = probe.readFile('/proc/self/mountinfo')?.split('\n').find((l) => l.split(' ')[4] === '/');
  for (const [file, lines] of [['/proc/1/cgroup', cgroup?.split('\n') ?? []], ['/proc/self/mountinfo', rootMount ? [rootMount] : []]] as const) {
    for (const line of lines) {
      const hit = PATH_MARKERS.find((m) => m.re.test(line));
      if (hit) {
        evidence.push(`${file}: ${line.length > 160 ? `${line.slice(0, 157)}...` : line}`);
        kinds.add(hit.kind);
        break;
      }
    }
  }
  const kind = RANK.find((k) => kinds.has(k)) ?? null;
  return { inContainer: evidence.length > 0, kind, evidence };
}

/** capabilities(7): CAP_SYS_TIME is bit 25. */
export const CAP_SYS_TIME_BIT = 25;

/** The effective capability set from /proc/<pid>/status text (`CapEff:` hex), or undefined. */
export function parseEffectiveCapabilities(procStatus: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(procStatus);
  return m ? BigInt(`0x${m[1] as string}`) : undefined;
}

/** Whether this process may set the clock (CAP_SYS_TIME in its effective set). */
export function hasCapSysTime(probe: EnvironmentProbe = hostProbe()): boolean {
  const text = probe.readFile('/proc/self/status');
  const caps = text === undefined ? undefined : parseEffectiveCapabilities(text);
  return caps !== undefined && ((caps >> BigInt(CAP_SYS_TIME_BIT)) & 1n) === 1n;
}

export type SystemClockControl = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export const NEEDS_CAP_SYS_TIME =
  'needs CAP_SYS_TIME: run as root or grant the capability (setcap cap_sys_time+ep, or AmbientCapabilities=CAP_SYS_TIME in a systemd unit); or use --clock virtual';

/**
 * Whether a SystemClock can be used here: Linux, the native addon with its
 * clock_adjtime entry points, CAP_SYS_TIME. `addon` is injectable for tests.
 */
export function systemClockControl(
  probe: EnvironmentProbe = hostProbe(),
  addon: () => { readonly ok: boolean; readonly reason?: string } = loadClockControl,
): SystemClockControl {
  if (probe.platform !== 'linux') {
    return { ok: false, reason: `The system clock can only be disciplined on Linux (this is ${probe.platform}); use --clock virtual` };
  }
  const a = addon();
  if (!a.ok) return { ok: false, reason: `${a.reason ?? 'the native addon is unavailable'}; use --clock virtual` };
  if (!hasCapSysTime(probe)) return { ok: false, reason: `Disciplining the system clock ${NEEDS_CAP_SYS_TIME}` };
  return { ok: true };
}

export type ClockRequest = 'system' | 'virtual' | 'auto';

export type ClockChoice =
  | {
      readonly ok: true;
      readonly kind: 'system' | 'virtual';
      /** Why this kind, in a sentence for the log. */
      readonly reason: string;
      /** Things the operator should know (e.g. --clock system inside a container). */
      readonly warnings: readonly string[];
    }
  | { readonly ok: false; readonly error: string };

export interface ClockChoiceDeps {
  readonly probe?: EnvironmentProbe;
  readonly addon?: () => { readonly ok: boolean; readonly reason?: string };
}

/**
 * `--clock system|virtual|auto`. auto: the system clock when it can be
 * controlled and this is not a container, else the virtual clock, with the
 * reason. An explicit `system` that cannot be controlled is an error (the
 * daemon must not quietly run on another clock than asked); inside a
 * container it is allowed, with a warning.
 */
export function chooseClockKind(requested: ClockRequest, deps: ClockChoiceDeps = {}): ClockChoice {
  const probe = deps.probe ?? hostProbe();
  if (requested === 'virtual') return { ok: true, kind: 'virtual', reason: '--clock virtual', warnings: [] };
  const control = systemClockControl(probe, deps.addon);
  const container = detectContainer(probe);
  const where = container.inContainer ? `in a container (${container.kind ?? 'other'}: ${container.evidence[0] ?? ''})` : '';
  if (requested === 'system') {
    if (!control.ok) return { ok: false, error: control.reason };
    const warnings = container.inContainer
      ? [`running ${where} with --clock system: the kernel clock is shared with the host and every other container on it`]
      : [];
    return { ok: true, kind: 'system', reason: '--clock system', warnings };
  }
  if (container.inContainer) {
    return { ok: true, kind: 'virtual', reason: `--clock auto: running ${where}, so the system clock is left to the host`, warnings: [] };
  }
  if (!control.ok) return { ok: true, kind: 'virtual', reason: `--clock auto: ${control.reason}`, warnings: [] };
  return { ok: true, kind: 'system', reason: '--clock auto: CAP_SYS_TIME and not in a container', warnings: [] };
}
