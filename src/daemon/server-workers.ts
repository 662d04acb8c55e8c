/**
 * `ntpkit server --workers N`: N processes serving one port through
 * SO_REUSEPORT, the kernel spreading clients across them by a hash of their
 * address, so each worker's client table (rate limits, interleaved
 * timestamps) sees all of a client's packets. Processes rather than threads:
 * each has its own event loop and garbage collector on its own core, and a
 * crash takes down one worker, not the server.
 *
 * The primary forks the workers (this module run as a script, with
 * `__server-worker`, so a worker runs the same build as its primary), hands
 * each the parsed config over IPC, and asks them for statistics, which it
 * sums. The system state goes to every worker the same way.
 *
 * With NTS, the primary alone runs NTS-KE and owns the cookie master keys
 * (their file, their rotation): each worker gets the keys with its start
 * message and again after every rotation, and keeps a ring that never
 * rotates by itself. So a cookie from the KE server opens in every worker,
 * and one a worker issued opens in any other, as a client's packets may
 * move between workers when the kernel's SO_REUSEPORT hash changes.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServerConfig } from '../config/server-config.js';
import type { ServerStats } from '../core/server/server-stats.js';
import type { SystemState } from '../core/system.js';
import { CookieKeyRing, type MasterKey } from '../crypto/nts-cookie.js';
import { type RealtimeSourceChoice, useRealtimeSource } from '../clock/realtime.js';
import type { UdpPreferences, UdpTransportInfo } from '../net/udp-socket.js';
import { type RunningNtpServer, startNtpServer } from './ntp-server.js';

const SELF = fileURLToPath(import.meta.url);
/** The hidden subcommand a worker process runs (also `ntpkit __server-worker`). */
export const WORKER_COMMAND = '__server-worker';

/** What the primary's composition root chose, for every worker to use alike. */
export interface WorkerSwitches {
  readonly udp?: UdpPreferences;
  readonly transmitCompensation?: boolean;
  readonly realtimeSource?: RealtimeSourceChoice;
}

type ToWorker =
  | { type: 'start'; config: ServerConfig; switches: WorkerSwitches; ntsKeys?: readonly MasterKey[] }
  | { type: 'stats' }
  | { type: 'state'; state: SystemState }
  | { type: 'nts-keys'; keys: readonly MasterKey[] }
  | { type: 'stop' };
type FromWorker =
  | { type: 'ready'; endpoints: RunningNtpServer['endpoints']; transport: UdpTransportInfo; precision: number }
  | { type: 'failed'; message: string; code?: string }
  | { type: 'stats'; stats: ServerStats }
  | { type: 'stopped'; stats: ServerStats };

/** Sums the statistics of several workers, field by field (nested counters too). */
export function sumStats(all: readonly ServerStats[]): ServerStats {
  const add = (a: unknown, b: unknown): unknown => {
    if (typeof a === 'number' && typeof b === 'number') return a + b;
    if (a && b && typeof a === 'object' && typeof b === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(a)) out[k] = add((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]);
      return out;
    }
    return a;
  };
  const [first, ...rest] = all;
  if (!first) throw new RangeError('Cannot sum the statistics of no workers');
  // The timestamp span is a spread, not a count: the widest worker's is the server's.
  const span = Math.max(...all.map((s) => s.ntpTimestampSpan));
  return { ...(rest.reduce<unknown>((acc, s) => add(acc, s), first) as ServerStats), ntpTimestampSpan: span };
}

function request(child: ChildProcess, msg: ToWorker, want: FromWorker['type'][], timeoutMs: number): Promise<FromWorker> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`worker ${child.pid} did not answer "${msg.type}" within ${timeoutMs} ms`)); }, timeoutMs);
    const onMessage = (m: FromWorker): void => { if (want.includes(m.type)) { cleanup(); resolve(m); } };
    const onExit = (code: number | null, signal: string | null): void => { cleanup(); reject(new Error(`worker ${child.pid} exited (${signal ?? code})`)); };
    const cleanup = (): void => { clearTimeout(timer); child.off('message', onMessage); child.off('exit', onExit); };
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.send(msg);
  });
}

export interface RunningWorkers {
  readonly pids: readonly number[];
  readonly endpoints: RunningNtpServer['endpoints'];
  readonly transport: UdpTransportInfo;
  readonly precision: number;
  stats(): Promise<ServerStats>;
  /** Each worker's statistics, in `pids` order. */
  workerStats(): Promise<ServerStats[]>;
  /** Sends the system state replies carry to every worker (RunningNtpServer.setSystemState). */
  setSystemState(state: SystemState): void;
  /** Stops every worker (by PID, SIGKILL if one does not stop in time) and returns their final summed statistics. */
  close(): Promise<ServerStats | null>;
}

/**
 * Forks `count` workers serving `config`. With `ntsCookies` (the primary's
 * NTS-KE ring) every worker serves NTS with its keys, following its rotations.
 */
