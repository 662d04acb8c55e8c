/**
 * A deliberately minimal NTP client for the harness itself: it tells when a
 * server under test is really serving, and lets harness tests measure a
 * faketime'd server's offset. It shares no code with ntpkit's own codec or
 * query engine, so a bug there cannot make the harness lie about readiness.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';

/** 2^32: one second in NTP fraction units. */
const FRAC = 4294967296;
/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01. */
const NTP_UNIX_DELTA = 2208988800;

/** Header fields of a reply, decoded by hand (RFC 5905 §7.3). */
export interface ProbeHeader {
  readonly leap: number;
  readonly version: number;
  readonly mode: number;
  readonly stratum: number;
  readonly poll: number;
  readonly precision: number;
  /** Seconds. */
  readonly rootDelay: number;
  /** Seconds. */
  readonly rootDispersion: number;
  readonly referenceId: number;
  /** The refid as 4 ASCII characters when printable (stratum 0/1 codes, kiss codes), else dotted quad. */
  readonly referenceIdText: string;
  readonly referenceTimestamp: bigint;
  readonly originTimestamp: bigint;
  readonly receiveTimestamp: bigint;
  readonly transmitTimestamp: bigint;
}

/** Decodes the first 48 bytes; undefined when shorter. No validation beyond length. */
export function decodeProbeHeader(b: Uint8Array): ProbeHeader | undefined {
  if (b.length < 48) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const b0 = v.getUint8(0);
  const refid = v.getUint32(12);
  const chars = [12, 13, 14, 15].map((i) => v.getUint8(i));
  const printable = chars.every((c) => c === 0 || (c >= 0x20 && c < 0x7f));
  return {
    leap: b0 >> 6,
    version: (b0 >> 3) & 7,
    mode: b0 & 7,
    stratum: v.getUint8(1),
    poll: v.getInt8(2),
    precision: v.getInt8(3),
    rootDelay: v.getUint32(4) / 65536,
    rootDispersion: v.getUint32(8) / 65536,
    referenceId: refid,
    referenceIdText: printable ? String.fromCharCode(...chars.filter((c) => c !== 0)) : chars.join('.'),
    referenceTimestamp: v.getBigUint64(16),
    originTimestamp: v.getBigUint64(24),
    receiveTimestamp: v.getBigUint64(32),
    transmitTimestamp: v.getBigUint64(40),
  };
}

/** Wall-clock now as float seconds since 1900 (NTP era 0). About 20 us accurate: plenty for a harness. */
function ntpNowSeconds(): number {
  return (performance.timeOrigin + performance.now()) / 1000 + NTP_UNIX_DELTA;
}

function ntpToSeconds(ts: bigint): number {
  return Number(ts >> 32n) + Number(ts & 0xffffffffn) / FRAC;
}

export interface ProbeOptions {
  readonly timeoutMs?: number;
  readonly version?: number;
  /** Local address to send from; default: the kernel's choice (127.0.0.1 on loopback). */
  readonly sourceAddress?: string;
}

export interface ProbeResult {
  readonly header: ProbeHeader;
  readonly bytes: Uint8Array;
  /** theta = ((T2 - T1) + (T3 - T4)) / 2, seconds (RFC 5905 §8). */
  readonly offset: number;
  /** delta = (T4 - T1) - (T3 - T2), seconds. */
  readonly delay: number;
  /** A usable time reply: mode 4, origin echoes our cookie, leap != 3, stratum 1..15. */
  readonly synchronized: boolean;
}

/**
 * Sends one 48-byte mode 3 request whose transmit timestamp is a random
 * cookie (RFC 9109) and waits for the reply that echoes it. Rejects on
 * timeout or socket error; replies that do not echo the cookie are ignored.
 */
export async function probeNtp(address: string, port: number, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 500;
  const version = opts.version ?? 4;
  const req = new Uint8Array(48);
  req[0] = (version << 3) | 3;
  const cookie = new Uint8Array(randomBytes(8));
  req.set(cookie, 40);
  const cookieValue = new DataView(cookie.buffer).getBigUint64(0);

  const sock = dgram.createSocket(isIPv6(address) ? 'udp6' : 'udp4');
  try {
    return await new Promise<ProbeResult>((resolve, reject) => {
      let t1 = 0;
      const timer = setTimeout(() => reject(new Error(`NTP probe of ${address}:${port} timed out after ${timeoutMs} ms`)), timeoutMs);
      sock.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      sock.on('message', (msg) => {
        const t4 = ntpNowSeconds();
        const h = decodeProbeHeader(msg);
        if (!h || h.originTimestamp !== cookieValue) return;
        clearTimeout(timer);
        const t2 = ntpToSeconds(h.receiveTimestamp);
        const t3 = ntpToSeconds(h.transmitTimestamp);
        resolve({
          header: h,
          bytes: new Uint8Array(msg),
          offset: (t2 - t1 + (t3 - t4)) / 2,
          delay: t4 - t1 - (t3 - t2),
          synchronized: h.mode === 4 && h.leap !== 3 && h.stratum >= 1 && h.stratum <= 15 && h.transmitTimestamp !== 0n,
        });
      });
      const send = (): void => {
        t1 = ntpNowSeconds();
        sock.send(req, (e) => {
          if (e) {
            clearTimeout(timer);
            reject(e);
          }
        });
      };
      // Connected, so an ICMP port-unreachable (server not listening yet)
      // surfaces at once as ECONNREFUSED instead of as a timeout.
      const connect = (): void => sock.connect(port, address, send);
      if (opts.sourceAddress) sock.bind(0, opts.sourceAddress, connect);
      else connect();
    });
  } finally {
    sock.close();
  }
}
