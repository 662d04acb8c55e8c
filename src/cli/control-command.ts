/**
 * What the operational commands (makestep, burst, online, add, clients,
 * ntpdata...) share: send one request over the control socket, print the
 * result as chronyc does (or as JSON), and turn a failure into a clear
 * message and exit code.
 */
import { Command, Option } from 'commander';
import { callDaemon } from '../control/daemon-client.js';
import { ControlError } from '../control/errors.js';
import { existsSync } from 'node:fs';
import { defaultClientSocketPath } from '../config/default-config.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { positiveNumber } from './option-parsers.js';
import { controlExitCode } from './report-command.js';
import type { CandmClient } from '../control/candm/client.js';
import { askRemote } from './remote-options.js';

export interface ControlFlags {
  socket: string;
  json?: boolean;
  /** chronyc -c's output, for the commands that report (see withCsv). */
  csv?: boolean;
  timeout: number;
  /** The daemon's UDP command port to ask instead (see remote-options.ts), for the commands that offer it. */
  host?: string;
  port?: number;
}

/** chronyc's reply to a command that changes something and succeeded. */
export const OK_TEXT = '200 OK';

/** A command with the flags every control command takes: --socket, --json, --timeout. */
export function controlCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .addOption(new Option('--socket <path>', "the daemon's control socket (controlsocket; default: /run/ntpkit/ntpkit.sock when it exists, else where this user's daemon without -f listens)").default(defaultClientSocketPath(existsSync)))
    .option('--json', 'print the JSON document instead (see docs/control.md)')
    .addOption(new Option('-t, --timeout <seconds>', 'give up waiting for the daemon after this long').default(5).argParser(positiveNumber('--timeout', 3600)))
    .addHelpText('after', `
Exit status: 0 on success, 4 when no daemon listens on the socket,
  3 when it does not answer in time, 1 on any other failure (the daemon
  refused the request, or the socket is not yours to use), 2 usage error.`);
}

/** Offers -c on a report command: chronyc -c's comma-separated lines. */
export function withCsv(cmd: Command): Command {
  return cmd.option('-c, --csv', "print chronyc -c's comma-separated values instead");
}

/** chronyc -c prints nothing at all for an empty table, not an empty line. */
export function printCsv(io: Io, lines: string): void {
  if (lines !== '') io.out(lines);
}

/**
 * Sends `command`; prints `text(result)` or, with --json, the JSON document
 * `{ schema, ...json(result) }`. Returns false (exit code set) on failure.
 */
export async function runControl(io: Io, name: string, flags: ControlFlags, command: string, args: Record<string, unknown>, out: {
  readonly schema: string;
  readonly text: (result: unknown) => string;
  readonly json?: (result: unknown) => Record<string, unknown>;
  /** chronyc -c's lines, printed with -c. */
  readonly csv?: (result: unknown) => string;
  /** The same result read over chrony's protocol, for -h HOST. */
  readonly remote?: (client: CandmClient) => Promise<unknown>;
}): Promise<boolean> {
  let result: unknown;
  try {
    result = flags.host !== undefined && out.remote
      ? await askRemote(flags.host, flags.port, out.remote)
      : await callDaemon(flags.socket, command, args, { timeoutMs: flags.timeout * 1000 });
  } catch (e) {
    if (!(e instanceof ControlError)) throw e;
    io.err(`ntpkit ${name}: ${e.message}`);
    io.setExitCode(controlExitCode(e));
    return false;
  }
  if (flags.json) io.out(JSON.stringify({ schema: out.schema, ...(out.json ? out.json(result) : { result }) }, null, 2));
  else if (flags.csv && out.csv) printCsv(io, out.csv(result));
  else io.out(out.text(result));
  io.setExitCode(ExitCode.OK);
  return true;
}

/** Usage errors of positional arguments: chronyc's "Invalid syntax" cases. */
export function usageError(io: Io, name: string, message: string): void {
  io.err(`ntpkit ${name}: ${message}`);
  io.setExitCode(ExitCode.USAGE);
}

/** A command without arguments that changes something and answers chronyc's "200 OK" (refresh, rekey, cyclelogs...). */
export function okCommand(io: Io, name: string, description: string, command: string = name): Command {
  return controlCommand(name, description)
    .action(async (flags: ControlFlags) => {
      await runControl(io, name, flags, command, {}, { schema: `ntpkit.${name}/1`, text: () => OK_TEXT });
    });
}
