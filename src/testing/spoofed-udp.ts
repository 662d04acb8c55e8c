/**
 * UDP datagrams with a source the test picks, port 0 and group addresses
 * included, for the packets no socket API sends: Node's dgram refuses port 0,
 * and no bind() gives a multicast or broadcast source. The IPv4 and UDP
 * headers are built here and sent whole through a raw socket
 * (IPPROTO_RAW, which implies IP_HDRINCL). Node has no raw sockets, so a
 * few lines of python3 do the sending: a standard tool of the test machine,
 * where a test-only entry point in the native addon would ship in every
 * install. Raw sockets need root (CAP_NET_RAW), as the UML and chronyd
 * tests do.
 *
 * Destinations must be loopback addresses. A server bound to one replies
 * through `lo` even to a multicast source (the route follows the bound
 * source address), and the kernel refuses a send to a broadcast address.
 */
import type { TestContext } from 'node:test';
import { isIPv4 } from 'node:net';
import { runToCompletion } from './process.js';
import { interopRequired, requireTool, toolPath } from './tools.js';

export interface SpoofedDatagram {
  readonly source: string;
  readonly sourcePort: number;
  readonly destination: string;
  readonly destinationPort: number;
  readonly payload: Uint8Array;
}

function octets(address: string): number[] {
  if (!isIPv4(address)) throw new RangeError(`Cannot spoof ${JSON.stringify(address)}: expected an IPv4 address`);
  return address.split('.').map(Number);
}

/** The whole IPv4 packet: a 20-byte header (RFC 791) with its checksum, the UDP header (RFC 768; checksum 0, "none"), the payload. */
export function ipv4UdpPacket(d: SpoofedDatagram): Uint8Array {
  const dst = octets(d.destination);
  if (dst[0] !== 127) throw new RangeError(`Cannot send spoofed datagrams to ${d.destination}: loopback destinations only`);
  const udpLength = 8 + d.payload.length;
  const p = new Uint8Array(20 + udpLength);
  const v = new DataView(p.buffer);
  v.setUint8(0, 0x45); // version 4, 5 words of header
  v.setUint16(2, p.length);
  v.setUint8(8, 64); // TTL
  v.setUint8(9, 17); // UDP
  p.set(octets(d.source), 12);
  p.set(dst, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(10, ~sum & 0xffff);
  v.setUint16(20, d.sourcePort);
  v.setUint16(22, d.destinationPort);
  v.setUint16(24, udpLength);
  p.set(d.payload, 28);
  return p;
}

// Sends the packets given in hex, in order, over and over: `repeat` rounds, or until `seconds` have passed; prints the count.
const SENDER = `
import socket, sys, time
repeat, seconds = int(sys.argv[1]), float(sys.argv[2])
pk = [bytes.fromhex(h) for h in sys.argv[3:]]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
n, rounds, end = 0, 0, time.monotonic() + seconds
while (rounds < repeat) if repeat > 0 else (time.monotonic() < end):
    for p in pk:
        s.sendto(p, (socket.inet_ntoa(p[16:20]), 0))
        n += 1
    rounds += 1
print(n)
`;

export interface SendSpoofedOptions {
  /** Rounds through the list (default 1). */
  readonly repeat?: number;
  /** Instead of `repeat`: go round the list until this many seconds have passed. */
  readonly seconds?: number;
}

/** Sends the datagrams through a raw socket; resolves with how many were sent. */
export async function sendSpoofed(datagrams: readonly SpoofedDatagram[], opts: SendSpoofedOptions = {}): Promise<number> {
  const hex = datagrams.map((d) => Buffer.from(ipv4UdpPacket(d)).toString('hex'));
  const repeat = opts.seconds === undefined ? (opts.repeat ?? 1) : 0;
  const r = await runToCompletion(toolPath('python3'), ['-c', SENDER, String(repeat), String(opts.seconds ?? 0), ...hex], {
    timeoutMs: 30_000 + 1000 * (opts.seconds ?? 0),
  });
  if (r.status.code !== 0) throw new Error(`the raw-socket sender failed (${r.timedOut ? 'timed out' : `exit ${String(r.status.code)}`}): ${r.stderr.trim()}`);
  return Number(r.stdout.trim());
}

/**
 * Call first in a test that spoofs: false (skipped) without python3 or
 * root, unless NTPKIT_REQUIRE_INTEROP=1, which makes either a failure.
 */
export function requireSpoofing(t: Pick<TestContext, 'skip'>): boolean {
  if (!requireTool(t, 'python3')) return false;
  if (process.getuid?.() === 0) return true;
  const why = 'spoofing a source address needs a raw socket: run as root, as CI does';
  if (interopRequired()) throw new Error(why);
  t.skip(why);
  return false;
}
