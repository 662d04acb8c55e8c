/**
 * `ntpkit check`: a Nagios/Icinga monitoring plugin. It asks the local daemon
 * over its control socket, or (`-H`) queries a remote NTP server as
 * check_ntp_time does, judges the result with src/core/tools/check.ts, prints one
 * status line and exits 0 OK, 1 WARNING, 2 CRITICAL or 3 UNKNOWN.
 *
 * Option letters follow monitoring-plugins' check_ntp_time and
 * check_ntp_peer: -H/-p host and port, -w/-c offset, -W/-C stratum, -j/-k
 * jitter, -m/-n truechimers (here: selectable sources), -q, -t, -4/-6.
 * `--phc DEVICE` reads a PTP hardware clock once instead (src/clock/phc.ts).
 */
import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { defaultClientSocketPath } from '../config/default-config.js';
import { fetchSnapshot } from '../control/daemon-client.js';
import { ControlError } from '../control/errors.js';
import {
  CHECK_STATE_NAME, type CheckInput, type CheckResult, CheckState, type CheckThresholds, daemonCheckInput, evaluateCheck, failedCheck,
  parseRange, statusLine, type ThresholdRange,
} from '../core/tools/check.js';
import { type FailureCode, queryServer } from '../net/query.js';
import { checkPhc } from './check-phc.js';
import type { Io } from './io.js';
import { integerIn, positiveNumber } from './option-parsers.js';

export const CHECK_JSON_SCHEMA = 'ntpkit.check/1';

/** Defaults: check_ntp_time's documented example (-w 0.5 -c 1), tighter than its built-in 60/120 s, which suit no NTP client. */
export const CHECK_DEFAULTS = { warning: '0.5', critical: '1', timeoutSeconds: 10, samples: 4, intervalSeconds: 0.5 } as const;

interface CheckFlags {
  host?: string;
  phc?: string;
  socket?: string;
  port: number;
  warning: ThresholdRange;
  critical: ThresholdRange;
  swarn?: ThresholdRange;
  scrit?: ThresholdRange;
  jwarn?: ThresholdRange;
  jcrit?: ThresholdRange;
  twarn?: ThresholdRange;
  tcrit?: ThresholdRange;
  minSources?: number;
  rwarn?: ThresholdRange;
  rcrit?: ThresholdRange;
  minReach?: number;
  unsynchronized: 'warning' | 'critical' | 'unknown';
  quiet?: boolean;
  timeout: number;
  samples: number;
  ipv4?: boolean;
  ipv6?: boolean;
  json?: boolean;
}

function range(name: string) {
  return (v: string): ThresholdRange => {
    const r = parseRange(v);
    if (!r.ok) throw new InvalidArgumentError(`${name}: ${r.message}`);
    return r.range;
  };
}

const atLeast = (n: number): ThresholdRange => ({ text: `${n}:`, low: n, high: Infinity, inside: false });

const UNSYNC_STATE = { warning: CheckState.WARNING, critical: CheckState.CRITICAL, unknown: CheckState.UNKNOWN } as const;

/** What a failed remote query means: no answer is CRITICAL (check_ntp_time), or UNKNOWN with -q; a name that does not resolve is UNKNOWN. */
function remoteFailureState(code: FailureCode, quiet: boolean): CheckState {
  if (code === 'dns' || code === 'bad-target') return CheckState.UNKNOWN;
  return quiet ? CheckState.UNKNOWN : CheckState.CRITICAL;
}

