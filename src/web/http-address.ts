/**
 * The `--http` flag's value: `ADDRESS[:PORT]` with an IP literal (IPv6 in
 * brackets when a port follows, `[::1]:9473`), or `off`. IP literals only, as
 * the `httpaddress` directive: resolving a name would need DNS at startup.
 */
import { isIP } from 'node:net';
import { DEFAULT_HTTP_PORT, type HttpAddress } from '../config/config.js';

/**
 * The flag's value: where to listen, or `'off'`. Not null for `off`: commander
 * stores an option parser's null or undefined as `''`, which would then
 * reach listen() as "every interface, any port".
 */
export type HttpFlag = HttpAddress | 'off';

/** @throws Error with a message naming the flag and the value. */
export function parseHttpFlag(text: string): HttpFlag {
  if (text === 'off') return 'off';
  const fail = (why: string): never => { throw new Error(`--http must be ADDRESS[:PORT] with an IP address (e.g. 127.0.0.1:9473, [::1]:9473) or "off": ${why}, got "${text}"`); };
  let address: string;
  let port: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) {
    address = bracketed[1] as string;
    port = bracketed[2];
    if (isIP(address) !== 6) fail('the address in brackets is not an IPv6 address');
  } else if (isIP(text) === 6) {
    address = text; // a bare IPv6 address: its colons are not a port separator
  } else {
    const i = text.lastIndexOf(':');
    address = i < 0 ? text : text.slice(0, i);
    port = i < 0 ? undefined : text.slice(i + 1);
    if (isIP(address) !== 4) fail(address.includes(':') ? 'put an IPv6 address in brackets before a port' : 'not an IP address');
  }
  let n = DEFAULT_HTTP_PORT;
  if (port !== undefined) {
    n = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
    if (!(n >= 0 && n <= 65535)) fail('the port must be a number from 0 to 65535');
  }
  return { address, port: n };
}

/** The URL a browser opens for a bound address (IPv6 literals in brackets). */
export function httpUrl(address: string, port: number): string {
  return `http://${isIP(address) === 6 ? `[${address}]` : address}:${port}/`;
}
