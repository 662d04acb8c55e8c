/** `ntpkit fleet`: how far apart the clocks of many instances are, as a monitoring plugin. */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from '../config/parse-config.js';
import { analyzeFleet, type CountLimit, fleetStatus, type HostFailure, type HostInput, NAGIOS_EXIT, parseCountLimit, type ReferenceInput } from '../core/tools/fleet.js';
import { type EndpointResult, FLEET_QUERY_DEFAULTS, queryEndpoints } from '../net/fleet-query.js';
import { type FleetHost, parseHostOperands, parseHostsFile } from './fleet-command-hosts.js';
import { fleetReportJson, fleetReportText, type SortKey } from './fleet-command-output.js';
import type { Io } from './io.js';
import { integerIn, nonNegativeNumber, positiveNumber } from './option-parsers.js';
import { formatSeconds } from './units.js';
import { environmentSwitches } from './environment-switches.js';

interface FleetFlags {
  hostsFile?: string;
  ref: string[];
  refsFrom?: string;
  samples: number;
  timeout: number;
  retries: number;
  rate: number;
  port: number;
  ntpVersion: number;
  ipv4?: boolean;
  ipv6?: boolean;
  outlier?: number;
  sort: SortKey;
  warnOffset: number;
  critOffset: number;
  warnUnreachable: CountLimit;
  maxUnreachable: CountLimit;
  maxOutliers: number;
  json?: boolean;
  quiet?: boolean;
}

