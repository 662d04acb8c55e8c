/**
 * `ntpkit sourcename ADDRESS` (chronyc sourcename): the name a source was
 * configured with (the pool's name for a pool member), read from the
 * daemon's snapshot; chronyc's "503 No such source" and exit status 1 when
 * no source has that address.
 */
import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { defaultClientSocketPath } from '../config/default-config.js';
import { fetchSnapshot } from '../control/daemon-client.js';
import { ControlError } from '../control/errors.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import { addressKey } from '../core/engine/pool.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { positiveNumber } from './option-parsers.js';
import { controlExitCode } from './report-command.js';
import { addRemoteOptions, askRemote } from './remote-options.js';
import { fetchRemoteSourceName } from './remote-reports.js';

export const NO_SUCH_SOURCE_TEXT = '503 No such source';

/** The configured name of the source at `address`, or null. */
export function sourceName(snap: DaemonSnapshot, address: string): string | null {
  const key = addressKey(address);
  return snap.sources.find((s) => s.address !== null && addressKey(s.address) === key)?.name ?? null;
}

export function sourcenameCommand(io: Io): Command {
  return addRemoteOptions(new Command('sourcename')
    .description('print the name a source was configured with (like chronyc sourcename)')
    .argument('<address>', "the source's IP address")
    .addOption(new Option('--socket <path>', "the daemon's control socket").default(defaultClientSocketPath(existsSync)))
    .addOption(new Option('-t, --timeout <seconds>', 'give up waiting for the daemon after this long').default(5).argParser(positiveNumber('--timeout', 3600))))
    .action(async (address: string, flags: { socket: string; timeout: number; host?: string; port?: number }) => {
      if (isIP(address) === 0) {
        io.err(`ntpkit sourcename: Could not read address ${JSON.stringify(address)}`);
        io.setExitCode(ExitCode.USAGE);
        return;
      }
      let name: string | null;
      try {
        name = flags.host !== undefined
          ? await askRemote(flags.host, flags.port, (c) => fetchRemoteSourceName(c, address))
          : sourceName(await fetchSnapshot(flags.socket, { timeoutMs: flags.timeout * 1000 }), address);
      } catch (e) {
        if (!(e instanceof ControlError)) throw e;
        io.err(`ntpkit sourcename: ${e.message}`);
        io.setExitCode(controlExitCode(e));
        return;
      }
      io.out(name ?? NO_SUCH_SOURCE_TEXT);
      io.setExitCode(name === null ? ExitCode.GENERAL_FAILURE : ExitCode.OK);
    });
}
