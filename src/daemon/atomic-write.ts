/**
 * State files written atomically, so a crash never leaves a torn file
 * (a daemon restarted after a power cut must find the old drift or keys, or
 * the new, never half of either): the text goes to a temp file beside the target, is fsynced, renamed
 * over it, and the directory is fsynced so the rename survives a power cut.
 * The drift file and the NTS master keys both use it.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(path: string, text: string, mode: number): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp`);
  // A leftover temp file could carry looser permissions: start from none, and create it exclusively.
  await unlink(tmp).catch(() => {});
  const file = await open(tmp, 'wx', mode);
  try {
    // writeFile goes on until all is written: one write(2) may take only part (a nearly full disk), and a short file must never replace the good one.
    await file.writeFile(text);
    await file.sync();
  } catch (e) {
    await file.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await file.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory (EINVAL); the rename itself has happened.
  }
}
