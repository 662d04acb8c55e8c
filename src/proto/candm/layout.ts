/**
 * Declarative struct layouts for chrony's command protocol: a layout lists
 * a message's fields in wire order, and the same list encodes and decodes,
 * so requests and replies cannot drift apart between the server (which
 * parses requests and builds replies) and the client (the reverse).
 * Big-endian throughout, as candm.h's htonl/htons; every struct there is
 * naturally aligned, so the wire has no holes.
 */
import { decodeChronyFloat, encodeChronyFloat } from './float.js';

/** candm.h IPAddr: 16 address bytes, then the family (IPADDR_*) and a pad. */
export interface CandmIp {
  /** 0 unspecified, 1 IPv4 (first 4 bytes), 2 IPv6, 3 a 32-bit id (first 4 bytes). */
  readonly family: number;
  /** Always 16 bytes. */
  readonly addr: Uint8Array;
}

/** candm.h Timespec: 64-bit seconds split in two words (the high word 0x7fffffff means "none": 32-bit seconds) and nanoseconds. */
export interface CandmTimespec {
  /** A bigint: 64-bit seconds do not all fit a double. */
  readonly sec: bigint;
  readonly nsec: number;
}

export const IPADDR_UNSPEC = 0;
export const IPADDR_INET4 = 1;
export const IPADDR_INET6 = 2;
export const IPADDR_ID = 3;
const TV_NOHIGHSEC = 0x7fffffff;

export type FieldType =
  | 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'float' | 'ip' | 'timespec'
  | { readonly bytes: number }
  | { readonly array: Layout; readonly count: number };

export type Layout = readonly (readonly [string, FieldType])[];

export type FieldValue = number | CandmIp | CandmTimespec | Uint8Array | readonly Record<string, unknown>[];

export const UNSPEC_IP: CandmIp = Object.freeze({ family: IPADDR_UNSPEC, addr: new Uint8Array(16) });

export function fieldSize(t: FieldType): number {
  if (typeof t === 'object') return 'bytes' in t ? t.bytes : layoutSize(t.array) * t.count;
  switch (t) {
    case 'u8': case 'i8': return 1;
    case 'u16': case 'i16': return 2;
    case 'u32': case 'i32': case 'float': return 4;
    case 'ip': return 20;
    case 'timespec': return 12;
  }
}

export function layoutSize(l: Layout): number {
  let n = 0;
  for (const [, t] of l) n += fieldSize(t);
  return n;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/**
 * Writes `value`'s fields at `offset`. A missing field is written as zero
 * (chronyd's memset before filling a reply); integers wrap to their width.
 */
export function writeLayout(view: DataView, offset: number, l: Layout, value: Readonly<Record<string, unknown>>): void {
  let o = offset;
  for (const [name, t] of l) {
    const v = value[name];
    if (typeof t === 'object') {
      if ('bytes' in t) {
        if (v instanceof Uint8Array) new Uint8Array(view.buffer, view.byteOffset + o, t.bytes).set(v.subarray(0, t.bytes));
      } else {
        const items = Array.isArray(v) ? (v as Record<string, unknown>[]) : [];
        const size = layoutSize(t.array);
        for (let i = 0; i < Math.min(items.length, t.count); i++) writeLayout(view, o + i * size, t.array, items[i] as Record<string, unknown>);
      }
    } else {
      switch (t) {
        case 'u8': case 'i8': view.setUint8(o, num(v) & 0xff); break;
        case 'u16': case 'i16': view.setUint16(o, num(v) & 0xffff); break;
        case 'u32': case 'i32': view.setUint32(o, Number(BigInt.asUintN(32, BigInt(Math.trunc(num(v)))))); break;
        case 'float': view.setUint32(o, encodeChronyFloat(typeof v === 'number' ? v : 0)); break;
        case 'ip': {
          const ip = (v ?? UNSPEC_IP) as CandmIp;
          new Uint8Array(view.buffer, view.byteOffset + o, 16).set(ip.addr.subarray(0, 16));
          view.setUint16(o + 16, ip.family);
          break;
        }
        case 'timespec': {
          const ts = (v ?? { sec: 0n, nsec: 0 }) as CandmTimespec;
          const sec = BigInt.asUintN(64, ts.sec);
          view.setUint32(o, Number(sec >> 32n));
          view.setUint32(o + 4, Number(sec & 0xffffffffn));
          view.setUint32(o + 8, ts.nsec);
          break;
        }
      }
    }
    o += fieldSize(t);
  }
}

/** Reads the fields at `offset`; the caller has checked that the view holds layoutSize(l) bytes there. */
export function readLayout(view: DataView, offset: number, l: Layout): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  let o = offset;
  for (const [name, t] of l) {
    if (typeof t === 'object') {
      if ('bytes' in t) out[name] = new Uint8Array(view.buffer.slice(view.byteOffset + o, view.byteOffset + o + t.bytes));
      else {
        const size = layoutSize(t.array);
        out[name] = Array.from({ length: t.count }, (_, i) => readLayout(view, o + i * size, t.array));
      }
    } else {
      switch (t) {
        case 'u8': out[name] = view.getUint8(o); break;
        case 'i8': out[name] = view.getInt8(o); break;
        case 'u16': out[name] = view.getUint16(o); break;
        case 'i16': out[name] = view.getInt16(o); break;
        case 'u32': out[name] = view.getUint32(o); break;
        case 'i32': out[name] = view.getInt32(o); break;
        case 'float': out[name] = decodeChronyFloat(view.getUint32(o)); break;
        case 'ip': {
          const family = view.getUint16(o + 16);
          // As UTI_IPNetworkToHost: an unknown family reads as unspecified.
          out[name] = family <= IPADDR_ID
            ? { family, addr: new Uint8Array(view.buffer.slice(view.byteOffset + o, view.byteOffset + o + 16)) }
            : UNSPEC_IP;
          break;
        }
        case 'timespec': {
          const high = view.getUint32(o);
          const low = view.getUint32(o + 4);
          const nsec = Math.min(view.getUint32(o + 8), 999_999_999);
          out[name] = { sec: (BigInt(high === TV_NOHIGHSEC ? 0 : high) << 32n) | BigInt(low), nsec };
          break;
        }
      }
    }
    o += fieldSize(t);
  }
  return out;
}
