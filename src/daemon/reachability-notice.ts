/**
 * Tells the operator, in one plain log line, when none of the daemon's
 * sources can be reached: a daemon started offline (no DNS, no route) would
 * otherwise sit silently unsynchronized, and `npm start` on a machine without
 * internet must say so clearly (issue 5). Pure: fed snapshots and elapsed
 * seconds; the daemon calls it from a timer and logs what it returns.
 */
import type { DaemonSnapshot, SourceSnapshot } from '../core/snapshot.js';

export interface ReachabilityNoticeOptions {
  /** Seconds after start before the first notice: iburst needs a few seconds to get replies (default 20). */
  readonly graceSeconds?: number;
  /** Seconds between reminders while still nothing is reachable (default 600). */
  readonly repeatSeconds?: number;
}

/** Why one source is not answering, as the notice lists it. */
function sourceProblem(s: SourceSnapshot): string {
  const where = s.address !== null && s.address !== s.name ? `${s.name} (${s.address})` : s.name;
  return `${where}: ${s.reason}`;
}

/** A source that has answered lately (some bit of its reach register is set). */
function reachable(s: SourceSnapshot): boolean {
  return s.reach !== 0;
}

export class ReachabilityNotice {
  private readonly grace: number;
  private readonly repeat: number;
  private lastNoticeAt: number | null = null;
  private down = false;

  constructor(opts: ReachabilityNoticeOptions = {}) {
    this.grace = opts.graceSeconds ?? 20;
    this.repeat = opts.repeatSeconds ?? 600;
  }

  /**
   * The line to log now, or null. `elapsed`: seconds since the daemon started.
   * A daemon with no sources at all is configured that way on purpose (a
   * server with `local`), so it gets no notice.
   */
  check(snapshot: DaemonSnapshot, elapsed: number): string | null {
    const sources = snapshot.sources;
    if (sources.length === 0) return null;
    if (sources.some(reachable)) {
      if (!this.down) return null;
      this.down = false;
      this.lastNoticeAt = null;
      const back = sources.filter(reachable).map((s) => s.address ?? s.name);
      return `Sources reachable again: ${back.join(', ')}`;
    }
    if (elapsed < this.grace) return null;
    if (this.lastNoticeAt !== null && elapsed - this.lastNoticeAt < this.repeat) return null;
    this.down = true;
    this.lastNoticeAt = elapsed;
    const unresolved = sources.every((s) => s.address === null);
    const hint = unresolved
      ? 'no source name could be resolved: this machine seems to have no DNS or no network'
      : 'no source has replied: check the network path and firewalls to UDP port 123';
    const n = sources.length;
    return `None of the ${n} source${n === 1 ? '' : 's'} can be reached after ${Math.round(elapsed)} s (${hint}); ` +
      `the clock is not being synchronized. Still trying: ${sources.map(sourceProblem).join('; ')}`;
  }
}
