/**
 * `ntpkit sync`: set the system clock once and exit, the job of `chronyd -q`,
 * `ntpdate SERVER...` and `w32tm /resync`. It samples every source
 * (net/query.ts), lets core/tools/oneshot.ts judge the majority and choose step or
 * slew, and only then, after the ownership checks (clock/ownership.ts),
 * touches the clock. Progress goes to stderr, what changed to stdout.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Command, Option } from 'commander';
import { type SystemClockControl, systemClockControl } from '../clock/environment.js';
import { type ClockLock, type OwnershipReport, acquireClockLock, checkClockOwnership, ownershipOverride, ownershipRefusal } from '../clock/ownership.js';
import { type OneShotSlew, SystemClock } from '../clock/system-clock.js';
import type { Config } from '../config/config.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { loadConfig } from '../config/parse-config.js';
import { DEFAULT_STEP_THRESHOLD, type CorrectionMode, type OneShotDecision, decideOneShot } from '../core/tools/oneshot.js';
import { QUERY_DEFAULTS, type QueryOptions, type QueryReport, type SampleRecord, queryServers } from '../net/query.js';
import { ExitCode, exitCodeForFailures } from './exit-codes.js';
import type { Io } from './io.js';
import { integerIn, nonNegativeNumber, positiveNumber } from './option-parsers.js';
import { environmentSwitches } from './environment-switches.js';

interface SyncFlags {
  config?: string;
  step?: boolean;
  slew?: boolean;
  threshold?: number;
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
  samples: number;
  interval: number;
  timeout: number;
  port: number;
}

/** The part of SystemClock sync uses. */
export interface SyncClock {
  step(seconds: number): void;
  slewOnce(seconds: number): OneShotSlew;
  close(): void;
}

/** What the command takes from the outside world, so tests run it in-process without touching the clock. */
export interface SyncCommandDeps {
  readonly query?: (specs: readonly string[], opts: QueryOptions) => Promise<QueryReport>;
  readonly clockControl?: () => SystemClockControl;
  readonly ownership?: () => OwnershipReport;
  readonly lock?: () => ClockLock;
  readonly createClock?: () => SyncClock;
  /** Addresses of a `pool` name (default: node:dns, every address). */
  readonly resolvePool?: (host: string) => Promise<string[]>;
}

/** Addresses taken from one `pool` line, as chronyd's default maxsources. */
const POOL_ADDRESSES = 4;

