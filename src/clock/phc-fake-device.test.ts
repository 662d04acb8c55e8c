/**
 * The addon's PHC code against a fake device: native/testing/fake_phc.c,
 * built here with the system compiler and preloaded into a probe process
 * (src/testing/phc-probe.ts), answers the PTP ioctls that native/phc.c makes
 * on a plain file. So the real open/ioctl/close path and its fallbacks run;
 * only the kernel's answers are scripted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { constants, homedir, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNative } from './native.js';
import { runToCompletion, unprivileged } from '../testing/process.js';
import type { PhcProbeLine } from '../testing/phc-probe.js';
import { buildFakePhc, type FakePhc } from '../testing/fake-phc.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const probe = fileURLToPath(new URL('../testing/phc-probe.js', import.meta.url));
const { EOPNOTSUPP, ENOTTY, EINVAL, EIO } = constants.errno;
const OFFSET_NS = 37_000_000_000; // a PHC kept in TAI, 37 s ahead of UTC

const native = loadNative();
let fake: FakePhc | undefined;
let device = '';
let unavailable: string | false = native.ok ? false : native.reason;

before(() => {
  if (unavailable) return;
  try {
    fake = buildFakePhc();
    device = fake.device;
  } catch (e) {
    if (process.env.NTPKIT_REQUIRE_NATIVE === '1') throw e;
    unavailable = (e as Error).message;
  }
});

after(() => fake?.close());

/** Node's headers where scripts/build-native.sh finds them: next to node, else node-gyp's download. */
function nodeHeaders(): string | undefined {
  return [join(process.execPath, '../../include/node'), join(homedir(), '.cache/node-gyp', process.versions.node, 'include/node')]
    .find((d) => existsSync(join(d, 'node_api.h')));
}

function findOnPath(name: string): string | undefined {
  return (process.env.PATH ?? '').split(':').map((d) => join(d, name)).find((f) => existsSync(f));
}

interface Script {
  readonly fail?: string;
  readonly widths?: string;
  readonly pos?: string;
  readonly samples?: number;
  readonly reads?: number;
  readonly nocrossts?: boolean;
  readonly path?: string;
  readonly asNobody?: boolean;
  /** Another build of the addon to read through. */
  readonly addon?: string;
}

/** Runs the probe under the shim; its output lines and the PTP ioctls the fake answered, in order. */
async function run(s: Script): Promise<{ lines: PhcProbeLine[]; ioctls: string[] }> {
  assert.ok(fake);
  const args = [probe, s.path ?? device, String(s.samples ?? 5), String(s.reads ?? 1), ...(s.nocrossts ? ['nocrossts'] : [])];
  const [file, argv] = s.asNobody ? unprivileged(process.execPath, args) : [process.execPath, args];
  const script = fake.env({ fail: s.fail, widths: s.widths, pos: s.pos, offsetNs: OFFSET_NS });
  const r = await runToCompletion(file, argv, {
    timeoutMs: 30_000,
    env: { ...script.env, ...(s.addon === undefined ? {} : { NTPKIT_PHC_PROBE_ADDON: s.addon }) },
  });
  assert.equal(r.status.code, 0, `probe exited ${JSON.stringify(r.status)}: ${r.stderr}`);
  return { lines: r.stdout.trim().split('\n').map((l) => JSON.parse(l) as PhcProbeLine), ioctls: script.ioctls() };
}

function reading(line: PhcProbeLine | undefined) {
  assert.ok(line && 'ok' in line && line.ok, JSON.stringify(line));
  return line;
}

test('a cross-timestamping PHC is read with PTP_SYS_OFFSET_PRECISE: offset exact, no bracket', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const { lines, ioctls } = await run({ pos: '0' });
  const r = reading(lines[0]);
  assert.deepEqual({ ...r.reading, systemTimeNs: undefined }, { offsetS: OFFSET_NS / 1e9, delayS: 0, systemTimeNs: undefined, method: 'precise' });
  // The fake latches the system clock when the ioctl runs, which is inside the probe's own bracket.
  assert.ok(BigInt(r.t0) <= BigInt(r.reading.systemTimeNs) && BigInt(r.reading.systemTimeNs) <= BigInt(r.t1));
  assert.deepEqual(ioctls, ['GETCAPS', 'PRECISE']);
  assert.deepEqual(lines.at(-1), { closed: true });
});

test('without cross-timestamps (EOPNOTSUPP) PTP_SYS_OFFSET_EXTENDED is used, its narrowest sample chosen, and kept', async (t) => {
  if (unavailable) return t.skip(unavailable);
  // Sample 2 is 800 ns wide with the PHC stamp 100 ns in: 300 ns before the middle. The others would read +1500 and +1400 ns.
  const { lines, ioctls } = await run({ fail: `precise=${EOPNOTSUPP}`, widths: '5000,800,3000', pos: '4000,100,2900', samples: 3, reads: 2 });
  for (const line of lines.slice(0, 2)) {
    const r = reading(line);
    assert.equal(r.reading.method, 'extended');
    assert.equal(r.reading.offsetS, (OFFSET_NS - 300) / 1e9);
    assert.equal(r.reading.delayS, 800e-9);
    // The best bracket starts 5000 ns after the real clock read when the ioctl ran; its middle is 400 ns in.
    const sys = BigInt(r.reading.systemTimeNs) - 5400n;
    assert.ok(BigInt(r.t0) <= sys && sys <= BigInt(r.t1), `${sys} not in ${r.t0}..${r.t1}`);
  }
  assert.deepEqual(ioctls, ['GETCAPS', 'PRECISE', 'EXTENDED 3', 'EXTENDED 3']);
});

