/**
 * The daemon's control commands (docs/control.md) and their client side.
 *
 * - Monitoring, served on both sockets: `snapshot` (tracking, sources,
 *   sourcestats, peers read it), `activity`, `commands`.
 * - Local only (the main socket, mode 0660), as chronyd allows them only on
 *   its Unix socket: `clients`, `serverstats`, `ntpdata`, and every command
 *   that changes something: `makestep`, `burst`, `online`, `offline`, `add`,
 *   `delete`, `reload`, `dump`, `allow`/`deny`, `cmdallow`/`cmddeny`,
 *   `dfreq`, `reselect`, `reselectdist`, `onoffline`...
 *
 * The client side is daemon-client.ts (re-exported here), which a report
 * command imports alone: these handlers parse config lines and load more.
 */
import { isIP } from 'node:net';
import type { ClientReport } from '../core/server/client-report.js';
import type { EngineCommandResult, EngineCommand, NtpDataReport } from '../core/engine/engine-api.js';
import { serverStatsToJson, type ServerStats } from '../core/server/server-stats.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import type { SourceOptions } from '../core/engine/source-options.js';
import { instantFromUnixNanos } from '../time/instant.js';
import { parseConfigText } from '../config/parse-config.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import type { UdpTransportInfo } from '../net/udp-transport.js';
import { ControlError } from './errors.js';
import type { ControlCommandSpec } from './command-table.js';
import { intArg, noOtherArgs, selectorArg, unwrap } from './command-args.js';
import { modifySource, onoffline, resetSources } from './source-commands.js';
import {
  dfreq, doffset, local as localReference, manual, reselect, reselectdist, rtcdata, smoothtime, trimrtc, writertc,
} from './clock-commands.js';
import { accessRule } from './access-commands.js';
import type { AccessRule } from '../core/server/access.js';
import type { ManualListRow } from '../daemon/manual-time.js';
import { accheck, cyclelogs, rekey, shutdown } from './process-commands.js';
import type { LocalConfig } from '../config/server-config.js';

export { callDaemon, fetchSnapshot, OPEN_COMMANDS } from './daemon-client.js';

/** What the monitoring commands read: the daemon's one snapshot (e.g. EngineDriver). */
export interface SnapshotSource {
  snapshot(): DaemonSnapshot;
}

/** What the other commands need of the daemon (SyncDaemon has it all). */
export interface ControllableDaemon extends SnapshotSource {
  control<C extends EngineCommand>(command: C): EngineCommandResult<C['op']>;
  clients(minHits?: number): ClientReport[] | null;
  serverStats(): ServerStats | null;
  /** How the client sockets stamp (ntpdata's TX/RX timestamping), once open. */
  readonly transport: UdpTransportInfo | null;
  /** The local address replies from `remote` arrive at (ntpdata's Local address), or null when unknown. */
  localAddressFor?(remote: string): Promise<string | null>;
  /** chronyc local: the local reference served while unsynchronized, null for none, over the config's. */
  setLocal?(local: LocalConfig | null): void;
  /** chronyc accheck: whether the NTP server's allow/deny rules let `address` in. */
  ntpAccess?(address: string): boolean;
  /** chronyc allow/deny (`ntp`) and cmdallow/cmddeny (`cmd`) at run time; throws, nothing changed, on a bad subnet. */
  addAccessRule?(table: 'ntp' | 'cmd', rule: AccessRule): Promise<void>;
  /** chronyc onoffline: whether the kernel has a route to `address` (a UDP socket connects to it). */
  routeExists?(address: string): Promise<boolean>;
  /** chronyc rekey: the key file read again. */
  rekey?(): Promise<void>;
  /** chronyc manual: on/off/reset/delete say whether done; list gives the samples. */
  manual?(action: 'on' | 'off' | 'reset' | 'list' | 'delete', index?: number): ManualListRow[] | boolean;
  /** chronyc cyclelogs: the log files reopened. */
  cycleLogs?(): Promise<void>;
  /** chronyc dump: the sources' samples saved to the dumpdir; the files written, or null without a dumpdir. */
  dump?(): Promise<number | null>;
}


export interface DaemonHandlerOptions {
  /** `reload`: re-read the config as SIGHUP does; throw ControlError('bad-config') to refuse it. */
  readonly reload?: () => Promise<{ readonly sources: number; readonly file: string }>;
  /** `shutdown`: stop the daemon as SIGTERM does; without it the command is not served. */
  readonly shutdown?: () => void;
  /** One line per changing command carried out (the daemon's log). */
  readonly log?: (line: string) => void;
  /** cmdallow/cmddeny's verdict on an address (`cmdaccheck`). */
  readonly cmdAllowed?: (address: string) => boolean;
}

/**
 * `add`'s source: one chrony.conf `server` or `pool` line, parsed by the
 * config parser itself, so every option means what it means in the file.
 */
