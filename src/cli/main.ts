/**
 * The `ntpkit` command table. bin/ntpkit.js is a thin shim over `run()`.
 *
 * Each command's module is imported only when it runs: a report command such
 * as `ntpkit tracking` then loads the control client and its formatter, not the
 * daemon, the server, the dashboard and the rest (chronyc answers in
 * milliseconds; a CLI that loaded every command took a quarter of a second).
 * The whole table is loaded only for the top-level help and for a name that
 * is no command (commander's suggestion needs every name).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { applyEnvironmentSwitches } from './environment-switches.js';
import { ExitCode } from './exit-codes.js';
import { type Io, processIo } from './io.js';
import { isChronycStyle, parseChronycArgs } from './chronyc-args.js';

/** Commands whose exit codes follow the Nagios plugin convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). */
const MONITORING_COMMANDS = new Set(['check', 'fleet']);

type Load = (io: Io) => Promise<Command>;

// One command per line, so that adding a command is a one-line change; the order is the help's.
const COMMANDS: ReadonlyArray<readonly [name: string, load: Load]> = [
  ['query', async (io) => (await import('./query-command.js')).queryCommand(io)],
  ['server', async (io) => (await import('./server-command.js')).serverCommand(io)],
  ['validate', async (io) => (await import('./validate-command.js')).validateCommand(io)],
  ['convert', async (io) => (await import('./convert-command.js')).convertCommand(io)],
  ['tracking', async (io) => (await import('./tracking-command.js')).trackingCommand(io)],
  ['smoothing', async (io) => (await import('./smoothing-command.js')).smoothingCommand(io)],
  ['sources', async (io) => (await import('./sources-command.js')).sourcesCommand(io)],
  ['sourcestats', async (io) => (await import('./sourcestats-command.js')).sourcestatsCommand(io)],
  ['peers', async (io) => (await import('./peers-command.js')).peersCommand(io)],
  ['daemon', async (io) => (await import('./daemon-command.js')).daemonCommand(io)],
  ['makestep', async (io) => (await import('./makestep-command.js')).makestepCommand(io)],
  ['settime', async (io) => (await import('./settime-command.js')).settimeCommand(io)],
  ['burst', async (io) => (await import('./burst-command.js')).burstCommand(io)],
  ['online', async (io) => (await import('./online-command.js')).onlineCommand(io)],
  ['offline', async (io) => (await import('./online-command.js')).offlineCommand(io)],
  ['add', async (io) => (await import('./add-command.js')).addCommand(io)],
  ['delete', async (io) => (await import('./add-command.js')).deleteCommand(io)],
  ['reload', async (io) => (await import('./reload-command.js')).reloadCommand(io)],
  ['dump', async (io) => (await import('./dump-command.js')).dumpCommand(io)],
  ['clients', async (io) => (await import('./clients-command.js')).clientsCommand(io)],
  ['serverstats', async (io) => (await import('./serverstats-command.js')).serverstatsCommand(io)],
  ['activity', async (io) => (await import('./activity-command.js')).activityCommand(io)],
  ['ntpdata', async (io) => (await import('./ntpdata-command.js')).ntpdataCommand(io)],
  ['check', async (io) => (await import('./check-command.js')).checkCommand(io)],
  ['fleet', async (io) => (await import('./fleet-command.js')).fleetCommand(io)],
  ['exporter', async (io) => (await import('./exporter-command.js')).exporterCommand(io)],
  ['sync', async (io) => (await import('./sync-command.js')).syncCommand(io)],
  ['waitsync', async (io) => (await import('./waitsync-command.js')).waitsyncCommand(io)],
  ['reset', async (io) => (await import('./reset-command.js')).resetCommand(io)],
  ['minpoll', async (io) => (await import('./modify-source-command.js')).modifySourceCommand(io, 'minpoll')],
  ['maxpoll', async (io) => (await import('./modify-source-command.js')).modifySourceCommand(io, 'maxpoll')],
  ['maxdelay', async (io) => (await import('./modify-source-command.js')).modifySourceCommand(io, 'maxdelay')],
  ['maxdelayratio', async (io) => (await import('./modify-source-command.js')).modifySourceCommand(io, 'maxdelayratio')],
  ['maxdelaydevratio', async (io) => (await import('./modify-source-command.js')).modifySourceCommand(io, 'maxdelaydevratio')],
  ['polltarget', async (io) => (await import('./modify-source-command.js')).modifySourceCommand(io, 'polltarget')],
  ['minstratum', async (io) => (await import('./modify-source-command.js')).modifySourceCommand(io, 'minstratum')],
  ['maxupdateskew', async (io) => (await import('./modify-source-command.js')).modifySourceCommand(io, 'maxupdateskew')],
  ['doffset', async (io) => (await import('./doffset-command.js')).doffsetCommand(io)],
  ['local', async (io) => (await import('./local-command.js')).localCommand(io)],
  ['accheck', async (io) => (await import('./accheck-command.js')).accheckCommand(io)],
  ['shutdown', async (io) => (await import('./shutdown-command.js')).shutdownCommand(io)],
  ['rtcdata', async (io) => (await import('./rtcdata-command.js')).rtcdataCommand(io)],
  ['selectdata', async (io) => (await import('./selectdata-command.js')).selectdataCommand(io)],
  ['authdata', async (io) => (await import('./authdata-command.js')).authdataCommand(io)],
  ['refresh', async (io) => (await import('./refresh-command.js')).refreshCommand(io)],
  ['rekey', async (io) => (await import('./rekey-command.js')).rekeyCommand(io)],
  ['cyclelogs', async (io) => (await import('./cyclelogs-command.js')).cyclelogsCommand(io)],
  ['smoothtime', async (io) => (await import('./smoothtime-command.js')).smoothtimeCommand(io)],
  ['sourcename', async (io) => (await import('./sourcename-command.js')).sourcenameCommand(io)],
  ['manual', async (io) => (await import('./manual-command.js')).manualCommand(io)],
  ['allow', async (io) => (await import('./access-command.js')).accessCommand(io, 'allow')],
  ['deny', async (io) => (await import('./access-command.js')).accessCommand(io, 'deny')],
  ['cmdallow', async (io) => (await import('./access-command.js')).accessCommand(io, 'cmdallow')],
  ['cmddeny', async (io) => (await import('./access-command.js')).accessCommand(io, 'cmddeny')],
  ['cmdaccheck', async (io) => (await import('./cmdaccheck-command.js')).cmdaccheckCommand(io)],
  ['dfreq', async (io) => (await import('./dfreq-command.js')).dfreqCommand(io)],
  ['reselect', async (io) => (await import('./reselect-command.js')).reselectCommand(io)],
  ['reselectdist', async (io) => (await import('./reselect-command.js')).reselectdistCommand(io)],
  ['onoffline', async (io) => (await import('./onoffline-command.js')).onofflineCommand(io)],
  ['trimrtc', async (io) => (await import('./rtc-commands.js')).trimrtcCommand(io)],
  ['writertc', async (io) => (await import('./rtc-commands.js')).writertcCommand(io)],
  ['keygen', async (io) => (await import('./keygen-command.js')).keygenCommand(io)],
];

