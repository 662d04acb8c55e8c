/**
 * The published package on a machine without a compiler: `npm pack` (its
 * prepack builds the prebuilt N-API addons, scripts/prebuild.sh) and an
 * offline install of the tarball whose install script can reach node and
 * npm but no C compiler nor make. The addon must come from prebuilds/, and
 * `ntpkit query` must then timestamp its packets in the kernel. Where no
 * prebuilt binary fits either, the install must still succeed and ntpkit run
 * on its JavaScript clock, saying why.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { realtime } from './clock/realtime.js';
import { Leap, Mode } from './proto/constants.js';
import { encodeHeader, parseHeader } from './proto/header.js';
import { installTarball, NpmError, packWithPrebuilds } from './testing/packed-package.js';
import { runToCompletion } from './testing/process.js';
import { toNtpTimestamp } from './time/timestamp.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const required = process.env.NTPKIT_REQUIRE_NATIVE === '1';
const PREBUILT = 'node.napi.glibc.node';
/** ELF e_machine of each architecture's binary: EM_X86_64, EM_AARCH64. */
const ELF_MACHINE: Readonly<Record<string, number>> = { x64: 62, arm64: 183 };
const CROSS_GCC: Readonly<Record<string, string>> = { x64: 'x86_64-linux-gnu-gcc', arm64: 'aarch64-linux-gnu-gcc' };
/** The only commands the install may find: no cc, gcc, make or any cross compiler among them. */
const NO_COMPILER_TOOLS = ['node', 'npm', 'sh', 'dirname', 'head', 'tail', 'cat', 'uname', 'python3'];

