/**
 * Reading the files a config pulls in: chrony's `include` (a glob(3)
 * pattern, at least one file must match), `confdir`/`sourcedir` (files with
 * one suffix from up to 10 directories, merged by name so the first
 * directory wins, read in lexicographic order of their names) and ntp.conf's
 * `includefile`. File access comes in through ConfigFileAccess so parsing
 * runs the same on a disk and in tests.
 */
import { type ConfigFileAccess } from './config.js';

/** chrony (conf.c) and ntpd (ntp_config.c) both stop nesting includes at a small depth; so do we. */
export const MAX_INCLUDE_DEPTH = 10;

/**
 * Files one config may read in all. The depth limit alone lets a file that
 * includes itself twice (or a glob matching several such files) fan out
 * into k^10 reads: the fuzzer found a 4 KB config that took minutes.
 */
export const MAX_INCLUDED_FILES = 1000;

/** chrony.conf(5): "Multiple directories (up to 10) can be specified with a single confdir directive." */
export const MAX_CONFDIRS = 10;

const MAGIC = /[*?[]/;

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** glob(3) matching of one path segment: `*`, `?`, `[...]` (with `!`/`^` negation and ranges). */
export function globSegmentMatch(pattern: string, name: string): boolean {
  // Like glob(3), a wildcard never matches a leading dot.
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) { re += '\\['; continue; }
      let body = pattern.slice(i + 1, end);
      let neg = false;
      if (body.startsWith('!') || body.startsWith('^')) { neg = true; body = body.slice(1); }
      re += `[${neg ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  try {
    return new RegExp(`${re}$`, 's').test(name);
  } catch {
    return false;
  }
}

function isMissing(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Expands a glob(3) pattern to the matching paths, sorted as glob(3) sorts
 * them. A pattern without wildcards stands for itself (reading it reports a
 * missing file). Throws only what listDir throws for reasons other than a
 * missing directory.
 */
export function expandGlob(pattern: string, listDir: NonNullable<ConfigFileAccess['listDir']>): string[] {
  if (!MAGIC.test(pattern)) return [pattern];
  const absolute = pattern.startsWith('/');
  const segments = pattern.split('/').filter((seg) => seg !== '');
  let paths: string[] = [absolute ? '/' : ''];
  for (const seg of segments) {
    const next: string[] = [];
    for (const base of paths) {
      const join = (name: string): string => (base === '' ? name : base.endsWith('/') ? base + name : `${base}/${name}`);
      if (!MAGIC.test(seg)) {
        next.push(join(seg));
        continue;
      }
      let names: string[];
      try {
        names = listDir(base === '' ? '.' : base);
      } catch (e) {
        if (isMissing(e)) continue;
        throw e;
      }
      for (const name of [...names].sort(byName)) if (globSegmentMatch(seg, name)) next.push(join(name));
    }
    paths = next;
  }
  return paths;
}

/**
 * chrony's confdir/sourcedir: every `*suffix` file of the directories, the
 * first directory winning a name, in lexicographic order of the names.
 * Missing directories contribute nothing (chronyd accepts them too).
 */
export function confdirFiles(dirs: readonly string[], suffix: string, listDir: NonNullable<ConfigFileAccess['listDir']>): string[] {
  const chosen = new Map<string, string>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = listDir(dir);
    } catch (e) {
      if (isMissing(e)) continue;
      throw e;
    }
    for (const name of names) {
      if (name.length <= suffix.length || !name.endsWith(suffix) || name.startsWith('.') || chosen.has(name)) continue;
      chosen.set(name, dir.endsWith('/') ? dir + name : `${dir}/${name}`);
    }
  }
  return [...chosen.keys()].sort(byName).map((name) => chosen.get(name) as string);
}
