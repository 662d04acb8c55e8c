/**
 * NTP access control with chrony's `allow` / `deny` semantics (chrony.conf(5)):
 *
 * - nothing is served until some `allow` permits it;
 * - `allow` / `deny` with no address apply to every IPv4 and IPv6 address;
 *   `0/0` is all of IPv4 and `::/0` all of IPv6;
 * - the most specific rule covering an address decides;
 * - `allow all SUBNET` / `deny all SUBNET` also erase every rule given
 *   before for subnets inside SUBNET.
 *
 * As in chrony (addrfilt.c), rules live in a tree with one level per 4 bits
 * of address, so "more specific" is counted in whole levels: a /25 and a /28
 * share a level, and the later of the two wins where they overlap. A prefix
 * that is not a multiple of 4 sets 2, 4 or 8 entries of its level. Subnet
 * text follows chrony too: an address, `ADDR/BITS`, or 1 to 3 decimal
 * numbers for a shortened IPv4 network (`10` = 10.0.0.0/8, `192.168.1` =
 * 192.168.1.0/24). Host names are the config layer's business.
 *
 * Two deliberate differences: host bits below the prefix are cleared
 * (chrony fills entries starting from the unmasked address, so
 * `allow 1.2.3.5/30` would cover .80 to .143 of its level); and IPv4-mapped
 * IPv6 addresses (::ffff:a.b.c.d, from dual-stack sockets) are the IPv4
 * address they carry, in rules and lookups alike, as chrony sees them on its
 * separate IPv4 socket.
 */
import { parseIPv4, parseIPv6 } from '../../proto/ip-address.js';

/** One `allow` or `deny` line: `allow [all] [subnet]`. `subnet` null means every address of both families. */
export interface AccessRule {
  readonly allow: boolean;
  readonly subnet: string | null;
  readonly all: boolean;
}

/** A parsed subnet: family, 4 or 16 octets (host bits cleared) and prefix length. */
export interface Subnet {
  readonly family: 4 | 6;
  readonly octets: Uint8Array;
  readonly bits: number;
}

const DENY = 0;
const ALLOW = 1;
const AS_PARENT = 2;
type State = typeof DENY | typeof ALLOW | typeof AS_PARENT;

interface Node {
  state: State;
  children: Node[] | null;
}

/** The compiled rules. Opaque: query it with isAllowed(). */
export interface AccessTable {
  readonly v4: Readonly<Node>;
  readonly v6: Readonly<Node>;
  /** How many rules it was built from. */
  readonly rules: number;
}

export type AccessTableResult =
  | { readonly ok: true; readonly table: AccessTable }
  | { readonly ok: false; readonly index: number; readonly message: string };

function isMapped(o: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (o[i] !== 0) return false;
  return o[10] === 0xff && o[11] === 0xff;
}

function mask(octets: Uint8Array, bits: number): Uint8Array {
  const out = octets.slice();
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    out[i] = (out[i] as number) & ((0xff00 >> keep) & 0xff);
  }
  return out;
}

/**
 * Parses chrony's subnet syntax (see the module comment). Returns null for
 * anything else, including host names and prefixes longer than the address.
 */
export function parseSubnet(text: string): Subnet | null {
  const slash = text.indexOf('/');
  let net = text;
  let bits = -1;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(b)) return null;
    bits = Number(b);
    net = text.slice(0, slash);
  }
  let family: 4 | 6;
  let octets: Uint8Array | null = parseIPv4(net);
  if (octets) {
    family = 4;
    if (bits < 0) bits = 32;
  } else if ((octets = net.includes(':') ? parseIPv6(net) : null)) {
    family = 6;
    if (bits < 0) bits = 128;
  } else {
    // Shortened IPv4 network: 1 to 3 decimal numbers, the prefix from their count.
    const parts = net.split('.');
    if (parts.length > 3 || !parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255)) return null;
    family = 4;
    octets = new Uint8Array(4);
    parts.forEach((p, i) => { (octets as Uint8Array)[i] = Number(p); });
    if (bits < 0) bits = 8 * parts.length;
  }
  if (bits > (family === 4 ? 32 : 128)) return null;
  if (family === 6 && isMapped(octets) && bits >= 96) {
    return { family: 4, octets: mask(octets.subarray(12), bits - 96), bits: bits - 96 };
  }
  return { family, octets: mask(octets, bits), bits };
}