test('without PRECISE and EXTENDED (ENOTTY, EINVAL) it falls back to PTP_SYS_OFFSET, whose samples share their ends', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const { lines, ioctls } = await run({ fail: `precise=${ENOTTY},extended=${EINVAL}`, widths: '2000,600,900,700', pos: '0,450,0,0', samples: 4 });
  const r = reading(lines[0]);
  assert.equal(r.reading.method, 'basic');
  assert.equal(r.reading.delayS, 600e-9);
  assert.equal(r.reading.offsetS, (OFFSET_NS + 150) / 1e9);
  assert.deepEqual(ioctls, ['GETCAPS', 'PRECISE', 'EXTENDED 4', 'BASIC 4']);
});

test('nocrossts skips PTP_SYS_OFFSET_PRECISE even where the device has it', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const { lines, ioctls } = await run({ nocrossts: true, samples: 2 });
  assert.equal(reading(lines[0]).reading.method, 'extended');
  assert.deepEqual(ioctls, ['GETCAPS', 'EXTENDED 2']);
});

test('a device error (EIO) is reported with the path and does not fall back', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const { lines, ioctls } = await run({ fail: `precise=${EOPNOTSUPP},extended=${EIO}` });
  assert.deepEqual(lines[0], {
    ok: false, name: 'PhcError', code: 'EIO',
    message: `Cannot read PTP clock ${device}: PTP_SYS_OFFSET_EXTENDED failed: Input/output error (EIO)`,
  });
  assert.deepEqual(ioctls, ['GETCAPS', 'PRECISE', 'EXTENDED 5']);
  assert.deepEqual(lines.at(-1), { closed: true });
});

test('a reading during which the system clock went back is refused each time, and the device stays usable', async (t) => {
  if (unavailable) return t.skip(unavailable);
  // Widths cycle through the 5-sample script, so both readings see the step; the probe survives both.
  const { lines } = await run({ fail: `precise=${EOPNOTSUPP}`, widths: '700,-1000000,700', reads: 2 });
  for (const line of lines.slice(0, 2)) {
    assert.ok(line && 'ok' in line && !line.ok && line.code === 'NTPKIT_PHC_READING', JSON.stringify(line));
    assert.match(line.message, /went back 1000000 ns around sample 2/);
  }
  assert.deepEqual(lines.at(-1), { closed: true });
});

test('a device the daemon user may not read is EACCES, naming the path', async (t) => {
  if (unavailable) return t.skip(unavailable);
  // Root reads a mode-0600 file: the probe has to run as nobody to meet the check a daemon's user meets.
  if (process.getuid?.() !== 0) return t.skip('needs root, to run the probe as nobody');
  chownSync(device, 0, 0);
  chmodSync(device, 0o600);
  try {
    const { lines, ioctls } = await run({ asNobody: true });
    assert.deepEqual(lines, [{ ok: false, name: 'PhcError', code: 'EACCES', message: `Cannot open PTP clock ${device}: Permission denied (EACCES): the daemon needs read access to it` }]);
    assert.deepEqual(ioctls, []);
  } finally {
    chmodSync(device, 0o644);
  }
});

/** The addon's C sources as binding.gyp lists them, so these builds follow every file it gains. */
const ADDON_SOURCES: readonly string[] = (() => {
  const m = /"sources":\s*\[([^\]]*)\]/.exec(readFileSync(join(root, 'binding.gyp'), 'utf8'));
  if (m === null) throw new Error('binding.gyp lists no sources');
  return [...(m[1] as string).matchAll(/"([^"]+\.c)"/g)].map((x) => x[1] as string);
})();

test('built against headers older than PRECISE and EXTENDED, the addon still builds and reads with PTP_SYS_OFFSET', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const nodeInclude = nodeHeaders();
  if (nodeInclude === undefined) {
    if (process.env.NTPKIT_REQUIRE_NATIVE === '1') assert.fail('no node_api.h next to node nor in the node-gyp cache');
    return t.skip('no node_api.h to build against');
  }
  const sources = ADDON_SOURCES.map((f) => join(root, f));
  const addon = join(fake?.dir ?? tmpdir(), 'ntpkit_native_linux45.node');
  try {
    execFileSync('cc', ['-std=gnu11', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-I', join(root, 'native/testing/linux-4.5'), '-I', nodeInclude, '-o', addon, ...sources], { stdio: 'pipe' });
  } catch (e) {
    const err = e as Error & { stderr?: Buffer };
    throw new Error(`the addon does not build against Linux 4.5 headers: ${err.stderr?.toString() ?? err.message}`);
  }
  // The fake device has both newer ioctls; this build never asks for them.
  const { lines, ioctls } = await run({ addon, samples: 3 });
  const r = reading(lines[0]);
  assert.equal(r.reading.method, 'basic');
  assert.equal(r.reading.offsetS, OFFSET_NS / 1e9);
  assert.deepEqual(ioctls, ['GETCAPS', 'BASIC 3']);
});

test('the addon compiles for arm64 (where the cross compiler aarch64-linux-gnu-gcc is installed)', (t) => {
  const cross = findOnPath('aarch64-linux-gnu-gcc');
  if (cross === undefined) return t.skip('aarch64-linux-gnu-gcc is not installed (Debian: gcc-aarch64-linux-gnu)');
  const nodeInclude = nodeHeaders();
  if (nodeInclude === undefined) return t.skip('no node_api.h to build against');
  const out = mkdtempSync(join(tmpdir(), 'ntpkit-arm64-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  for (const f of ADDON_SOURCES) {
    execFileSync(cross, ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror', '-fPIC', '-I', nodeInclude, '-c', '-o', join(out, `${basename(f)}.arm64.o`), join(root, f)], { stdio: 'pipe' });
  }
});
