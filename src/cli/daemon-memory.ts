/**
 * How the daemon process is kept responsive, as chronyd does on Linux.
 *
 * chrony's `lock_all`: the daemon's memory locked, so a host short of memory
 * never pages out the process that timestamps packets and disciplines the
 * clock (a page fault between a receive stamp and its use is an error of its
 * own). As chronyd, a failure is logged and the daemon runs on.
 *
 * What is locked differs from chronyd's mlockall(MCL_CURRENT | MCL_FUTURE):
 * V8 aborts the process when it decommits a locked page of its heap, so the
 * program, its libraries, the brk heap and the main stack are locked, and
 * V8's anonymous memory is not (native/process.c). The daemon says how much.
 */
import { readFileSync } from 'node:fs';
import { loadNative } from '../clock/native.js';
import type { Config } from '../config/config.js';

/** chrony's `sched_priority`: the event loop to SCHED_FIFO, so a busy host delays its timestamps and timers less; logged, as chronyd, when refused. */
export function raisePriority(config: Config, log: (line: string) => void): void {
  const prio = config.process.sched_priority;
  if (prio === 0) return;
  const n = loadNative();
  const fifo = n.ok ? n.addon.schedFifo : undefined;
  const r = !n.ok || fifo === undefined ? { ok: false as const, error: n.ok ? 'the native addon has no schedFifo() (stale build?)' : n.reason } : fifo.call(n.addon, prio);
  if (!r.ok) log(`sched_setscheduler() failed: ${r.error}`);
}

/** Locks the memory when `lock_all` is set; logs chronyd's line when it cannot. */
export function lockMemory(config: Config, log: (line: string) => void): void {
  if (!config.process.lock_all) return;
  const n = loadNative();
  const lock = n.ok ? n.addon.memLockAll : undefined;
  if (!n.ok || lock === undefined) {
    log(`mlock() failed: ${n.ok ? 'the native addon has no memLockAll() (stale build? run sh scripts/build-native.sh)' : n.reason}`);
    return;
  }
  const r = lock.call(n.addon);
  if (r.ok) {
    log(`Locked ${lockedKb() ?? '?'} kB into RAM (the program, its libraries, heap and stack; V8's own memory cannot be locked)`);
    return;
  }
  // chronyd's two messages (sys_linux.c SYS_Linux_MemLockAll), with the reason.
  log(r.step === 'setrlimit' ? `setrlimit() failed: not locking into RAM (${r.error})` : `mlock() failed: ${r.error}`);
}

/** VmLck of this process, kB. */
function lockedKb(): number | null {
  const m = /^VmLck:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m === null ? null : Number(m[1]);
}
