/**
 * What `tracking`, `sources`, `sourcestats` and `peers` share: ask the
 * daemon for its snapshot over the control socket, print one view of it as
 * text (chronyc's / ntpq's layout) or as JSON, and turn a failure into a
 * clear message and exit code.
 */
import { Command, Option } from 'commander';
import { fetchSnapshot } from '../control/daemon-client.js';
import { ControlError } from '../control/errors.js';
import { existsSync } from 'node:fs';
import { defaultClientSocketPath } from '../config/default-config.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { positiveNumber } from './option-parsers.js';
import { printCsv } from './control-command.js';
import type { ReportOptions } from './report-common.js';
import { addRemoteOptions, askRemote, fetchRemote } from './remote-options.js';
import type { CandmClient } from '../control/candm/client.js';

export interface ReportFlags {
  socket: string;
  json?: boolean;
  csv?: boolean;
  numeric?: boolean;
  verbose?: boolean;
  timeout: number;
  host?: string;
  port?: number;
  sourceNames?: boolean;
  all?: boolean;
}

export interface ReportSpec {
  readonly name: string;
  readonly description: string;
  /** Offer -v (chronyc's legend). */
  readonly verbose?: boolean;
  readonly text: (snap: DaemonSnapshot, opts: ReportOptions & { verbose?: boolean }) => string;
  /** The JSON document's `schema` (see docs/control.md). */
  readonly schema: string;
  /** The JSON document's own fields, printed after schema, snapshotVersion and time. */
  readonly json: (snap: DaemonSnapshot) => Record<string, unknown>;
  /** chronyc -c's lines of this report (offered as -c when given). */
  readonly csv?: (snap: DaemonSnapshot) => string;
  /** chronyc's refusal when the daemon does not have what the text report shows (exit status 1), else null. */
  readonly unavailable?: (snap: DaemonSnapshot) => string | null;
  /** Offer -h HOST / -p PORT: read the report from a daemon's command port or socket, as chronyc -h (with -N and -a for source lists). */
  readonly remote?: boolean | 'sources';
  /** What to ask with -h instead of tracking and the sources, for a report that shows something else. */
  readonly remoteSnapshot?: (client: CandmClient, now: Date) => Promise<DaemonSnapshot>;
}

/** Exit status of a control failure: 4 no daemon, 3 timeout, 1 anything else. */
export function controlExitCode(e: ControlError): number {
  if (e.code === 'no-daemon') return ExitCode.UNREACHABLE;
  if (e.code === 'timeout') return ExitCode.TIMEOUT;
  return ExitCode.GENERAL_FAILURE;
}

export function reportCommand(io: Io, spec: ReportSpec): Command {
  const cmd = new Command(spec.name)
    .description(spec.description)
    .addOption(new Option('--socket <path>', "the daemon's control socket (controlsocket; default: /run/ntpkit/ntpkit.sock when it exists, else where this user's daemon without -f listens)").default(defaultClientSocketPath(existsSync)))
    .option('--json', 'print the JSON document instead (see docs/control.md)')
    .option('-n, --numeric', 'show addresses, not configured names (chronyc -n, ntpq -n)')
    .addOption(new Option('-t, --timeout <seconds>', 'give up waiting for the daemon after this long').default(5).argParser(positiveNumber('--timeout', 3600)));
  if (spec.verbose) cmd.option('-v, --verbose', "print chronyc's legend above the table");
  if (spec.csv) cmd.option('-c, --csv', "print chronyc -c's comma-separated values instead");
  if (spec.remote) addRemoteOptions(cmd, spec.remote === 'sources' ? { names: true, all: true } : {});
  return cmd
    .addHelpText('after', `
Exit status: 0 on success, 4 when no daemon listens on the socket,
  3 when it does not answer in time, 1 on any other failure, 2 usage error.`)
    .action(async (flags: ReportFlags) => {
      let snap: DaemonSnapshot;
      try {
        snap = flags.host === undefined
          ? await fetchSnapshot(flags.socket, { timeoutMs: flags.timeout * 1000 })
          : spec.remoteSnapshot
            ? await askRemote(flags.host, flags.port, (c) => (spec.remoteSnapshot as NonNullable<typeof spec.remoteSnapshot>)(c, new Date()))
            : await fetchRemote({ ...flags, host: flags.host });
      } catch (e) {
        if (!(e instanceof ControlError)) throw e;
        io.err(`ntpkit ${spec.name}: ${e.message}`);
        io.setExitCode(controlExitCode(e));
        return;
      }
      const refusal = flags.json ? null : spec.unavailable?.(snap) ?? null;
      if (refusal !== null) {
        // chronyc prints its refusal on stdout and exits 1.
        io.out(`${refusal}\n`);
        io.setExitCode(ExitCode.GENERAL_FAILURE);
        return;
      }
      if (flags.json) io.out(JSON.stringify({ schema: spec.schema, snapshotVersion: snap.version, time: snap.time, ...spec.json(snap) }, null, 2));
      else if (flags.csv && spec.csv) printCsv(io, spec.csv(snap));
      else io.out(spec.text(snap, { numeric: flags.numeric === true, verbose: flags.verbose === true }));
      io.setExitCode(ExitCode.OK);
    });
}