function signed(v: number, digits: number): string {
  return `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;
}

function hostPort(host: string, port: number): string {
  const h = isIP(host) === 6 ? `[${host}]` : host;
  return port === QUERY_DEFAULTS.port ? h : `${h}:${port}`;
}

/** The servers of a config: `server`/`peer` lines as written, `pool` names resolved to their addresses. */
async function configServers(config: Config, resolvePool: (h: string) => Promise<string[]>): Promise<string[]> {
  const out: string[] = [];
  for (const s of config.sources) {
    const { kind, host, port } = s.options;
    if (kind === 'pool' && isIP(host) === 0) {
      let addrs: string[] = [];
      try {
        addrs = (await resolvePool(host)).slice(0, POOL_ADDRESSES);
      } catch {
        // Left to the query, which reports the DNS failure by name.
      }
      if (addrs.length > 0) {
        out.push(...addrs.map((a) => hostPort(a, port)));
        continue;
      }
    }
    out.push(hostPort(host, port));
  }
  return [...new Set(out)];
}

function progressLine(spec: string, r: SampleRecord, total: number): string {
  const n = `(${r.index + 1}/${total})`;
  if (r.status === 'ok' && r.sample) return `${spec}: offset ${signed(r.sample.offset, 6)} s, delay ${r.sample.delay.toFixed(6)} s ${n}`;
  return `${spec}: ${r.status}${r.message ? `: ${r.message}` : ''} ${n}`;
}

export function syncCommand(io: Io, deps: SyncCommandDeps = {}): Command {
  return new Command('sync')
    .description('set the system clock once from 3 or more NTP servers and exit (like chronyd -q, ntpdate, w32tm /resync); --dry-run changes nothing')
    .argument('[server...]', 'HOST[:PORT]: the servers to use (default: the server/pool lines of -f CONFIG)')
    .option('-f, --config <file>', 'take the servers (and the makestep threshold) from this chrony.conf or ntp.conf')
    .addOption(new Option('--step', 'always step the clock (settimeofday-like, exact)').conflicts('slew'))
    .addOption(new Option('--slew', 'always slew: the kernel moves the clock at 500 ppm (0.5 ms per s) and goes on after sync exits'))
    .addOption(new Option('--threshold <seconds>', `step when |offset| exceeds this, else slew (default ${DEFAULT_STEP_THRESHOLD} s as ntpdate, or the config's makestep threshold)`).argParser(nonNegativeNumber('--threshold')))
    .option('--dry-run', 'sample and decide, but change nothing (needs no privileges and no native addon)')
    .option('--force', 'change the clock even though another time daemon, another ntpkit or a container was found (logs what it overrode), or from a single server')
    .option('--json', 'print the whole result as JSON (schema ntpkit.sync/1)')
    .addOption(new Option('-n, --samples <count>', 'samples per server').default(QUERY_DEFAULTS.samples).argParser(integerIn('--samples', 1, 64)))
    .addOption(new Option('-i, --interval <seconds>', 'spacing between samples to one server').default(QUERY_DEFAULTS.intervalMs / 1000).argParser(nonNegativeNumber('--interval')))
    .addOption(new Option('-t, --timeout <seconds>', 'sampling ends by then').default(QUERY_DEFAULTS.timeoutMs / 1000).argParser(positiveNumber('--timeout', 3600)))
    .addOption(new Option('-p, --port <port>', 'port for servers given without one').default(QUERY_DEFAULTS.port).argParser(integerIn('--port', 1, 65535)))
    .addHelpText('after', `
Below 3 usable servers it warns: with two, a liar cannot be told from the truth.
With a single server (one given, or one of several answering) nothing checks
its time: it warns and changes the clock only with --force.
When no majority of the servers agrees, it changes nothing.
Before changing the clock it refuses when chronyd, ntpd, NTPsec, OpenNTPD,
systemd-timesyncd, ptp4l -S, phc2sys or another ntpkit controls it, when the
kernel shows a discipline in progress, or in a container (--force overrides).
Exit status: 0 the clock was set (or, with --dry-run, would be); 1 refused
(no majority, a single server without --force, another owner, slew too long,
no CAP_SYS_TIME); 2 usage error;
3-10 as ntpkit query when no server answered.`)
    .action(async (servers: string[], flags: SyncFlags) => {
      const say = (line: string): void => { if (!flags.json) io.err(line); };
      const fail = (msg: string, code: number = ExitCode.GENERAL_FAILURE, doc?: Record<string, unknown>): void => {
        if (flags.json) io.out(JSON.stringify({ schema: 'ntpkit.sync/1', ok: false, error: msg, ...doc }, null, 2));
        io.err(`ntpkit sync: ${msg}`);
        io.setExitCode(code);
      };

      let config: Config | null = null;
      if (flags.config !== undefined) {
        const loaded = await loadConfig(flags.config);
        for (const w of loaded.warnings) io.err(`ntpkit sync: warning: ${formatDiagnostic(w)}`);
        if (loaded.config === null || loaded.errors.length > 0) {
          for (const e of loaded.errors) io.err(`ntpkit sync: ${formatDiagnostic(e)}`);
          fail('the configuration has errors; the clock was not changed', ExitCode.USAGE);
          return;
        }
        config = loaded.config;
      }
      const specs = servers.length > 0
        ? servers
        : config !== null
          ? await configServers(config, deps.resolvePool ?? (async (h) => (await lookup(h, { all: true })).map((a) => a.address)))
          : [];
      if (specs.length === 0) {
        fail(config !== null ? `${flags.config as string} has no server or pool lines, and no servers were given` : 'name the servers (ntpkit sync SERVER...) or a config (-f FILE)', ExitCode.USAGE);
        return;
      }
      const mode: CorrectionMode = flags.step ? 'step' : flags.slew ? 'slew' : 'auto';
      const threshold = flags.threshold ?? config?.discipline.makestep?.threshold ?? DEFAULT_STEP_THRESHOLD;

      // Checked before sampling, so a sync that cannot change the clock says so at once.
      let overridden: OwnershipReport | null = null;
      if (!flags.dryRun) {
        const control = (deps.clockControl ?? (() => systemClockControl()))();
        if (!control.ok) {
          fail(`cannot change the system clock: ${control.reason.replace(/; use --clock virtual$/, '')}. --dry-run shows what it would do without privileges`);
          return;
        }
        const report = (deps.ownership ?? (() => checkClockOwnership()))();
        if (!report.clear && !flags.force) {
          fail(ownershipRefusal('set the system clock', report), ExitCode.GENERAL_FAILURE, { findings: report.findings.map((f) => ({ kind: f.kind, message: f.message })) });
          return;
        }
        if (!report.clear) {
          io.err(`ntpkit sync: warning: ${ownershipOverride(report)}`);
          overridden = report;
        }
      }

      // After the ownership checks, whose refusal matters more; before sampling, so it says so at once.
      if (specs.length === 1 && !flags.dryRun && !flags.force) {
        fail(singleSourceRefusal(specs[0] as string), ExitCode.GENERAL_FAILURE, { reason: 'single-source' });
        return;
      }
      if (specs.length === 1) io.err(`ntpkit sync: warning: ${specs[0] as string} is the only server: nothing checks that it tells the truth${flags.force ? '; --force: its time is trusted alone' : ''}`);

      say(`Sampling ${specs.length} server${specs.length === 1 ? '' : 's'} (${flags.samples} sample${flags.samples === 1 ? '' : 's'} each)...`);
      const report = await (deps.query ?? queryServers)(specs, {
        samples: flags.samples,
        intervalMs: flags.interval * 1000,
        timeoutMs: flags.timeout * 1000,
        port: flags.port,
        udp: environmentSwitches().udp,
        onSample: (spec, r) => say(progressLine(spec, r, flags.samples)),
      });
      const decision = decideOneShot(
        report.servers.map((s) => ({ name: s.spec, estimate: s.estimate, error: s.error ? `${s.error.code}: ${s.error.message}` : null })),
        { mode, threshold },
      );
      for (const s of report.servers) if (s.error) say(`${s.spec}: unusable: ${s.error.message}`);
      for (const name of decision.falsetickers) {
        const est = report.servers.find((s) => s.spec === name)?.estimate;
        say(`${name}: falseticker (offset ${est ? signed(est.best.offset, 6) : '?'} s, outside the majority's interval): left out`);
      }
      for (const w of decision.warnings) io.err(`ntpkit sync: warning: ${w}`);

      const base = {
        schema: 'ntpkit.sync/1',
        dryRun: flags.dryRun === true,
        mode, threshold,
        servers: report.servers.map((s) => ({
          server: s.spec, address: s.address, ok: s.estimate !== null,
          offset: s.estimate?.best.offset ?? null, delay: s.estimate?.best.delay ?? null, jitter: s.estimate?.jitter ?? null,
          rootDistance: s.estimate?.rootDistance ?? null,
          samples: s.samples.map((r) => ({ status: r.status, offset: r.sample?.offset ?? null, delay: r.sample?.delay ?? null })),
          falseticker: decision.falsetickers.includes(s.spec),
          error: s.error,
        })),
        agree: decision.agree, falsetickers: decision.falsetickers, unusable: decision.unusable,
        warnings: decision.warnings,
        forced: overridden?.findings.map((f) => f.message) ?? [],
      };

      if (decision.action === 'refuse') {
        const failures = report.servers.filter((s) => s.estimate === null).map((s) => s.error?.code ?? 'timeout');
        const code = decision.reason === 'no-sources' && failures.length > 0 ? exitCodeForFailures(failures) : ExitCode.GENERAL_FAILURE;
        fail(decision.message, code, { ...base, reason: decision.reason });
        return;
      }

      // Several named, one answered: the same single source, found only now.
      const usable = report.servers.length - decision.unusable.length;
      if (usable === 1 && specs.length > 1 && !flags.dryRun && !flags.force) {
        fail(singleSourceRefusal(decision.agree[0] ?? '?', specs.length), ExitCode.GENERAL_FAILURE, { ...base, reason: 'single-source' });
        return;
      }

      const applied = flags.dryRun ? describeDryRun(decision) : await apply(decision, deps, io);
      if (applied === null) return;
      if (flags.json) io.out(JSON.stringify({ ...base, ok: true, action: decision.action, offset: decision.offset, why: decision.why, ...applied.json }, null, 2));
      else io.out(applied.text);
      io.setExitCode(ExitCode.OK);
    });
}

function singleSourceRefusal(server: string, named = 1): string {
  const which = named === 1 ? `${server} is the only server` : `${server} is the only one of the ${named} servers that answered`;
  return `${which}: nothing checks that it tells the truth, and a wrong time from it would be set as it is; name 3 or more servers, or give --force to trust it alone; the clock was not changed`;
}

function slewText(offset: number, seconds: number): string {
  return `${signed(offset, 6)} s (kernel adjtime, about ${seconds < 1 ? seconds.toFixed(3) : seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s at 500 ppm)`;
}

function describeDryRun(d: Extract<OneShotDecision, { action: 'step' | 'slew' }>): { text: string; json: Record<string, unknown> } {
  const text = d.action === 'step'
    ? `Dry run: would step the system clock by ${signed(d.offset, 9)} s (${d.why})`
    : `Dry run: would slew the system clock by ${slewText(d.offset, d.durationSeconds)} (${d.why})`;
  return { text, json: { changed: false, durationSeconds: d.durationSeconds } };
}

/** Changes the clock; null (with the error reported) when it could not. */
async function apply(d: Extract<OneShotDecision, { action: 'step' | 'slew' }>, deps: SyncCommandDeps, io: Io): Promise<{ text: string; json: Record<string, unknown> } | null> {
  // The lock keeps an ntpkit daemon from starting on the clock mid-change.
  const lock = (deps.lock ?? (() => acquireClockLock()))();
  if (!lock.ok) {
    if (lock.pid !== null) {
      io.err(`ntpkit sync: ${lock.message}; the clock was not changed`);
      io.setExitCode(ExitCode.GENERAL_FAILURE);
      return null;
    }
    io.err(`ntpkit sync: warning: ${lock.message}; going on without the lock`);
  }
  let clock: SyncClock | undefined;
  try {
    clock = (deps.createClock ?? (() => new SystemClock({ clearUnsync: false })))();
    if (d.action === 'step') {
      clock.step(d.offset);
      return { text: `Stepped the system clock by ${signed(d.offset, 9)} s`, json: { changed: true } };
    }
    const s = clock.slewOnce(d.offset);
    const replaced = s.replacedSeconds !== 0 ? ` (replacing ${signed(s.replacedSeconds, 6)} s left of an earlier slew)` : '';
    return { text: `Slewing the system clock by ${slewText(s.seconds, s.durationSeconds)}${replaced}`, json: { changed: true, durationSeconds: s.durationSeconds, replacedSeconds: s.replacedSeconds } };
  } catch (e) {
    io.err(`ntpkit sync: ${(e as Error).message}; the clock was not changed`);
    io.setExitCode(ExitCode.GENERAL_FAILURE);
    return null;
  } finally {
    clock?.close();
    if (lock.ok) lock.release();
  }
}
