/**
 * `ntpkit sourcestats [-v]`: the layout of `chronyc sourcestats` (chrony 4.3),
 * from the regression figures of each source in a DaemonSnapshot.
 */
import type { DaemonSnapshot, SourceSnapshot } from '../core/engine/snapshot.js';
import { chronycSign, type ReportOptions, sourceLabel } from './report-common.js';
import { cFreqPpm, cInt, cInterval, cNanoseconds, cSignedNanoseconds } from './report-units.js';
import { csvInterval, csvLine, csvPpm, csvSeconds } from './csv-fields.js';

export interface SourcestatsOptions extends ReportOptions {
  /** The legend above the table (chronyc sourcestats -v). */
  readonly verbose?: boolean;
}

const LEGEND = [
  '                             .- Number of sample points in measurement set.',
  '                            /    .- Number of residual runs with same sign.',
  '                           |    /    .- Length of measurement set (time).',
  '                           |   |    /      .- Est. clock freq error (ppm).',
  '                           |   |   |      /           .- Est. error in freq.',
  '                           |   |   |     |           /         .- Est. offset.',
  '                           |   |   |     |          |          |   On the -.',
  '                           |   |   |     |          |          |   samples. \\',
  '                           |   |   |     |          |          |             |',
];

const HEADER = [
  'Name/IP Address            NP  NR  Span  Frequency  Freq Skew  Offset  Std Dev',
  '='.repeat(78),
];

/** One row: name, NP, NR, Span, Frequency, Freq Skew, Offset, Std Dev. */
export function formatSourcestatsRow(src: SourceSnapshot, opts: ReportOptions = {}): string {
  const s = src.stats;
  return (
    `${sourceLabel(src, opts, 25).padEnd(25)} ${cInt(s.samples, 3)} ${cInt(s.runs, 3)}  ${cInterval(s.span)}` +
    ` ${cFreqPpm(chronycSign(s.frequencyPpm), true)} ${cFreqPpm(s.skewPpm)}` +
    `  ${cSignedNanoseconds(chronycSign(s.offset))}  ${cNanoseconds(s.stdDev)}`
  );
}

export function formatSourcestats(snap: DaemonSnapshot, opts: SourcestatsOptions = {}): string {
  const lines = [...(opts.verbose ? LEGEND : []), ...HEADER, ...snap.sources.map((s) => formatSourcestatsRow(s, opts))];
  return `${lines.join('\n')}\n`;
}

/** `chronyc -c sourcestats`: one line per source, addresses as with -n, ppm with 3 decimals, seconds with 9. */
export function formatSourcestatsCsv(snap: DaemonSnapshot): string {
  return snap.sources.map((src) => {
    const s = src.stats;
    return csvLine([
      sourceLabel(src, { numeric: true }, Infinity), s.samples, s.runs, csvInterval(s.span),
      csvPpm(chronycSign(s.frequencyPpm)), csvPpm(s.skewPpm), csvSeconds(chronycSign(s.offset)), csvSeconds(s.stdDev),
    ]);
  }).join('');
}
