/**
 * Runs a command inside a User-mode Linux guest (Debian's `user-mode-linux`,
 * /usr/bin/linux.uml), because the host's clock must never change:
 * the only place where ntpkit may change a kernel clock is a UML guest's own.
 *
 * One run:
 * 1. a network namespace of its own (`ntpkit-uml-<pid>-<n>-<rand>`) with a tap
 *    (`tap0`, 192.168.77.1/24 by default); nothing leaves this machine;
 * 2. optionally a host-side process inside that namespace (a `chronyd -x`
 *    server bound to the tap address, or any command), so the guest has a
 *    reference clock that is the host's own;
 * 3. the guest boots with the host's root through hostfs (so it runs this
 *    checkout's node and dist/ as they are) and a generated init script,
 *    which mounts /proc, configures eth0 (192.168.77.2/24), runs the command
 *    with its output in a host temp dir, syncs and powers off with
 *    `echo o > /proc/sysrq-trigger`;
 * 4. teardown, always (also on timeout or error): the host process and
 *    linux.uml stopped by PID, any process left in the namespace (UML's own
 *    helpers) killed by PID, the namespace deleted, the temp dir removed.
 *
 * A boot to the init script takes about 1.6 s here, a whole run with a short
 * node script about 2.5 s (uml.test.ts measures it).
 *
 * Safety: hostfs makes the host's files the guest's, so the init script first
 * proves it is PID 1 of a UML kernel with the guest's own /proc mounted
 * (/proc/cpuinfo says "User Mode Linux") before it touches anything, and
 * guest-side scripts call {@link assertUmlGuest} before changing a clock.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { type ManagedProcess, pidAlive, runToCompletion, spawnManaged } from './process.js';

/** Set to 1 (CI) to make UML tests fail instead of skip when UML cannot run. */
export const UML_REQUIRED_ENV = 'NTPKIT_REQUIRE_UML';
/** Set inside the guest for the command. */
export const UML_GUEST_ENV = 'NTPKIT_UML_GUEST';

const SBIN_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/bin', '/bin'];

function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN_DIRS];
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Why UML runs are impossible here, or undefined when they can run. */
export function umlUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `User-mode Linux needs a Linux host (this is ${process.platform})`;
  if (findProgram('linux.uml') === undefined) return 'linux.uml is not installed (Debian: apt-get install user-mode-linux)';
  if (findProgram('ip') === undefined) return 'ip is not installed (Debian: apt-get install iproute2)';
  if (process.getuid?.() !== 0) return 'UML tests need root (network namespaces and a tap device)';
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/net/tun is missing: the tap for the guest cannot be created';
  }
  return undefined;
}

/** True when NTPKIT_REQUIRE_UML=1: missing UML fails the tests. */
export function umlRequired(): boolean {
  return process.env[UML_REQUIRED_ENV] === '1';
}

/**
 * Call first in a test that boots UML. Returns true when UML can run; else
 * marks the test skipped (with the reason) and returns false, or throws when
 * NTPKIT_REQUIRE_UML=1.
 */
export function requireUml(t: Pick<TestContext, 'skip'>): boolean {
  const why = umlUnavailableReason();
  if (why === undefined) return true;
  if (umlRequired()) throw new Error(`${why} (and ${UML_REQUIRED_ENV}=1 requires the UML tests)`);
  t.skip(why);
  return false;
}

/** For guest-side scripts: throws unless this process runs inside a UML guest booted by this harness. */
export function assertUmlGuest(): void {
  let cpuinfo = '';
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // handled below
  }
  if (process.env[UML_GUEST_ENV] !== '1' || !/^vendor_id\s*:\s*User Mode Linux/m.test(cpuinfo)) {
    throw new Error('Refusing to go on: this is not a User-mode Linux guest started by src/testing/uml.ts (the host clock must never change)');
  }
}

export interface UmlHostCommand {
  readonly file: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Wait until the process has a UDP socket bound to this port (read from /proc/<pid>/net/udp). */
  readonly waitForUdpPort?: number;
}

export interface UmlChronydOptions {
  /** Lines appended to the generated chrony.conf. */
  readonly extraConfig?: readonly string[];
  /** `local stratum N` (default 1). */
  readonly stratum?: number;
}