export async function startWorkers(config: ServerConfig, count: number, switches: WorkerSwitches = {}, ntsCookies?: CookieKeyRing): Promise<RunningWorkers> {
  const children: ChildProcess[] = [];
  let unfollow = (): void => {};
  const killAll = (): void => { unfollow(); for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); };
  process.once('exit', killAll);
  try {
    for (let i = 0; i < count; i++) {
      // Workers ignore SIGINT/SIGTERM from the terminal's process group: the primary stops them.
      children.push(fork(SELF, [WORKER_COMMAND], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', detached: true }));
    }
    // Followed before the start messages go, so that no rotation falls between the two.
    if (ntsCookies) {
      unfollow = ntsCookies.onKeysChanged((keys) => {
        for (const c of children) if (c.connected) c.send({ type: 'nts-keys', keys } satisfies ToWorker);
      });
    }
    const ntsKeys = ntsCookies ? { ntsKeys: ntsCookies.keys } : {};
    const ready = await Promise.all(children.map((c) => request(c, { type: 'start', config, switches, ...ntsKeys }, ['ready', 'failed'], 10_000)));
    const failed = ready.find((r): r is Extract<FromWorker, { type: 'failed' }> => r.type === 'failed');
    if (failed) throw Object.assign(new Error(failed.message), failed.code ? { code: failed.code } : {});
    const first = ready[0] as Extract<FromWorker, { type: 'ready' }>;
    const workerStats = async (): Promise<ServerStats[]> =>
      (await Promise.all(children.map((c) => request(c, { type: 'stats' }, ['stats'], 5000)))).map((m) => (m as Extract<FromWorker, { type: 'stats' }>).stats);
    return {
      pids: children.map((c) => c.pid as number),
      endpoints: first.endpoints,
      transport: first.transport,
      precision: first.precision,
      setSystemState: (state) => { for (const c of children) if (c.connected) c.send({ type: 'state', state } satisfies ToWorker); },
      workerStats,
      stats: async () => sumStats(await workerStats()),
      close: async () => {
        try {
          const finals = await Promise.all(children.map((c) => request(c, { type: 'stop' }, ['stopped'], 5000)));
          return sumStats(finals.map((m) => (m as Extract<FromWorker, { type: 'stopped' }>).stats));
        } catch {
          return null;
        } finally {
          killAll();
          process.off('exit', killAll);
        }
      },
    };
  } catch (e) {
    killAll();
    process.off('exit', killAll);
    throw e;
  }
}

/** The worker side: serve with SO_REUSEPORT until the primary says stop (or goes away). */
export function runWorker(): Promise<void> {
  return new Promise((resolve) => {
    let server: RunningNtpServer | undefined;
    let ring: CookieKeyRing | undefined;
    const send = (m: FromWorker): void => { process.send?.(m); };
    const finish = async (): Promise<void> => {
      const s = server;
      server = undefined;
      if (s) { await s.close(); send({ type: 'stopped', stats: s.stats() }); }
      process.off('message', onMessage);
      process.disconnect?.();
      resolve();
    };
    const onMessage = (m: ToWorker): void => {
      if (m.type === 'start') {
        const { udp, transmitCompensation, realtimeSource } = m.switches;
        if (realtimeSource !== undefined) useRealtimeSource(realtimeSource);
        // rotateSeconds 0: only the primary rotates; this ring follows its 'nts-keys' messages.
        ring = m.ntsKeys ? new CookieKeyRing(m.ntsKeys, 0, { rotateSeconds: 0 }) : undefined;
        startNtpServer({
          config: m.config, reusePort: true, ...(ring ? { ntsCookies: ring } : {}), ...(udp ? { udp } : {}), ...(transmitCompensation !== undefined ? { transmitCompensation } : {}),
          log: (l) => process.stderr.write(`ntpkit server worker ${process.pid}: ${l}\n`),
        })
          .then((s) => { server = s; send({ type: 'ready', endpoints: s.endpoints, transport: s.transport, precision: s.precision }); })
          .catch((e: NodeJS.ErrnoException) => { send({ type: 'failed', message: e.message, ...(e.code ? { code: e.code } : {}) }); void finish(); });
      } else if (m.type === 'stats' && server) {
        send({ type: 'stats', stats: server.stats() });
      } else if (m.type === 'state' && server) {
        server.setSystemState(m.state);
      } else if (m.type === 'nts-keys' && ring) {
        ring.replaceKeys(m.keys, 0);
      } else if (m.type === 'stop') {
        void finish();
      }
    };
    process.on('message', onMessage);
    process.once('disconnect', () => { void finish(); });
  });
}

// Forked by startWorkers() as a script: serve until the primary says stop.
if (process.argv[1] === SELF && process.argv[2] === WORKER_COMMAND) {
  process.on('SIGINT', () => {}); // stopped by the primary, not by the terminal's Ctrl-C
  await runWorker();
}
