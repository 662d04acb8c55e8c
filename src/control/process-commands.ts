/**
 * The control commands about the daemon process, its files and its access
 * rules: shutdown (as SIGTERM, after the reply), rekey (the key file read
 * again), cyclelogs (the log files reopened) and accheck (chronyc accheck:
 * would the NTP server answer this address).
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

/** `rekey` {}: the key file read again; a key file that does not load is refused and the old keys stay. */
export function rekey(d: ControllableDaemon, log: (line: string) => void): ControlHandler {
  return async (args) => {
    noOtherArgs(args, []);
    if (d.rekey === undefined) throw new ControlError('not-enabled', 'This daemon cannot read its key file again');
    try {
      await d.rekey();
    } catch (e) {
      throw new ControlError('bad-config', `Cannot rekey: ${(e as Error).message}`);
    }
    log('Control: rekey (key file read again)');
    return null;
  };
}

/** `cyclelogs` {}: the log files closed and opened again. */
export function cyclelogs(d: ControllableDaemon, log: (line: string) => void): ControlHandler {
  return async (args) => {
    noOtherArgs(args, []);
    await d.cycleLogs?.();
    log('Control: cyclelogs');
    return null;
  };
}
