/**
 * The control commands about the daemon process and its access rules:
 * shutdown (as SIGTERM, after the reply) and accheck (chronyc accheck: would
 * the NTP server answer this address).
 */
import { isIP } from 'node:net';
import type { ControlHandler } from './command-table.js';
import type { ControllableDaemon } from './commands.js';
import { noOtherArgs } from './command-args.js';
import { ControlError } from './errors.js';

/** `shutdown` {}: replies, then the daemon stops as on SIGTERM (drift saved, sockets and pidfile removed). */
export function shutdown(stop: () => void, log: (line: string) => void): ControlHandler {
  return (args) => {
    noOtherArgs(args, []);
    log('Control: shutdown');
    // The reply goes out first: the stop closes this very socket.
    setTimeout(stop, 50);
    return null;
  };
}

/** `accheck` {address}: {allowed} by the NTP server's allow/deny rules (chronyc accheck). */
export function accheck(d: ControllableDaemon): ControlHandler {
  return (args) => {
    noOtherArgs(args, ['address']);
    const a = args.address;
    if (typeof a !== 'string' || isIP(a) === 0) throw new ControlError('bad-args', `Cannot use "address" ${JSON.stringify(a)?.slice(0, 80) ?? 'nothing'}: expected an IPv4 or IPv6 address`);
    return { allowed: d.ntpAccess?.(a) ?? false };
  };
}
