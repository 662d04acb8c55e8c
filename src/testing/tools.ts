/**
 * Finding the external programs the interop tests run (chronyd, ntpdig,
 * libfaketime), and the skip-or-fail policy when one is missing.
 *
 * A developer without Debian's chrony still gets a green run with clear
 * "skipped" lines; CI sets NTPKIT_REQUIRE_INTEROP=1 so that a missing tool
 * can never silently turn the interop suite into a no-op.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

/** Where Debian puts daemons; not always on a non-root PATH. */
const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

/** libfaketime's preload library in Debian's `libfaketime` package (multiarch paths first). */
const LIBFAKETIME_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
  '/usr/local/lib/faketime/libfaketime.so.1',
];

/** Tools the harness knows how to find. `libfaketime` is the preload library, not a program. */
export type ToolName = 'chronyd' | 'chronyc' | 'ntpdig' | 'faketime' | 'libfaketime' | 'openssl' | 'setpriv' | 'python3' | 'gpsd' | 'gpsfake' | 'ntpshmmon' | 'ipcrm'
  | 'ntpq' | 'check_ntp_peer' | 'prometheus' | 'promtool';

/**
 * Where .ci/run unpacks Debian packages that must not be installed (ntpsec's
 * would remove chrony): `dpkg -x` trees, searched for ntpq and check_ntp_peer.
 */
export function unpackedPackagesDir(): string {
  return process.env.NTPKIT_UNPACKED_DIR ?? '/var/cache/ntpkit-ci/unpacked';
}

/** Directories of the unpacked trees (and of an installed monitoring-plugins) that hold the tools found there. */
function unpackedDirs(): string[] {
  const root = unpackedPackagesDir();
  return [join(root, 'usr/bin'), join(root, 'usr/lib/nagios/plugins'), '/usr/lib/nagios/plugins'];
}

/** True when CI demands the interop suite: missing tools fail instead of skipping. */
export function interopRequired(): boolean {
  return process.env.NTPKIT_REQUIRE_INTEROP === '1';
}

function usable(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

const cache = new Map<ToolName, string | null>();

/** Absolute path of a tool, or undefined when it is not installed. */
export function findTool(name: ToolName): string | undefined {
  const hit = cache.get(name);
  if (hit !== undefined) return hit ?? undefined;
  let found: string | undefined;
  if (name === 'libfaketime') {
    found = LIBFAKETIME_CANDIDATES.find((p) => usable(p, constants.R_OK));
  } else {
    const dirs = name === 'ntpq' || name === 'check_ntp_peer' ? unpackedDirs() : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
    found = dirs.map((d) => join(d, name)).find((p) => usable(p, constants.X_OK));
  }
  cache.set(name, found ?? null);
  return found;
}

/** The names among `names` that are not installed. */
export function missingTools(...names: ToolName[]): ToolName[] {
  return names.filter((n) => findTool(n) === undefined);
}

const PACKAGES: Record<ToolName, string> = {
  chronyd: 'chrony',
  chronyc: 'chrony',
  ntpdig: 'ntpsec-ntpdate',
  faketime: 'faketime',
  libfaketime: 'libfaketime',
  openssl: 'openssl',
  setpriv: 'util-linux',
  python3: 'python3',
  gpsd: 'gpsd',
  // Debian 12 ships gpsfake (Python) in gpsd-clients, ntpshmmon in gpsd-tools.
  gpsfake: 'gpsd-clients',
  ntpshmmon: 'gpsd-tools',
  ipcrm: 'util-linux',
  // Unpacked by .ci/run (never installed: ntpsec removes chrony); ntpq also needs python3-ntp installed.
  ntpq: 'ntpsec (apt-get download ntpsec && dpkg -x ntpsec_*.deb $NTPKIT_UNPACKED_DIR) python3-ntp',
  check_ntp_peer: 'monitoring-plugins-basic (or dpkg -x it into $NTPKIT_UNPACKED_DIR)',
  prometheus: 'prometheus',
  promtool: 'prometheus',
};

function missingMessage(missing: readonly ToolName[]): string {
  const pkgs = [...new Set(missing.map((m) => PACKAGES[m]))].join(' ');
  return `interop tool(s) not installed: ${missing.join(', ')} (Debian: apt-get install ${pkgs})`;
}

/** Thrown when a required tool is missing; the message names the Debian package. */
export class ToolMissingError extends Error {
  readonly code = 'NTPKIT_TOOL_MISSING';
  constructor(readonly missing: readonly ToolName[]) {
    super(missingMessage(missing));
    this.name = 'ToolMissingError';
  }
}

/** Path of a tool the caller cannot do without; throws ToolMissingError otherwise. */
export function toolPath(name: ToolName): string {
  const p = findTool(name);
  if (p === undefined) throw new ToolMissingError([name]);
  return p;
}

/**
 * Why chronyd cannot run here as the harness runs it, or undefined: it
 * serves on port 123 (ntpdig knows no other) and runs with `-u root`.
 */
export function chronydPrivilegeProblem(): string | undefined {
  if (process.getuid?.() === 0) return undefined;
  let unprivilegedFrom = 1024;
  try {
    unprivilegedFrom = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
  } catch {
    // not Linux: assume the classic limit
  }
  return unprivilegedFrom <= 123 ? undefined : 'interop tests with chronyd need root (UDP port 123); run them as root, as CI does';
}

/** What a test needing `missing` tools should do, given the NTPKIT_REQUIRE_INTEROP policy. */
export type InteropVerdict = { readonly action: 'run' } | { readonly action: 'skip'; readonly reason: string } | { readonly action: 'fail'; readonly error: ToolMissingError };

export function interopVerdict(missing: readonly ToolName[], required = interopRequired()): InteropVerdict {
  if (missing.length === 0) return { action: 'run' };
  return required ? { action: 'fail', error: new ToolMissingError(missing) } : { action: 'skip', reason: missingMessage(missing) };
}

/**
 * Call first thing in a test that needs external tools:
 *
 *     test('...', async (t) => { if (!requireTool(t, 'chronyd', 'ntpdig')) return; ... });
 *
 * Returns true when every tool is present. Otherwise it marks the test skipped
 * with a message naming the missing tools and returns false, or, when
 * NTPKIT_REQUIRE_INTEROP=1, throws ToolMissingError so the test fails.
 */
export function requireTool(t: Pick<TestContext, 'skip'>, ...names: ToolName[]): boolean {
  const v = interopVerdict(missingTools(...names));
  if (v.action === 'run' && names.includes('chronyd')) {
    const problem = chronydPrivilegeProblem();
    if (problem !== undefined) {
      if (interopRequired()) throw new Error(problem);
      t.skip(problem);
      return false;
    }
  }
  if (v.action === 'fail') throw v.error;
  if (v.action === 'skip') t.skip(v.reason);
  return v.action === 'run';
}

/**
 * For `test(name, { skip: interopSkip('chronyd') }, fn)` and `describe`: a skip
 * reason when a tool is missing, else false. Under NTPKIT_REQUIRE_INTEROP=1 it
 * never skips, so the test runs and fails on the missing tool (the harness
 * throws ToolMissingError when asked to start it).
 */
export function interopSkip(...names: ToolName[]): string | false {
  const v = interopVerdict(missingTools(...names));
  if (v.action === 'skip') return v.reason;
  const problem = names.includes('chronyd') && !interopRequired() ? chronydPrivilegeProblem() : undefined;
  return problem ?? false;
}
