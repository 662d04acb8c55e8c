/** Parsing of `HOST[:PORT]` operands: names, IPv4, bare IPv6 and `[IPv6]:PORT`. */
import { isIP } from 'node:net';

export interface Target {
  /** The operand as the user wrote it. */
  readonly spec: string;
  /** Host name or address, without brackets. */
  readonly host: string;
  readonly port: number;
}

export type TargetResult = { ok: true; target: Target } | { ok: false; message: string };

export function parseTarget(spec: string, defaultPort: number): TargetResult {
  const s = spec.trim();
  if (s === '') return { ok: false, message: 'Cannot parse server: it is empty' };
  let host = s;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (bracketed) {
    host = bracketed[1] as string;
    portText = bracketed[2];
    if (isIP(host) !== 6) return { ok: false, message: `Cannot parse server "${spec}": "${host}" in brackets is not an IPv6 address` };
  } else if (s.indexOf(':') !== s.lastIndexOf(':')) {
    // Two or more colons: a bare IPv6 address, which cannot carry a port without brackets.
    if (isIP(s) !== 6) return { ok: false, message: `Cannot parse server "${spec}": not an IPv6 address (write [ADDRESS]:PORT to give a port)` };
  } else if (s.includes(':')) {
    [host, portText] = s.split(':') as [string, string];
  }
  let port = defaultPort;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      return { ok: false, message: `Cannot parse server "${spec}": port is "${portText}", expected 1 to 65535` };
    }
    port = Number(portText);
  }
  if (host === '' || /[\s/]/.test(host)) return { ok: false, message: `Cannot parse server "${spec}": "${host}" is not a host name or address` };
  return { ok: true, target: { spec, host, port } };
}

/** `host:port`, with brackets around IPv6 addresses. */
export function formatEndpoint(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}
