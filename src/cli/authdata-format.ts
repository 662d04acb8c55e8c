/**
 * `ntpkit authdata [-v]`: the layout of `chronyc authdata` (chrony 4.3,
 * client.c process_cmd_authdata), its -v legend, and its -c CSV.
 */
import type { AuthDataReport } from '../core/engine/engine-api.js';
import { csvInterval, csvLine } from './csv-fields.js';
import type { ReportOptions } from './report-common.js';
import { cInt, cInterval } from './report-units.js';

const LEGEND = [
  '                             .- Auth. mechanism (NTS, SK - symmetric key)',
  '                            |   Key length -.  Cookie length (bytes) -.',
  '                            |       (bits)  |  Num. of cookies --.    |',
  '                            |               |  Key est. attempts  |   |',
  '                            |               |           |         |   |',
];
const HEADER = 'Name/IP address             Mode KeyID Type KLen Last Atmp  NAK Cook CLen';

const MODE: Readonly<Record<AuthDataReport['mode'], string>> = { none: '-', symmetric: 'SK', nts: 'NTS' };

function label(r: AuthDataReport, numeric: boolean): string {
  const name = numeric ? r.address ?? r.name : r.name;
  return numeric || name.length <= 25 ? name : `${name.slice(0, 24)}>`;
}

export function formatAuthdataRow(r: AuthDataReport, opts: ReportOptions = {}): string {
  return `${label(r, opts.numeric === true).padEnd(27)} ${MODE[r.mode].padStart(4)} ${cInt(r.keyId >>> 0, 5)} ${cInt(r.keyType, 4)} ${cInt(r.keyLengthBits, 4)}` +
    ` ${cInterval(r.lastKeAgo)} ${cInt(r.keAttempts, 4)} ${cInt(r.naks, 4)} ${cInt(r.cookies, 4)} ${cInt(r.cookieLength, 4)}`;
}

export function formatAuthdata(rows: readonly AuthDataReport[], opts: ReportOptions & { readonly verbose?: boolean } = {}): string {
  return `${[...(opts.verbose ? LEGEND : []), HEADER, '='.repeat(HEADER.length), ...rows.map((r) => formatAuthdataRow(r, opts))].join('\n')}\n`;
}

export function formatAuthdataCsv(rows: readonly AuthDataReport[]): string {
  return rows.map((r) => csvLine([
    label(r, true), MODE[r.mode], r.keyId >>> 0, r.keyType, r.keyLengthBits, csvInterval(r.lastKeAgo), r.keAttempts, r.naks, r.cookies, r.cookieLength,
  ])).join('');
}
