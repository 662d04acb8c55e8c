/**
 * Which Host headers the dashboard answers. A page on another site can point
 * a name of its own at this server's address (DNS rebinding) and then read
 * its answers as same-origin; the one thing such a request cannot fake is the
 * Host header, which carries the attacker's name. So the server answers only
 * Hosts that name it:
 * - the address the client connected to, with the port it connected to (an
 *   IP literal cannot be rebound: its origin is the address itself);
 * - `localhost`, with that port, when that address is a loopback one;
 * - a name the operator listed (`httphost`, `--http-host`), on any port, as
 *   a reverse proxy in front may forward its own port or none.
 */
import { isIP } from 'node:net';
import { parseIPv4, parseIPv6 } from '../proto/ip-address.js';

/** Where the client connected: the socket's local address and port. */
export interface LocalEndpoint {
  readonly address: string;
  readonly port: number;
}

/** The port a Host header without one stands for (RFC 9110 7.2: the scheme's default). */
const HTTP_DEFAULT_PORT = 80;

/** `name[:port]` or `[v6][:port]` into its parts; null when malformed. */
export function splitHost(header: string): { name: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+))(?::(\d{1,5}))?$/.exec(header.trim());
  if (m === null) return null;
  const port = m[3] === undefined ? HTTP_DEFAULT_PORT : Number(m[3]);
  if (port > 65535) return null;
  const name = (m[1] ?? m[2] ?? '').toLowerCase().replace(/\.$/, '');
  if (m[1] !== undefined && isIP(name) !== 6) return null;
  return { name, port };
}

/** An address's bytes, IPv4-mapped IPv6 (`::ffff:127.0.0.1`, as a dual-stack socket reports) as IPv4. */
function addressBytes(text: string): Uint8Array | null {
  const v4 = parseIPv4(text);
  if (v4 !== null) return v4;
  const v6 = parseIPv6(text);
  if (v6 === null) return null;
  const mapped = v6.subarray(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff));
  return mapped ? v6.subarray(12) : v6;
}

function sameAddress(a: string, b: string): boolean {
  const x = addressBytes(a);
  const y = addressBytes(b);
  return x !== null && y !== null && x.length === y.length && x.every((v, i) => v === y[i]);
}

function isLoopback(address: string): boolean {
  const b = addressBytes(address);
  if (b === null) return false;
  return b.length === 4 ? b[0] === 127 : b.every((v, i) => v === (i === 15 ? 1 : 0));
}

/**
 * Whether a request whose Host header is `header` (undefined: none) and that
 * arrived at `local` is for this server. `listed` holds the operator's names
 * as normalizeHttpHost gives them.
 */
export function hostAllowed(header: string | undefined, local: LocalEndpoint, listed: ReadonlySet<string>): boolean {
  if (header === undefined) return false;
  const host = splitHost(header);
  if (host === null) return false;
  if (listed.has(host.name)) return true;
  if (host.port !== local.port) return false;
  if (host.name === 'localhost') return isLoopback(local.address);
  return isIP(host.name) !== 0 && sameAddress(host.name, local.address);
}