/** Where the progress goes: the live counter needs raw writes (no newline) on a terminal. */
export interface ProgressSink {
  readonly tty: boolean;
  write(text: string): void;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function countLimit(flag: string): (v: string) => CountLimit {
  return (v) => {
    const l = parseCountLimit(v);
    if (l === null) throw new InvalidArgumentError(`${flag} must be a count N or a percentage P% (0 to 100), got "${v}"`);
    return l;
  };
}

/**
 * The check's defaults: a fleet whose hosts keep within tens of ms of each
 * other is healthy (a synchronized host on the internet stays within a few
 * ms); 50 ms apart is worth a look, a second apart breaks what relies on
 * time (logs, certificates, leases). A host that gives no time, or one that
 * is an outlier, is worth a look; half the fleet silent is an outage.
 */
const DEFAULTS = { warnOffset: 0.05, critOffset: 1, warnUnreachable: '0', maxUnreachable: '50%', maxOutliers: 0 } as const;

function failureOf(r: EndpointResult): HostFailure {
  const code = r.error?.code;
  return code === 'unsynchronized' ? 'unsynchronized' : code === 'kod' ? 'kod'
    : code === 'timeout' || code === 'unreachable' || code === 'dns' || code === 'bad-target' || code === undefined ? 'unreachable' : 'bad-reply';
}

function measurement(r: EndpointResult): { offset: number; delay: number; distance: number } | null {
  return r.estimate ? { offset: r.estimate.best.offset, delay: r.estimate.best.delay, distance: r.estimate.rootDistance } : null;
}

/**
 * Progress on stderr: a live counter on a terminal, else a line at every
 * tenth of the hosts or every second, whichever comes first.
 */
function progressReporter(sink: ProgressSink): (done: number, total: number) => void {
  let lastLine = 0;
  let lastDecile = 0;
  let lastDraw = 0;
  const t0 = Date.now();
  return (done, total) => {
    const now = Date.now();
    if (sink.tty) {
      if (done === total || now - lastDraw >= 100) {
        lastDraw = now;
        sink.write(`\rqueried ${done}/${total} hosts${done === total ? '\n' : ''}`);
      }
      return;
    }
    const decile = Math.floor((10 * done) / Math.max(1, total));
    if (done === total || decile > lastDecile || now - lastLine >= 1000) {
      lastDecile = decile;
      lastLine = now;
      sink.write(`fleet: ${done}/${total} hosts queried (${((now - t0) / 1000).toFixed(1)} s)\n`);
    }
  };
}

export function fleetCommand(io: Io, progressSink: ProgressSink = { tty: process.stderr.isTTY === true, write: (t) => { process.stderr.write(t); } }): Command {
  return new Command('fleet')
    .description('query many instances\' NTP service at once and report each one\'s offset from a consensus, the outliers, the unreachable and the spread (a Nagios-style check)')
    .argument('[host...]', 'HOST[:PORT] of each instance (or give -f)')
    .addOption(new Option('-f, --hosts-file <file>', 'hosts, one HOST[:PORT] or [IPv6]:PORT per line, then an optional label; # comments'))
    .addOption(new Option('-r, --ref <server>', 'reference server (repeatable; 3 or more to outvote a falseticker)').default([]).argParser(collect))
    .addOption(new Option('--refs-from <config>', 'take the references from the servers of a chrony.conf or ntp.conf'))
    .addOption(new Option('-n, --samples <count>', 'samples per host; the least-delay one is kept').default(FLEET_QUERY_DEFAULTS.samples).argParser(integerIn('--samples', 1, 16)))
    .addOption(new Option('-t, --timeout <seconds>', 'per request').default(FLEET_QUERY_DEFAULTS.timeoutMs / 1000).argParser(positiveNumber('--timeout', 60)))
    .addOption(new Option('--retries <count>', 'consecutive timeouts before a host is given up').default(FLEET_QUERY_DEFAULTS.retries).argParser(integerIn('--retries', 0, 10)))
    .addOption(new Option('--rate <per-second>', 'requests sent per second at most').default(FLEET_QUERY_DEFAULTS.rate).argParser(positiveNumber('--rate', 1e6)))
    .addOption(new Option('-p, --port <port>', 'port for hosts given without one').default(123).argParser(integerIn('--port', 1, 65535)))
    .addOption(new Option('-o, --ntp-version <version>', 'NTP version of the requests').default(FLEET_QUERY_DEFAULTS.version).argParser(integerIn('--ntp-version', 1, 4)))
    .addOption(new Option('-4, --ipv4', 'use IPv4 only').conflicts('ipv6'))
    .addOption(new Option('-6, --ipv6', 'use IPv6 only'))
    .addOption(new Option('--outlier <seconds>', 'an outlier is farther than this from the consensus (default: a robust rule, see below)').argParser(positiveNumber('--outlier')))
    .addOption(new Option('--sort <key>', 'order of the table').choices(['offset', 'name']).default('offset'))
    .addOption(new Option('-w, --warn-offset <seconds>', 'WARNING when the worst host is farther than this from the consensus').default(DEFAULTS.warnOffset).argParser(nonNegativeNumber('--warn-offset')))
    .addOption(new Option('-c, --crit-offset <seconds>', 'CRITICAL when the worst host is farther than this').default(DEFAULTS.critOffset).argParser(nonNegativeNumber('--crit-offset')))
    .addOption(new Option('--warn-unreachable <N|P%>', 'WARNING when more hosts than this give no time (unreachable, unsynchronized, KoD, bad reply)').default(parseCountLimit(DEFAULTS.warnUnreachable), DEFAULTS.warnUnreachable).argParser(countLimit('--warn-unreachable')))
    .addOption(new Option('--max-unreachable <N|P%>', 'CRITICAL when more hosts than this give no time').default(parseCountLimit(DEFAULTS.maxUnreachable), DEFAULTS.maxUnreachable).argParser(countLimit('--max-unreachable')))
    .addOption(new Option('--max-outliers <count>', 'WARNING when more hosts than this are outliers').default(DEFAULTS.maxOutliers).argParser(integerIn('--max-outliers', 0, 1e9)))
    .option('--json', 'print the JSON document (schema ntpkit.fleet/1)')
    .option('-q, --quiet', 'no progress on stderr')
    .addHelpText('after', `
Consensus: with --ref/--refs-from, the references' time as the daemon would
  select it (intersection of correctness intervals, then combined); fewer than
  3 references draw a warning, and no majority among them is UNKNOWN. Without
  references, the fleet's own consensus (median of the hosts whose intervals
  agree): it shows how hosts differ from each other, not from true time.
Outliers: farther from the consensus than --outlier, else than both the
  host's root distance and 5 x 1.4826 x the median |offset| of the fleet.
Exit status (Nagios plugin convention): 0 OK, 1 WARNING, 2 CRITICAL,
  3 UNKNOWN (no consensus, bad hosts file or config). With no flags the check
  is OK only when every host answered, none is an outlier and all are within
  ${DEFAULTS.warnOffset * 1000} ms of the consensus; it is CRITICAL from ${DEFAULTS.critOffset} s off or with more than
  ${DEFAULTS.maxUnreachable} of the hosts silent. The thresholds above tune each rule; a large value
  (e.g. --max-outliers 1000000, --warn-unreachable 100%) turns one off.`)
    .action(async (operands: string[], flags: FleetFlags) => {
      const unknown = (lines: readonly string[]): void => {
        io.err(lines.map((l) => `ntpkit fleet: ${l}`).join('\n'));
        io.out('FLEET UNKNOWN - cannot run the check');
        io.setExitCode(NAGIOS_EXIT.UNKNOWN);
      };
      const hosts: FleetHost[] = [];
      const fromArgs = parseHostOperands(operands, flags.port);
      if (!fromArgs.ok) return unknown(fromArgs.errors);
      hosts.push(...fromArgs.hosts);
      if (flags.hostsFile !== undefined) {
        let text: string;
        try {
          text = readFileSync(flags.hostsFile, 'utf8');
        } catch (e) {
          return unknown([`Cannot read hosts file ${flags.hostsFile}: ${(e as Error).message}`]);
        }
        const parsed = parseHostsFile(text, flags.hostsFile, flags.port);
        if (!parsed.ok) return unknown(parsed.errors);
        hosts.push(...parsed.hosts);
      }
      if (hosts.length === 0) return unknown(['no hosts: give HOST operands or -f HOSTS_FILE']);

      let refs: { host: FleetHost; prefer: boolean; trust: boolean; require: boolean }[] | null = null;
      const refWarnings: string[] = [];
      if (flags.ref.length > 0 || flags.refsFrom !== undefined) {
        const given = parseHostOperands(flags.ref, 123);
        if (!given.ok) return unknown(given.errors.map((e) => `--ref: ${e}`));
        refs = given.hosts.map((host) => ({ host, prefer: false, trust: false, require: false }));
        if (flags.refsFrom !== undefined) {
          const loaded = await loadConfig(flags.refsFrom);
          if (loaded.config === null || loaded.errors.length > 0) return unknown(loaded.errors.map((d) => `${d.file}:${d.line}: ${d.message}`));
          for (const s of loaded.config.sources) {
            const o = s.options;
            if (o.kind === 'pool') refWarnings.push(`${s.file}:${s.line}: pool ${o.host} counts as one reference (one of its addresses)`);
            refs.push({ host: { spec: o.port === 123 ? o.host : `${o.host}:${o.port}`, host: o.host, port: o.port, label: null, origin: `${s.file}:${s.line}` }, prefer: o.prefer, trust: o.trust, require: o.require });
          }
          if (loaded.config.sources.length === 0) refWarnings.push(`${flags.refsFrom}: no server, pool or peer lines`);
        }
      }

      const all = [...hosts, ...(refs ?? []).map((r) => r.host)];
      const q = await queryEndpoints(all.map((h) => ({ host: h.host, port: h.port })), {
        samples: flags.samples,
        timeoutMs: flags.timeout * 1000,
        retries: flags.retries,
        rate: flags.rate,
        version: flags.ntpVersion,
        family: flags.ipv4 ? 4 : flags.ipv6 ? 6 : 0,
        udp: environmentSwitches().udp,
        ...(flags.quiet ? {} : { onProgress: progressReporter(progressSink) }),
      });
      const hostResults = q.results.slice(0, hosts.length);
      const refResults = q.results.slice(hosts.length);
      const inputs = hostResults.map((r): HostInput => {
        const m = measurement(r);
        return m ? { measurement: m } : { failure: failureOf(r) };
      });
      const refInputs = refs?.map((r, i): ReferenceInput => ({ measurement: measurement(refResults[i] as EndpointResult), prefer: r.prefer, trust: r.trust, require: r.require })) ?? null;
      const analysis = analyzeFleet(inputs, refInputs, flags.outlier !== undefined ? { outlierSeconds: flags.outlier } : {});
      const withRefWarnings = { ...analysis, warnings: [...refWarnings, ...analysis.warnings] };
      const status = fleetStatus(withRefWarnings, {
        warnOffset: flags.warnOffset, critOffset: flags.critOffset,
        warnUnreachable: flags.warnUnreachable, maxUnreachable: flags.maxUnreachable, maxOutliers: flags.maxOutliers,
      }, (s) => formatSeconds(s));
      const report = {
        hosts: hosts.map((host, i) => ({ host, result: hostResults[i] as EndpointResult, verdict: withRefWarnings.hosts[i] as (typeof analysis.hosts)[number] })),
        references: refs?.map((r, i) => ({ host: r.host, result: refResults[i] as EndpointResult })) ?? null,
        analysis: withRefWarnings, status,
        transport: q.transport, elapsedMs: q.elapsedMs, requestsSent: q.requestsSent, ignoredReplies: q.ignoredReplies,
        settings: { samples: flags.samples, timeoutMs: flags.timeout * 1000, retries: flags.retries, rate: flags.rate, outlierSeconds: flags.outlier ?? null },
      };
      if (flags.json) io.out(JSON.stringify(fleetReportJson(report, flags.sort), null, 2));
      else io.out(fleetReportText(report, flags.sort, { warn: flags.warnOffset, crit: flags.critOffset }));
      io.setExitCode(NAGIOS_EXIT[status.status]);
    });
}
