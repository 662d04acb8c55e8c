/**
 * Address and subnet arguments as chrony.conf writes them: `192.168.1.5`,
 * `192.168/16`, `192.168.2` (a partial IPv4 address covers what it leaves
 * out: /24 here), `2001:db8::/32`, `::1`.
 */
import { parseIPv4, parseIPv6 } from '../proto/ip-address.js';

export interface Subnet {
  readonly family: 4 | 6;
  /** Network address, 4 or 16 bytes, host bits cleared. */
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

export type SubnetResult = { ok: true; subnet: Subnet } | { ok: false; message: string };

function mask(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] = (out[i] as number) & (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

export function parseSubnet(text: string): SubnetResult {
  const [addr, prefixText, extra] = text.split('/');
  if (addr === undefined || addr === '' || extra !== undefined) return { ok: false, message: `"${text}" is not an address or subnet` };
  let prefix: number | undefined;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return { ok: false, message: `"${text}" has a bad prefix length "${prefixText}"` };
    prefix = Number(prefixText);
  }
  if (addr.includes(':')) {
    const bytes = parseIPv6(addr);
    if (!bytes) return { ok: false, message: `"${addr}" is not an IPv6 address` };
    const p = prefix ?? 128;
    if (p > 128) return { ok: false, message: `"${text}": an IPv6 prefix is at most 128` };
    return { ok: true, subnet: { family: 6, bytes: mask(bytes, p), prefix: p } };
  }
  // chrony accepts 1 to 4 dotted octets; the octets left out are zero and,
  // without an explicit prefix, outside the subnet.
  const parts = addr.split('.');
  if (parts.length > 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    return { ok: false, message: `"${addr}" is not an IPv4 address (host names are not accepted here: give an address or subnet)` };
  }
  const full = parseIPv4([...parts, '0', '0', '0'].slice(0, 4).join('.'));
  if (!full) return { ok: false, message: `"${addr}" is not an IPv4 address` };
  const p = prefix ?? 8 * parts.length;
  if (p > 32) return { ok: false, message: `"${text}": an IPv4 prefix is at most 32` };
  return { ok: true, subnet: { family: 4, bytes: mask(full, p), prefix: p } };
}

export function formatSubnet(s: Subnet): string {
  if (s.family === 4) return `${[...s.bytes].join('.')}/${s.prefix}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((s.bytes[i] as number) << 8) | (s.bytes[i + 1] as number)).toString(16));
  return `${groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}/${s.prefix}`;
}
