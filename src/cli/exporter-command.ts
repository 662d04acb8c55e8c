/**
 * `ntpkit exporter`: a Prometheus multi-target exporter for NTP servers, in
 * blackbox_exporter's convention (`/probe?target=HOST[:PORT]`). Runs until
 * SIGINT or SIGTERM; prints `ntpkit exporter: listening on URL` once bound.
 */
import { isIP } from 'node:net';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from '../config/parse-config.js';
import { normalizeHttpHost } from '../config/config-builder.js';
import { createProber, type ReferenceSpec } from '../daemon/exporter-prober.js';
import { FLEET_QUERY_DEFAULTS } from '../net/fleet-query.js';
import { createExporterMetrics } from '../metrics/probe-metrics.js';
import { startExporterHttp } from '../web/exporter-http.js';
import { parseHostOperands } from './fleet-command-hosts.js';
import { environmentSwitches } from './environment-switches.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { integerIn, positiveNumber } from './option-parsers.js';
import { waitForTermination } from './termination.js';

/** Next to the daemon's 9473. */
export const DEFAULT_EXPORTER_PORT = 9474;

export const EXPORTER_DEFAULTS = {
  samples: 3,
  timeoutSeconds: 1,
  retries: 1,
  maxConcurrent: 64,
  maxQueued: 4096,
  refMaxAgeSeconds: 16,
  /** Prometheus' default scrape timeout, for requests that do not say theirs. */
  budgetSeconds: 10,
} as const;

interface ExporterFlags {
  listen: { address: string; port: number };
  httpHost: string[];
  ref: string[];
  refsFrom?: string;
  samples: number;
  timeout: number;
  retries: number;
  port: number;
  ntpVersion: number;
  ipv4?: boolean;
  ipv6?: boolean;
  outlier?: number;
  maxConcurrent: number;
  maxQueued: number;
  refMaxAge: number;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** `ADDRESS[:PORT]` with an IP literal (IPv6 in brackets before a port). */
export function parseListen(text: string): { address: string; port: number } {
  const fail = (why: string): never => { throw new InvalidArgumentError(`--listen must be ADDRESS[:PORT] with an IP address (e.g. 127.0.0.1:${DEFAULT_EXPORTER_PORT}, [::1]:${DEFAULT_EXPORTER_PORT}): ${why}`); };
  let address = text;
  let port: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    address = bracketed[1] as string;
    port = bracketed[2];
    if (isIP(address) !== 6) fail('the address in brackets is not an IPv6 address');
  } else if (isIP(text) !== 6) {
    const i = text.lastIndexOf(':');
    if (i >= 0) { address = text.slice(0, i); port = text.slice(i + 1); }
    if (isIP(address) !== 4) fail(address.includes(':') ? 'put an IPv6 address in brackets before a port' : `"${address}" is not an IP address`);
  }
  const n = port === undefined ? DEFAULT_EXPORTER_PORT : /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  if (!(n >= 0 && n <= 65535)) fail(`the port must be a number from 0 to 65535, got "${port ?? ''}"`);
  return { address, port: n };
}

