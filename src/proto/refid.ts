/**
 * The 32-bit reference identifier of RFC 5905 §7.3, whose meaning depends on
 * the stratum:
 *
 * - stratum 0: a kiss code, four ASCII characters (§7.4);
 * - stratum 1: the reference source, up to four ASCII characters,
 *   left-justified and zero-padded ("GPS", "PPS", "LOCL");
 * - stratum 2 and up: the IPv4 address of the upstream server, or for an IPv6
 *   upstream the first four octets of the MD5 hash of its address.
 *
 * The wire does not say which of the last two a refid is: an IPv6 hash is
 * displayed as the dotted quad it happens to spell, as `ntpq` and `chronyc`
 * do. Stratum 16 (unsynchronized) has no upstream; ntpd puts codes such as
 * INIT or STEP there and chronyd puts 0, so it is shown as text when it is.
 *
 * Some servers put a non-ASCII value at stratum 1 (chronyd with `local
 * stratum 1` sends 127.127.1.1): such refids are shown as a dotted quad.
 */
import { parseIPv4, parseIPv6 } from './ip-address.js';

/** A hash function returning the MD5 digest of its input (node:crypto lives outside the pure layer). */
export type Md5 = (data: Uint8Array) => Uint8Array;

/** A refid decoded by the rule of its stratum. `raw` is the wire value. */
export type RefId =
  /** Stratum 0. `code` is null if the four octets are not printable ASCII. */
  | { readonly kind: 'kiss'; readonly raw: number; readonly code: string | null }
  /** Stratum 1. `code` is null if the four octets are not printable ASCII. */
  | { readonly kind: 'source'; readonly raw: number; readonly code: string | null }
  /** Stratum 2 to 15: an IPv4 address, or an IPv6 address hash spelled as one. */
  | { readonly kind: 'address'; readonly raw: number; readonly address: string }
  /** Stratum 16 and the reserved 17..255: no upstream; ntpd sends a code, chronyd 0. */
  | { readonly kind: 'unsynchronized'; readonly raw: number; readonly code: string | null };

/** How to display a refid: bare, as `ntpq -p` does (".GPS."), or as `chronyc tracking` does ("47505300 (GPS)"). */
export type RefIdStyle = 'plain' | 'ntpq' | 'chronyc';

function octets(refId: number): [number, number, number, number] {
  const r = refId >>> 0;
  return [r >>> 24, (r >>> 16) & 0xff, (r >>> 8) & 0xff, r & 0xff];
}

/** The refid as a dotted quad, e.g. "192.0.2.1". */
export function refIdToIPv4(refId: number): string {
  return octets(refId).join('.');
}

