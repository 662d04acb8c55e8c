/**
 * Real chronyd (Debian's chrony 4.3) for interop tests, always:
 * - `-x`: it never touches the system clock;
 * - `-d`: foreground, logging to stderr (captured, see logs());
 * - its own temp dir, config, pidfile and `cmdport 0` (no chronyc socket);
 * - `-u root` when run as root: chronyd's default drop to `_chrony` would
 *   need the temp dir opened up, and a credential change clears the
 *   parent-death signal that reaps it if the test process dies;
 * - `-4` or `-6`, so it opens no wildcard socket of the other family on the
 *   shared port (two servers on 127.0.0.2:123 and 127.0.0.3:123 would
 *   otherwise collide on [::]:123);
 * - stopped by PID.
 *
 * Fake time: with `fakeOffsetSeconds` the daemon runs with Debian's
 * libfaketime preloaded (LD_PRELOAD, FAKETIME="+2.5"), not through the
 * `faketime` wrapper, which would stay in between as the parent and own the
 * PID. Only CLOCK_REALTIME is shifted (FAKETIME_DONT_FAKE_MONOTONIC=1).
 * chronyd's kernel receive timestamps are real time, but chronyd converts them
 * against its own (faked) clock reading, so both T2 and T3 in its replies come
 * out shifted; the harness test measures this for a shift of seconds. A small
 * shift (tenths of a second) has been seen at about half its size (0.2 s
 * measured as 0.1 s): a test planting one should use the offset it measures,
 * not the one it asked for.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reserveLoopbackBlock } from './loopback.js';
import { probeNtp, type ProbeResult } from './ntp-probe.js';
import { type ExitStatus, type ManagedProcess, spawnManaged } from './process.js';
import { toolPath } from './tools.js';

export interface ChronydOptions {
  /**
   * Config lines. The harness prepends `pidfile` and `cmdport 0`. Any `{dir}`
   * is replaced with the instance's temp dir (for keyfiles and the like).
   */
  readonly config: readonly string[];
  /** Files written into the temp dir before start: name -> content. */
  readonly files?: Readonly<Record<string, string>>;
  /** Run under libfaketime with the real-time clock shifted by this much (seconds, may be fractional or negative). */
  readonly fakeOffsetSeconds?: number;
  /** Address family of its sockets (default 4). */
  readonly family?: 4 | 6;
  /** Prefix of the temp dir name. */
  readonly name?: string;
  /** Extra command-line arguments (after the harness's own). */
  readonly args?: readonly string[];
}

