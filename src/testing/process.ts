/**
 * Child processes that tests start and must stop: spawned with their output
 * captured, stopped by PID (SIGTERM, then SIGKILL after a grace period), and
 * tracked so nothing outlives the test process.
 *
 * Two safety nets back up `stop()`:
 * - where util-linux `setpriv` exists, children are exec'd through
 *   `setpriv --pdeathsig KILL`, so the kernel kills them if the test process
 *   dies abruptly (crash, SIGKILL, runner timeout). setpriv execs in place,
 *   so the PID is the real program's. The death signal fires when the thread
 *   that spawned the child exits: spawn from the main thread, not a Worker;
 * - an 'exit' hook sends SIGKILL to every child not yet stopped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, chown, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { findTool } from './tools.js';

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Environment additions (merged over process.env). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Kill the child when this process dies (default true; needs setpriv). */
  readonly dieWithParent?: boolean;
  /** Bytes of combined stdout+stderr kept for logs() (default 1 MiB, oldest dropped). */
  readonly logLimit?: number;
}

export interface ManagedProcess {
  readonly pid: number;
  readonly command: string;
  /** Resolves when the process has exited and been reaped. Never rejects. */
  readonly exited: Promise<ExitStatus>;
  /** The exit status once known, else undefined. */
  exitStatus(): ExitStatus | undefined;
  /** Captured stdout and stderr, interleaved in arrival order. */
  logs(): string;
  /**
   * SIGTERM by PID, SIGKILL if it has not exited after `graceMs` (default 3000),
   * then waits until it is reaped. Idempotent; safe after the process died.
   */
  stop(graceMs?: number): Promise<ExitStatus>;
}

const live = new Set<ChildProcess>();
let hookInstalled = false;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
}

/** PIDs of children started through this module that have not exited yet. */
export function liveChildPids(): number[] {
  return [...live].flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
}

/**
 * Runs `main` when `moduleUrl` is the script node was started with (the
 * capture scripts are both importable and runnable): sets the exit code,
 * prints a crash's stack, and reports any child this module started that
 * main left running.
 */
export function runIfMain(moduleUrl: string, main: (argv: readonly string[]) => Promise<number>): void {
  if (!process.argv[1] || fileURLToPath(moduleUrl) !== process.argv[1]) return;
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  ).finally(() => {
    const left = liveChildPids();
    if (left.length) process.stderr.write(`BUG: child processes still running: ${left.join(' ')}\n`);
  });
}

/** The uid and gid of `nobody` (Debian's 65534): who unprivileged() runs as. */
export const NOBODY = 65534;

/**
 * `file args` as a command that runs without root: under root, through
 * `setpriv` as nobody (with its own parent-death signal, which a change of
 * credentials clears); otherwise as it is. File modes then restrict the
 * program as they restrict a daemon's user (root reads a mode-000 file).
 */
export function unprivileged(file: string, args: readonly string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [file, [...args]];
  const setpriv = findTool('setpriv');
  if (setpriv === undefined) throw new Error('running as root without setpriv: cannot drop to nobody');
  return [setpriv, ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--pdeathsig', 'KILL', '--', file, ...args]];
}

/** Writes a file with `mode`, owned by the user unprivileged() runs as (so mode 0600 is readable to it, 000 is not). */
export async function writeUnprivileged(path: string, text: string, mode = 0o644): Promise<string> {
  await writeFile(path, text);
  if (process.getuid?.() === 0) await chown(path, NOBODY, NOBODY);
  await chmod(path, mode);
  return path;
}

/** True while a process with this PID exists (any owner, zombies included). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Starts `file` with `args`. Resolves once the process exists (spawn succeeded);
 * rejects if it could not be started at all.
 */
export async function spawnManaged(file: string, args: readonly string[], opts: SpawnOptions = {}): Promise<ManagedProcess> {
  installExitHook();
  const setpriv = opts.dieWithParent === false ? undefined : findTool('setpriv');
  const [cmd, argv] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', file, ...args]] : [file, [...args]];
  const child = spawn(cmd, argv, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  const limit = opts.logLimit ?? 1 << 20;
  let log = '';
  const append = (chunk: Buffer): void => {
    log += chunk.toString('utf8');
    if (log.length > limit) log = log.slice(log.length - limit);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  let status: ExitStatus | undefined;
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      status = { code, signal };
      // Let the pipes drain so logs() is complete, but do not wait on a
      // grandchild that inherited them (e.g. a chronyd helper process).
      const drained = new Promise<void>((r) => setTimeout(r, 500).unref());
      void Promise.race([closed, drained]).then(() => resolve(status as ExitStatus));
    });
  });

  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (e) => reject(new Error(`Cannot start ${file}: ${e.message}`)));
  });
  const pid = child.pid as number;
  live.add(child);

  const command = [file, ...args].join(' ');
  let stopping: Promise<ExitStatus> | undefined;
  const stop = (graceMs = 3000): Promise<ExitStatus> => {
    stopping ??= (async () => {
      if (status) return status;
      signal(pid, 'SIGTERM');
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([exited, timer])) === 'timeout') signal(pid, 'SIGKILL');
      return exited;
    })();
    return stopping;
  };

  return { pid, command, exited, exitStatus: () => status, logs: () => log, stop };
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/**
 * Calls `probe` every 200 ms until it gives a value (not undefined); fails
 * after `ms` naming `what`, with `diagnostics()` (say, the daemon's log).
 */
export async function pollFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms: number, diagnostics: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}\n${diagnostics()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs a program to completion with a hard time limit; output is collected as text. */
export async function runToCompletion(
  file: string,
  args: readonly string[],
  opts: SpawnOptions & { readonly timeoutMs: number },
): Promise<{ status: ExitStatus; stdout: string; stderr: string; timedOut: boolean }> {
  installExitHook();
  const setpriv = opts.dieWithParent === false ? undefined : findTool('setpriv');
  const [cmd, argv] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', file, ...args]] : [file, [...args]];
  const child = spawn(cmd, argv, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  let timedOut = false;
  const status = await new Promise<ExitStatus>((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`Cannot start ${file}: ${e.message}`)));
    child.once('spawn', () => {
      live.add(child);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) signal(child.pid, 'SIGKILL');
    }, opts.timeoutMs);
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal: sig });
    });
  });
  return { status, stdout, stderr, timedOut };
}
