import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fixture } from '../testing/chronyc-csv.js';
import { cFixed, cFreqPpm, cInterval, cNanoseconds, cSignedNanoseconds, cUtcTime, ntpqInterval, ntpqMs } from './report-units.js';

function fromBits(hex: string): number {
  const v = new DataView(new ArrayBuffer(8));
  v.setBigUint64(0, BigInt(`0x${hex}`));
  return v.getFloat64(0);
}

test('cFixed prints every glibc printf vector the same (printf-vectors.c: ties, -0, subnormals, 1e300)', () => {
  const lines = fixture('printf-vectors.txt').split('\n').filter(Boolean);
  assert.ok(lines.length > 4000);
  const bad: string[] = [];
  for (const line of lines) {
    const [hex, d, plus, expected] = line.split(' ') as [string, string, string, string];
    const got = cFixed(fromBits(hex), Number(d), { plus: plus === '1' });
    if (got !== expected) bad.push(`${hex} %${plus === '1' ? '+' : ''}.${d}f: C ${expected}, ours ${got}`);
  }
  assert.deepEqual(bad.slice(0, 10), []);
});

test('cFixed: width pads on the left; ties go to even where toFixed goes up', () => {
  assert.equal(cFixed(0.0625, 3), '0.062');
  assert.equal((0.0625).toFixed(3), '0.063');
  assert.equal(cFixed(2.5, 0, { width: 5, plus: true }), '   +2');
  assert.equal(cFixed(-0.0001, 3, { plus: true }), '-0.000');
  assert.equal(cFixed(-0, 3), '-0.000');
});

test("chronyc's offset columns: 4 significant digits, ns/us/ms/s/m/h/d/y at chronyc's thresholds", () => {
  assert.equal(cSignedNanoseconds(2.35e-7), ' +235ns');
  assert.equal(cSignedNanoseconds(0), '   +0ns');
  assert.equal(cSignedNanoseconds(-2.500031471), '-2500ms');
  assert.equal(cSignedNanoseconds(9999.4e-9), '+9999ns');
  assert.equal(cSignedNanoseconds(9999.5e-9), '  +10us');
  assert.equal(cSignedNanoseconds(-12.34), ' -12.3s');
  assert.equal(cSignedNanoseconds(1234), ' +1234s');
  assert.equal(cSignedNanoseconds(-100000), ' -1667m');
  assert.equal(cSignedNanoseconds(86400 * 5000), ' +5000d');
  assert.equal(cNanoseconds(5.528e-6), '5528ns');
  assert.equal(cNanoseconds(3.8973e-5), '  39us');
  assert.equal(cNanoseconds(4), '4000ms');
  assert.equal(cNanoseconds(-4), '4000ms');
  assert.equal(cNanoseconds(10), ' 10.0s');
  assert.equal(cNanoseconds(365 * 86400 * 200000), '200000y');
});

test('offset columns keep their width for every value below 99999 days', () => {
  fc.assert(fc.property(fc.double({ min: -8e9, max: 8e9, noNaN: true }), (s) => {
    assert.equal(cSignedNanoseconds(s).length, 7, cSignedNanoseconds(s));
    assert.equal(cNanoseconds(s).length, 6, cNanoseconds(s));
  }));
});

test("chronyc's interval column (LastRx, Span)", () => {
  assert.equal(cInterval(null), '   -');
  assert.equal(cInterval(0), '   0');
  assert.equal(cInterval(1199.9), '1199');
  assert.equal(cInterval(1200), ' 20m');
  assert.equal(cInterval(35999), '599m');
  assert.equal(cInterval(36000), ' 10h');
  assert.equal(cInterval(345600), '  4d');
  assert.equal(cInterval(86400 * 1000), '  2y');
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 2 }), (s) => assert.equal(cInterval(s).length, 4)));
});

test("chronyc's frequency columns", () => {
  assert.equal(cFreqPpm(0, true), '    +0.000');
  assert.equal(cFreqPpm(2000), '  2000.000');
  assert.equal(cFreqPpm(-123456.7, true), '   -123457');
});

test('Ref time is UTC in strftime("%a %b %d %H:%M:%S %Y"), the epoch when never set', () => {
  assert.equal(cUtcTime('1795437269.129878084'), 'Mon Nov 23 12:34:29 2026');
  assert.equal(cUtcTime('1795437269.999999999'), 'Mon Nov 23 12:34:29 2026');
  assert.equal(cUtcTime(null), 'Thu Jan 01 00:00:00 1970');
  assert.equal(cUtcTime('1740787199.5'), 'Fri Feb 28 23:59:59 2025');
});

test("ntpq's when/poll column and millisecond columns", () => {
  assert.equal(ntpqInterval(null), '-');
  assert.equal(ntpqInterval(64), '64');
  assert.equal(ntpqInterval(2048), '2048');
  assert.equal(ntpqInterval(2049), '34m');
  assert.equal(ntpqInterval(2 ** 17), '36h');
  assert.equal(ntpqInterval(86400 * 10), '10d');
  // NTPsec's ntpq truncates to whole seconds and prints "-" below one.
  assert.equal(ntpqInterval(0.59), '-');
  assert.equal(ntpqInterval(0), '-');
  assert.equal(ntpqInterval(5.97), '5');
  assert.equal(ntpqInterval(2048.9), '2048');
  fc.assert(fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), (s) => assert.match(ntpqInterval(s), /^(-|[1-9]\d*[mhdy]?)$/)));
  assert.equal(ntpqMs(0.030426, 8), '  30.426');
  assert.equal(ntpqMs(-0.30776, 8), '-307.760');
  assert.equal(ntpqMs(-2.500031471, 8), '-2500.03');
  assert.equal(ntpqMs(-2.500031471, 7), '-2500.0');
  fc.assert(fc.property(fc.double({ min: -99, max: 99, noNaN: true }), (s) => assert.equal(ntpqMs(s, 8).length, 8)));
});
