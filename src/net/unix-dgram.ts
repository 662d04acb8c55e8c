/**
 * A Unix datagram socket (the addon's UnixDgramSocket): chronyd's command
 * socket is one, and node:dgram cannot open AF_UNIX. Without the addon
 * there is none, and the caller says so.
 */
import { loadNative, type UnixDgramHandle } from '../clock/native.js';

export type { UnixDgramHandle };

/** Binds `path` (replacing a stale socket file); throws with the errno's code when it cannot, or when the addon has no such socket. */
export function openUnixDgram(path: string, onMessage: (data: Buffer, from: string) => void): UnixDgramHandle {
  const n = loadNative();
  if (!n.ok) throw new Error(`no Unix datagram sockets without the native addon: ${n.reason}`);
  const Ctor = n.addon.UnixDgramSocket;
  if (Ctor === undefined) throw new Error('the native addon has no Unix datagram socket (stale build? run sh scripts/build-native.sh)');
  return new Ctor(path, onMessage);
}
