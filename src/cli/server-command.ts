/**
 * `ntpkit server`: a standalone NTP server taking chrony's directives from a
 * config file and/or flags. It runs until SIGINT or SIGTERM, prints its
 * statistics (the figures of `chronyc serverstats`) on SIGUSR1, every
 * --stats-interval seconds, and on exit.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { messageWithCode } from '../config/bounded-read.js';
import { ConfigError, formatDiagnostic } from '../config/diagnostics.js';
import { COMMAND_LINE, loadServerConfig } from '../config/load.js';
import { formatServerStats, type ServerStats, serverStatsToJson, withNtsKeStats } from '../core/server/server-stats.js';
import { loadNtsServerCredentials } from '../daemon/config-resources.js';
import { startNtpServer } from '../daemon/ntp-server.js';
import { type NtsKeService, startNtsKeService } from '../daemon/nts-ke-service.js';
import { runWorker, startWorkers, WORKER_COMMAND } from '../daemon/server-workers.js';
import { formatEndpoint } from '../net/target.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { integerIn } from './option-parsers.js';
import { environmentSwitches } from './environment-switches.js';
import { waitForTermination } from './termination.js';

interface ServerFlags {
  config?: string;
  port?: number;
  bindaddress: string[];
  /** allow/deny in the order given, as config lines. */
  access: string[];
  localStratum?: number;
  ratelimit?: string;
  xleave: boolean;
  denyKod?: boolean;
  keyfile?: string;
  statsInterval: number;
  workers: number;
  json?: boolean;
}

/** What the command needs of a running server, whether one process or several workers. */
interface Serving {
  readonly endpoints: readonly { readonly address: string; readonly port: number }[];
  readonly transport: { readonly kind: string; readonly reason?: string };
  readonly precision: number;
  stats(): ServerStats | Promise<ServerStats>;
  close(): Promise<ServerStats | null | void>;
}

/** The flags, as the chrony.conf lines they stand for (after the file's, so they win where a later line does). */
export function flagsToConfigLines(f: ServerFlags): string[] {
  const lines: string[] = [];
  if (f.port !== undefined) lines.push(`port ${f.port}`);
  for (const a of f.bindaddress) lines.push(`bindaddress ${a}`);
  lines.push(...f.access);
  if (f.localStratum !== undefined) lines.push(`local stratum ${f.localStratum}`);
  if (f.ratelimit !== undefined) lines.push(`ratelimit ${f.ratelimit}`.trim());
  if (!f.xleave) lines.push('xleave off');
  if (f.denyKod) lines.push('denykod on');
  if (f.keyfile !== undefined) lines.push(`keyfile ${f.keyfile}`);
  return lines;
}

/** Waits for SIGINT/SIGTERM; the promise is how tests and the CLI share one run loop. */
export type StopSignal = Promise<void>;

