/** `ntpkit query`: the job of `ntpdate -q`, `sntp` and `chronyd -Q`. */
import { Command, Option } from 'commander';
import { QUERY_DEFAULTS, queryServers, type FailureCode } from '../net/query.js';
import { ExitCode, exitCodeForFailures } from './exit-codes.js';
import { queryReportJson, queryReportText } from './query-output.js';
import type { Io } from './io.js';
import { integerIn, nonNegativeNumber, positiveNumber } from './option-parsers.js';
import { environmentSwitches } from './environment-switches.js';

interface QueryFlags {
  samples: number;
  interval: number;
  timeout: number;
  ntpVersion: number;
  port: number;
  json?: boolean;
  ipv4?: boolean;
  ipv6?: boolean;
}

export function queryCommand(io: Io): Command {
  return new Command('query')
    .description('query NTP servers once and report offset, delay and their verdict, changing nothing (like ntpdate -q, sntp, chronyd -Q)')
    .argument('<server...>', 'HOST[:PORT]: a host name, an IPv4 address, an IPv6 address or [IPv6]:PORT')
    .addOption(new Option('-n, --samples <count>', 'samples per server').default(QUERY_DEFAULTS.samples).argParser(integerIn('--samples', 1, 64)))
    .addOption(new Option('-i, --interval <seconds>', 'spacing between samples to one server').default(QUERY_DEFAULTS.intervalMs / 1000).argParser(nonNegativeNumber('--interval')))
    .addOption(new Option('-t, --timeout <seconds>', 'the whole query ends by then, DNS included').default(QUERY_DEFAULTS.timeoutMs / 1000).argParser(positiveNumber('--timeout', 3600)))
    .addOption(new Option('-o, --ntp-version <version>', 'NTP version of the requests').default(QUERY_DEFAULTS.version).argParser(integerIn('--ntp-version', 1, 4)))
    .addOption(new Option('-p, --port <port>', 'port for servers given without one').default(QUERY_DEFAULTS.port).argParser(integerIn('--port', 1, 65535)))
    .addOption(new Option('-4, --ipv4', 'use IPv4 only').conflicts('ipv6'))
    .addOption(new Option('-6, --ipv6', 'use IPv6 only'))
    .option('--json', 'print the stable JSON document (schema ntpkit.query/1, see docs/json.md)')
    .addHelpText('after', `
Exit status: 0 when at least one server answered validly. Otherwise
  3 timeout, 4 unreachable, 5 DNS failure, 6 kiss-o'-death, 7 invalid or
  unsynchronized reply, 8 origin mismatch, 9 not NTP, 10 truncated reply,
  1 when servers failed for different reasons, 2 usage error.
With 3 or more servers answering, the falsetickers are named and a combined
offset is given.`)
    .action(async (servers: string[], flags: QueryFlags) => {
      const report = await queryServers(servers, {
        samples: flags.samples,
        intervalMs: flags.interval * 1000,
        timeoutMs: flags.timeout * 1000,
        version: flags.ntpVersion,
        port: flags.port,
        family: flags.ipv4 ? 4 : flags.ipv6 ? 6 : 0,
        udp: environmentSwitches().udp,
      });
      if (flags.json) io.out(JSON.stringify(queryReportJson(report), null, 2));
      else io.out(queryReportText(report));
      const failures = report.servers.filter((s) => s.estimate === null).map((s) => s.error?.code ?? 'timeout') as FailureCode[];
      io.setExitCode(failures.length < report.servers.length ? ExitCode.OK : exitCodeForFailures(failures));
    });
}
