/**
 * `refclock SOCK /path`: a Unix datagram socket that ntpkit creates and a
 * writer (gpsd) sends `struct sock_sample` to (chrony's refclock_sock.c):
 *
 *   struct timeval tv;  system time of the sample (x86-64: 8 + 8 bytes)
 *   double offset;      reference − system time, seconds
 *   int pulse;          1: a PPS pulse (offset from the nearest second)
 *   int leap;           NTP leap indicator
 *   int _pad;
 *   int magic;          0x534f434b ("SOCK")
 *
 * 40 bytes in the machine's byte order. A datagram of another length or
 * magic is counted and dropped, as chronyd does. A datagram with `pulse`
 * set is a pulse: chronyd reads its offset as how far past the pulse the
 * system clock was (RCL_AddPulse's `second`), and so does ntpkit; its leap
 * is not read.
 * Node has no Unix datagram sockets; the addon's, which also serves
 * chronyc's command socket, provides it.
 */
import { unlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import type { RefclockOptions } from '../core/engine/refclock-options.js';
import { addSeconds, instantFromUnixNanos } from '../time/instant.js';
import { openUnixDgram, type UnixDgramHandle } from '../net/unix-dgram.js';
import { leapOf, type RefclockDriverHandle, type RefclockSample, type RefclockSink } from './refclock-reading.js';

export const SOCK_MAGIC = 0x534f434b;
export const SOCK_SAMPLE_BYTES = 40;
const LITTLE_ENDIAN = endianness() === 'LE';
const MAX_OFFSET = 2 ** 32;

/** What a datagram said: a sample, or why it was dropped. */
export type SockParse =
  | { readonly ok: true; readonly sample: RefclockSample }
  | { readonly ok: false; readonly reason: 'length' | 'magic' | 'leap' | 'time' };

/** Decodes one datagram of a writer on this machine (native byte order). */
export function parseSockSample(buf: Uint8Array): SockParse {
  if (buf.length !== SOCK_SAMPLE_BYTES) return { ok: false, reason: 'length' };
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const le = LITTLE_ENDIAN;
  if (v.getInt32(36, le) !== SOCK_MAGIC) return { ok: false, reason: 'magic' };
  const sec = v.getBigInt64(0, le);
  const usec = v.getBigInt64(8, le);
  const offset = v.getFloat64(16, le);
  // chronyd's UTI_IsTimeOffsetSane: an offset of 2^32 s or more (or NaN) is no time at all; it would also overflow a pulse's arithmetic.
  if (usec < 0n || usec >= 1_000_000n || !(Math.abs(offset) < MAX_OFFSET)) return { ok: false, reason: 'time' };
  const realtime = instantFromUnixNanos(sec * 1_000_000_000n + usec * 1000n);
  if (v.getInt32(24, le) !== 0) return { ok: true, sample: { realtime, pulse: offset } };
  const leap = leapOf(v.getInt32(28, le));
  if (leap === null) return { ok: false, reason: 'leap' };
  return { ok: true, sample: { realtime, reference: addSeconds(realtime, offset), leap } };
}

const WHY: Readonly<Record<Exclude<SockParse, { ok: true }>['reason'], string>> = {
  length: `not ${SOCK_SAMPLE_BYTES} bytes (struct sock_sample)`,
  magic: 'bad magic (not 0x534f434b)',
  leap: 'leap 3 (not synchronized)',
  time: 'bad time fields',
};

export function startSockRefclock(o: RefclockOptions, sink: RefclockSink): RefclockDriverHandle {
  const path = o.parameter;
  // A socket file left by an earlier run (or a crashed chronyd) would make bind fail; chronyd removes it too.
  try { unlinkSync(path); } catch { /* absent */ }
  const dropped = new Map<string, number>();
  let sock: UnixDgramHandle;
  try {
    sock = openUnixDgram(path, (buf) => {
      const r = parseSockSample(buf);
      if (r.ok) { sink.sample(r.sample); return; }
      const n = (dropped.get(r.reason) ?? 0) + 1;
      dropped.set(r.reason, n);
      // Once, then at every power of ten, so a misbehaving writer cannot flood the log.
      if (Number.isInteger(Math.log10(n))) sink.problem(`refclock SOCK ${path}: datagram dropped: ${WHY[r.reason]} (${n} so far)`);
    });
  } catch (e) {
    throw new Error(`Cannot create the socket ${path}: ${(e as Error).message}`, { cause: e });
  }
  return {
    close: () => {
      sock.close();
      try { unlinkSync(path); } catch { /* gone */ }
    },
  };
}