export function checkCommand(io: Io): Command {
  return new Command('check')
    .description('a Nagios/Icinga monitoring plugin: check the local daemon (or, with -H, a remote NTP server) against offset, stratum, jitter, source and reach thresholds; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
    .addOption(new Option('-H, --host <host[:port]>', 'check this NTP server (as check_ntp_time does) instead of the local daemon'))
    .addOption(new Option('-s, --socket <path>', "the local daemon's control socket (default: /run/ntpkit/ntpkit.sock if it exists, else this user's daemon's)").conflicts('host'))
    .addOption(new Option('--phc <device[:nocrossts]>', "read this PTP hardware clock once (as refclock PHC names it) instead: the offset is the PHC's time minus the system clock's").conflicts(['host', 'socket']))
    .addOption(new Option('-p, --port <port>', 'port for -H without one').default(123).argParser(integerIn('--port', 1, 65535)))
    .addOption(new Option('-w, --warning <range>', 'WARNING when the offset\'s magnitude is outside this range, seconds').default(range('-w')(CHECK_DEFAULTS.warning), CHECK_DEFAULTS.warning).argParser(range('--warning')))
    .addOption(new Option('-c, --critical <range>', 'CRITICAL when the offset\'s magnitude is outside this range, seconds').default(range('-c')(CHECK_DEFAULTS.critical), CHECK_DEFAULTS.critical).argParser(range('--critical')))
    .addOption(new Option('-W, --swarn <range>', 'WARNING when the stratum is outside this range (e.g. 3)').argParser(range('--swarn')))
    .addOption(new Option('-C, --scrit <range>', 'CRITICAL when the stratum is outside this range').argParser(range('--scrit')))
    .addOption(new Option('-j, --jwarn <range>', 'WARNING when the jitter is outside this range, seconds').argParser(range('--jwarn')))
    .addOption(new Option('-k, --jcrit <range>', 'CRITICAL when the jitter is outside this range, seconds').argParser(range('--jcrit')))
    .addOption(new Option('-m, --twarn <range>', 'daemon: WARNING when the number of selectable sources is outside this range (e.g. 3:)').argParser(range('--twarn')))
    .addOption(new Option('-n, --tcrit <range>', 'daemon: CRITICAL when the number of selectable sources is outside this range').argParser(range('--tcrit')))
    .addOption(new Option('--min-sources <count>', 'daemon: CRITICAL below this many selectable sources (same as -n COUNT:)').argParser(integerIn('--min-sources', 0, 1000)).conflicts('tcrit'))
    .addOption(new Option('--rwarn <range>', 'daemon: WARNING when the polls answered among the last 8 (of the source followed) are outside this range (e.g. 6:)').argParser(range('--rwarn')))
    .addOption(new Option('--rcrit <range>', 'daemon: CRITICAL when the polls answered among the last 8 are outside this range').argParser(range('--rcrit')))
    .addOption(new Option('--min-reach <count>', 'daemon: WARNING below this many polls answered among the last 8 (same as --rwarn COUNT:)').argParser(integerIn('--min-reach', 0, 8)).conflicts('rwarn'))
    .addOption(new Option('--unsynchronized <state>', 'the state of an unsynchronized clock or server').choices(['warning', 'critical', 'unknown']).default('critical'))
    .option('-q, --quiet', 'UNKNOWN instead of CRITICAL when a remote server gives no usable reply (check_ntp_time -q)')
    .addOption(new Option('-t, --timeout <seconds>', 'give up after this long').default(CHECK_DEFAULTS.timeoutSeconds).argParser(positiveNumber('--timeout', 3600)))
    .addOption(new Option('--samples <count>', '-H: requests sent; the one with the least delay gives the offset').default(CHECK_DEFAULTS.samples).argParser(integerIn('--samples', 1, 16)))
    .addOption(new Option('-4, --ipv4', '-H: use IPv4 only').conflicts('ipv6'))
    .addOption(new Option('-6, --ipv6', '-H: use IPv6 only'))
    .option('--json', `print a JSON document (schema ${CHECK_JSON_SCHEMA}) instead of the status line; same exit status`)
    .addHelpText('after', `
Ranges are the monitoring-plugins format: N (alert outside 0..N), N: (below N),
  ~:N (above N), N:M (outside N..M), @N:M (inside N..M).
The daemon's offset is its clock's estimated error (chronyc tracking's System
  time); a remote server's is its time minus this host's (check_ntp_time's sign).
Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for usage errors).
  No daemon on the socket is UNKNOWN; a remote server that does not answer is
  CRITICAL (UNKNOWN with -q), as check_ntp_time does.

Examples:
  ntpkit check -w 0.1 -c 0.5 --min-sources 2
  ntpkit check -H ntp.example.net -w 0.5 -c 1 -W 3 -C 5
  ntpkit check --phc /dev/ptp0 -w 0.0001 -c 0.001`)
    .action(async (flags: CheckFlags) => {
      let result: CheckResult;
      let input: CheckInput | null = null;
      const target = flags.host ?? flags.socket ?? defaultClientSocketPath(existsSync);
      const thresholds: CheckThresholds = {
        offset: { warn: flags.warning, crit: flags.critical },
        stratum: { warn: flags.swarn ?? null, crit: flags.scrit ?? null },
        jitter: { warn: flags.jwarn ?? null, crit: flags.jcrit ?? null },
        sources: { warn: flags.twarn ?? null, crit: flags.minSources !== undefined ? atLeast(flags.minSources) : flags.tcrit ?? null },
        reach: { warn: flags.minReach !== undefined ? atLeast(flags.minReach) : flags.rwarn ?? null, crit: flags.rcrit ?? null },
        unsynchronized: UNSYNC_STATE[flags.unsynchronized],
      };
      const daemonOnly = (['twarn', 'tcrit', 'minSources', 'rwarn', 'rcrit', 'minReach'] as const).filter((k) => flags[k] !== undefined);
      try {
        const other = flags.host !== undefined ? '-H' : flags.phc !== undefined ? '--phc' : null;
        if (other !== null && daemonOnly.length > 0) {
          const names = daemonOnly.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
          result = failedCheck(CheckState.UNKNOWN, `${names.join(', ')} ${names.length === 1 ? 'applies' : 'apply'} to the local daemon, not to ${other}`);
        } else if (flags.phc !== undefined) {
          const r = checkPhc(flags.phc);
          input = r.input;
          result = r.input !== null ? evaluateCheck(r.input, thresholds) : failedCheck(r.state, r.message);
        } else if (flags.host !== undefined) {
          const r = await queryServer(flags.host, {
            samples: flags.samples, intervalMs: CHECK_DEFAULTS.intervalSeconds * 1000, timeoutMs: flags.timeout * 1000, port: flags.port,
            family: flags.ipv4 ? 4 : flags.ipv6 ? 6 : 0,
          });
          const where = r.address !== null && r.address !== r.host ? `${r.host} (${r.address}) port ${r.port}` : `${r.host} port ${r.port}`;
          const unsyncHeader = r.samples.find((x) => x.header?.leap === 3)?.header;
          if (r.estimate !== null) {
            input = {
              target: where, synchronized: true,
              metrics: { offset: r.estimate.best.offset, stratum: r.estimate.header.stratum, jitter: r.estimate.jitter, sources: null, reach: null, delay: r.estimate.best.delay },
            };
            result = evaluateCheck(input, thresholds);
          } else if (r.error?.code === 'unsynchronized' || unsyncHeader !== undefined) {
            // A server that says it is unsynchronized answers, but has no time to give. chronyd sends
            // leap 3 with stratum 0, which RFC 5905 also reads as a kiss code: leap 3 decides.
            const reason = unsyncHeader !== undefined ? `leap 3, stratum ${unsyncHeader.stratum}` : r.error?.message ?? 'unsynchronized';
            input = { target: where, synchronized: false, unsynchronizedReason: reason, metrics: { offset: null, stratum: null, jitter: null, sources: null, reach: null, delay: null } };
            result = evaluateCheck(input, thresholds);
          } else {
            const code = r.error?.code ?? 'timeout';
            const what = code === 'timeout' || code === 'unreachable' ? 'No response from NTP server' : code === 'dns' || code === 'bad-target' ? 'Cannot query' : 'No usable reply from NTP server';
            // Socket errors already name the address and port.
            const message = (r.error?.message ?? 'no reply').replace(`${r.address ?? ''} port ${r.port}: `, '');
            result = failedCheck(remoteFailureState(code, flags.quiet === true), `${what} ${where}: ${message}`);
          }
        } else {
          try {
            const snap = await fetchSnapshot(target, { timeoutMs: flags.timeout * 1000 });
            input = daemonCheckInput(snap, `daemon at ${target}, ${snap.clock} clock`);
            result = evaluateCheck(input, thresholds);
          } catch (e) {
            if (!(e instanceof ControlError)) throw e;
            // The daemon could not be asked: its clock's state is unknown, not bad.
            result = failedCheck(CheckState.UNKNOWN, `Cannot ask the daemon: ${e.message}`);
          }
        }
      } catch (e) {
        result = failedCheck(CheckState.UNKNOWN, `Internal error: ${(e as Error).message}`);
      }
      if (flags.json) {
        io.out(JSON.stringify({
          schema: CHECK_JSON_SCHEMA,
          state: CHECK_STATE_NAME[result.state],
          exitCode: result.state,
          target: flags.host !== undefined ? { kind: 'server', host: flags.host } : flags.phc !== undefined ? { kind: 'phc', device: flags.phc } : { kind: 'daemon', socket: target },
          synchronized: input?.synchronized ?? null,
          metrics: input?.metrics ?? null,
          alerts: result.alerts.map((a) => ({ ...a, state: CHECK_STATE_NAME[a.state] })),
          summary: result.summary,
          perfdata: result.perfdata,
          statusLine: statusLine(result),
        }, null, 2));
      } else {
        io.out(statusLine(result));
      }
      io.setExitCode(result.state);
    });
}

/** The monitoring-plugins convention: a plugin that cannot run as asked (bad arguments) is UNKNOWN. */
export const CHECK_USAGE_EXIT = CheckState.UNKNOWN;
