import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ParseErrorReason } from '../../proto/result.js';
import {
  AUTH_FAILURE_REASONS, createServerCounters, DROP_REASONS, dropReasonOfParseError, formatServerStats, NTS_KE_DROP_REASONS, serverStatsToJson,
  QUERY_DROP_REASONS, SERVER_KISS_CODES, snapshotServerStats, withCommandCounts, withNtsKeStats, withQueryStats,
} from './server-stats.js';

test('the text keeps chronyc serverstats\' layout (chronyd 4.3, captured on loopback)', () => {
  const c = createServerCounters();
  c.received = 6;
  c.replied = 6;
  const lines = formatServerStats(withCommandCounts(snapshotServerStats(c, { recordsDropped: 0, timestampsHeld: 0, timestampSpan: 0 }), { received: 2, dropped: 0 }));
  // `chronyc serverstats` of chronyd 4.3 after six NTP requests and two commands:
  assert.deepEqual(lines.slice(0, 11), [
    'NTP packets received       : 6',
    'NTP packets dropped        : 0',
    'Command packets received   : 2',
    'Command packets dropped    : 0',
    'Client log records dropped : 0',
    'NTS-KE connections accepted: 0',
    'NTS-KE connections dropped : 0',
    'Authenticated NTP packets  : 0',
    'Interleaved NTP packets    : 0',
    'NTP timestamps held        : 0',
    'NTP timestamp span         : 0',
  ]);
  assert.deepEqual(lines.slice(11), ['NTP packets replied        : 6']);
});

test('drops by reason and KoDs by code follow; `all` lists the zero ones too', () => {
  const c = createServerCounters();
  c.received = 10;
  c.replied = 5;
  c.dropped['rate-limited'] = 3;
  c.dropped['control-mode'] = 2;
  c.kodSent.RATE = 1;
  c.interleaved = 4;
  const s = snapshotServerStats(c, { recordsDropped: 7, timestampsHeld: 3, timestampSpan: 12.7 });
  assert.equal(s.ntpPacketsDropped, 5);
  const lines = formatServerStats(s);
  assert.ok(lines.includes('Client log records dropped : 7'));
  assert.ok(lines.includes('Interleaved NTP packets    : 4'));
  assert.ok(lines.includes('NTP timestamps held        : 3'));
  assert.ok(lines.includes('NTP timestamp span         : 12'));
  assert.deepEqual(lines.slice(12), [
    'Dropped control-mode       : 2',
    'Dropped rate-limited       : 3',
    'KoD RATE sent              : 1',
  ]);
  const all = formatServerStats(s, { all: true });
  assert.equal(all.length, 12 + DROP_REASONS.length + SERVER_KISS_CODES.length + AUTH_FAILURE_REASONS.length + 1 + NTS_KE_DROP_REASONS.length + 3 + QUERY_DROP_REASONS.length);
  for (const l of all) assert.match(l, /^.{27}: \d+$/);
  // The snapshot does not move with the counters.
  c.dropped['rate-limited']++;
  assert.equal(s.droppedByReason['rate-limited'], 3);
  assert.ok(Object.isFrozen(s));
});

test('the JSON form carries every figure', () => {
  const c = createServerCounters();
  c.received = 2;
  c.dropped.denied = 2;
  c.kodSent.DENY = 0;
  const j = serverStatsToJson(snapshotServerStats(c, { recordsDropped: 1, timestampsHeld: 0, timestampSpan: 0 }));
  assert.deepEqual(JSON.parse(JSON.stringify(j)), {
    ntpPacketsReceived: 2, ntpPacketsDropped: 2, ntpPacketsReplied: 0, commandPacketsReceived: 0, commandPacketsDropped: 0,
    clientLogRecordsDropped: 1, ntsKeConnectionsAccepted: 0, ntsKeConnectionsDropped: 0, authenticatedNtpPackets: 0,
    interleavedNtpPackets: 0, ntpTimestampsHeld: 0, ntpTimestampSpan: 0,
    droppedByReason: Object.fromEntries(DROP_REASONS.map((r) => [r, r === 'denied' ? 2 : 0])),
    kodSent: { RATE: 0, DENY: 0, NTSN: 0 },
    authFailed: Object.fromEntries(AUTH_FAILURE_REASONS.map((r) => [r, 0])),
    cryptoNakSent: 0,
    ntsKeDroppedByReason: Object.fromEntries(NTS_KE_DROP_REASONS.map((r) => [r, 0])),
    queries: { received: 0, answered: 0, refused: 0, droppedByReason: Object.fromEntries(QUERY_DROP_REASONS.map((r) => [r, 0])) },
  });
});