/** The refid as 8 upper-case hex digits, as chronyc prints it. */
export function formatRefIdHex(refId: number): string {
  return (refId >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/**
 * The refid as ASCII text if it is 1 to 4 printable characters, left-justified
 * and padded with NULs; otherwise null.
 */
export function refIdAscii(refId: number): string | null {
  const o = octets(refId);
  let n = o.indexOf(0);
  if (n < 0) n = 4;
  if (n === 0) return null;
  for (let i = 0; i < 4; i++) {
    const c = o[i] as number;
    if (i < n ? c < 0x20 || c > 0x7e : c !== 0) return null;
  }
  return String.fromCharCode(...o.slice(0, n));
}

/** Decodes a refid by the rule of its stratum (see the module comment). */
export function decodeRefId(refId: number, stratum: number): RefId {
  const raw = refId >>> 0;
  if (stratum === 0) return { kind: 'kiss', raw, code: refIdAscii(raw) };
  if (stratum === 1) return { kind: 'source', raw, code: refIdAscii(raw) };
  if (stratum < 16) return { kind: 'address', raw, address: refIdToIPv4(raw) };
  return { kind: 'unsynchronized', raw, code: refIdAscii(raw) };
}

/**
 * Display text for a refid. `plain`: the code ("GPS", "RATE") or dotted quad;
 * `ntpq`: codes in dots (".GPS."), as the refid column of `ntpq -p`;
 * `chronyc`: hex followed by the printable characters or the address in
 * parentheses, as `chronyc tracking` ("47505300 (GPS)", "C0000201 (192.0.2.1)").
 */
export function formatRefId(refId: number, stratum: number, style: RefIdStyle = 'plain'): string {
  const d = decodeRefId(refId, stratum);
  if (style === 'chronyc') {
    // chronyc's UTI_RefidToString keeps only the printable characters.
    const name = d.kind === 'address'
      ? d.address
      : octets(d.raw).filter((c) => c >= 0x20 && c <= 0x7e).map((c) => String.fromCharCode(c)).join('');
    return `${formatRefIdHex(d.raw)} (${name})`;
  }
  if (d.kind === 'address') return d.address;
  if (d.code === null) return refIdToIPv4(d.raw);
  return style === 'ntpq' ? `.${d.code}.` : d.code;
}

function fromOctets(o: ArrayLike<number>): number {
  return (((o[0] as number) << 24) | ((o[1] as number) << 16) | ((o[2] as number) << 8) | (o[3] as number)) >>> 0;
}

/**
 * The refid of a code: 1 to 4 printable ASCII characters, left-justified and
 * zero-padded (a stratum-1 source such as "GPS", or a kiss code).
 * @throws RangeError if `code` is not 1 to 4 printable ASCII characters.
 */
export function refIdFromCode(code: string): number {
  if (code.length < 1 || code.length > 4 || !/^[\x20-\x7e]+$/.test(code)) {
    throw new RangeError(`Cannot encode refid: ${JSON.stringify(code)} is not 1 to 4 printable ASCII characters`);
  }
  const o = [0, 0, 0, 0];
  for (let i = 0; i < code.length; i++) o[i] = code.charCodeAt(i);
  return fromOctets(o);
}

/**
 * The refid of an IPv4 upstream: its address ("192.0.2.1" or 4 octets).
 * @throws RangeError if the address is not a dotted quad or 4 octets.
 */
export function refIdFromIPv4(address: string | Uint8Array): number {
  const o = typeof address === 'string' ? parseIPv4(address) : address;
  if (!o || o.length !== 4) throw new RangeError(`Cannot encode refid: ${String(address)} is not an IPv4 address`);
  return fromOctets(o);
}

/**
 * The refid of an IPv6 upstream: the first four octets of the MD5 hash of its
 * 16-octet address (RFC 5905 §7.3), big-endian, as ntpd and chronyd compute it.
 * @throws RangeError if the address is not IPv6 text or 16 octets, or md5 returns under 4 octets.
 */
export function refIdFromIPv6(address: string | Uint8Array, md5: Md5): number {
  const o = typeof address === 'string' ? parseIPv6(address) : address;
  if (!o || o.length !== 16) throw new RangeError(`Cannot encode refid: ${String(address)} is not an IPv6 address`);
  const digest = md5(o);
  if (digest.length < 4) throw new RangeError('Cannot encode refid: the MD5 digest is shorter than 4 octets');
  return fromOctets(digest);
}

/**
 * The refid of an upstream server of either family: text or 4 or 16 octets.
 * An IPv4-mapped IPv6 address (::ffff:192.0.2.1, as a dual-stack socket
 * reports an IPv4 peer) is the IPv4 server it stands for, so its refid is
 * that IPv4 address, as ntpd and chronyd would send for it.
 * @throws RangeError if `address` is neither.
 */
export function refIdFromAddress(address: string | Uint8Array, md5: Md5): number {
  const o = typeof address === 'string' ? parseIPv4(address) ?? parseIPv6(address) : address;
  if (o && o.length === 16 && o.subarray(0, 10).every((b) => b === 0) && o[10] === 0xff && o[11] === 0xff) {
    return fromOctets(o.subarray(12));
  }
  if (o && o.length === 4) return fromOctets(o);
  return refIdFromIPv6(o ?? String(address), md5);
}
