/** The `ntpkit` command table. bin/ntpkit.js is a thin shim over `run()`. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ExitCode } from './exit-codes.js';
import { type Io, processIo } from './io.js';
import { queryCommand } from './query-command.js';
import { serverCommand, serverWorkerCommand } from './server-command.js';
import { validateCommand } from './validate-command.js';
import { peersCommand } from './peers-command.js';
import { sourcesCommand } from './sources-command.js';
import { sourcestatsCommand } from './sourcestats-command.js';
import { trackingCommand } from './tracking-command.js';
import { daemonCommand } from './daemon-command.js';
import { syncCommand } from './sync-command.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(io: Io): Command {
  const program = new Command('ntpkit')
    .description('ntpkit: NTP client, server and tools for Node.js')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();
  for (const cmd of [queryCommand(io), serverCommand(io), validateCommand(io), trackingCommand(io), sourcesCommand(io), sourcestatsCommand(io), peersCommand(io), daemonCommand(io), syncCommand(io)]) {
    program.addCommand(cmd.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) }).showHelpAfterError());
  }
  program.addCommand(serverWorkerCommand(), { hidden: true });
  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function run(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = ExitCode.OK;
  const sink: Io = { ...io, setExitCode: (c) => { code = c; } };
  try {
    await buildProgram(sink).parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version "fail" with exit code 0.
      return e.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    io.err(`ntpkit: ${(e as Error).stack ?? String(e)}`);
    return ExitCode.GENERAL_FAILURE;
  }
  return code;
}
