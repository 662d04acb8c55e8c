/**
 * The control socket's file: never taking over a path another process
 * serves, never removing anything but a stale socket, and at close removing
 * only the socket this server made.
 */
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createConnection, type Server } from 'node:net';
import { dirname } from 'node:path';
import type { ControlLogLevel } from './command-table.js';
import { ControlError } from './errors.js';

/** True when some process accepts connections on the Unix socket at `path`. */
async function someoneListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    const done = (v: boolean): void => {
      s.destroy();
      resolve(v);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(true)); // a listener too busy to accept still owns the path
  });
}

/** Makes the directory (0750: nobody else reaches the socket before its chmod) and clears a stale socket. */
export async function prepareSocketPath(path: string, log: (l: ControlLogLevel, m: string) => void): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) {
    throw new ControlError('not-a-socket', `Cannot listen on ${path}: it exists and is not a socket; refusing to remove it`);
  }
  if (await someoneListens(path)) {
    throw new ControlError('address-in-use', `Cannot listen on ${path}: another process is already listening there (is another ntpkit daemon running?)`);
  }
  log('info', `removing stale control socket ${path}`);
  await unlink(path);
}

/**
 * Listens on `path` and gives the socket `mode`; errors after the listen go
 * to `onLaterError`. Returns the socket file's inode, by which close() knows
 * its own socket from a newer daemon's.
 */
export async function listenOnPath(server: Server, path: string, mode: number, onLaterError: (e: Error) => void): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    server.listen(path, () => {
      server.off('error', onError);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE') throw new ControlError('address-in-use', `Cannot listen on ${path}: another process took the path first`, false, { cause: e });
    throw e;
  });
  server.on('error', onLaterError);
  try {
    await chmod(path, mode);
    return (await lstat(path)).ino;
  } catch (e) {
    server.close();
    throw e;
  }
}

/** Removes the socket file if it is still the one with inode `ino`. */
export async function removeOwnSocket(path: string, ino: number): Promise<void> {
  try {
    // Only our own socket: a newer daemon may already have replaced it.
    if ((await lstat(path)).ino === ino) await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
