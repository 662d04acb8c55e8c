/**
 * Loopback address allocation for tests that run in parallel processes.
 *
 * ntpdig (and ntpkit's defaults) only talk to port 123, so each server under
 * test gets its own 127.0.0.X on port 123, and no two test processes may pick
 * the same X. The scheme:
 *
 * - every address has a lock file `<lockDir>/<address>.lock` (default
 *   `/tmp/ntpkit-loopback`, override with NTPKIT_LOOPBACK_LOCK_DIR) holding
 *   the owner's PID, its start time (from /proc, so a recycled PID does not
 *   look alive) and the block name;
 * - a block is reserved under a short global mutex (an atomic `mkdir`), which
 *   makes reclaiming locks of dead processes race-free;
 * - before an address is handed out, a UDP socket is bound on it at the port
 *   the caller will use (default 123): an address some foreign process holds
 *   (a leftover daemon, a test run without this scheme) is skipped;
 * - `release()` removes the locks; so does process exit, and a lock whose
 *   owner died is reclaimed by the next reservation.
 *
 * Addresses come from 127.0.0.2 up, skipping ones Debian and systemd use
 * (127.0.0.1, 127.0.0.53, 127.0.0.54, 127.0.1.1).
 */
import dgram from 'node:dgram';
import { chmodSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, statSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export interface LoopbackBlock {
  /** What reserved it (shows in the lock files, for debugging). */
  readonly name: string;
  readonly addresses: readonly string[];
  /** Frees every address of the block. Idempotent. */
  release(): void;
}

export interface ReserveOptions {
  /** Port that must be free on each address (default 123). */
  readonly port?: number;
  /** Give up after this long (default 20 s). */
  readonly timeoutMs?: number;
  /**
   * Draw from 127.64.0.0/16 instead of the tests' 127.0.0.0/21, for
   * benchmarks that need a thousand addresses without starving tests running
   * alongside. Same locks, same checks.
   */
  readonly bulk?: boolean;
}

const SKIP = new Set(['127.0.0.1', '127.0.0.53', '127.0.0.54', '127.0.1.1']);
/** Third octet 0..7: about 2000 addresses, far more than parallel tests need. */
const CANDIDATES: readonly string[] = Array.from({ length: 8 * 254 }, (_, i) => `127.0.${Math.floor(i / 254)}.${(i % 254) + 1}`).filter(
  (a) => !SKIP.has(a),
);
/** 127.64.0.1 to 127.64.255.254: no test and nothing in Debian uses this range. */
const BULK_CANDIDATES: readonly string[] = Array.from({ length: 256 * 254 }, (_, i) => `127.64.${Math.floor(i / 254)}.${(i % 254) + 1}`);
/** A mutex older than this belongs to a process that died inside the critical section. */
const STALE_MUTEX_MS = 10_000;

function lockDir(): string {
  return process.env.NTPKIT_LOOPBACK_LOCK_DIR ?? '/tmp/ntpkit-loopback';
}

/** Field 22 of /proc/PID/stat: start time in clock ticks since boot. Distinguishes a recycled PID. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after it are plain.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

interface LockInfo {
  pid: number;
  start?: string;
  name: string;
  at: string;
}

function ownerAlive(info: LockInfo): boolean {
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStartTime(info.pid);
  return info.start === undefined || start === undefined || start === info.start;
}

function readLock(path: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withMutex<T>(dir: string, deadline: number, fn: () => Promise<T>): Promise<T> {
  const m = join(dir, '.mutex');
  for (;;) {
    try {
      mkdirSync(m);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(m).mtimeMs > STALE_MUTEX_MS) rmdirSync(m);
      } catch {
        // someone else removed it first
      }
      if (Date.now() > deadline) throw new Error(`Cannot reserve loopback addresses: ${m} stays locked`);
      await sleep(5 + Math.random() * 20);
    }
  }
  try {
    return await fn();
  } finally {
    try {
      rmdirSync(m);
    } catch {
      // broken as stale by someone else; nothing to undo
    }
  }
}

/** Whether address:port (UDP) can be bound now: 'free', 'in-use', or 'denied' (a privileged port, not root). */
export function udpPortState(address: string, port: number): Promise<'free' | 'in-use' | 'denied'> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
    s.once('error', (e: NodeJS.ErrnoException) => {
      s.close();
      resolve(e.code === 'EACCES' || e.code === 'EPERM' ? 'denied' : 'in-use');
    });
    s.bind(port, address, () => {
      s.close();
      resolve('free');
    });
  });
}

