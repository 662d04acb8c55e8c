/**
 * `-h HOST[:PORT]` and `-p PORT` of the read-only reports: chronyc's way to
 * reach a daemon's UDP command port. chronyc takes -h as the host, so these
 * commands keep only --help for help.
 */
import { type Command, Option } from 'commander';
import type { CandmClient } from '../control/candm/client.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import { integerIn } from './option-parsers.js';
import { fetchRemoteSnapshot, parseRemoteTarget, withRemote } from './remote-snapshot.js';

export function addRemoteOptions(cmd: Command): Command {
  return cmd
    .helpOption('--help', 'display help for command')
    .option('-h, --host <host[:port]>', "read the report from this daemon's UDP command port (cmdport), as chronyc -h; retries as chronyc: waits of 1, 2 and 4 s")
    .addOption(new Option('-p, --port <port>', 'the command port with --host (default: 323)').argParser(integerIn('--port', 1, 65535)));
}

/** The snapshot a remote daemon's replies describe; a ControlError when it cannot be read. */
export function fetchRemote(host: string, port: number | undefined): Promise<DaemonSnapshot> {
  return askRemote(host, port, (client) => fetchRemoteSnapshot(client, new Date()));
}

/** Runs `fn` with a client of the daemon at -h/-p, with chronyc's timeouts. */
export function askRemote<T>(host: string, port: number | undefined, fn: (client: CandmClient) => Promise<T>): Promise<T> {
  return withRemote(parseRemoteTarget(host, port), {}, fn);
}
