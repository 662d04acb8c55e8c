/**
 * The NTS server's master keys in `ntsdumpdir/ntskeys` (chrony's file name),
 * so cookies handed out before a restart still open after it. Secret
 * material: written with mode 0600, atomically (temp file, fsync, rename,
 * directory fsync) so a crash leaves the old keys or the new ones.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.js';
import { join } from 'node:path';
import { CookieKeyRing, type CookieKeyRingOptions, formatNtsKeysFile, parseNtsKeysFile } from '../crypto/nts-cookie.js';

export const NTS_KEYS_FILE_NAME = 'ntskeys';

export type NtsKeysLoad =
  | { readonly status: 'loaded'; readonly ring: CookieKeyRing; readonly rotated: boolean }
  | { readonly status: 'generated'; readonly ring: CookieKeyRing; readonly warning?: string };

/**
 * The ring at start: the keys file's when `dir` holds a valid one (rotated at
 * once when its age says it is due), else fresh keys. A missing file is
 * normal; a garbled or unreadable one gives a warning and fresh keys (as
 * chronyd does): clients whose cookies no longer open simply re-key.
 * `now` is operating time (monotonic seconds).
 */
export async function loadNtsKeys(dir: string | null, now: number, opts: CookieKeyRingOptions = {}): Promise<NtsKeysLoad> {
  if (dir === null) return { status: 'generated', ring: CookieKeyRing.generate(now, opts) };
  const path = join(dir, NTS_KEYS_FILE_NAME);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const ring = CookieKeyRing.generate(now, opts);
    return err.code === 'ENOENT' ? { status: 'generated', ring } : { status: 'generated', ring, warning: `Cannot read ${path}: ${err.code ?? err.message}; using new keys` };
  }
  const parsed = parseNtsKeysFile(text);
  if (!parsed.ok) return { status: 'generated', ring: CookieKeyRing.generate(now, opts), warning: `${path}: ${parsed.message}; using new keys` };
  const ring = new CookieKeyRing(parsed.value.keys, now - parsed.value.currentAge, opts);
  return { status: 'loaded', ring, rotated: ring.rotateIfDue(now) };
}

/** Writes the ring to `dir/ntskeys` atomically with mode 0600; creates `dir` (0700) if needed. */
export async function saveNtsKeys(dir: string, ring: CookieKeyRing, now: number): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, NTS_KEYS_FILE_NAME);
  await writeFileAtomic(path, formatNtsKeysFile({ keys: ring.keys, currentAge: ring.currentAge(now) }), 0o600);
}
