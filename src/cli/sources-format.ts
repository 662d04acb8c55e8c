/**
 * `ntpkit sources [-v]`: the layout of `chronyc sources` (chrony 4.3), from a
 * DaemonSnapshot. The legend of -v is chronyc's own text, kept byte for byte
 * so that eyes and scripts used to chronyc find everything where they expect.
 * chronyc has no column for a kiss-o'-death (a refusing server shows as `?`
 * there too); -v adds one line per source under a kiss, below the table,
 * where no row parser looks.
 */
import { describeKissCode } from '../proto/kiss.js';
import { type DaemonSnapshot, type SourceSnapshot, VERDICT_SYMBOL } from '../core/engine/snapshot.js';
import { chronycSign, type ReportOptions, sourceLabel } from './report-common.js';
import { cInt, cInterval, cNanoseconds, cOctal, cSignedNanoseconds } from './report-units.js';
import { csvInterval, csvLine, csvSeconds } from './csv-fields.js';

export interface SourcesOptions extends ReportOptions {
  /** The legend above the table (chronyc sources -v). */
  readonly verbose?: boolean;
}

const LEGEND = [
  '',
  "  .-- Source mode  '^' = server, '=' = peer, '#' = local clock.",
  " / .- Source state '*' = current best, '+' = combined, '-' = not combined,",
  "| /             'x' = may be in error, '~' = too variable, '?' = unusable.",
  '||                                                 .- xxxx [ yyyy ] +/- zzzz',
  '||      Reachability register (octal) -.           |  xxxx = adjusted offset,',
  '||      Log2(Polling interval) --.      |          |  yyyy = measured offset,',
  '||                                \\     |          |  zzzz = estimated error.',
  '||                                 |    |           \\',
];

const HEADER = [
  'MS Name/IP address         Stratum Poll Reach LastRx Last sample               ',
  '='.repeat(79),
];

/** '^' for a client association (server and pool lines), '=' for a symmetric peer, '#' for a reference clock. */
function modeSymbol(src: SourceSnapshot): string {
  return src.kind === 'peer' ? '=' : src.kind === 'refclock' ? '#' : '^';
}

/** One row: mode, state, name, stratum, poll, reach, LastRx, then adjusted[measured] +/- error. */
export function formatSourceRow(src: SourceSnapshot, opts: ReportOptions = {}): string {
  const last = src.lastSample;
  return (
    `${modeSymbol(src)}${VERDICT_SYMBOL[src.verdict]} ${sourceLabel(src, opts, 27).padEnd(27)}  ${cInt(src.stratum, 2)}  ${cInt(src.poll, 2)}` +
    `   ${cOctal(src.reach, 3)}  ${cInterval(src.lastRxAgo)}  ` +
    `${cSignedNanoseconds(chronycSign(last?.adjustedOffset ?? 0))}[${cSignedNanoseconds(chronycSign(last?.measuredOffset ?? 0))}]` +
    ` +/- ${cNanoseconds(last?.error ?? 0)}`
  );
}

/** What a kiss-o'-death in effect does, in one line: "KoD DENY from NAME 12 s ago: Access denied ...; ...". */
export function formatKodNote(src: SourceSnapshot, opts: ReportOptions = {}): string | null {
  const k = src.kod;
  if (k === null) return null;
  const effect = k.action === 'refused'
    ? ` Polling goes on, backing off to maxpoll: every ${2 ** src.poll} s now.`
    : k.action === 'reduce-rate' ? ' The next request waits 4 poll intervals more.' : '';
  return `KoD ${k.code} from ${opts.numeric ? src.address ?? src.name : src.name} ${Math.floor(k.ago)} s ago: ${describeKissCode(k.code)}${effect}`;
}

export function formatSources(snap: DaemonSnapshot, opts: SourcesOptions = {}): string {
  const lines = [...(opts.verbose ? LEGEND : []), ...HEADER, ...snap.sources.map((s) => formatSourceRow(s, opts))];
  const notes = opts.verbose ? snap.sources.flatMap((s) => formatKodNote(s, opts) ?? []) : [];
  if (notes.length > 0) lines.push('', ...notes);
  return `${lines.join('\n')}\n`;
}

/** `chronyc -c sources`: one line per source, addresses as with -n, offsets in seconds with chronyc's sign. */
export function formatSourcesCsv(snap: DaemonSnapshot): string {
  return snap.sources.map((src) => {
    const last = src.lastSample;
    return csvLine([
      modeSymbol(src), VERDICT_SYMBOL[src.verdict], sourceLabel(src, { numeric: true }, Infinity), src.stratum, src.poll,
      (src.reach >>> 0).toString(8), csvInterval(src.lastRxAgo),
      csvSeconds(chronycSign(last?.adjustedOffset ?? 0)), csvSeconds(chronycSign(last?.measuredOffset ?? 0)), csvSeconds(last?.error ?? 0),
    ]);
  }).join('');
}
