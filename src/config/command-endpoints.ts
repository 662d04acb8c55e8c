/**
 * Where chronyc's command protocol is served, from the `bindcmdaddress` and
 * `cmdport` lines, with chronyd's rules (conf.c, cmdmon.c): the last path
 * given names the Unix socket (`/` closes it), the last IPv4 and the last
 * IPv6 address name the UDP sockets, and chronyd's defaults fill in what no
 * line names.
 */
import { isIP } from 'node:net';
import { type CommandConfig, DEFAULT_CHRONY_CMD_SOCKET, DEFAULT_CMD_ADDRESSES } from './config.js';

export interface CommandEndpoints {
  /** The Unix datagram socket's path, or null when `bindcmdaddress /` closed it. */
  readonly socketPath: string | null;
  /** The UDP command sockets' addresses (empty when cmdport is 0). */
  readonly udpAddresses: readonly string[];
  readonly port: number;
}

export function commandEndpoints(c: CommandConfig): CommandEndpoints {
  let path = DEFAULT_CHRONY_CMD_SOCKET;
  let v4 = DEFAULT_CMD_ADDRESSES[0] as string;
  let v6 = DEFAULT_CMD_ADDRESSES[1] as string;
  for (const b of c.bind) {
    if (b.startsWith('/')) path = b;
    else if (isIP(b) === 4) v4 = b;
    else if (isIP(b) === 6) v6 = b;
  }
  return { socketPath: path === '/' ? null : path, udpAddresses: c.port === 0 ? [] : [v4, v6], port: c.port };
}