export function exporterCommand(io: Io, stop: () => Promise<void> = waitForTermination): Command {
  return new Command('exporter')
    .description('serve Prometheus metrics of any NTP server on request (/probe?target=HOST[:PORT], blackbox_exporter style): offset, delay, stratum, leap, root distance, reachability and the falseticker verdict against references')
    .addOption(new Option('-l, --listen <address[:port]>', 'where to serve HTTP (an IP address; loopback unless you mean it)').default({ address: '127.0.0.1', port: DEFAULT_EXPORTER_PORT }, `127.0.0.1:${DEFAULT_EXPORTER_PORT}`).argParser(parseListen))
    .addOption(new Option('--http-host <name>', 'also answer requests whose Host is this name (repeatable; the bound address always works)').default([]).argParser(collect))
    .addOption(new Option('-r, --ref <server>', 'reference server the targets are judged against (repeatable; 3 or more to outvote a falseticker)').default([]).argParser(collect))
    .addOption(new Option('--refs-from <config>', 'take the references from the servers of a chrony.conf or ntp.conf'))
    .addOption(new Option('-n, --samples <count>', 'samples per probe; the least-delay one is kept').default(EXPORTER_DEFAULTS.samples).argParser(integerIn('--samples', 1, 16)))
    .addOption(new Option('-t, --timeout <seconds>', 'per request, at most (a scrape\'s own timeout shortens it)').default(EXPORTER_DEFAULTS.timeoutSeconds).argParser(positiveNumber('--timeout', 60)))
    .addOption(new Option('--retries <count>', 'consecutive timeouts before a target is given up').default(EXPORTER_DEFAULTS.retries).argParser(integerIn('--retries', 0, 10)))
    .addOption(new Option('-p, --port <port>', 'NTP port for targets given without one').default(123).argParser(integerIn('--port', 1, 65535)))
    .addOption(new Option('-o, --ntp-version <version>', 'NTP version of the requests').default(FLEET_QUERY_DEFAULTS.version).argParser(integerIn('--ntp-version', 1, 4)))
    .addOption(new Option('-4, --ipv4', 'resolve targets to IPv4 only').conflicts('ipv6'))
    .addOption(new Option('-6, --ipv6', 'resolve targets to IPv6 only'))
    .addOption(new Option('--outlier <seconds>', 'a target farther than this from the references\' consensus is an outlier (default: its own root distance)').argParser(positiveNumber('--outlier')))
    .addOption(new Option('--max-concurrent <count>', 'probes querying at once').default(EXPORTER_DEFAULTS.maxConcurrent).argParser(integerIn('--max-concurrent', 1, 65536)))
    .addOption(new Option('--max-queued <count>', 'probes waiting for a slot; more are answered at once with ntpkit_probe_success 0 (reason overloaded)').default(EXPORTER_DEFAULTS.maxQueued).argParser(integerIn('--max-queued', 0, 1e6)))
    .addOption(new Option('--ref-max-age <seconds>', 'the references are queried again when their answer is older than this').default(EXPORTER_DEFAULTS.refMaxAgeSeconds).argParser(positiveNumber('--ref-max-age', 3600)))
    .addHelpText('after', `
Prometheus scrapes /probe?target=HOST[:PORT] once per target (relabel the
target into the URL parameter, as for blackbox_exporter: contrib/prometheus/);
/metrics has the exporter's own metrics. A target that cannot be probed is
answered with ntpkit_probe_success 0 and the reason, never an HTTP error.
With references, ntpkit_probe_offset_seconds is the target's offset from
their consensus (the daemon's source selection) and ntpkit_probe_falseticker
says whether its correctness interval misses theirs; without, the offset is
from this host's clock. See docs/fleet.md.`)
    .action(async (flags: ExporterFlags) => {
      const fail = (lines: readonly string[], code: number = ExitCode.USAGE): void => {
        for (const l of lines) io.err(`ntpkit exporter: ${l}`);
        io.setExitCode(code);
      };
      const refs: ReferenceSpec[] = [];
      const given = parseHostOperands(flags.ref, 123);
      if (!given.ok) return fail(given.errors.map((e) => `--ref: ${e}`));
      refs.push(...given.hosts.map((h) => ({ host: h.host, port: h.port })));
      if (flags.refsFrom !== undefined) {
        const loaded = await loadConfig(flags.refsFrom);
        if (loaded.config === null || loaded.errors.length > 0) return fail(loaded.errors.map((d) => `${d.file}:${d.line}: ${d.message}`));
        for (const s of loaded.config.sources) {
          const o = s.options;
          if (o.kind === 'pool') io.err(`ntpkit exporter: warning: ${s.file}:${s.line}: pool ${o.host} counts as one reference (one of its addresses)`);
          refs.push({ host: o.host, port: o.port, prefer: o.prefer, trust: o.trust, require: o.require });
        }
        if (loaded.config.sources.length === 0) io.err(`ntpkit exporter: warning: ${flags.refsFrom}: no server, pool or peer lines`);
      }
      if (refs.length > 0 && refs.length < 3) io.err(`ntpkit exporter: warning: only ${refs.length} reference${refs.length === 1 ? '' : 's'}: 3 or more are needed to outvote a falseticker`);
      const allowed = new Set<string>();
      for (const h of flags.httpHost) {
        const n = normalizeHttpHost(h);
        if (n === null) return fail([`--http-host: "${h}" is not a host name or IP address`]);
        allowed.add(n);
      }
      const prober = createProber({
        references: refs, defaultPort: flags.port, samples: flags.samples, timeoutMs: flags.timeout * 1000, retries: flags.retries,
        version: flags.ntpVersion, family: flags.ipv4 ? 4 : flags.ipv6 ? 6 : 0,
        maxConcurrent: flags.maxConcurrent, maxQueued: flags.maxQueued, refMaxAgeMs: flags.refMaxAge * 1000,
        ...(flags.outlier !== undefined ? { outlierSeconds: flags.outlier } : {}),
        query: { udp: environmentSwitches().udp },
      });
      const metrics = createExporterMetrics(() => prober.stats());
      let http;
      try {
        http = await startExporterHttp({
          address: flags.listen.address, port: flags.listen.port, prober, metrics, allowedHosts: allowed,
          defaultBudgetMs: EXPORTER_DEFAULTS.budgetSeconds * 1000, log: (l) => io.err(`ntpkit exporter: ${l}`),
        });
      } catch (e) {
        return fail([`cannot listen on ${flags.listen.address} port ${flags.listen.port}: ${(e as Error).message}`], ExitCode.GENERAL_FAILURE);
      }
      io.out(`ntpkit exporter: listening on ${http.url} (${refs.length} reference${refs.length === 1 ? '' : 's'})`);
      await stop();
      await http.close();
    });
}
