/**
 * `ntpkit selectdata [-v]`: the layout of `chronyc selectdata` (chrony 4.3,
 * client.c process_cmd_selectdata), its -v legend byte for byte, and its -c
 * CSV, where every letter of the option columns is a field of its own and
 * Leap is spelt out.
 */
import type { SelectDataReport, SelectOptions } from '../core/engine/engine-api.js';
import { refIdAscii } from '../proto/refid.js';
import { csvFixed, csvInterval, csvLine, csvSeconds } from './csv-fields.js';
import type { ReportOptions } from './report-common.js';
import { cFixed, cInterval, cSignedNanoseconds } from './report-units.js';

const LEGEND = [
  '  . State: N - noselect, s - unsynchronised, M - missing samples,',
  ' /         d/D - large distance, ~ - jittery, w/W - waits for others,',
  '|          S - stale, O - orphan, T - not trusted, P - not preferred,',
  '|          U - waits for update,, x - falseticker, + - combined, * - best.',
  '|   Effective options   ---------.  (N - noselect, P - prefer',
  '|   Configured options  ----.     \\  T - trust, R - require)',
  '|   Auth. enabled (Y/N) -.   \\     \\     Offset interval --.',
  '|                        |    |     |                       |',
];
const HEADER = 'S Name/IP Address        Auth COpts EOpts Last Score     Interval  Leap';

const LEAP_LETTER: Readonly<Record<SelectDataReport['leap'], string>> = { normal: 'N', insert: '+', delete: '-', unsynchronized: '?' };
const LEAP_TEXT: Readonly<Record<SelectDataReport['leap'], string>> = { normal: 'Normal', insert: 'Insert second', delete: 'Delete second', unsynchronized: 'Not synchronised' };

/** The five option letters; the fifth place is always '-' in chrony 4.3. */
function letters(o: SelectOptions): string[] {
  return [o.noselect ? 'N' : '-', o.prefer ? 'P' : '-', o.trust ? 'T' : '-', o.require ? 'R' : '-', '-'];
}

/** A reference clock by its refid, an NTP source by address (-n, and always in CSV) or name, cut to 25 as chronyc cuts names. */
function label(r: SelectDataReport, numeric: boolean): string {
  if (r.referenceId !== null) return refIdAscii(r.referenceId) ?? '';
  const name = numeric ? r.address ?? r.name : r.name;
  return numeric || name.length <= 25 ? name : `${name.slice(0, 24)}>`;
}

export function formatSelectdataRow(r: SelectDataReport, opts: ReportOptions = {}): string {
  return `${r.state} ${label(r, opts.numeric === true).padEnd(25)} ${r.authenticated ? 'Y' : 'N'} ${letters(r.configuredOptions).join('')} ${letters(r.effectiveOptions).join('')}` +
    ` ${cInterval(r.lastSampleAgo)} ${cFixed(r.score, 1, { width: 5 })} ${cSignedNanoseconds(r.loLimit)} ${cSignedNanoseconds(r.hiLimit)}  ${LEAP_LETTER[r.leap]}`;
}

export function formatSelectdata(rows: readonly SelectDataReport[], opts: ReportOptions & { readonly verbose?: boolean } = {}): string {
  return `${[...(opts.verbose ? LEGEND : []), HEADER, '='.repeat(HEADER.length), ...rows.map((r) => formatSelectdataRow(r, opts))].join('\n')}\n`;
}

export function formatSelectdataCsv(rows: readonly SelectDataReport[]): string {
  return rows.map((r) => csvLine([
    r.state, label(r, true), r.authenticated ? 'Y' : 'N', ...letters(r.configuredOptions), ...letters(r.effectiveOptions),
    csvInterval(r.lastSampleAgo), csvFixed(r.score, 1), csvSeconds(r.loLimit), csvSeconds(r.hiLimit), LEAP_TEXT[r.leap],
  ])).join('');
}