export function serverCommand(io: Io, stop: () => StopSignal = waitForTermination): Command {
  // --allow and --deny, in the order given, as the config lines they stand for.
  const access: string[] = [];
  const command = new Command('server');
  const accessRule = (directive: 'allow' | 'deny') => (v: string): string[] => {
    // An empty value would read as the bare directive (every address): a typo must not open the server.
    if (v.trim() === '') throw new InvalidArgumentError(`give a subnet, or no value at all for every address (chrony's bare ${directive})`);
    access.push(`${directive} ${v}`);
    return access;
  };
  // Commander calls the argParser only when a value follows: a bare --allow
  // would be lost. Its 'option:' event comes for every occurrence, in order,
  // with null for "no value".
  for (const directive of ['allow', 'deny'] as const) {
    command.on(`option:${directive}`, (v: string | null) => { if (v === null) access.push(directive); });
  }
  return command
    .description('serve NTP (like chronyd with only allow/local/ratelimit): chrony directives from a file and/or flags')
    .option('-f, --config <file>', 'chrony.conf-style file: port, bindaddress, allow, deny, local, ratelimit, xleave, keyfile, and NTS-KE with ntsservercert/ntsserverkey/ntsport/ntsrotate/ntsdumpdir (other chrony directives are warned about)')
    .addOption(new Option('--port <port>', 'UDP port (chrony\'s port directive; default 123)').argParser(integerIn('--port', 0, 65535)))
    .addOption(new Option('--bindaddress <address>', 'address to serve on, repeatable (default: every address)').argParser((v, prev: string[]) => [...prev, v]).default([]))
    .addOption(new Option('--allow [subnet]', 'serve this subnet (repeatable; with no subnet, everyone; as chrony\'s allow). Nothing is served until something is allowed').argParser(accessRule('allow')))
    .addOption(new Option('--deny [subnet]', 'do not serve this subnet (repeatable; with no subnet, no one; applied in order with --allow, as chrony\'s deny)').argParser(accessRule('deny')))
    .addOption(new Option('--local-stratum <n>', 'serve the local clock at this stratum (chrony\'s local stratum N)').argParser(integerIn('--local-stratum', 1, 15)))
    .option('--ratelimit <options>', 'chrony\'s ratelimit options, e.g. "interval 1 burst 16 leak 2 kod 1"')
    .option('--no-xleave', 'do not answer interleaved-mode requests in interleaved mode')
    .option('--deny-kod', 'send denied clients a DENY kiss-o\'-death (rate limited) instead of ignoring them')
    .option('--keyfile <file>', 'chrony keyfile: answer requests with a MAC under one of its keys with a reply signed by that key (chrony\'s keyfile directive; the file must not be readable by everyone)')
    .addOption(new Option('--workers <n>', 'serving processes sharing the port through SO_REUSEPORT (one per core is the usual choice)').default(1).argParser(integerIn('--workers', 1, 64)))
    .addOption(new Option('--stats-interval <seconds>', 'print statistics this often (0: only on SIGUSR1 and at exit)').default(0).argParser(integerIn('--stats-interval', 0, 86400)))
    .option('--json', 'print statistics as JSON lines (schema ntpkit.serverstats/1)')
    .action(async (flags: Omit<ServerFlags, 'access'>) => {
      let loaded;
      try {
        loaded = loadServerConfig(flags.config, flagsToConfigLines({ ...flags, access }));
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        for (const d of e.errors) io.err(`ntpkit server: ${formatDiagnostic(d)}`);
        io.err('ntpkit server: not started: the configuration has errors');
        io.setExitCode(ExitCode.USAGE);
        return;
      }
      for (const w of loaded.warnings) io.err(`ntpkit server: warning: ${formatDiagnostic(w)}`);
      const { config } = loaded;
      if (config.port === 0) {
        io.err('ntpkit server: port 0 disables the NTP server (chrony\'s meaning): nothing to do');
        io.setExitCode(ExitCode.USAGE);
        return;
      }
      if (config.access.length === 0) io.err('ntpkit server: warning: no allow rule: every request will be denied (add --allow SUBNET or an allow line)');
      // NTS-KE (ntsservercert + ntsserverkey) first: the NTP server opens its cookies. Its counters join serverstats'.
      let ntsKe: NtsKeService | null = null;
      if (config.nts.serverCerts.length > 0) {
        // The same checks as the daemon's (config-resources.ts): a bad certificate or key stops the start with its reason.
        const where = { file: flags.config ?? COMMAND_LINE, line: 0 };
        const creds = loadNtsServerCredentials(config.nts, () => where);
        for (const w of creds.warnings) io.err(`ntpkit server: warning: ${formatDiagnostic(w)}`);
        if (creds.credentials === null) {
          for (const d of creds.errors) io.err(`ntpkit server: ${formatDiagnostic(d)}`);
          io.err('ntpkit server: not started: the NTS certificate or key cannot be used');
          io.setExitCode(ExitCode.GENERAL_FAILURE);
          return;
        }
        try {
          ntsKe = await startNtsKeService({
            nts: config.nts, credentials: creds.credentials, bindAddresses: config.bindAddresses, ntpPort: config.port, log: (l) => io.err(`ntpkit server: ${l}`),
          });
        } catch (e) {
          io.err(`ntpkit server: not started: ${(e as Error).message}`);
          io.setExitCode(ExitCode.GENERAL_FAILURE);
          return;
        }
      }
      let server: Serving;
      try {
        const env = environmentSwitches();
        if (flags.workers > 1) {
          // With NTS the workers take this process's cookie keys and follow its rotations.
          server = await startWorkers(config, flags.workers, env, ntsKe?.cookies);
        } else {
          const one = await startNtpServer({
            config, ntsCookies: ntsKe?.cookies, udp: env.udp, transmitCompensation: env.transmitCompensation, log: (l) => io.err(`ntpkit server: ${l}`),
          });
          server = { ...one, close: async () => { await one.close(); return one.stats(); } };
        }
      } catch (e) {
        await ntsKe?.close();
        if (e instanceof ConfigError) {
          // The key file: its problems are file:line, like the config's.
          for (const d of e.errors) io.err(`ntpkit server: ${formatDiagnostic(d)}`);
          io.err('ntpkit server: not started: the key file has errors');
          io.setExitCode(ExitCode.USAGE);
          return;
        }
        io.err(`ntpkit server: cannot serve on port ${config.port}: ${messageWithCode(e)}`);
        io.setExitCode(ExitCode.GENERAL_FAILURE);
        return;
      }
      if (ntsKe !== null) {
        const ke = ntsKe;
        const plain = server;
        const withKe = (st: ServerStats): ServerStats => withNtsKeStats(st, ke.stats());
        server = {
          ...plain,
          stats: async () => withKe(await plain.stats()),
          close: async () => { await ke.close(); const st = await plain.close(); return st ? withKe(st) : st; },
        };
      }
      const where = server.endpoints.map((e) => formatEndpoint(e.address, e.port)).join(', ');
      const source = config.local ? `local stratum ${config.local.stratum}` : 'unsynchronized (no local reference: replies carry leap 3)';
      const transport = server.transport.kind === 'native-kernel-timestamps' ? 'native UDP with kernel timestamps' : `node:dgram (${server.transport.reason ?? 'fallback'})`;
      const workers = flags.workers > 1 ? `; ${flags.workers} workers` : '';
      io.err(`ntpkit server: serving ${where}; ${source}; precision 2^${server.precision}; ${transport}${workers}`);
      const print = (s: ServerStats): void => {
        if (flags.json) io.out(JSON.stringify({ schema: 'ntpkit.serverstats/1', ...serverStatsToJson(s) }));
        else io.out(formatServerStats(s).join('\n'));
      };
      const report = (): void => {
        Promise.resolve(server.stats()).then(print, (e: Error) => io.err(`ntpkit server: statistics unavailable: ${e.message}`));
      };
      const onUsr1 = (): void => report();
      process.on('SIGUSR1', onUsr1);
      const timer = flags.statsInterval > 0 ? setInterval(report, flags.statsInterval * 1000) : undefined;
      try {
        await stop();
      } finally {
        if (timer) clearInterval(timer);
        process.off('SIGUSR1', onUsr1);
        const final = await server.close();
        if (final) print(final);
        else io.err('ntpkit server: final statistics unavailable (a worker did not answer)');
      }
    });
}

/** The hidden command a `--workers` process runs: config and commands arrive over IPC. */
export function serverWorkerCommand(): Command {
  return new Command(WORKER_COMMAND).helpOption(false).action(async () => {
    // Workers are stopped by the primary, not by the terminal's Ctrl-C.
    process.on('SIGINT', () => {});
    await runWorker();
  });
}