const work = mkdtempSync(join(tmpdir(), 'ntpkit-prebuilt-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function which(cmd: string, path = process.env.PATH ?? ''): Promise<string | null> {
  const r = await runToCompletion('/bin/sh', ['-c', 'command -v "$1"', 'sh', cmd], { env: { PATH: path }, timeoutMs: 10_000 });
  return r.status.code === 0 ? r.stdout.trim() : null;
}

/** A directory of links to the few tools an install needs, the compiler not among them: the PATH of a machine without build-essential. */
async function noCompilerPath(): Promise<string> {
  const bin = join(work, 'bin');
  mkdirSync(bin);
  for (const tool of NO_COMPILER_TOOLS) {
    const at = await which(tool);
    if (at !== null) symlinkSync(at, join(bin, tool));
  }
  return bin;
}

/** e_machine of an ELF file, after checking it is a 64-bit little-endian ELF shared object. */
function elfMachine(file: string): number {
  const h = readFileSync(file).subarray(0, 20);
  assert.deepEqual([...h.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], `${file} is not ELF`);
  assert.equal(h[4], 2, `${file} is not ELFCLASS64`);
  assert.equal(h[5], 1, `${file} is not little-endian`);
  assert.equal(h.readUInt16LE(16), 3, `${file} is not ET_DYN`);
  return h.readUInt16LE(18);
}

/** An NTP server on our loopback address that answers from this process's clock. */
async function responder(): Promise<{ readonly addr: string; close(): void }> {
  const s = dgram.createSocket('udp4');
  s.on('message', (msg, rinfo) => {
    const h = parseHeader(msg);
    if (!h.ok) return;
    const rx = toNtpTimestamp(realtime());
    s.send(encodeHeader({
      leap: Leap.NoWarning, version: h.value.version, mode: Mode.Server, stratum: 2, poll: 3, precision: -20,
      rootDelay: 0x20, rootDispersion: 0x40, referenceId: 0x7f000001, referenceTimestamp: rx,
      originTimestamp: h.value.transmitTimestamp, receiveTimestamp: rx, transmitTimestamp: toNtpTimestamp(realtime()),
    }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.57.1', r));
  return { addr: `127.0.57.1:${s.address().port}`, close: () => s.close() };
}

interface QueryJson {
  readonly clockSource: string;
  readonly clockSourceReason?: string;
  readonly transport: string;
  readonly servers: readonly { readonly ok: boolean }[];
}

let packed: Promise<{ filename: string; files: string[]; archs: string[] }> | undefined;

/** Packs once for the tests below, with every prebuilt binary the toolchains here can build (all of them under NTPKIT_REQUIRE_NATIVE=1). */
function packOnce(log: (msg: string) => void): Promise<{ filename: string; files: string[]; archs: string[] }> {
  packed ??= (async () => {
    const archs: string[] = [];
    for (const arch of Object.keys(ELF_MACHINE)) {
      if (arch === process.arch || (await which(CROSS_GCC[arch] as string)) !== null || required) archs.push(arch);
      else log(`${CROSS_GCC[arch] as string} is not installed: the package is packed without its ${arch} binary`);
    }
    const r = await packWithPrebuilds(root, work, { NTPKIT_PREBUILD_ARCHS: archs.join(' ') });
    return { ...r, archs };
  })();
  return packed;
}

/** Installs the tarball into a directory of its own; null when npm's cache lacks a dependency (only `npm ci` fills it). */
async function install(name: string, env: Readonly<Record<string, string>>): Promise<string | null> {
  const { filename } = await packed!;
  const dir = join(work, name);
  mkdirSync(dir);
  copyFileSync(join(work, filename), join(dir, filename));
  try {
    return await installTarball(root, dir, filename, env);
  } catch (e) {
    if (e instanceof NpmError && /ENOTCACHED/.test(e.stderr)) return null;
    throw e;
  }
}

const linuxPrebuilt = process.platform === 'linux' && process.arch in ELF_MACHINE;

test('the packed package ships an N-API binary per architecture, each an ELF for its machine', { skip: !linuxPrebuilt && `no prebuilt binary is made on ${process.platform}-${process.arch}` }, async (t) => {
  const { files, archs } = await packOnce((m) => t.diagnostic(m));
  for (const arch of archs) {
    const rel = `prebuilds/linux-${arch}/${PREBUILT}`;
    assert.ok(files.includes(rel), `the tarball lacks ${rel}`);
    assert.equal(elfMachine(join(root, rel)), ELF_MACHINE[arch], `${rel} is not built for ${arch}`);
  }
  const foreign = archs.filter((a) => a !== process.arch);
  if (foreign.length > 0 && (await which(`qemu-${foreign[0] === 'arm64' ? 'aarch64' : 'x86_64'}`)) === null) {
    t.diagnostic(`qemu-user is not installed: the ${foreign.join(', ')} binary is checked as an ELF for its machine, not run`);
  }
});

test('without a compiler, the install uses the prebuilt addon and `ntpkit query` gets kernel timestamps', { skip: !linuxPrebuilt && `no prebuilt binary is made on ${process.platform}-${process.arch}` }, async (t) => {
  await packOnce((m) => t.diagnostic(m));
  const path = await noCompilerPath();
  for (const cc of ['cc', 'gcc', 'c++', 'make', CROSS_GCC.x64 as string, CROSS_GCC.arm64 as string]) {
    assert.equal(await which(cc, path), null, `${cc} is reachable on the install's PATH`);
  }
  const pkg = await install('no-compiler', { PATH: path });
  if (pkg === null) return t.skip("npm's cache lacks a dependency");
  // Nothing was compiled: the loader's first choice, build/Release, does not exist.
  assert.equal(existsSync(join(pkg, 'build')), false, readFileSync(join(pkg, 'build-native.log'), 'utf8'));
  const server = await responder();
  try {
    const bin = join(pkg, '..', '.bin', 'ntpkit');
    const q = await runToCompletion(bin, ['query', '--json', '--samples', '2', '--interval', '0.05', '--timeout', '2', server.addr], { env: { PATH: path }, timeoutMs: 60_000 });
    assert.equal(q.status.code, 0, q.stderr + q.stdout);
    const doc = JSON.parse(q.stdout) as QueryJson;
    assert.equal(doc.clockSource, 'clock_gettime', doc.clockSourceReason);
    assert.equal(doc.transport, 'native-kernel-timestamps');
    assert.ok(doc.servers[0]?.ok, q.stdout);
  } finally {
    server.close();
  }
});

test('with no fitting prebuilt binary and no compiler, the install succeeds and ntpkit says it runs on the JavaScript clock', { skip: !linuxPrebuilt && `no prebuilt binary is made on ${process.platform}-${process.arch}` }, async (t) => {
  await packOnce((m) => t.diagnostic(m));
  const path = existsSync(join(work, 'bin')) ? join(work, 'bin') : await noCompilerPath();
  // npm_config_arch is how npm (and node-gyp-build) are told the target architecture: one no binary is shipped for.
  const env = { PATH: path, npm_config_arch: 'riscv64', NTPKIT_REQUIRE_NATIVE: '0' };
  const pkg = await install('no-fit', env);
  if (pkg === null) return t.skip("npm's cache lacks a dependency");
  const log = readFileSync(join(pkg, 'build-native.log'), 'utf8');
  assert.match(log, /No native build was found for platform=linux arch=riscv64/);
  const server = await responder();
  try {
    const bin = join(pkg, '..', '.bin', 'ntpkit');
    const q = await runToCompletion(bin, ['query', '--samples', '1', '--timeout', '2', server.addr], { env, timeoutMs: 60_000 });
    assert.equal(q.status.code, 0, q.stderr + q.stdout);
    // Said once: the clock and the packets fall back for the one reason.
    assert.equal(q.stdout.split('Cannot load the native clock addon').length - 1, 1, q.stdout);
    assert.match(q.stdout, /^Clock source: calibrated hrtime \(Cannot load the native clock addon: no build in \S+ and no prebuilt binary for linux-riscv64 in \S+ \(see build-native\.log\)\), packets timestamped in JS around node:dgram \(for the same reason\)/m);
  } finally {
    server.close();
  }
});