/** True when nothing is bound to address:port (UDP) and this process may bind it. */
export async function udpPortFree(address: string, port: number): Promise<boolean> {
  return (await udpPortState(address, port)) === 'free';
}

/** A UDP port the kernel calls free on `address` now (the usual small race applies). */
export function freeUdpPort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind(0, address, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const held = new Map<string, string>(); // address -> lock path, for the exit hook
let hookInstalled = false;

function releasePath(path: string): void {
  const info = readLock(path);
  if (info?.pid === process.pid) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
}

/**
 * Reserves `size` loopback addresses (default 4) for this process, each with
 * `port` (default 123) free. Call once per test file, e.g. in `before`, and
 * `release()` in `after`:
 *
 *     const block = await reserveLoopbackBlock('query-interop', 4);
 *     const server = await startChronydServer({ address: block.addresses[0] });
 */
export async function reserveLoopbackBlock(name: string, size = 4, opts: ReserveOptions = {}): Promise<LoopbackBlock> {
  const port = opts.port ?? 123;
  const dir = lockDir();
  mkdirSync(dir, { recursive: true });
  try {
    // Shared by every user's test runs, like /tmp itself (mkdir's mode is cut by the umask).
    chmodSync(dir, 0o1777);
  } catch {
    // someone else's directory, already set up
  }
  if (!hookInstalled) {
    hookInstalled = true;
    process.on('exit', () => {
      for (const p of held.values()) releasePath(p);
    });
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  const got = await withMutex(dir, deadline, async () => {
    const existing = new Set(readdirSync(dir));
    const mine: string[] = [];
    for (const addr of opts.bulk ? BULK_CANDIDATES : CANDIDATES) {
      if (mine.length === size) break;
      const path = join(dir, `${addr}.lock`);
      if (existing.has(`${addr}.lock`) || held.has(addr)) {
        const info = readLock(path);
        if (info && ownerAlive(info)) continue;
        // Owner died without releasing; we hold the mutex, so no one else is reclaiming it.
        try {
          unlinkSync(path);
        } catch {
          // vanished meanwhile
        }
        held.delete(addr);
      }
      const state = await udpPortState(addr, port);
      if (state === 'denied') {
        throw new Error(`Cannot reserve loopback addresses for ${name}: binding UDP port ${port} is not permitted (ports below 1024 need root)`);
      }
      if (state === 'in-use') continue;
      let fd: number;
      try {
        fd = openSync(path, 'wx', 0o644);
      } catch {
        continue;
      }
      const info: LockInfo = { pid: process.pid, start: processStartTime(process.pid), name, at: new Date().toISOString() };
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      held.set(addr, path);
      mine.push(addr);
    }
    return mine;
  });
  if (got.length < size) {
    for (const a of got) releaseAddress(a);
    throw new Error(`Cannot reserve ${size} loopback addresses for ${name}: only ${got.length} free with UDP port ${port}`);
  }
  let released = false;
  return {
    name,
    addresses: got,
    release(): void {
      if (released) return;
      released = true;
      for (const a of got) releaseAddress(a);
    },
  };
}

function releaseAddress(addr: string): void {
  const path = held.get(addr);
  if (path === undefined) return;
  held.delete(addr);
  releasePath(path);
}
