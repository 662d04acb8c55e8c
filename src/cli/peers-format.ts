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
import { formatRefId } from '../proto/refid.js';
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

/**
 * The refid column and the stratum shown: a source that never answered is
 * ".INIT." at stratum 16 as ntpq shows it; one that sent a kiss-o'-death
 * before any time, or that refuses us now, shows the code (".RATE.",
 * ".DENY."); stratum-1 codes in dots (".GPS."), else the
 * dotted quad.
 */
function refidAndStratum(src: SourceSnapshot): [string, number] {
  if (src.kod?.action === 'refused') return [`.${src.kod.code}.`, 16];
  if (src.stratum === 0) return [src.kissCode ? `.${src.kissCode}.` : '.INIT.', 16];
  return [formatRefId(src.referenceId, src.stratum, 'ntpq'), src.stratum];
}

/** The offset ntpq would show: the source's filtered estimate, else its last sample. */
function peerOffset(src: SourceSnapshot): number {
  if (src.stats.samples > 0) return src.stats.offset;
  return src.lastSample?.adjustedOffset ?? 0;
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
    ` ${ntpqMs(src.lastSample?.delay ?? 0, 8)} ${ntpqMs(peerOffset(src), 8)} ${ntpqMs(src.jitter, 7)}`
  );
}

export function formatPeers(snap: DaemonSnapshot, opts: ReportOptions = {}): string {
  return `${[...HEADER, ...snap.sources.map((s) => formatPeerRow(s, opts))].join('\n')}\n`;
}
