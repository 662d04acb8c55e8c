/**
 * Logs plainly when no source can be reached (e.g. `npm start` offline),
 * and when one can again (daemon/reachability-notice.ts decides when).
 */
import { ReachabilityNotice } from '../daemon/reachability-notice.js';
import type { SyncDaemon } from '../daemon/sync-daemon.js';

/** Seconds between reachability checks: often enough that an offline start is reported within half a minute. */
const REACHABILITY_CHECK_MS = 5000;

/** Returns the stop function. */
export function watchReachability(daemon: SyncDaemon, log: (line: string) => void): () => void {
  const notice = new ReachabilityNotice();
  const started = Date.now();
  const timer = setInterval(() => {
    const line = notice.check(daemon.snapshot(), (Date.now() - started) / 1000);
    if (line !== null) log(line);
  }, REACHABILITY_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
