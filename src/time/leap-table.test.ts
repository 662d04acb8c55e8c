import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { passesLeapCheck, taiMinusUtcAt, taiOffsetForReading } from './leap-table.js';
import { parseLeapSecondsList } from './leap-seconds-list.js';
import { parseTzifLeaps } from './tzif-leaps.js';

const LIST = `# comment
#@	3991593600
2272060800	10	# 1 Jan 1972
2287785600	11	# 1 Jul 1972
3644697600	36	# 1 Jul 2015
3692217600	37	# 1 Jan 2017
`;
/** 2017-01-01T00:00:00Z, the last leap's midnight. */
const NY2017 = 1483228800;

/** A version 1 TZif with only leap records (occurrence counts earlier leaps, as zic writes it). */
function tzif(leaps: readonly [number, number][]): Uint8Array {
  const b = Buffer.alloc(44 + 6 + 1 + leaps.length * 8);
  b.write('TZif', 0, 'latin1');
  b.writeUInt32BE(leaps.length, 28);
  b.writeUInt32BE(1, 36); // one type, one char
  b.writeUInt32BE(1, 40);
  let at = 44 + 6 + 1;
  for (const [occ, corr] of leaps) { b.writeInt32BE(occ, at); b.writeInt32BE(corr, at + 4); at += 8; }
  return new Uint8Array(b);
}

test('leap-seconds.list: TAI − UTC from each midnight on, none before the table', () => {
  const r = parseLeapSecondsList(LIST);
  assert.ok(r.ok);
  assert.equal(taiMinusUtcAt(r.table, NY2017 - 1), 36);
  assert.equal(taiMinusUtcAt(r.table, NY2017), 37);
  assert.equal(taiMinusUtcAt(r.table, 0), null);
  assert.deepEqual(parseLeapSecondsList('2272060800 ten\n'), { ok: false, line: 1, reason: 'expected "NTP-SECONDS TAI-UTC", got "2272060800 ten"' });
  assert.equal(parseLeapSecondsList('# only comments\n').ok, false);
  assert.equal(parseLeapSecondsList('3692217600 37\n3644697600 36\n').ok, false);
});

test('TZif leap records: a record\'s time counts the earlier leaps; a repeated correction (the expiry) adds nothing', () => {
  // 1972-07-01 (+1), 1973-01-01 (+2, written 1 s later), then an expiry marker.
  const r = parseTzifLeaps(tzif([[78796800, 1], [94694401, 2], [94694500, 2]]));
  assert.ok(r.ok);
  assert.deepEqual(r.table.entries, [{ from: 63072000, taiMinusUtc: 10 }, { from: 78796800, taiMinusUtc: 11 }, { from: 94694400, taiMinusUtc: 12 }]);
  assert.deepEqual(parseTzifLeaps(tzif([])), { ok: true, table: { entries: [] } });
  assert.equal(parseTzifLeaps(new Uint8Array(10)).ok, false);
  assert.equal(parseTzifLeaps(tzif([[78796800, 1]]).subarray(0, 50)).ok, false);
});

test('the system\'s right/UTC and leap-seconds.list give the same table, which passes chronyd\'s check', { skip: !existsSync('/usr/share/zoneinfo/right/UTC') || !existsSync('/usr/share/zoneinfo/leap-seconds.list') }, () => {
  const z = parseTzifLeaps(readFileSync('/usr/share/zoneinfo/right/UTC'));
  const l = parseLeapSecondsList(readFileSync('/usr/share/zoneinfo/leap-seconds.list', 'utf8'));
  assert.ok(z.ok && l.ok);
  assert.deepEqual(z.table.entries, l.table.entries);
  assert.ok(passesLeapCheck(z.table));
  assert.equal(passesLeapCheck({ entries: [] }), false);
});

test('a TAI reading is moved by the offset at its UTC time, also in the second after the leap', () => {
  const r = parseLeapSecondsList(LIST);
  assert.ok(r.ok);
  assert.equal(taiOffsetForReading(r.table, NY2017 + 3600 + 37), 37);
  // 2017-01-01T00:00:00.5 UTC is 00:00:37.5 TAI: read as UTC it is past the leap, and so is its UTC time.
  assert.equal(taiOffsetForReading(r.table, NY2017 + 37.5), 37);
  // 2016-12-31T23:59:59 UTC is 2017-01-01T00:00:35 TAI: the first guess (37) is corrected by the second lookup.
  assert.equal(taiOffsetForReading(r.table, NY2017 - 1 + 36), 36);
  assert.equal(taiOffsetForReading(r.table, 1000), null, 'before the table: unknown, the reading is dropped');
});