export interface UmlRunOptions {
  /** The guest's command, argv[0] an absolute path (e.g. [process.execPath, script]). */
  readonly command: readonly string[];
  /** Guest environment additions. The guest also gets NTPKIT_UML_GUEST=1, NTPKIT_UML_DIR (the shared temp dir) and, unless given here, NTPKIT_LOCK_FILE in that dir. */
  readonly env?: Readonly<Record<string, string>>;
  /** The tap's address on the host side, CIDR (default 192.168.77.1/24). */
  readonly hostAddress?: string;
  /** The guest's eth0 address, CIDR (default 192.168.77.2/24). */
  readonly guestAddress?: string;
  /** Start `chronyd -x` (its own config, pidfile, cmdport 0) in the namespace, serving on the tap address, port 123. */
  readonly chronyd?: boolean | UmlChronydOptions;
  /** Or any process to start in the namespace; `{dir}` in args is the temp dir. */
  readonly hostCommand?: UmlHostCommand;
  /** More processes to start in the namespace after chronyd or hostCommand (a relay that shapes the path to it). */
  readonly extraHostCommands?: readonly UmlHostCommand[];
  /** Files written into the temp dir before boot (name -> content). */
  readonly files?: Readonly<Record<string, string>>;
  /** Guest memory (default 512 MiB: node wants more than 256). */
  readonly memoryMb?: number;
  /** Whole run, boot to teardown (default 60 s). */
  readonly timeoutMs?: number;
  /** Keep the temp dir (for debugging); its path is in the result. */
  readonly keepDir?: boolean;
}

export interface UmlResult {
  /** The command exited 0 within the time limit. */
  readonly ok: boolean;
  /** The guest command's exit status; null when it never finished. */
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  /** The guest command's stdout and stderr. */
  readonly output: string;
  /** The UML kernel's console (boot messages, the init script's complaints). */
  readonly console: string;
  /** Logs of the host-side process, if any. */
  readonly hostLogs: string;
  readonly namespace: string;
  /** The temp dir (already removed unless keepDir). */
  readonly dir: string;
  readonly timings: {
    /** From spawning linux.uml to the init script's first line (host clock vs the guest's clock at boot, which starts as the host's). */
    readonly bootToInitMs: number | null;
    /** The guest command's own duration, by the guest's uptime (10 ms resolution; immune to steps). */
    readonly commandMs: number | null;
    /** Spawn to exit of linux.uml, host clock. */
    readonly umlMs: number;
    /** Setup to the guest's end (teardown not included). */
    readonly totalMs: number;
  };
}

const DEFAULT_HOST = '192.168.77.1/24';
const DEFAULT_GUEST = '192.168.77.2/24';
const NS_PREFIX = 'ntpkit-uml-';
let runCounter = 0;

/** Single-quotes for sh. */
function shq(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

function ipOf(cidr: string): string {
  return cidr.split('/')[0] as string;
}

async function ip(args: readonly string[], timeoutMs = 10_000): Promise<string> {
  const r = await runToCompletion(findProgram('ip') ?? 'ip', args, { timeoutMs, dieWithParent: false });
  if (r.status.code !== 0) throw new Error(`ip ${args.join(' ')} failed (${r.status.code ?? r.status.signal}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** PIDs of processes in namespace `ns` (ip netns pids). */
async function namespacePids(ns: string): Promise<number[]> {
  try {
    return (await ip(['netns', 'pids', ns]))
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

/** Kills by PID every process left in our namespace, deletes it. Never throws. */
async function destroyNamespace(ns: string): Promise<string[]> {
  const problems: string[] = [];
  for (let round = 0; round < 20; round++) {
    const pids = await namespacePids(ns);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    await ip(['netns', 'del', ns]);
  } catch (e) {
    problems.push((e as Error).message);
  }
  return problems;
}

/**
 * Deletes namespaces this harness created in test processes that have died
 * (a crash or SIGKILL skips teardown): only names with our prefix whose
 * creator PID is gone.
 */
export async function cleanupStaleUmlNamespaces(): Promise<string[]> {
  let list = '';
  try {
    list = await ip(['netns', 'list']);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${NS_PREFIX}(\\d+)-`).exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    await destroyNamespace(name);
    removed.push(name);
  }
  return removed;
}

