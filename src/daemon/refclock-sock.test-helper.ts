/** What the SOCK refclock tests write: gpsd's struct sock_sample, byte for byte, sent over a Unix datagram socket. */
import { join } from 'node:path';
import { openUnixDgram } from '../net/unix-dgram.js';
import { SOCK_MAGIC, SOCK_SAMPLE_BYTES } from './refclock-sock.js';

/** A writer as gpsd is one: a datagram socket of its own, sending to the refclock's path. */
export interface Sender {
  send(buf: Buffer, path: string): void;
  close(): void;
}

/** A sender bound in `dir` (the addon's Unix datagram socket; it ignores what it is sent). */
export function openSender(dir: string): Sender {
  const sock = openUnixDgram(join(dir, 'writer.sock'), () => {});
  // A refclock that is not there yet, or gone, drops the sample, as gpsd's write would fail.
  return { send: (buf, path) => { sock.send(buf, path); }, close: () => sock.close() };
}

/** gpsd's struct sock_sample (x86-64, native byte order): system time `nowNs`, `offset` (reference − system, or for a pulse how far past it the system clock was). */
export function sockSample(nowNs: bigint, offset: number, o: { magic?: number; pulse?: number; leap?: number } = {}): Buffer {
  const b = Buffer.alloc(SOCK_SAMPLE_BYTES);
  b.writeBigInt64LE(nowNs / 1_000_000_000n, 0);
  b.writeBigInt64LE((nowNs % 1_000_000_000n) / 1000n, 8);
  b.writeDoubleLE(offset, 16);
  b.writeInt32LE(o.pulse ?? 0, 24);
  b.writeInt32LE(o.leap ?? 0, 28);
  b.writeInt32LE(o.magic ?? SOCK_MAGIC, 36);
  return b;
}
