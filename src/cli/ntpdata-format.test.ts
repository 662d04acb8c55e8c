import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { formatActivity } from './activity-command.js';
import { formatClients } from './clients-format.js';
import { formatNtpData, formatNtpDataBlock, type NtpDataRow } from './ntpdata-format.js';

const fixture = (name: string): string => readFileSync(new URL(`../../src/cli/fixtures/${name}`, import.meta.url), 'utf8');

/** The figures chronyd 4.3 reported in fixtures/chronyc-ntpdata.txt. */
const captured: NtpDataRow = {
  sourceId: 1, name: '127.0.0.1', remoteAddress: '127.0.0.1', remotePort: 11123, leap: 'normal', version: 4, mode: 4, stratum: 2,
  poll: 2, precision: -25, rootDelay: 0, rootDispersion: 0, referenceId: 0x7f7f0101,
  referenceTime: String(Date.UTC(2026, 10, 23, 14, 27, 15) / 1000),
  offset: -0.000001765, peerDelay: 0.00001065, peerDispersion: 0.000000059, responseTime: 0.000061455, jitterAsymmetry: 0.46, tests: '111 111 1111', kissCode: null,
  interleaved: false, authenticated: false, authMode: 'none', authFailures: 0, authNaks: 0, lastAuthFailure: null, totalTx: 25, totalRx: 25, totalValidRx: 25, totalGoodRx: 25,
  stamps: { txKernel: 25, txDaemon: 0, rxKernel: 25, rxDaemon: 0, lastTx: 'kernel', lastRx: 'kernel' },
  txTimestamping: 'kernel', rxTimestamping: 'kernel', localAddress: '127.0.0.1',
};

test('ntpdata: chronyc 4.3 layout, line for line', () => {
  assert.equal(formatNtpDataBlock(captured), fixture('chronyc-ntpdata.txt').trimEnd());
});

test("ntpdata: the local address as chronyc prints it (with its reference id), [UNSPEC] when unknown; the jitter asymmetry in chronyc's %+.2f", () => {
  const block = (over: Partial<NtpDataRow>): string => formatNtpDataBlock({ ...captured, ...over });
  assert.match(block({ localAddress: '127.0.0.1' }), /^Local address {3}: 127\.0\.0\.1 \(7F000001\)$/m);
  assert.match(block({ localAddress: null }), /^Local address {3}: \[UNSPEC\] \(00000000\)$/m);
  assert.match(block({ jitterAsymmetry: -0.48 }), /^Jitter asymmetry: -0\.48$/m);
  assert.match(block({ jitterAsymmetry: 0.5 }), /^Jitter asymmetry: \+0\.50$/m);
});

test('ntpdata: a source that never answered, as chronyd prints one', () => {
  const silent: NtpDataRow = {
    ...captured, remoteAddress: '127.0.0.77', remotePort: 11999, version: 0, mode: 0, stratum: 0, poll: 0, precision: 0, referenceId: 0,
    referenceTime: null, offset: 0, peerDelay: 0, peerDispersion: 0, responseTime: 0, tests: '000 000 0000', totalTx: 1, totalRx: 0, totalValidRx: 0, totalGoodRx: 0,
    txTimestamping: 'invalid', rxTimestamping: 'invalid', localAddress: null, jitterAsymmetry: 0,
  };
  assert.equal(formatNtpDataBlock(silent), fixture('chronyc-ntpdata-noreply.txt').trimEnd());
});

test('ntpdata of every source: a blank line before each block', () => {
  const two = formatNtpData([captured, { ...captured, remoteAddress: '127.0.0.2' }], true);
  assert.match(two, /^\nRemote address {2}: 127\.0\.0\.1 [^]*\n\nRemote address {2}: 127\.0\.0\.2 /);
  assert.ok(!formatNtpData([captured], false).startsWith('\n'));
});

test('clients: chronyc 4.3 layout byte for byte', () => {
  const got = formatClients([{ address: '127.0.0.1', ntpHits: 0, ntpDrops: 0, ntpInterval: -2, ntpTimeoutInterval: null, lastAgo: 18.7 }]);
  assert.equal(got, fixture('chronyc-clients.txt').trimEnd());
  const wide = formatClients([{ address: '2001:db8::1', ntpHits: 123456, ntpDrops: 12, ntpInterval: 10, ntpTimeoutInterval: 3, lastAgo: 7200 }]).split('\n')[2];
  assert.equal(wide, '2001:db8::1                123456     12  10   3  120m       0      0   -     -');
});

test('activity: chronyc 4.3 lines', () => {
  assert.equal(formatActivity({ online: 1, offline: 0, burstOnline: 0, burstOffline: 0, unresolved: 0 }), fixture('chronyc-activity.txt').trimEnd());
});

test('ntpdata: a kiss-o\'-death as the last valid reply shows as chronyd shows it (stratum 0, its code, tests 111 101 0000)', () => {
  const kissed: NtpDataRow = {
    ...captured, leap: 'unsynchronized', stratum: 0, referenceId: 0x44454e59, referenceTime: null, offset: 0, peerDelay: 0, peerDispersion: 0,
    responseTime: 0, tests: '111 101 0000', kissCode: 'DENY',
  };
  const lines = formatNtpDataBlock(kissed).split('\n');
  assert.ok(lines.includes('Leap status     : Not synchronised'));
  assert.ok(lines.includes('Stratum         : 0'));
  assert.ok(lines.includes('Reference ID    : 44454E59 (DENY)'));
  assert.ok(lines.includes('NTP tests       : 111 101 0000'));
});
