/**
 * `ntpkit peers`: the layout of `ntpq -p` (ntp 4.2.8's 78 columns, as in the
 * seed's output), from a DaemonSnapshot. Times in milliseconds; offset is
 * how far the server is ahead of us (RFC 5905 theta, ntpq's sign).
 *
 * Tally codes (ntpq(1), "peers"), from our named verdicts:
 *   '*' sys.peer  <- selected       '+' candidate <- combined
 *   '#' selected (survivor not used) <- not-combined
 *   'x' falsetick <- falseticker    '-' outlier (discarded by clustering) <- jittery
 *   ' ' reject (unreachable, insane) <- unusable
 */
import type { DaemonSnapshot, SourceSnapshot, SourceVerdict } from '../core/engine/snapshot.js';
import { ntpqOffset, ntpqRefIdAndStratum } from '../core/engine/ntpq-view.js';
import type { ReportOptions } from './report-common.js';
import { cInt, cOctal, ntpqInterval, ntpqMs } from './report-units.js';

export const TALLY: Readonly<Record<SourceVerdict, string>> = Object.freeze({
  selected: '*',
  combined: '+',
  'not-combined': '#',
  falseticker: 'x',
  jittery: '-',
  unusable: ' ',
});

const HEADER = [
  '     remote           refid      st t when poll reach   delay   offset  jitter',
  '='.repeat(78),
];

/** The refid column (codes in dots, as ntpq prints them) and the stratum shown. */
function refidAndStratum(src: SourceSnapshot): [string, number] {
  const [refid, stratum] = ntpqRefIdAndStratum(src);
  return [refid.includes('.') || refid.includes(':') ? refid : `.${refid}.`, stratum];
}

/** One row, exactly 78 characters unless a number outgrows its column. */
export function formatPeerRow(src: SourceSnapshot, opts: ReportOptions = {}): string {
  const remote = (opts.numeric ? src.address ?? src.name : src.name).slice(0, 15).padEnd(15);
  const [refid, stratum] = refidAndStratum(src);
  // ntpq raises a sub-second poll to its minimum of 2^0 s.
  const pollSeconds = 2 ** Math.max(0, src.poll);
  return (
    `${TALLY[src.verdict]}${remote} ${refid.slice(0, 15).padEnd(15)} ${cInt(stratum, 2)} ${src.kind === 'peer' ? 's' : src.kind === 'refclock' ? 'l' : 'u'}` +
    ` ${ntpqInterval(src.lastRxAgo).padStart(4)} ${ntpqInterval(pollSeconds).padStart(4)} ${cOctal(src.reach, 4)}` +
    ` ${ntpqMs(src.lastSample?.delay ?? 0, 8)} ${ntpqMs(ntpqOffset(src), 8)} ${ntpqMs(src.jitter, 7)}`
  );
}

export function formatPeers(snap: DaemonSnapshot, opts: ReportOptions = {}): string {
  return `${[...HEADER, ...snap.sources.map((s) => formatPeerRow(s, opts))].join('\n')}\n`;
}
