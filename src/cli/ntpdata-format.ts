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

export function formatNtpDataBlock(r: NtpDataRow): string {
  const line = (label: string, value: string): string => `${label.padEnd(16)}: ${value}`;
  const valid = r.totalValidRx > 0;
  return [
    line('Remote address', `${r.remoteAddress} (${hex8(refIdFromAddress(r.remoteAddress, md5))})`),
    line('Remote port', String(r.remotePort)),
    line('Local address', r.localAddress ? `${r.localAddress} (${hex8(refIdFromAddress(r.localAddress, md5))})` : '[UNSPEC] (00000000)'),
    line('Leap status', LEAPS[r.leap]),
    line('Version', String(r.version)),
    line('Mode', MODES[r.mode] ?? 'Invalid'),
    line('Stratum', String(r.stratum)),
    line('Poll interval', `${r.poll} (${cFixed(2 ** r.poll, 0)} seconds)`),
    line('Precision', `${r.precision} (${cFixed(2 ** r.precision, 9)} seconds)`),
    line('Root delay', `${cFixed(r.rootDelay, 6)} seconds`),
    line('Root dispersion', `${cFixed(r.rootDispersion, 6)} seconds`),
    line('Reference ID', `${hex8(r.referenceId)} (${refidText(r.referenceId)})`),
    line('Reference time', cUtcTime(r.referenceTime)),
    line('Offset', `${cFixed(r.offset, 9, { plus: true })} seconds`),
    line('Peer delay', `${cFixed(r.peerDelay, 9)} seconds`),
    line('Peer dispersion', `${cFixed(r.peerDispersion, 9)} seconds`),
    line('Response time', `${cFixed(r.responseTime, 9)} seconds`),
    line('Jitter asymmetry', cFixed(r.jitterAsymmetry, 2, { plus: true })),
    line('NTP tests', r.tests),
    line('Interleaved', r.interleaved ? 'Yes' : 'No'),
    line('Authenticated', r.authenticated ? 'Yes' : 'No'),
    line('TX timestamping', valid || r.totalTx > 0 ? STAMPS[r.txTimestamping] ?? 'Invalid' : 'Invalid'),
    line('RX timestamping', valid ? STAMPS[r.rxTimestamping] ?? 'Invalid' : 'Invalid'),
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
