/** candm.h's IPAddr and the addresses ntpkit's reports carry as text. */
import { formatIPv6 } from '../../core/server/client-report.js';
import { type CandmIp, IPADDR_ID, IPADDR_INET4, IPADDR_INET6, UNSPEC_IP } from '../../proto/candm/index.js';
import { parseIPv4, parseIPv6 } from '../../proto/ip-address.js';

/** An address as text (a refclock's or unresolved source's name gives UNSPEC). */
export function ipFromText(text: string | null): CandmIp {
  if (text === null) return UNSPEC_IP;
  const v4 = parseIPv4(text);
  if (v4 !== null) { const addr = new Uint8Array(16); addr.set(v4); return { family: IPADDR_INET4, addr }; }
  const v6 = parseIPv6(text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text);
  if (v6 !== null) return { family: IPADDR_INET6, addr: v6 };
  return UNSPEC_IP;
}

/** A 32-bit reference id as chronyd reports a refclock: family ID. */
export function ipFromRefId(refId: number): CandmIp {
  const addr = new Uint8Array(16);
  new DataView(addr.buffer).setUint32(0, refId >>> 0);
  return { family: IPADDR_ID, addr };
}

/** The address as text, or null for UNSPEC and ID. */
export function ipToText(ip: CandmIp): string | null {
  if (ip.family === IPADDR_INET4) return Array.from(ip.addr.subarray(0, 4)).join('.');
  if (ip.family === IPADDR_INET6) return formatIPv6(ip.addr);
  return null;
}

/** Whether `address` lies in the subnet that `base` and `mask` give (chronyd's UTI_CompareIPs with a mask). */
export function inSubnet(address: string | null, base: CandmIp, mask: CandmIp): boolean {
  const a = ipFromText(address);
  if (a.family !== base.family) return false;
  const m = mask.family === base.family ? mask.addr : new Uint8Array(16).fill(0xff);
  const n = base.family === IPADDR_INET4 ? 4 : 16;
  for (let i = 0; i < n; i++) if (((a.addr[i] as number) & (m[i] as number)) !== ((base.addr[i] as number) & (m[i] as number))) return false;
  return true;
}
