/**
 * Random bytes for nonces, drawn from a pool refilled 4 KiB at a time.
 * randomBytes() per nonce cost an NTS request about as much as one of its
 * AES-SIV operations with OpenSSL (a call into C and a Buffer each time);
 * the bytes are the same CSPRNG's, just fetched in bulk. Each call returns
 * a copy, so a caller may keep or zero what it gets.
 */
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let used = POOL_SIZE;

/** `n` fresh random bytes from the pool (n above the pool size bypasses it). */
export function pooledRandomBytes(n: number): Uint8Array {
  if (n > POOL_SIZE) return randomFillSync(new Uint8Array(n));
  if (used + n > POOL_SIZE) {
    randomFillSync(pool);
    used = 0;
  }
  const out = pool.slice(used, used + n);
  // Handed-out bytes are not left behind in the pool.
  pool.fill(0, used, used + n);
  used += n;
  return out;
}
