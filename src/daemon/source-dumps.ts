/**
 * chrony's `dumpdir`: each NTP source's samples in DIR/<address>.dat
 * (core/engine/source-dump.ts, chronyd's format), written at stop and on the
 * `dump` command, each atomically; read back at start with `-r`. As chronyd
 * (main.c), the directory is created at start and every source dump in it is
 * removed once read (or at once, without `-r`), so a later start never takes
 * old samples for new ones. Nothing here is fatal: a file that cannot be read
 * or written is logged and the daemon runs on.
 */
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, readRegularFile } from '../config/bounded-read.js';
import type { Config } from '../config/config.js';
import type { SyncEngineApi } from '../core/engine/engine-api.js';
import { isDumpFileName } from '../core/engine/source-dump.js';
import type { Instant } from '../time/instant.js';
import { writeFileAtomic } from './atomic-write.js';

/** Far more than chronyd's 64 samples of about 110 bytes each: anything larger is not a dump. */
const MAX_DUMP_BYTES = 64 * 1024;
/** chronyd's mode for the files and the directory it creates. */
const FILE_MODE = 0o644;
const DIR_MODE = 0o750;

/**
 * At start, with a dumpdir: the directory made if missing; with `reload`
 * (-r) the dumps read (file name → text) for the engine; then every dump
 * file removed. Without a dumpdir: nothing.
 */
export async function takeDumps(config: Config, reload: boolean, log: (line: string) => void): Promise<ReadonlyMap<string, string>> {
  const dir = config.process.dumpdir;
  if (dir === null) {
    if (reload) log('-r: no dumpdir is configured, so there are no source dumps to load');
    return new Map();
  }
  return take(dir, reload, log);
}

async function take(dir: string, reload: boolean, log: (line: string) => void): Promise<ReadonlyMap<string, string>> {
  const found = new Map<string, string>();
  try {
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
  } catch (e) {
    log(`Could not create dumpdir ${dir}: ${describeError(e)}: source samples will not be saved`);
    return found;
  }
  let names: string[];
  try {
    names = (await readdir(dir)).filter(isDumpFileName).sort();
  } catch (e) {
    log(`Could not list dumpdir ${dir}: ${describeError(e)}`);
    return found;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (reload) {
      try {
        const r = readRegularFile(path, MAX_DUMP_BYTES);
        if (r.truncated) log(`Could not load dump file ${path}: larger than ${MAX_DUMP_BYTES} bytes`);
        else found.set(name, r.data.toString('utf8'));
      } catch (e) {
        log(`Could not load dump file ${path}: ${describeError(e)}`);
      }
    }
    await unlink(path).catch(() => {});
  }
  return found;
}

/** Writes the engine's dumps into the dumpdir; returns how many landed, or null without a dumpdir. */
export async function saveDumps(config: Config, engine: SyncEngineApi, now: Instant, log: (line: string) => void): Promise<number | null> {
  const dir = config.process.dumpdir;
  if (dir === null) return null;
  const files = engine.dumpSources?.(now) ?? [];
  let written = 0;
  for (const f of files) {
    const path = join(dir, f.file);
    try {
      await writeFileAtomic(path, f.text, FILE_MODE);
      written++;
    } catch (e) {
      log(`Could not write dump file ${path}: ${describeError(e)}`);
    }
  }
  return written;
}