test('the mode 6 figures replace the zeros and follow the others, drops by reason only when non-zero', () => {
  const plain = snapshotServerStats(createServerCounters(), { recordsDropped: 0, timestampsHeld: 0, timestampSpan: 0 });
  assert.equal(formatServerStats(plain).some((l) => l.startsWith('Mode 6')), false, 'nothing about mode 6 before a query came');
  const droppedByReason = Object.fromEntries(QUERY_DROP_REASONS.map((r) => [r, r === 'denied' ? 2 : 0])) as Record<(typeof QUERY_DROP_REASONS)[number], number>;
  const s = withQueryStats(plain, { received: 9, answered: 6, refused: 1, droppedByReason });
  assert.deepEqual(formatServerStats(s).slice(12), [
    'Mode 6 queries received    : 9', 'Mode 6 queries answered    : 6', 'Mode 6 queries refused     : 1', 'Mode 6 drop denied         : 2',
  ]);
  assert.equal(s.ntpPacketsReceived, 0, 'mode 6 queries are not NTP packets');
  assert.deepEqual((serverStatsToJson(s).queries as { droppedByReason: unknown }).droppedByReason, droppedByReason);
});

test('the NTS-KE servers\' figures replace the responder\'s zeros, with drops by reason after the other reasons', () => {
  const c = createServerCounters();
  c.received = 4;
  const plain = snapshotServerStats(c, { recordsDropped: 0, timestampsHeld: 0, timestampSpan: 0 });
  assert.equal(plain.ntsKeConnectionsAccepted, 0);
  const s = withNtsKeStats(plain, { accepted: 5, dropped: 4, droppedBy: { timeout: 3, 'too-many-connections': 1 } });
  assert.ok(Object.isFrozen(s) && Object.isFrozen(s.ntsKeDroppedByReason));
  assert.equal(s.ntpPacketsReceived, 4, 'the NTP figures are kept');
  assert.deepEqual(formatServerStats(s).slice(5, 7), ['NTS-KE connections accepted: 5', 'NTS-KE connections dropped : 4']);
  assert.deepEqual(formatServerStats(s).slice(12), ['NTS-KE timeout             : 3', 'NTS-KE too-many-connections: 1']);
  const j = serverStatsToJson(s);
  assert.equal(j.ntsKeConnectionsAccepted, 5);
  assert.deepEqual(j.ntsKeDroppedByReason, Object.fromEntries(NTS_KE_DROP_REASONS.map((r) => [r, r === 'timeout' ? 3 : r === 'too-many-connections' ? 1 : 0])));
});

test('authentication failures by reason and crypto-NAKs follow the kiss codes', () => {
  const c = createServerCounters();
  c.authFailed['unknown-key'] = 2;
  c.authFailed['bad-mac'] = 1;
  c.cryptoNakSent = 1;
  c.dropped['auth-failed'] = 2;
  assert.deepEqual(formatServerStats(snapshotServerStats(c, { recordsDropped: 0, timestampsHeld: 0, timestampSpan: 0 })).slice(12), [
    'Dropped auth-failed        : 2',
    'Auth failed unknown-key    : 2',
    'Auth failed bad-mac        : 1',
    'Crypto-NAKs sent           : 1',
  ]);
});

test('every parse error maps to a drop reason', () => {
  const reasons: ParseErrorReason[] = ['too-short', 'bad-version', 'bad-mode', 'control-mode', 'bad-field-length', 'bad-mac-length', 'trailing-data'];
  assert.deepEqual(reasons.map(dropReasonOfParseError), ['too-short', 'bad-version', 'bad-mode', 'control-mode', 'malformed', 'malformed', 'malformed']);
  for (const r of reasons) assert.ok(DROP_REASONS.includes(dropReasonOfParseError(r)));
});
