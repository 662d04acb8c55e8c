/** What the SOCK refclock tests write: gpsd's struct sock_sample, byte for byte, sent over a Unix datagram socket. */
import { SOCK_MAGIC, SOCK_SAMPLE_BYTES } from './refclock-sock.js';

export interface Sender {
  send(buf: Buffer, offset: number, length: number, path: string, cb: (err?: Error) => void): void;
  close(): void;
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