function nibble(octets: Uint8Array, level: number): number {
  const b = octets[level >> 1] as number;
  return level & 1 ? b & 15 : b >> 4;
}

function newNode(state: State): Node {
  return { state, children: null };
}

function open(node: Node): Node[] {
  node.children ??= Array.from({ length: 16 }, () => newNode(AS_PARENT));
  return node.children;
}

/** Sets the entries of a subnet (addrfilt.c's set_subnet); `all` drops what lies below them. */
function setSubnet(root: Node, octets: Uint8Array, bits: number, state: State, all: boolean): void {
  let node = root;
  let level = 0;
  while (bits - 4 * level >= 4) {
    node = open(node)[nibble(octets, level)] as Node;
    level++;
  }
  const rest = bits - 4 * level;
  if (rest === 0) {
    if (all) node.children = null;
    node.state = state;
    return;
  }
  const first = nibble(octets, level);
  const children = open(node);
  for (let i = first; i < first + (1 << (4 - rest)); i++) {
    const child = children[i] as Node;
    if (all) child.children = null;
    child.state = state;
  }
}

/**
 * Compiles rules, in configuration order. Fails on the first subnet that
 * does not parse, giving its index.
 */
export function buildAccessTable(rules: readonly AccessRule[]): AccessTableResult {
  const v4 = newNode(DENY);
  const v6 = newNode(DENY);
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i] as AccessRule;
    const state = r.allow ? ALLOW : DENY;
    if (r.subnet === null) {
      setSubnet(v4, new Uint8Array(4), 0, state, r.all);
      setSubnet(v6, new Uint8Array(16), 0, state, r.all);
      continue;
    }
    const s = parseSubnet(r.subnet);
    if (!s) {
      return { ok: false, index: i, message: `Cannot parse subnet: current value is ${JSON.stringify(r.subnet)}, expected an address, ADDRESS/BITS or a shortened IPv4 network such as 192.168.1` };
    }
    setSubnet(s.family === 4 ? v4 : v6, s.octets, s.bits, state, r.all);
  }
  return { ok: true, table: { v4, v6, rules: rules.length } };
}

/** Nothing allowed: the default before any `allow`. */
export const DENY_ALL: AccessTable = { v4: newNode(DENY), v6: newNode(DENY), rules: 0 };

/**
 * A client address as 4 or 16 octets, IPv4-mapped IPv6 turned into IPv4;
 * null if the text or length is not an address.
 */
export function normalizeAddress(address: string | Uint8Array): Uint8Array | null {
  let o: Uint8Array | null;
  if (typeof address === 'string') o = parseIPv4(address) ?? (address.includes(':') ? parseIPv6(address) : null);
  else o = address.length === 4 || address.length === 16 ? address : null;
  if (o && o.length === 16 && isMapped(o)) return o.subarray(12);
  return o;
}

/** The decision for normalized octets (4 or 16): the deepest entry on the address's path that has a state. */
export function isAllowedOctets(table: AccessTable, octets: Uint8Array): boolean {
  let node: Readonly<Node> = octets.length === 4 ? table.v4 : table.v6;
  let state: State = DENY;
  for (let level = 0; ; level++) {
    if (node.state !== AS_PARENT) state = node.state;
    if (!node.children) break;
    node = node.children[nibble(octets, level)] as Node;
  }
  return state === ALLOW;
}

/**
 * The decision for an address held as 32-bit words (big-endian; IPv4 in the
 * first word), as the server's client key holds it: no allocation per packet.
 */
export function isAllowedWords(table: AccessTable, family: 4 | 6, words: ArrayLike<number>): boolean {
  let node: Readonly<Node> = family === 4 ? table.v4 : table.v6;
  let state: State = DENY;
  for (let level = 0; ; level++) {
    if (node.state !== AS_PARENT) state = node.state;
    if (!node.children) break;
    const w = words[level >> 3] as number;
    node = node.children[(w >>> (28 - 4 * (level & 7))) & 15] as Node;
  }
  return state === ALLOW;
}

/** Whether a client may be served; addresses that do not parse are denied. */
export function isAllowed(table: AccessTable, address: string | Uint8Array): boolean {
  const o = normalizeAddress(address);
  return o !== null && isAllowedOctets(table, o);
}
