/**
 * A tiny tmpfs that a test mounts, fills and unmounts: a real full disk
 * (ENOSPC on write, short writes at the page boundary) without touching any
 * other filesystem. Needs root (mount(2)); tmpfsSkip() says why not here.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TinyTmpfs {
  /** The mount point. */
  readonly dir: string;
  /** Fills what is left with one file, until the filesystem refuses (ENOSPC). */
  fill(): Promise<void>;
  /** Removes that file: the space is back. */
  free(): Promise<void>;
  /** Unmounts (lazily if something still holds a file open) and removes the mount point. Idempotent. */
  unmount(): Promise<void>;
}

/** Why a tmpfs cannot be mounted here, or null. */
export function tmpfsSkip(): string | null {
  if (process.platform !== 'linux') return `tmpfs mounts need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  return null;
}

export async function mountTinyTmpfs(name: string, sizeBytes = 64 * 1024): Promise<TinyTmpfs> {
  const dir = await mkdtemp(join(tmpdir(), `${name}-`));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', dir]);
  } catch (e) {
    await rmdir(dir).catch(() => undefined);
    throw e;
  }
  const filler = join(dir, '.filler');
  let mounted = true;
  return {
    dir,
    async fill() {
      try {
        await writeFile(filler, Buffer.alloc(sizeBytes));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      }
    },
    free: () => unlink(filler),
    async unmount() {
      if (!mounted) return;
      mounted = false;
      await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
