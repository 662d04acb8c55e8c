/**
 * What the report formatters share: display names of sources and the sign
 * flip between the snapshot and chronyc.
 *
 * The snapshot (src/core/engine/snapshot.ts) gives source offsets as how far the
 * SOURCE is ahead of our clock (RFC 5905's theta, as ntpq shows it), and the
 * frequencies of the regressions in the same direction. chronyc prints the
 * other way round: in `sources`, `sourcestats` and tracking's Last offset a
 * positive value means the LOCAL clock is ahead (chronyc(1); checked against
 * chronyd 4.3: a server 2.5 s ahead shows as -2500ms). So chronyc's columns
 * print `chronycSign(x)`.
 */
import { isIP } from 'node:net';
import type { DaemonSnapshot, SourceSnapshot } from '../core/engine/snapshot.js';

export interface ReportOptions {
  /**
   * Addresses instead of names, as `chronyc -n` and `ntpq -n` print them.
   * ntpkit never resolves an address to a name: without it the configured
   * name (host name or address as written) is shown.
   */
  readonly numeric?: boolean;
}

/** chronyc's sign of a snapshot offset or frequency; never -0, so zero prints as "+0". */
export function chronycSign(x: number): number {
  return x === 0 ? 0 : -x;
}

/**
 * The name of a source in a `width`-wide column. Addresses are never cut
 * (chronyc -n prints a long IPv6 address whole and the row shifts); a host
 * name longer than the column is cut with '>' in its last place, as chronyc
 * truncates resolved names.
 */
export function sourceLabel(src: SourceSnapshot, opts: ReportOptions, width: number): string {
  const name = opts.numeric ? src.address ?? src.name : src.name;
  if (isIP(name) !== 0 || name.length <= width) return name;
  return `${name.slice(0, width - 1)}>`;
}

/** The source the clock follows, if any. */
export function selectedSource(snap: DaemonSnapshot): SourceSnapshot | undefined {
  return snap.sources.find((s) => s.verdict === 'selected');
}
