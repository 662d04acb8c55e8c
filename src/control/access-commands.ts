/**
 * chronyc allow/deny and cmdallow/cmddeny at run time: one rule added to the
 * NTP server's or the command port's access table, after the config's, with
 * the meaning the chrony.conf directive of the same name has (access.ts):
 * no subnet is every address, `all` also drops the rules given before for
 * subnets inside it.
 */
import { parseSubnet } from '../core/server/access.js';
import type { ControlHandler } from './command-table.js';
import type { ControllableDaemon } from './commands.js';
import { noOtherArgs } from './command-args.js';
import { ControlError } from './errors.js';

export type AccessTableName = 'ntp' | 'cmd';

/** The rule `{subnet?, all?}` names, checked; a subnet that does not parse is chronyd's STT_BADSUBNET ("Bad subnet"). */
export function accessRuleArgs(args: Readonly<Record<string, unknown>>): { subnet: string | null; all: boolean } {
  noOtherArgs(args, ['subnet', 'all']);
  const all = args.all ?? false;
  if (typeof all !== 'boolean') throw new ControlError('bad-args', `Cannot use "all" ${JSON.stringify(all)}: expected true or false`);
  const subnet = args.subnet ?? null;
  if (subnet !== null && (typeof subnet !== 'string' || parseSubnet(subnet) === null)) {
    throw new ControlError('bad-args', `Bad subnet: ${JSON.stringify(subnet)?.slice(0, 80)} is not an address, ADDRESS/BITS (BITS at most 32 for IPv4, 128 for IPv6) or a shortened IPv4 network such as 192.168.1`);
  }
  return { subnet, all };
}

/** `allow`/`deny` (table 'ntp') or `cmdallow`/`cmddeny` (table 'cmd') {subnet?, all?}. */
export function accessRule(d: ControllableDaemon, table: AccessTableName, allow: boolean, log: (line: string) => void): ControlHandler {
  const name = `${table === 'cmd' ? 'cmd' : ''}${allow ? 'allow' : 'deny'}`;
  return async (args) => {
    const { subnet, all } = accessRuleArgs(args);
    if (d.addAccessRule === undefined) throw new ControlError('not-enabled', `This daemon has no access table for ${name}`);
    try {
      await d.addAccessRule(table, { allow, all, subnet });
    } catch (e) {
      // The subnet was checked above: what is left is the server failing to open for the first allowed client.
      throw new Error(`Cannot ${name} ${subnet ?? '(every address)'}: ${(e as Error).message}`);
    }
    log(`Control: ${name}${all ? ' all' : ''} ${subnet ?? '(every address)'}`);
    return { subnet, all };
  };
}
