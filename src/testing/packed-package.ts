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

async function pack(root: string, extra: readonly string[]): Promise<PackResult> {
  const out = await npm(['pack', '--json', '--ignore-scripts', ...extra], root, PACK_TIMEOUT_MS);
  const [result] = JSON.parse(out) as PackResult[];
  if (result === undefined) throw new Error(`npm pack printed no result: ${out}`);
  return result;
}

/** The paths `npm pack` would put in the tarball, relative to the package root. */
export async function packedFiles(root: string): Promise<string[]> {
  return (await pack(root, ['--dry-run'])).files.map((f) => f.path).sort();
}

/**
 * Packs `root` into `dir` and installs the tarball there as a dependency of
 * an empty project, offline. npm resolves a range only from the registry's
 * metadata, which `npm ci` never fetches, so the install gets a lockfile:
 * the package's own runtime entries from `root`'s lockfile, whose tarballs
 * `npm ci` left in npm's cache. Returns the installed package's directory.
 */
export async function installPacked(root: string, dir: string, env: Readonly<Record<string, string>> = {}): Promise<string> {
  const { filename } = await pack(root, ['--pack-destination', dir]);
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string>; dependencies: Record<string, string> };
  const rootLock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
  const spec = `file:${filename}`;
  const packages: Record<string, unknown> = {
    '': { name: 'packed-probe', dependencies: { [manifest.name]: spec } },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version, resolved: spec, hasInstallScript: true, bin: manifest.bin, dependencies: manifest.dependencies,
    },
  };
  for (const [path, entry] of Object.entries(rootLock.packages)) {
    if (path !== '' && entry.dev !== true && entry.devOptional !== true) packages[path] = entry;
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'packed-probe', private: true, dependencies: { [manifest.name]: spec } }));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'packed-probe', lockfileVersion: 3, requires: true, packages }));
  await npm(['ci', '--offline', '--no-audit', '--no-fund'], dir, INSTALL_TIMEOUT_MS, env);
  return join(dir, 'node_modules', manifest.name);
}
