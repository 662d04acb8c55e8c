/**
 * The package as npm would publish it: the file list `npm pack` makes, and
 * an install of the packed tarball into a directory of its own, with no
 * network (what a user gets, minus the registry).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runToCompletion } from './process.js';

/** `npm pack` under a hard time limit: it only reads the tree and writes the tarball. */
const PACK_TIMEOUT_MS = 120_000;
/** The install compiles the addon (node-gyp), seconds on a quiet machine, more on a loaded one. */
const INSTALL_TIMEOUT_MS = 300_000;

interface PackResult {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

async function npm(args: readonly string[], cwd: string, timeoutMs: number, env: Readonly<Record<string, string>> = {}): Promise<string> {
  const r = await runToCompletion('npm', args, { cwd, timeoutMs, env });
  if (r.timedOut || r.status.code !== 0) {
    throw new NpmError(`npm ${args.join(' ')} ${r.timedOut ? 'timed out' : `exited ${String(r.status.code ?? r.status.signal)}`}:\n${r.stderr}${r.stdout}`, r.stderr);
  }
  return r.stdout;
}

/** A failed npm command, with its stderr (npm's error codes, such as ENOTCACHED, are in it). */
export class NpmError extends Error {
  constructor(message: string, readonly stderr: string) {
    super(message);
  }
}

async function pack(root: string, extra: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<PackResult> {
  const out = await npm(['pack', '--json', ...extra], root, PACK_TIMEOUT_MS, env);
  // With scripts on, prepack's own output precedes the JSON.
  const [result] = JSON.parse(out.slice(out.indexOf('\n[') + 1 || 0)) as PackResult[];
  if (result === undefined) throw new Error(`npm pack printed no result: ${out}`);
  return result;
}

/**
 * `npm pack` as a publish runs it: prepack builds the prebuilt addons
 * (scripts/prebuild.sh) into `root`/prebuilds first. Writes the tarball
 * into `dest`; returns its file name there and the paths it holds.
 */
export async function packWithPrebuilds(root: string, dest: string, env: Readonly<Record<string, string>> = {}): Promise<{ readonly filename: string; readonly files: string[] }> {
  const r = await pack(root, ['--pack-destination', dest], env);
  return { filename: r.filename, files: r.files.map((f) => f.path).sort() };
}

/** The paths `npm pack` would put in the tarball, relative to the package root. */
export async function packedFiles(root: string): Promise<string[]> {
  return (await pack(root, ['--dry-run', '--ignore-scripts'])).files.map((f) => f.path).sort();
}

/**
 * Packs `root` into `dir` and installs the tarball there as a dependency of
 * an empty project, offline. npm resolves a range only from the registry's
 * metadata, which `npm ci` never fetches, so the install gets a lockfile:
 * the package's own runtime entries from `root`'s lockfile, whose tarballs
 * `npm ci` left in npm's cache. Returns the installed package's directory.
 */
export async function installPacked(root: string, dir: string, env: Readonly<Record<string, string>> = {}): Promise<string> {
  const { filename } = await pack(root, ['--pack-destination', dir, '--ignore-scripts']);
  return installTarball(root, dir, filename, env);
}

/**
 * Installs the tarball `filename` (in `dir`) into `dir` as installPacked()
 * does, with `env` over the environment of the install (its PATH is the one
 * the install scripts see).
 */
export async function installTarball(root: string, dir: string, filename: string, env: Readonly<Record<string, string>> = {}): Promise<string> {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string>; dependencies: Record<string, string> };
  const rootLock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean; version?: string; resolved?: string }> };
  const spec = `file:${filename}`;
  const packages: Record<string, unknown> = {
    '': { name: 'packed-probe', dependencies: { [manifest.name]: spec } },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version, resolved: spec, hasInstallScript: true, bin: manifest.bin, dependencies: manifest.dependencies,
    },
  };
  // Our lockfile omits registry URLs (omit-lockfile-registry-resolved); without one npm asks the
  // registry for the package's metadata, which an offline install has only if some earlier
  // resolve left it in the cache. With the tarball's URL, the cached tarball (found by its
  // integrity) is all the install needs.
  const registry = (await npm(['config', 'get', 'registry'], root, PACK_TIMEOUT_MS)).trim().replace(/\/$/, '');
  for (const [path, entry] of Object.entries(rootLock.packages)) {
    if (path === '' || entry.dev === true || entry.devOptional === true) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const resolved = entry.resolved ?? (entry.version === undefined ? undefined : `${registry}/${name}/-/${name.split('/').pop() as string}-${entry.version}.tgz`);
    packages[path] = resolved === undefined ? entry : { ...entry, resolved };
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'packed-probe', private: true, dependencies: { [manifest.name]: spec } }));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'packed-probe', lockfileVersion: 3, requires: true, packages }));
  await npm(['ci', '--offline', '--no-audit', '--no-fund'], dir, INSTALL_TIMEOUT_MS, env);
  return join(dir, 'node_modules', manifest.name);
}
