/**
 * A fake PTP hardware clock for tests: native/testing/fake_phc.c built with
 * the system compiler, and the environment that preloads it into a child
 * process and scripts its answers. A child started with fakePhcEnv() runs the
 * addon's real PHC code on a plain file standing in for /dev/ptpN.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** How the fake answers; see native/testing/fake_phc.c for each variable. */
export interface FakePhcScript {
  /** "precise=95,extended=5": the errno each ioctl fails with. */
  readonly fail?: string;
  /** PHC minus CLOCK_REALTIME, ns. */
  readonly offsetNs?: number;
  /** "5000,800": each sample's bracket, ns, cycled. */
  readonly widths?: string;
  /** "4000,100": where in its bracket each PHC stamp lies, ns (default: the middle). */
  readonly pos?: string;
}

export interface FakePhc {
  /** The plain file that stands in for the device. */
  readonly device: string;
  /** A scratch directory, removed by close() (readable by nobody, like the shim and the device). */
  readonly dir: string;
  /** The environment of a child that should see the fake, logging to a fresh file. */
  env(script: FakePhcScript): { readonly env: Record<string, string>; readonly ioctls: () => string[] };
  close(): void;
}

/**
 * Builds the shim; throws when it cannot (no C compiler). Where the native
 * addon is required it was built with a C compiler, so callers should fail,
 * not skip, then.
 */
export function buildFakePhc(): FakePhc {
  const dir = mkdtempSync(join(tmpdir(), 'ntpkit-fake-phc-'));
  chmodSync(dir, 0o755);
  const shim = join(dir, 'fake_phc.so');
  try {
    execFileSync('cc', ['-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-o', shim, join(root, 'native/testing/fake_phc.c'), '-ldl'], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const err = e as Error & { stderr?: Buffer };
    throw new Error(`cannot build the fake PHC shim: ${err.stderr?.toString() || err.message}`);
  }
  const device = join(dir, 'ptp0');
  writeFileSync(device, '');
  let logs = 0;
  return {
    device,
    dir,
    env(s) {
      const log = join(dir, `ioctls-${++logs}.log`);
      return {
        env: {
          LD_PRELOAD: shim,
          NTPKIT_FAKE_PHC: device,
          NTPKIT_FAKE_PHC_FAIL: s.fail ?? '',
          NTPKIT_FAKE_PHC_OFFSET_NS: String(s.offsetNs ?? 0),
          NTPKIT_FAKE_PHC_WIDTHS: s.widths ?? '',
          NTPKIT_FAKE_PHC_POS: s.pos ?? '',
          NTPKIT_FAKE_PHC_LOG: log,
        },
        ioctls: () => {
          try {
            return readFileSync(log, 'utf8').trim().split('\n');
          } catch {
            return []; // no PTP ioctl reached the fake
          }
        },
      };
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
