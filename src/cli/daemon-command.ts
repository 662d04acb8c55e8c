/**
 * `ntpkit daemon [-f FILE]`: the client daemon in the foreground, systemd
 * style (Type=simple): one log line per event on stderr, SIGTERM/SIGINT save
 * the drift file and exit 0, SIGHUP reloads the config (a bad one is
 * reported and the running one stays). chronyd's `-d` and `-x` habits map to
 * `--clock virtual`, which disciplines a software clock and leaves the
 * system's alone.
 *
 * This file holds the command line; daemon-run.ts wires the daemon.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { normalizeHttpHost } from '../config/config-builder.js';
import { type HttpFlag, parseHttpFlag } from '../web/http-address.js';
import { type DaemonCommandDeps, type DaemonFlags, runDaemon } from './daemon-run.js';
import type { Io } from './io.js';
import { finiteNumber } from './option-parsers.js';

export type { DaemonCommandDeps } from './daemon-run.js';
export { CONTROL_IDLE_ENV, CONTROL_SOCKET_MODE, READ_ONLY_SOCKET_MODE } from './daemon-control-sockets.js';

export function daemonCommand(io: Io, deps: DaemonCommandDeps = {}): Command {
  return new Command('daemon')
    .description('synchronize a clock to the sources of a chrony.conf or ntp.conf, in the foreground (systemd style); serve NTP if `allow` permits')
    .option('-f, --config <file>', 'chrony.conf or ntp.conf (format guessed from the name, then the content); without it, the built-in configuration: the cloud\'s NTP servers that answer where this machine runs (see --servers), no root needed')
    .addOption(new Option('--clock <kind>', 'the clock to discipline: system (the kernel\'s; needs CAP_SYS_TIME), virtual (a software clock; the system clock is never touched), auto (system when permitted and not in a container)').choices(['system', 'virtual', 'auto']).default('auto'))
    .addOption(new Option('--servers <set>', 'the built-in configuration\'s servers: vpc (Alibaba Cloud\'s VPC-internal endpoints, which answer only inside its cloud) or public (its internet endpoints); default: vpc on an Alibaba Cloud instance (found from DMI), public elsewhere; not with -f').choices(['vpc', 'public']))
    .option('-r, --reload', 'load the source dumps the last run left in the dumpdir (chronyd -r), so sources start with their samples; needs dumpdir')
    .option('--force', 'take the system clock even though another time daemon, another ntpkit or a container was found (logs what it overrode)')
    .addOption(new Option('--virtual-offset <seconds>', 'start the virtual clock this far from the system clock (tests, demos; implies --clock virtual)').argParser(finiteNumber('--virtual-offset')))
    .addOption(new Option('--virtual-freq <ppm>', 'give the virtual clock this frequency error (tests, demos; implies --clock virtual)').argParser(finiteNumber('--virtual-freq')))
    .addOption(new Option('--http <address>', 'serve Prometheus metrics and the dashboard at ADDRESS[:PORT] (e.g. 127.0.0.1:9473, [::1]:9473; port 0: any free one), or "off"; overrides the httpaddress directive').argParser(httpFlag))
    .addOption(new Option('--http-host <name>', 'a host name the dashboard and metrics are reached by, besides the address they listen on (repeatable; requests naming another host get 421); overrides the httphost directive').argParser(httpHost))
    .action((flags: DaemonFlags, cmd: Command) => runDaemon(io, deps, flags, cmd.getOptionValueSource('clock') === 'cli'));
}

function httpFlag(v: string): HttpFlag {
  try {
    return parseHttpFlag(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function httpHost(v: string, prev: string[] | undefined): string[] {
  const name = normalizeHttpHost(v);
  if (name === null) throw new InvalidArgumentError(`--http-host must be a host name or an IP address, without a port, got "${v}"`);
  return [...(prev ?? []), name];
}
