/**
 * `-h HOST[:PORT]` and `-p PORT` of the read-only reports: chronyc's way to
 * reach a daemon's command protocol: its UDP command port (cmdport), or its
 * Unix socket given as a path, or several of these separated by commas,
 * tried in turn. chronyc takes -h as the host, so these commands keep only
 * --help for help. -N names sources as the daemon was told them, -a also
 * lists the sources whose address is not resolved yet (both as chronyc).
 */
import { type Command, Option } from 'commander';
import type { CandmClient } from '../control/candm/client.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import { integerIn } from './option-parsers.js';
import { fetchRemoteSnapshot, parseRemoteTargets, type RemoteNames, withRemote } from './remote-snapshot.js';

export interface RemoteFlags {
  host?: string;
  port?: number;
  numeric?: boolean;
  csv?: boolean;
  sourceNames?: boolean;
  all?: boolean;
}

export interface RemoteOptionSet {
  /** Offer -N (names of sources). */
  readonly names?: boolean;
  /** Offer -a (unresolved sources too). */
  readonly all?: boolean;
  /** The port as --port only, where -p means something else (clients -p N, as chronyc's). */
  readonly portLong?: boolean;
}

export function addRemoteOptions(cmd: Command, set: RemoteOptionSet = {}): Command {
  cmd
    .helpOption('--help', 'display help for command')
    .option('-h, --host <host[:port]>', "read the report from this daemon's command port (cmdport) or Unix command socket (a path), as chronyc -h; a comma-separated list is tried in turn; retries as chronyc: waits of 1, 2 and 4 s")
    .addOption(new Option(set.portLong ? '--port <port>' : '-p, --port <port>', 'the command port with --host (default: 323)').argParser(integerIn('--port', 1, 65535)));
  if (set.names) cmd.option('-N, --source-names', 'with --host: name sources as the daemon was given them (chronyc -N)');
  if (set.all) cmd.option('-a, --all', 'with --host: also the sources whose address is not resolved yet (chronyc -a)');
  return cmd;
}

/** chronyc's naming of sources for these flags: -N asks the daemon, -n and -c print addresses, else reverse lookup. */
export function remoteNames(flags: RemoteFlags): RemoteNames {
  const naming = flags.sourceNames ? 'source' : flags.numeric || flags.csv ? 'numeric' : 'dns';
  return { naming, all: flags.all === true };
}

/** The snapshot a remote daemon's replies describe; a ControlError when it cannot be read. */
export function fetchRemote(flags: RemoteFlags & { host: string }): Promise<DaemonSnapshot> {
  return askRemote(flags.host, flags.port, (client) => fetchRemoteSnapshot(client, new Date(), remoteNames(flags)));
}

/** Runs `fn` with a client of the daemon(s) at -h/-p, with chronyc's timeouts. */
export function askRemote<T>(host: string, port: number | undefined, fn: (client: CandmClient) => Promise<T>): Promise<T> {
  return withRemote(parseRemoteTargets(host, port), {}, fn);
}
