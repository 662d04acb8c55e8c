/**
 * Tells the operator, in one plain log line, when none of the daemon's
 * sources can be reached: a daemon started offline (no DNS, no route) would
 * otherwise sit silently unsynchronized, and `npm start` on a machine without
 * internet must say so clearly. Pure: fed snapshots and elapsed seconds; the
 * daemon calls it from a timer and logs what it returns.
 *
 * The line says why, from what the snapshot knows of each source: names that
 * do not resolve (DNS), requests that cannot be authenticated (a failed
 * NTS-KE is a TCP problem, not a UDP one), servers that refuse us (KoD DENY,
 * RSTR), and plain silence (UDP port 123). Time is counted from the last
 * reply, when there was one, not from the start.
 */
import type { DaemonSnapshot, SourceSnapshot } from '../core/engine/snapshot.js';

export interface ReachabilityNoticeOptions {
  /** Seconds after start before the first notice: iburst needs a few seconds to get replies (default 20). */
  readonly graceSeconds?: number;
  /** Seconds between reminders while still nothing is reachable (default 600). */
  readonly repeatSeconds?: number;
}

function label(s: SourceSnapshot): string {
  return s.address !== null && s.address !== s.name ? `${s.name} (${s.address})` : s.name;
}

/** Why one source is not answering, as the notice lists it. */
function sourceProblem(s: SourceSnapshot): string {
  return `${label(s)}: ${s.reason}`;
}

/** A source that has answered lately (some bit of its reach register is set). */
function reachable(s: SourceSnapshot): boolean {
  return s.reach !== 0;
}

function names(list: readonly SourceSnapshot[]): string {
  return list.map(label).join(', ');
}

/** What to look at, one part per kind of trouble among the sources. */
function hint(sources: readonly SourceSnapshot[], replied: boolean): string {
  if (sources.every((s) => s.address === null)) return 'no source name could be resolved: this machine seems to have no DNS or no network';
  const parts: string[] = [];
  const unresolved = sources.filter((s) => s.address === null);
  const unauthenticated = sources.filter((s) => s.address !== null && s.authProblem !== null);
  const refusing = sources.filter((s) => s.address !== null && s.authProblem === null && s.kod?.action === 'refused');
  const silent = sources.filter((s) => s.kind !== 'refclock' && s.address !== null && s.authProblem === null && s.kod?.action !== 'refused');
  // A reference clock is not reached over the network: its writer (gpsd) or device gives no samples.
  const quietClocks = sources.filter((s) => s.kind === 'refclock');
  if (unauthenticated.length > 0) {
    parts.push(unauthenticated.some((s) => s.authProblem?.startsWith('NTS-KE') === true)
      ? `the NTS key exchange (TCP) failed for ${names(unauthenticated)}, so no NTS request could be sent`
      : `no request to ${names(unauthenticated)} could be authenticated, so none was sent`);
  }
  if (refusing.length > 0) parts.push(`${names(refusing)} refuse${refusing.length === 1 ? 's' : ''} this client (kiss-o'-death ${[...new Set(refusing.map((s) => s.kod?.code))].join(', ')})`);
  if (silent.length > 0) parts.push(`${replied ? '' : 'no source has replied: '}check the network path and firewalls to UDP port 123`);
  if (quietClocks.length > 0) parts.push(`reference clock${quietClocks.length === 1 ? '' : 's'} ${names(quietClocks)} gave no usable samples: check the driver's writer or device`);
  if (unresolved.length > 0) parts.push(`${names(unresolved)} could not be resolved`);
  return parts.join('; ');
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
    const ages = sources.flatMap((s) => (s.lastRxAgo === null ? [] : [s.lastRxAgo]));
    const lastReply = ages.length === 0 ? null : Math.min(...ages);
    const n = sources.length;
    const when = lastReply === null ? ` after ${Math.round(elapsed)} s` : `: the last reply came ${Math.round(lastReply)} s ago`;
    return `None of the ${n} source${n === 1 ? '' : 's'} can be reached${when} (${hint(sources, lastReply !== null)}); ` +
      `the clock is not being synchronized. Still trying: ${sources.map(sourceProblem).join('; ')}`;
  }
}