export interface ChronydProcess {
  readonly pid: number;
  /** The instance's temp dir (config, pidfile, keys). Removed by stop(). */
  readonly dir: string;
  readonly configPath: string;
  /** The config file's text as written. */
  readonly configText: string;
  /** chronyd's stderr/stdout so far. */
  logs(): string;
  readonly exited: Promise<ExitStatus>;
  /** SIGTERM by PID, SIGKILL after a timeout, wait for exit, remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Starts chronyd with the given config and returns at once (no readiness check). */
export async function startChronyd(opts: ChronydOptions): Promise<ChronydProcess> {
  const chronyd = toolPath('chronyd');
  const env: Record<string, string> = {};
  if (opts.fakeOffsetSeconds !== undefined && opts.fakeOffsetSeconds !== 0) {
    env.LD_PRELOAD = toolPath('libfaketime');
    env.FAKETIME = formatFakeOffset(opts.fakeOffsetSeconds);
    env.FAKETIME_DONT_FAKE_MONOTONIC = '1';
    // libfaketime parses the offset with the C library: keep '.' the decimal point.
    env.LC_ALL = 'C';
  }
  const dir = await mkdtemp(join(tmpdir(), `ntpkit-${opts.name ?? 'chronyd'}-`));
  try {
    for (const [name, content] of Object.entries(opts.files ?? {})) {
      await writeFile(join(dir, name), content, { mode: 0o600 });
    }
    const configPath = join(dir, 'chrony.conf');
    const lines = [
      '# Written by the ntpkit test harness (src/testing/chronyd.ts).',
      `pidfile ${join(dir, 'chronyd.pid')}`,
      'cmdport 0',
      ...opts.config.map((l) => l.replaceAll('{dir}', dir)),
    ];
    const configText = `${lines.join('\n')}\n`;
    await writeFile(configPath, configText);

    const isRoot = process.getuid?.() === 0;
    const args = [
      '-x', '-d', '-f', configPath, opts.family === 6 ? '-6' : '-4',
      // Non-root (a developer box): -U lets it start; it can then only use ports >= 1024.
      ...(isRoot ? ['-u', 'root'] : ['-U']),
      ...(opts.args ?? []),
    ];
    const proc: ManagedProcess = await spawnManaged(chronyd, args, { env });
    let stopping: Promise<void> | undefined;
    return {
      pid: proc.pid,
      dir,
      configPath,
      configText,
      logs: proc.logs,
      exited: proc.exited,
      stop(): Promise<void> {
        stopping ??= (async () => {
          await proc.stop(3000);
          await rm(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** libfaketime's relative format: a sign, then seconds ("+2.5", "-0.25"). */
export function formatFakeOffset(seconds: number): string {
  return `${seconds < 0 ? '-' : '+'}${Math.abs(seconds)}`;
}

export interface ChronydServerOptions {
  /** Loopback address to bind. Default: one reserved with reserveLoopbackBlock() and released by stop(). */
  readonly address?: string;
  /** UDP port (default 123). */
  readonly port?: number;
  /** `local stratum N` (default 1). null: no `local` line (the server then needs a source of its own). */
  readonly stratum?: number | null;
  /** Lines appended to the generated config, e.g. `ratelimit interval 1 burst 1`, `keyfile {dir}/keys`. */
  readonly extraConfig?: readonly string[];
  /** Files written into the temp dir, e.g. { keys: '1 SHA1 HEX:...' }. */
  readonly files?: Readonly<Record<string, string>>;
  /** Serve time shifted by this many seconds (libfaketime). */
  readonly fakeOffsetSeconds?: number;
  /** `allow` lines (default 127.0.0.0/8, or ::1 for an IPv6 address). */
  readonly allow?: readonly string[];
  /**
   * What start waits for (default 'synchronized'): a reply with leap != 3 and
   * the configured stratum; 'reply': any reply; 'none': only that it started.
   */
  readonly waitFor?: 'synchronized' | 'reply' | 'none';
  /** Default 10 s. */
  readonly readyTimeoutMs?: number;
}

export interface Readiness {
  /** Milliseconds from spawn to the awaited reply. */
  readonly ms: number;
  readonly probes: number;
  /** Replies seen before the awaited one that were unsynchronized (leap 3) or had another stratum. */
  readonly earlyReplies: number;
  /** The reply that ended the wait, if any. */
  readonly reply?: ProbeResult;
}

export interface ChronydServer extends ChronydProcess {
  readonly address: string;
  readonly port: number;
  readonly stratum: number | null;
  readonly fakeOffsetSeconds: number;
  readonly readiness: Readiness;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts chronyd as an NTP server on a loopback address and waits until it
 * really serves: a hand-built mode 3 request gets a synchronized reply
 * with the configured stratum.
 */
export async function startChronydServer(opts: ChronydServerOptions = {}): Promise<ChronydServer> {
  const block = opts.address === undefined ? await reserveLoopbackBlock(`chronyd-server-${process.pid}`, 1, { port: opts.port ?? 123 }) : undefined;
  const address = opts.address ?? (block?.addresses[0] as string);
  const port = opts.port ?? 123;
  const stratum = opts.stratum === undefined ? 1 : opts.stratum;
  const v6 = isIPv6(address);
  const config = [
    `bindaddress ${address}`,
    `port ${port}`,
    ...(opts.allow ?? [v6 ? '::1' : '127.0.0.0/8']).map((a) => `allow ${a}`),
    ...(stratum === null ? [] : [`local stratum ${stratum}`]),
    ...(opts.extraConfig ?? []),
  ];
  let proc: ChronydProcess;
  try {
    proc = await startChronyd({
      config,
      files: opts.files,
      fakeOffsetSeconds: opts.fakeOffsetSeconds,
      family: v6 ? 6 : 4,
      name: `chronyd-${address.replaceAll(':', '_')}-${port}`,
    });
  } catch (e) {
    block?.release();
    throw e;
  }
  const stop = async (): Promise<void> => {
    await proc.stop();
    block?.release();
  };

  const started = Date.now();
  const waitFor = opts.waitFor ?? 'synchronized';
  const deadline = started + (opts.readyTimeoutMs ?? 10_000);
  let probes = 0;
  let earlyReplies = 0;
  let reply: ProbeResult | undefined;
  let lastError = '';
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  while (waitFor !== 'none') {
    if (exited || Date.now() > deadline) {
      const why = exited ? `exited (${JSON.stringify(await proc.exited)})` : `gave no ${waitFor} reply within ${opts.readyTimeoutMs ?? 10_000} ms`;
      const logs = proc.logs();
      await stop();
      throw new Error(
        `chronyd on ${address}:${port} ${why}; ${probes} probes, ${earlyReplies} early replies; last: ${lastError}\n` +
          `config:\n${proc.configText}logs:\n${logs}`,
      );
    }
    probes++;
    try {
      // Sent from the server's own address, so the probes spend no rate-limit
      // tokens of the address tests send from (127.0.0.1).
      const r = await probeNtp(address, port, { timeoutMs: 250, sourceAddress: v6 ? undefined : address });
      const good = waitFor === 'reply' || (r.synchronized && (stratum === null || r.header.stratum === stratum));
      if (good) {
        reply = r;
        break;
      }
      earlyReplies++;
      lastError = `leap ${r.header.leap} stratum ${r.header.stratum} refid ${r.header.referenceIdText}`;
    } catch (e) {
      lastError = (e as Error).message;
    }
    await sleep(20);
  }
  return {
    ...proc,
    stop,
    address,
    port,
    stratum,
    fakeOffsetSeconds: opts.fakeOffsetSeconds ?? 0,
    readiness: { ms: Date.now() - started, probes, earlyReplies, ...(reply ? { reply } : {}) },
  };
}

export interface ChronydClientServer {
  readonly address: string;
  /** Default 123. */
  readonly port?: number;
  /** Options of the `server` line, e.g. 'iburst minpoll 0 maxpoll 0 xleave key 1'. */
  readonly options?: string;
  /** 'peer' for a symmetric association (needs a `port` of its own, see extraConfig). Default 'server'. */
  readonly directive?: 'server' | 'peer';
}

export interface ChronydClientOptions {
  readonly servers: readonly ChronydClientServer[];
  /** Lines appended to the config. The default `port 0` (no NTP server socket) comes first and may be overridden here. */
  readonly extraConfig?: readonly string[];
  readonly files?: Readonly<Record<string, string>>;
  readonly fakeOffsetSeconds?: number;
  readonly family?: 4 | 6;
}

/**
 * Starts chronyd as an NTP client (still `-x`: it measures its sources but
 * never adjusts the clock). Returns at once; watch its traffic with a
 * UDP relay or read logs().
 */
export function startChronydClient(opts: ChronydClientOptions): Promise<ChronydProcess> {
  const extra = opts.extraConfig ?? [];
  const hasPort = extra.some((l) => /^\s*port\s/i.test(l));
  return startChronyd({
    config: [
      ...(hasPort ? [] : ['port 0']),
      ...extra,
      ...opts.servers.map((s) => `${s.directive ?? 'server'} ${s.address} port ${s.port ?? 123}${s.options ? ` ${s.options}` : ''}`),
    ],
    files: opts.files,
    fakeOffsetSeconds: opts.fakeOffsetSeconds,
    family: opts.family,
    name: 'chronyd-client',
  });
}
