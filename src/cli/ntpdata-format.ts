/**
 * The layout of `chronyc ntpdata` (chronyd 4.3, checked against
 * fixtures/chronyc-ntpdata*.txt). What ntpkit does not track is printed as
 * chronyd prints an unknown value: Local address [UNSPEC] when the daemon
 * could not tell it, NTP tests all passed for a source whose last valid reply was
 * synchronized (see docs/control.md). A kiss-o'-death counts as a valid
 * reply, as in chronyd: its stratum 0 and code (Reference ID "DENY") show.
 */
import { createHash } from 'node:crypto';
import type { NtpDataReport } from '../core/engine/engine-api.js';
import { refIdFromAddress } from '../proto/refid.js';
import { cFixed, cUtcTime } from './report-units.js';
import { csvBool, csvFixed, csvLine, csvRefId, csvTime } from './csv-fields.js';

/** As the ntpdata reply carries it: the stamping kinds chronyc names, and the local address (null or absent: unknown). */
export type NtpDataRow = NtpDataReport & { readonly txTimestamping: string; readonly rxTimestamping: string; readonly localAddress?: string | null };

const MODES = ['Invalid', 'Symmetric active', 'Symmetric passive', 'Client', 'Server', 'Broadcast'];
const LEAPS: Record<NtpDataReport['leap'], string> = { normal: 'Normal', insert: 'Insert second', delete: 'Delete second', unsynchronized: 'Not synchronised' };
const STAMPS: Record<string, string> = { kernel: 'Kernel', daemon: 'Daemon', hardware: 'Hardware' };

function hex8(n: number): string {
  return (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/** chronyc shows a reference id's printable characters after it: "(GPS)", "()" for an address. */
function refidText(id: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = (id >>> (24 - 8 * i)) & 0xff;
    if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
  }
  return s;
}

const md5 = (d: Uint8Array): Uint8Array => createHash('md5').update(d).digest();

const addressRefId = (a: string): string => hex8(refIdFromAddress(a, md5));
/** chronyc names the reference id only of a stratum 0 or 1 server (a code such as GPS); above, it is an address. */
const refidName = (r: NtpDataRow): string => (r.stratum <= 1 ? refidText(r.referenceId) : '');
const txStamping = (r: NtpDataRow): string => (r.totalValidRx > 0 || r.totalTx > 0 ? STAMPS[r.txTimestamping] ?? 'Invalid' : 'Invalid');
const rxStamping = (r: NtpDataRow): string => (r.totalValidRx > 0 ? STAMPS[r.rxTimestamping] ?? 'Invalid' : 'Invalid');

export function formatNtpDataBlock(r: NtpDataRow): string {
  const line = (label: string, value: string): string => `${label.padEnd(16)}: ${value}`;
  return [
    line('Remote address', `${r.remoteAddress} (${addressRefId(r.remoteAddress)})`),
    line('Remote port', String(r.remotePort)),
    line('Local address', r.localAddress ? `${r.localAddress} (${addressRefId(r.localAddress)})` : '[UNSPEC] (00000000)'),
    line('Leap status', LEAPS[r.leap]),
    line('Version', String(r.version)),
    line('Mode', MODES[r.mode] ?? 'Invalid'),
    line('Stratum', String(r.stratum)),
    line('Poll interval', `${r.poll} (${cFixed(2 ** r.poll, 0)} seconds)`),
    line('Precision', `${r.precision} (${cFixed(2 ** r.precision, 9)} seconds)`),
    line('Root delay', `${cFixed(r.rootDelay, 6)} seconds`),
    line('Root dispersion', `${cFixed(r.rootDispersion, 6)} seconds`),
    line('Reference ID', `${hex8(r.referenceId)} (${refidName(r)})`),
    line('Reference time', cUtcTime(r.referenceTime)),
    line('Offset', `${cFixed(r.offset, 9, { plus: true })} seconds`),
    line('Peer delay', `${cFixed(r.peerDelay, 9)} seconds`),
    line('Peer dispersion', `${cFixed(r.peerDispersion, 9)} seconds`),
    line('Response time', `${cFixed(r.responseTime, 9)} seconds`),
    line('Jitter asymmetry', cFixed(r.jitterAsymmetry, 2, { plus: true })),
    line('NTP tests', r.tests),
    line('Interleaved', r.interleaved ? 'Yes' : 'No'),
    line('Authenticated', r.authenticated ? 'Yes' : 'No'),
    line('TX timestamping', txStamping(r)),
    line('RX timestamping', rxStamping(r)),
    line('Total TX', String(r.totalTx)),
    line('Total RX', String(r.totalRx)),
    line('Total valid RX', String(r.totalValidRx)),
    line('Total good RX', String(r.totalGoodRx)),
  ].join('\n');
}

/** One block per source; asked for all, chronyc puts a blank line before each. */
export function formatNtpData(rows: readonly NtpDataRow[], all: boolean): string {
  return rows.map((r) => (all ? `\n${formatNtpDataBlock(r)}` : formatNtpDataBlock(r))).join('\n');
}

/** chronyc -c ntpdata: one line per source, the block's fields in order (the NTP tests as three fields). */
export function formatNtpDataCsv(rows: readonly NtpDataRow[]): string {
  return rows.map((r) => csvLine([
    r.remoteAddress, addressRefId(r.remoteAddress), r.remotePort,
    r.localAddress ?? '[UNSPEC]', r.localAddress ? addressRefId(r.localAddress) : '00000000',
    LEAPS[r.leap], r.version, MODES[r.mode] ?? 'Invalid', r.stratum,
    r.poll, csvFixed(2 ** r.poll, 0), r.precision, csvFixed(2 ** r.precision, 9),
    csvFixed(r.rootDelay, 6), csvFixed(r.rootDispersion, 6), csvRefId(r.referenceId), refidName(r), csvTime(r.referenceTime),
    csvFixed(r.offset, 9), csvFixed(r.peerDelay, 9), csvFixed(r.peerDispersion, 9), csvFixed(r.responseTime, 9),
    csvFixed(r.jitterAsymmetry, 2), ...r.tests.split(' '), csvBool(r.interleaved), csvBool(r.authenticated),
    txStamping(r), rxStamping(r), r.totalTx, r.totalRx, r.totalValidRx, r.totalGoodRx,
  ])).join('');
}