export function parseSourceLine(line: unknown): SourceOptions {
  if (typeof line !== 'string' || line.length > 1024 || /[\n\r\0]/.test(line)) {
    throw new ControlError('bad-args', 'Missing "line": give one chrony.conf source line, e.g. "server ntp.example.net iburst"');
  }
  const words = line.trim().split(/\s+/);
  if (words[0] !== 'server' && words[0] !== 'pool') {
    throw new ControlError('bad-args', `Cannot add ${JSON.stringify(line.slice(0, 80))}: the line must start with "server" or "pool"`);
  }
  const r = parseConfigText(line, 'add', { format: 'chrony' });
  const problems = [...r.errors, ...r.warnings];
  if (r.config === null || problems.length > 0) {
    throw new ControlError('bad-args', `Cannot add the source: ${problems.map((d) => formatDiagnostic(d).replace(/^add:1: /, '')).join('; ') || 'invalid line'}`);
  }
  const src = r.config.sources[0];
  if (r.config.sources.length !== 1 || src === undefined) throw new ControlError('bad-args', 'Cannot add the source: the line must hold exactly one source');
  return src.options;
}

function stampKind(t: UdpTransportInfo | null): string {
  if (t === null) return 'invalid';
  return t.kind === 'native-kernel-timestamps' ? 'kernel' : 'daemon';
}

/**
 * Handlers of the daemon's commands. With only a SnapshotSource, the
 * monitoring ones; with a ControllableDaemon, all of them.
 */