/** The init script the guest boots into. */
function initScript(dir: string, opts: UmlRunOptions, env: Record<string, string>): string {
  const exports = Object.entries(env)
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`Cannot pass ${JSON.stringify(k)} to the guest: not an environment variable name`);
      return `export ${k}=${shq(v)}`;
    })
    .join('\n');
  return `#!/bin/sh
# Generated by src/testing/uml.ts: PID 1 of a User-mode Linux guest.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
D=${shq(dir)}
note() { echo "ntpkit-uml-init: $*" >&2; }
# The host's root is this guest's root (hostfs): go on only as PID 1 of a UML
# kernel with its own /proc, or the poweroff below would reach the host's.
[ "$$" = 1 ] || { note "not PID 1, refusing to run"; exit 1; }
mount -t proc proc /proc || { note "cannot mount /proc"; exit 1; }
grep -q '^vendor_id.*User Mode Linux' /proc/cpuinfo || { note "not a UML guest, refusing to run"; exit 1; }
date +%s%N > "$D/init-start"
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# Its own /run: through hostfs it would be the host's, whose lock and pid
# files (a host chronyd's, an earlier run's) would refuse a guest daemon.
mount -t tmpfs tmpfs /run 2>/dev/null || note "cannot mount a tmpfs on /run"
ip link set lo up
ip addr add ${shq(opts.guestAddress ?? DEFAULT_GUEST)} dev eth0 && ip link set eth0 up || note "eth0 setup failed"
${exports}
cd "$D"
# Uptime, not date: the command may step the guest's clock.
read start _ < /proc/uptime
${opts.command.map(shq).join(' ')} > "$D/output" 2>&1 < /dev/null
echo $? > "$D/exit-code"
read end _ < /proc/uptime
echo "$start $end" > "$D/command-uptime"
sync
echo o > /proc/sysrq-trigger
sleep 30
`;
}

function chronydCommand(dir: string, hostAddress: string, guestAddress: string, o: UmlChronydOptions): { config: string; cmd: UmlHostCommand } {
  const subnet = guestAddress.includes('/') ? guestAddress : `${guestAddress}/32`;
  const config = [
    '# Written by src/testing/uml.ts: the guest reference, on the host clock, which it never touches (-x).',
    `pidfile ${dir}/chronyd.pid`,
    'cmdport 0',
    `bindaddress ${ipOf(hostAddress)}`,
    'port 123',
    `allow ${subnet}`,
    `local stratum ${o.stratum ?? 1}`,
    ...(o.extraConfig ?? []),
  ].join('\n');
  const chronyd = findProgram('chronyd');
  if (chronyd === undefined) throw new Error('chronyd is not installed (Debian: apt-get install chrony)');
  return { config: `${config}\n`, cmd: { file: chronyd, args: ['-x', '-d', '-4', '-u', 'root', '-f', `${dir}/chronyd.conf`], waitForUdpPort: 123 } };
}