/** The hidden command `ntpkit server --workers N` starts its workers with (WORKER_COMMAND, not imported: its module is the server's). */
export const SERVER_WORKER = '__server-worker';

/** The names of the visible commands, in the help's order. */
export const COMMAND_NAMES: readonly string[] = COMMANDS.map(([name]) => name);

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The program with the command `argv` names, or with every command when it
 * names none of them (help, `help NAME`, a typo). Without `argv`, every command.
 */
export async function buildProgram(io: Io, argv?: readonly string[]): Promise<Command> {
  const program = new Command('ntpkit')
    .description('ntpkit: NTP client, server and tools for Node.js')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();
  const first = argv?.[0];
  if (first === SERVER_WORKER) {
    program.addCommand((await import('./server-command.js')).serverWorkerCommand(), { hidden: true });
    return program;
  }
  const named = COMMANDS.filter(([name]) => name === first);
  const wanted = named.length > 0 ? named : COMMANDS;
  const commands = await Promise.all(wanted.map(([, load]) => load(io)));
  for (const cmd of commands) {
    program.addCommand(cmd.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) }).showHelpAfterError());
  }
  if (named.length === 0) program.addCommand((await import('./server-command.js')).serverWorkerCommand(), { hidden: true });
  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function run(argv: readonly string[], io: Io = processIo): Promise<number> {
  applyEnvironmentSwitches();
  if (isChronycStyle(argv)) {
    // chronyc's options before the command(s): each command runs as if given its own flags; the first failure ends the run.
    const inv = parseChronycArgs(argv, await buildProgram(io));
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
    await (await buildProgram(sink, argv)).parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version "fail" with exit code 0. A monitoring plugin's bad arguments are UNKNOWN, not CRITICAL (2).
      if (e.exitCode === 0) return ExitCode.OK;
      return MONITORING_COMMANDS.has(argv[0] ?? '') ? (await import('./check-command.js')).CHECK_USAGE_EXIT : ExitCode.USAGE;
    }
    io.err(`ntpkit: ${(e as Error).stack ?? String(e)}`);
    return ExitCode.GENERAL_FAILURE;
  }
  return code;
}
