/** The `ntpkit` command table. bin/ntpkit.js is a thin shim over `run()`. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { applyEnvironmentSwitches } from './environment-switches.js';
import { ExitCode } from './exit-codes.js';
import { type Io, processIo } from './io.js';
import { queryCommand } from './query-command.js';
import { serverCommand, serverWorkerCommand } from './server-command.js';
import { validateCommand } from './validate-command.js';
import { convertCommand } from './convert-command.js';
import { peersCommand } from './peers-command.js';
import { sourcesCommand } from './sources-command.js';
import { sourcestatsCommand } from './sourcestats-command.js';
import { trackingCommand } from './tracking-command.js';
import { smoothingCommand } from './smoothing-command.js';
import { daemonCommand } from './daemon-command.js';
import { CHECK_USAGE_EXIT, checkCommand } from './check-command.js';
import { fleetCommand } from './fleet-command.js';
import { exporterCommand } from './exporter-command.js';
import { activityCommand } from './activity-command.js';
import { addCommand, deleteCommand } from './add-command.js';
import { burstCommand } from './burst-command.js';
import { clientsCommand } from './clients-command.js';
import { makestepCommand } from './makestep-command.js';
import { settimeCommand } from './settime-command.js';
import { ntpdataCommand } from './ntpdata-command.js';
import { offlineCommand, onlineCommand } from './online-command.js';
import { reloadCommand } from './reload-command.js';
import { dumpCommand } from './dump-command.js';
import { serverstatsCommand } from './serverstats-command.js';
import { syncCommand } from './sync-command.js';
import { waitsyncCommand } from './waitsync-command.js';
import { resetCommand } from './reset-command.js';
import { modifySourceCommand } from './modify-source-command.js';
import { doffsetCommand } from './doffset-command.js';
import { localCommand } from './local-command.js';
import { accheckCommand } from './accheck-command.js';
import { shutdownCommand } from './shutdown-command.js';
import { rtcdataCommand } from './rtcdata-command.js';
import { selectdataCommand } from './selectdata-command.js';
import { authdataCommand } from './authdata-command.js';
import { refreshCommand } from './refresh-command.js';
import { rekeyCommand } from './rekey-command.js';
import { cyclelogsCommand } from './cyclelogs-command.js';
import { smoothtimeCommand } from './smoothtime-command.js';
import { sourcenameCommand } from './sourcename-command.js';
import { manualCommand } from './manual-command.js';
import { accessCommand } from './access-command.js';
import { cmdaccheckCommand } from './cmdaccheck-command.js';
import { dfreqCommand } from './dfreq-command.js';
import { reselectCommand, reselectdistCommand } from './reselect-command.js';
import { onofflineCommand } from './onoffline-command.js';
import { trimrtcCommand, writertcCommand } from './rtc-commands.js';
import { keygenCommand } from './keygen-command.js';
import { isChronycStyle, parseChronycArgs } from './chronyc-args.js';

/** Commands whose exit codes follow the Nagios plugin convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). */
const MONITORING_COMMANDS = new Set(['check', 'fleet']);

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
  // One command per line, so that adding a command is a one-line change.
  const commands = [
    queryCommand(io),
    serverCommand(io),
    validateCommand(io),
    convertCommand(io),
    trackingCommand(io),
    smoothingCommand(io),
    sourcesCommand(io),
    sourcestatsCommand(io),
    peersCommand(io),
    daemonCommand(io),
    makestepCommand(io),
    settimeCommand(io),
    burstCommand(io),
    onlineCommand(io),
    offlineCommand(io),
    addCommand(io),
    deleteCommand(io),
    reloadCommand(io),
    dumpCommand(io),
    clientsCommand(io),
    serverstatsCommand(io),
    activityCommand(io),
    ntpdataCommand(io),
    checkCommand(io),
    fleetCommand(io),
    exporterCommand(io),
    syncCommand(io),
    waitsyncCommand(io),
    resetCommand(io),
    modifySourceCommand(io, 'minpoll'),
    modifySourceCommand(io, 'maxpoll'),
    modifySourceCommand(io, 'maxdelay'),
    modifySourceCommand(io, 'maxdelayratio'),
    modifySourceCommand(io, 'maxdelaydevratio'),
    modifySourceCommand(io, 'polltarget'),
    modifySourceCommand(io, 'minstratum'),
    modifySourceCommand(io, 'maxupdateskew'),
    doffsetCommand(io),
    localCommand(io),
    accheckCommand(io),
    shutdownCommand(io),
    rtcdataCommand(io),
    selectdataCommand(io),
    authdataCommand(io),
    refreshCommand(io),
    rekeyCommand(io),
    cyclelogsCommand(io),
    smoothtimeCommand(io),
    sourcenameCommand(io),
    manualCommand(io),
    accessCommand(io, 'allow'),
    accessCommand(io, 'deny'),
    accessCommand(io, 'cmdallow'),
    accessCommand(io, 'cmddeny'),
    cmdaccheckCommand(io),
    dfreqCommand(io),
    reselectCommand(io),
    reselectdistCommand(io),
    onofflineCommand(io),
    trimrtcCommand(io),
    writertcCommand(io),
    keygenCommand(io),
  ];
  for (const cmd of commands) {
    program.addCommand(cmd.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) }).showHelpAfterError());
  }
  program.addCommand(serverWorkerCommand(), { hidden: true });
  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function run(argv: readonly string[], io: Io = processIo): Promise<number> {
  applyEnvironmentSwitches();
  if (isChronycStyle(argv)) {
    // chronyc's options before the command(s): each command runs as if given its own flags; the first failure ends the run.
    const inv = parseChronycArgs(argv, buildProgram(io));
    if ('error' in inv) {
      io.err(`ntpkit: ${inv.error}`);
      return ExitCode.USAGE;
    }
    for (const words of inv.commands) {
      const c = await runOne(words, io);
      if (c !== ExitCode.OK) return c;
    }
    return ExitCode.OK;
  }
  return runOne(argv, io);
}

async function runOne(argv: readonly string[], io: Io): Promise<number> {
  let code: number = ExitCode.OK;
  const sink: Io = { ...io, setExitCode: (c) => { code = c; } };
  try {
    await buildProgram(sink).parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version "fail" with exit code 0. A monitoring plugin's bad arguments are UNKNOWN, not CRITICAL (2).
      if (e.exitCode === 0) return ExitCode.OK;
      return MONITORING_COMMANDS.has(argv[0] ?? '') ? CHECK_USAGE_EXIT : ExitCode.USAGE;
    }
    io.err(`ntpkit: ${(e as Error).stack ?? String(e)}`);
    return ExitCode.GENERAL_FAILURE;
  }
  return code;
}
