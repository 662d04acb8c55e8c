/**
 * `ntpkit allow|deny|cmdallow|cmddeny [all] [SUBNET]` (chronyc's commands
 * of those names): one rule added at run time to the NTP server's access
 * table (allow, deny) or the command port's (cmdallow, cmddeny), with the
 * meaning the chrony.conf directive has. Until the daemon stops; a reload
 * keeps it.
 */
import type { Command } from 'commander';
import { lookup } from 'node:dns/promises';
import { parseSubnet } from '../core/server/access.js';
import { callDaemon } from '../control/commands.js';
import { ControlError } from '../control/errors.js';
import { controlCommand, type ControlFlags, OK_TEXT, usageError } from './control-command.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { controlExitCode } from './report-command.js';

export const ACCESS_JSON_SCHEMA = 'ntpkit.access/1';

/** chronyc's line when the daemon refuses the subnet (STT_BADSUBNET). */
export const BAD_SUBNET_TEXT = '507 Bad subnet';

export type AccessCommandName = 'allow' | 'deny' | 'cmdallow' | 'cmddeny';

/**
 * chronyc's reading of the words (CPS_ParseAllowDeny): `all` first if at
 * all, then nothing (every address) or one subnet: an address, ADDRESS/BITS,
 * a shortened IPv4 network, or a host name (without /BITS). A subnet whose
 * prefix is too long is sent: the daemon refuses it, as chronyd does. Null
 * for anything else ("Could not read address").
 */
export async function parseAccessWords(words: readonly string[], resolve: (name: string) => Promise<string | null> = resolveName): Promise<{ all: boolean; subnet: string | null } | null> {
  const all = words[0] === 'all';
  const rest = all ? words.slice(1) : words;
  if (rest.length > 1) return null;
  const net = rest[0];
  if (net === undefined) return { all, subnet: null };
  const slash = net.indexOf('/');
  if (slash >= 0) {
    if (!/^\d+$/.test(net.slice(slash + 1))) return null;
    // Read as chronyd reads it; only a prefix longer than the address's is left for the daemon to refuse.
    const base = net.slice(0, slash);
    return parseSubnet(`${base}/0`) !== null ? { all, subnet: net } : null;
  }
  if (parseSubnet(net) !== null) return { all, subnet: net };
  const address = await resolve(net);
  return address === null ? null : { all, subnet: address };
}

async function resolveName(name: string): Promise<string | null> {
  if (!/^[A-Za-z0-9.-]+$/.test(name)) return null;
  return lookup(name).then((r) => r.address, () => null);
}

const DESCRIPTIONS: Readonly<Record<AccessCommandName, string>> = {
  allow: 'let NTP clients of a subnet be served, from now on (like chronyc allow)',
  deny: 'stop serving NTP clients of a subnet, from now on (like chronyc deny)',
  cmdallow: "let hosts of a subnet use the daemon's command port for monitoring (like chronyc cmdallow)",
  cmddeny: "keep hosts of a subnet off the daemon's command port (like chronyc cmddeny)",
};

export function accessCommand(io: Io, name: AccessCommandName): Command {
  return controlCommand(name, DESCRIPTIONS[name])
    .argument('[words...]', '[all] [SUBNET]: an address, ADDRESS/BITS, a shortened IPv4 network (192.168.1) or a host name; none: every address. "all" also drops the rules given before for subnets inside it')
    .addHelpText('after', `
The rule follows the configuration's ${name} and deny lines as one more line would;
it lasts until the daemon stops (a reload keeps it). chronyc refuses a subnet
the daemon cannot take with "${BAD_SUBNET_TEXT}", as this command does (exit 1).`)
    .action(async (words: string[], flags: ControlFlags) => {
      const rule = await parseAccessWords(words);
      if (rule === null) {
        usageError(io, name, `Could not read address: expected [all] [SUBNET], got ${JSON.stringify(words.join(' '))}`);
        return;
      }
      try {
        const r = await callDaemon(flags.socket, name, rule, { timeoutMs: flags.timeout * 1000 });
        io.out(flags.json ? JSON.stringify({ schema: ACCESS_JSON_SCHEMA, command: name, ...(r as Record<string, unknown>) }, null, 2) : OK_TEXT);
        io.setExitCode(ExitCode.OK);
      } catch (e) {
        if (!(e instanceof ControlError)) throw e;
        if (e.code === 'bad-args' && e.message.startsWith('Bad subnet') && !flags.json) {
          io.out(BAD_SUBNET_TEXT);
          io.setExitCode(ExitCode.GENERAL_FAILURE);
          return;
        }
        io.err(`ntpkit ${name}: ${e.message}`);
        io.setExitCode(controlExitCode(e));
      }
    });
}