/** Waits until `pid` (in its own namespace) has a UDP socket on `port`, from /proc/<pid>/net/udp. */
async function waitForUdp(pid: number, port: number, timeoutMs: number): Promise<boolean> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const table = readFileSync(`/proc/${pid}/net/udp`, 'utf8');
      if (table.split('\n').some((l) => l.trim().split(/\s+/)[1]?.endsWith(`:${hexPort}`))) return true;
    } catch {
      return false; // the process is gone
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

async function readOpt(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Boots a guest, runs `opts.command` in it, tears everything down. Rejects only when the setup itself fails. */
export async function runInUml(opts: UmlRunOptions): Promise<UmlResult> {
  const why = umlUnavailableReason();
  if (why !== undefined) throw new Error(why);
  if (opts.command.length === 0) throw new Error('runInUml needs a command');
  const t0 = Date.now();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  await cleanupStaleUmlNamespaces();
  const ns = `${NS_PREFIX}${process.pid}-${++runCounter}-${randomBytes(3).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-uml-'));
  if (/\s/.test(dir)) throw new Error(`Cannot boot UML with a temp dir containing whitespace: ${dir}`);
  const hostAddress = opts.hostAddress ?? DEFAULT_HOST;
  const guestAddress = opts.guestAddress ?? DEFAULT_GUEST;
  const hosts: ManagedProcess[] = [];
  let uml: ManagedProcess | undefined;
  let nsCreated = false;
  let timedOut = false;
  let umlMs = 0;
  try {
    for (const [name, content] of Object.entries(opts.files ?? {})) await writeFile(join(dir, name), content);
    // hostfs makes /run the host's: a guest ntpkit on the system clock keeps its PID lock in the run's own dir.
    const env = { NTPKIT_LOCK_FILE: join(dir, 'ntpkit.pid'), ...(opts.env ?? {}), [UML_GUEST_ENV]: '1', NTPKIT_UML_DIR: dir };
    await writeFile(join(dir, 'init.sh'), initScript(dir, opts, env));
    await chmod(join(dir, 'init.sh'), 0o755);

    await ip(['netns', 'add', ns]);
    nsCreated = true;
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    await ip(['-n', ns, 'tuntap', 'add', 'dev', 'tap0', 'mode', 'tap']);
    await ip(['-n', ns, 'addr', 'add', hostAddress, 'dev', 'tap0']);
    await ip(['-n', ns, 'link', 'set', 'tap0', 'up']);

    let hostCmd = opts.hostCommand;
    if (opts.chronyd) {
      const c = chronydCommand(dir, hostAddress, guestAddress, opts.chronyd === true ? {} : opts.chronyd);
      await writeFile(join(dir, 'chronyd.conf'), c.config);
      hostCmd = c.cmd;
    }
    for (const c of [...(hostCmd ? [hostCmd] : []), ...(opts.extraHostCommands ?? [])]) {
      const args = c.args.map((a) => a.replaceAll('{dir}', dir));
      const p = await spawnManaged(findProgram('ip') ?? 'ip', ['netns', 'exec', ns, c.file, ...args], { env: c.env ?? {} });
      hosts.push(p);
      if (c.waitForUdpPort !== undefined && !(await waitForUdp(p.pid, c.waitForUdpPort, 5000))) {
        throw new Error(`the host-side ${c.file} did not bind UDP port ${c.waitForUdpPort} within 5 s:\n${p.logs()}`);
      }
    }

    const args = [
      'netns', 'exec', ns, findProgram('linux.uml') as string,
      `mem=${opts.memoryMb ?? 512}M`, 'root=/dev/root', 'rootfstype=hostfs', 'rootflags=/', 'rw',
      'eth0=tuntap,tap0', `init=${dir}/init.sh`, 'con=null', 'con0=fd:0,fd:1',
      // UML keeps its pid file and mconsole socket here instead of ~/.uml.
      `uml_dir=${dir}`, `umid=${ns}`,
    ];
    const spawnedAt = Date.now();
    uml = await spawnManaged(findProgram('ip') ?? 'ip', args, { logLimit: 256 * 1024 });
    const left = Math.max(1000, timeoutMs - (Date.now() - t0));
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), left).unref());
    if ((await Promise.race([uml.exited, timer])) === 'timeout') {
      timedOut = true;
      await uml.stop(2000);
    }
    umlMs = Date.now() - spawnedAt;

    const exitText = await readOpt(join(dir, 'exit-code'));
    const exitCode = exitText === undefined ? null : Number(exitText.trim());
    const initStart = await readOpt(join(dir, 'init-start'));
    const uptimes = (await readOpt(join(dir, 'command-uptime')))?.trim().split(' ').map(Number);
    const commandMs = uptimes?.length === 2 ? Math.round(((uptimes[1] as number) - (uptimes[0] as number)) * 1000) : null;
    return {
      ok: !timedOut && exitCode === 0,
      exitCode,
      timedOut,
      output: (await readOpt(join(dir, 'output'))) ?? '',
      console: uml.logs(),
      hostLogs: hosts.map((h) => h.logs()).join('\n'),
      namespace: ns,
      dir,
      timings: {
        bootToInitMs: initStart === undefined ? null : Number(BigInt(initStart.trim()) / 1_000_000n - BigInt(spawnedAt)),
        commandMs,
        umlMs,
        totalMs: Date.now() - t0,
      },
    };
  } finally {
    await uml?.stop(2000);
    for (const h of hosts) await h.stop(2000);
    if (nsCreated) await destroyNamespace(ns);
    if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
  }
}

/** Whether a network namespace of that name exists (for tests of the teardown). */
export async function namespaceExists(name: string): Promise<boolean> {
  return (await ip(['netns', 'list'])).split('\n').some((l) => l.split(' ')[0] === name);
}
