/**
 * What the published package holds: the library, the CLI, the addon's
 * sources (its install script compiles them where no prebuilt binary loads;
 * the prebuilt binaries are tested in packaging-prebuilt.test.ts) and the
 * dashboard's assets.
 * Tests, their helpers, the harness (src/testing), fixtures and the
 * simulator (which only tests and benchmarks run) stay in the repository.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installPacked, NpmError, packedFiles } from './testing/packed-package.js';
import { runToCompletion } from './testing/process.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Never shipped: compiled tests and test helpers (with their .d.ts and maps), the harness, fixtures, the simulator. */
const NOT_SHIPPED: readonly RegExp[] = [
  /\.test(-helper)?\.(js|d\.ts|js\.map)$/,
  /^dist\/testing\//,
  /(^|\/)fixtures\//,
  /^dist\/sim\//,
  /^src\//,
];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** The addon's sources named in binding.gyp, and the headers they include from native/. */
function nativeSources(): string[] {
  const gyp = readFileSync(join(root, 'binding.gyp'), 'utf8');
  const sources = [...gyp.matchAll(/"(native\/[^"]+\.c)"/g)].map((m) => m[1] as string);
  const headers = sources.flatMap((s) => [...readFileSync(join(root, s), 'utf8').matchAll(/^#include "([^"]+)"/gm)].map((m) => `native/${m[1] as string}`));
  return [...new Set([...sources, ...headers])];
}

/** The relative modules a shipped JavaScript file imports. */
function relativeImports(file: string): string[] {
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  return [...readFileSync(join(root, file), 'utf8').matchAll(re)].map((m) => posix.join(posix.dirname(file), (m[1] ?? m[2]) as string));
}

let listed: Promise<string[]> | undefined;
const files = (): Promise<string[]> => (listed ??= packedFiles(root));

test('the package ships no test, test helper, harness, fixture or simulator file', async () => {
  const shipped = await files();
  assert.ok(shipped.length > 50, `npm pack lists only ${shipped.length} files`);
  assert.deepEqual(shipped.filter((f) => NOT_SHIPPED.some((re) => re.test(f))), []);
});

test('the package ships the CLI, the library, the addon sources and the assets', async () => {
  const shipped = new Set(await files());
  const assets = walk(join(root, 'assets')).map((p) => posix.relative(root, p));
  const needed = [
    'package.json', 'README.md', 'bin/ntpkit.js', 'dist/cli/main.js', 'dist/index.js', 'dist/index.d.ts',
    'binding.gyp', 'scripts/build-native.sh', ...nativeSources(), ...assets,
  ];
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[]; scripts: Record<string, string> };
  assert.ok(manifest.files.includes('prebuilds/*/*.node'), 'package.json files lacks the prebuilt addons');
  assert.equal(manifest.scripts.prepack, 'sh scripts/prebuild.sh', 'npm pack must build the prebuilt addons');
  assert.ok(assets.length > 0, 'no assets found under assets/');
  assert.deepEqual(needed.filter((f) => !shipped.has(f)), []);
});

test('every module a shipped module imports is shipped too', async () => {
  const list = await files();
  const shipped = new Set(list);
  const missing = list.filter((f) => f.endsWith('.js')).flatMap((f) => relativeImports(f).filter((i) => !shipped.has(i)).map((i) => `${f} imports ${i}`));
  assert.deepEqual(missing, []);
});

test('the packed tarball installs offline and its CLI and library run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ntpkit-packed-'));
  try {
    let pkg: string;
    try {
      // As where no prebuilt binary fits: the install script compiles the shipped sources.
      pkg = await installPacked(root, dir, { NTPKIT_BUILD_FROM_SOURCE: '1' });
    } catch (e) {
      // Only the state of npm's cache, not the package, can make this happen (an `npm ci` fills it).
      if (e instanceof NpmError && /ENOTCACHED/.test(e.stderr)) return t.skip(`npm's cache lacks a dependency: ${e.message}`);
      throw e;
    }
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    const bin = join(dir, 'node_modules', '.bin', 'ntpkit');
    const help = await runToCompletion(bin, ['--help'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(help.status.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: ntpkit /m);
    assert.match(help.stdout, /\bdaemon\b/);
    const v = await runToCompletion(bin, ['--version'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(v.stdout.trim(), version);
    const lib = await runToCompletion(process.execPath, ['--input-type=module', '-e', "const m = await import('ntpkit'); console.log(JSON.stringify(m.realtimeInfo()))"], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(lib.status.code, 0, lib.stderr);
    if (process.env.NTPKIT_REQUIRE_NATIVE === '1') {
      // The install script built the addon from the shipped sources, and the library reads the clock through it.
      assert.ok(existsSync(join(pkg, 'build', 'Release', 'ntpkit_native.node')), readFileSync(join(pkg, 'build-native.log'), 'utf8'));
      assert.equal((JSON.parse(lib.stdout) as { kind: string }).kind, 'clock_gettime');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