export function daemonHandlers(source: SnapshotSource | ControllableDaemon, opts: DaemonHandlerOptions = {}): Record<string, ControlCommandSpec> {
  const open = (run: ControlCommandSpec['run']): ControlCommandSpec => ({ run, access: 'open', changes: false });
  const local = (run: ControlCommandSpec['run']): ControlCommandSpec => ({ run, access: 'local', changes: false });
  const changing = (run: ControlCommandSpec['run']): ControlCommandSpec => ({ run, access: 'local', changes: true });
  const handlers: Record<string, ControlCommandSpec> = {
    snapshot: open(() => source.snapshot()),
  };
  if (!('control' in source)) return handlers;
  const d = source;
  const log = opts.log ?? (() => {});
  Object.assign(handlers, {
    activity: open((args) => {
      noOtherArgs(args, []);
      return unwrap(d.control({ op: 'activity' }));
    }),
    ntpdata: local(async (args) => {
      noOtherArgs(args, ['address']);
      const sources = unwrap(d.control({ op: 'ntpdata', selector: selectorArg(args, false) }));
      // As chronyd's ntpdata: who read the last sample's T1 and T4; before any sample, what the socket can do.
      const socket = stampKind(d.transport);
      // chronyd learns it from the replies: [UNSPEC] until one came.
      const local = await Promise.all(sources.map((s: NtpDataReport) => (s.totalRx > 0 ? d.localAddressFor?.(s.remoteAddress) ?? null : null)));
      return {
        sources: sources.map((s: NtpDataReport, i) => ({
          ...s, txTimestamping: s.stamps.lastTx ?? socket, rxTimestamping: s.stamps.lastRx ?? socket, localAddress: local[i] ?? null,
        })),
      };
    }),
    clients: local((args) => {
      noOtherArgs(args, ['minPackets']);
      const min = args.minPackets === undefined ? 0 : intArg(args, 'minPackets', 0, 2 ** 32);
      const c = d.clients(min);
      if (c === null) throw new ControlError('not-serving', 'This daemon serves no NTP clients (no allow directive permits any)');
      return { clients: c };
    }),
    serverstats: local((args) => {
      noOtherArgs(args, []);
      const s = d.serverStats();
      if (s === null) throw new ControlError('not-serving', 'This daemon serves no NTP clients (no allow directive permits any)');
      return serverStatsToJson(s);
    }),
    makestep: changing((args) => {
      noOtherArgs(args, ['threshold', 'limit']);
      if (args.threshold === undefined && args.limit === undefined) {
        const { seconds } = unwrap(d.control({ op: 'makestep' }));
        log(`Control: makestep (stepped ${seconds} s)`);
        return { stepped: seconds };
      }
      const threshold = args.threshold;
      if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < 0) {
        throw new ControlError('bad-args', `Cannot use "threshold" ${JSON.stringify(threshold) ?? 'nothing'}: expected seconds, a number >= 0 (give both threshold and limit, or neither)`);
      }
      const limit = intArg(args, 'limit', -1, 2 ** 31 - 1);
      unwrap(d.control({ op: 'set-makestep', threshold, limit }));
      log(`Control: makestep ${threshold} ${limit}`);
      return { threshold, limit };
    }),
    settime: changing((args) => {
      noOtherArgs(args, ['unixSeconds']);
      const t = args.unixSeconds;
      // A decimal string keeps nanoseconds that a float64 of today's Unix time would round away.
      if (typeof t !== 'string' || !/^\d{1,12}(\.\d{1,9})?$/.test(t)) {
        throw new ControlError('bad-args', `Cannot use "unixSeconds" ${JSON.stringify(t)?.slice(0, 40) ?? 'nothing'}: expected Unix seconds as a decimal string, e.g. "1700000000.25"`);
      }
      const [whole, frac = ''] = t.split('.');
      const time = instantFromUnixNanos(BigInt(whole as string) * 1_000_000_000n + BigInt(frac.padEnd(9, '0')));
      const r = unwrap(d.control({ op: 'settime', time }));
      log(`Control: settime ${t} (clock was ${r.fast.toFixed(6)} s fast, ${r.stepped ? 'stepped' : 'slewed'})`);
      return r;
    }),
    burst: changing((args) => {
      noOtherArgs(args, ['good', 'max', 'address']);
      const good = intArg(args, 'good', 1, 2048);
      const max = intArg(args, 'max', good, 2048);
      const selector = selectorArg(args, false);
      const r = unwrap(d.control({ op: 'burst', selector, good, max }));
      log(`Control: burst ${good}/${max} ${selector ?? '(all)'}: ${r.sources} source(s)`);
      return r;
    }),
    online: changing((args) => {
      noOtherArgs(args, ['address']);
      const selector = selectorArg(args, false);
      const r = unwrap(d.control({ op: 'online', selector }));
      log(`Control: online ${selector ?? '(all)'}: ${r.sources} source(s)`);
      return r;
    }),
    offline: changing((args) => {
      noOtherArgs(args, ['address']);
      const selector = selectorArg(args, false);
      const r = unwrap(d.control({ op: 'offline', selector }));
      log(`Control: offline ${selector ?? '(all)'}: ${r.sources} source(s)`);
      return r;
    }),
    add: changing((args) => {
      noOtherArgs(args, ['line']);
      const so = parseSourceLine(args.line);
      const r = unwrap(d.control({ op: 'add-source', source: so }));
      log(`Control: added ${so.kind} ${so.host} port ${so.port}`);
      return { sourceId: r.sourceId, kind: so.kind, host: so.host, port: so.port };
    }),
    delete: changing((args) => {
      noOtherArgs(args, ['address']);
      const selector = selectorArg(args, true) as string;
      const r = unwrap(d.control({ op: 'delete-source', selector }));
      log(`Control: deleted ${selector} (${r.sources} source(s))`);
      return r;
    }),
    'reset-sources': changing(resetSources(d, log)),
    'modify-source': changing(modifySource(d, log)),
    doffset: changing(doffset(d, log)),
    local: changing(localReference(d, log)),
    rtcdata: open(rtcdata),
    trimrtc: changing(trimrtc),
    writertc: changing(writertc),
    dfreq: changing(dfreq(d, log)),
    reselect: changing(reselect(d, log)),
    reselectdist: changing(reselectdist(d, log)),
    onoffline: changing(onoffline(d, log)),
    allow: changing(accessRule(d, 'ntp', true, log)),
    deny: changing(accessRule(d, 'ntp', false, log)),
    cmdallow: changing(accessRule(d, 'cmd', true, log)),
    cmddeny: changing(accessRule(d, 'cmd', false, log)),
    selectdata: open((args) => { noOtherArgs(args, []); return { sources: unwrap(d.control({ op: 'selectdata' })) }; }),
    authdata: open((args) => { noOtherArgs(args, []); return { sources: unwrap(d.control({ op: 'authdata' })) }; }),
    accheck: local(accheck(d)),
    refresh: changing((args) => { noOtherArgs(args, []); return unwrap(d.control({ op: 'refresh' })); }),
    smoothtime: changing(smoothtime(d, log)),
    manual: changing(manual(d, log)),
    rekey: changing(rekey(d, log)),
    cyclelogs: changing(cyclelogs(d, log)),
    dump: changing(async (args) => {
      noOtherArgs(args, []);
      const n = (await d.dump?.()) ?? null;
      if (n === null) throw new ControlError('not-enabled', 'No dumpdir is configured: the sources\' samples have nowhere to go (chrony.conf dumpdir DIR)');
      log(`Control: dump (${n} source file${n === 1 ? '' : 's'} written)`);
      return { sources: n };
    }),
  } satisfies Record<string, ControlCommandSpec>);
  const cmdAllowed = opts.cmdAllowed;
  if (cmdAllowed !== undefined) {
    handlers.cmdaccheck = local((args) => {
      noOtherArgs(args, ['address']);
      const address = selectorArg(args, true) as string;
      if (!isIP(address)) throw new ControlError('bad-args', `Cannot check "address" ${JSON.stringify(address)}: expected an IP address`);
      return { allowed: cmdAllowed(address) };
    });
  }
  if (opts.shutdown !== undefined) handlers.shutdown = changing(shutdown(opts.shutdown, log));
  const reload = opts.reload;
  if (reload !== undefined) {
    handlers.reload = changing(async (args) => {
      noOtherArgs(args, []);
      return reload();
    });
  }
  return handlers;
}
