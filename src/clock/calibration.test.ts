import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FakeClocks } from '../testing/fake-clocks.js';
import {
  calibrate, checkHrThenMs, checkMsThenHr, collectBrackets, STEP_TOLERANCE_NS,
  type Calibration, type TickBracket,
} from './calibration.js';

const MS = 1_000_000n;
const TRUE_OFFSET = 1_795_000_000_000_123_456n; // realtime - hrtime, ns

/** A bracket around the instant hrtime `crossHr`, where realtime = hr + off crosses a whole ms. */
function bracketAround(ms: number, halfWidthBefore: bigint, halfWidthAfter: bigint, off = TRUE_OFFSET): TickBracket {
  const crossHr = BigInt(ms) * MS - off;
  return { hrBefore: crossHr - halfWidthBefore, ms, hrAfter: crossHr + halfWidthAfter };
}

function contains(cal: Calibration, offset: bigint): boolean {
  return cal.offsetNs - cal.uncertaintyNs <= offset && offset <= cal.offsetNs + cal.uncertaintyNs;
}

test('calibrate: one bracket gives its midpoint and half-width', () => {
  const cal = calibrate([bracketAround(1_795_000_000_001, 300n, 100n)]);
  assert.ok(cal);
  assert.equal(cal.uncertaintyNs, 200n);
  assert.ok(contains(cal, TRUE_OFFSET));
  assert.equal(cal.used, 1);
});

test('calibrate: the result is no wider than the tightest bracket, wherever it sits in the list', () => {
  const base = 1_795_000_000_000;
  const loose = [bracketAround(base + 1, 40_000n, 10_000n), bracketAround(base + 2, 2_000n, 7_000n), bracketAround(base + 4, 500_000n, 3n)];
  const tight = bracketAround(base + 3, 60n, 40n);
  for (let at = 0; at <= loose.length; at++) {
    const list = [...loose.slice(0, at), tight, ...loose.slice(at)];
    const cal = calibrate(list);
    assert.ok(cal);
    assert.ok(cal.uncertaintyNs <= 50n, `tight bracket at ${at}: ${cal.uncertaintyNs}`);
    assert.ok(contains(cal, TRUE_OFFSET));
    assert.equal(cal.restarts, 0);
    assert.equal(cal.used, 4);
  }
});

test('calibrate: intersecting consistent brackets can beat every single one', () => {
  // Each is 2 us wide, but one is skewed early and one late: together they pin 100 ns.
  const cal = calibrate([bracketAround(10, 1_900n, 100n), bracketAround(11, 100n, 1_900n)]);
  assert.ok(cal);
  assert.ok(cal.uncertaintyNs <= 100n);
  assert.ok(contains(cal, TRUE_OFFSET));
});

test('calibrate: a step between brackets drops the older ones and the newest offset wins', () => {
  const stepped = TRUE_OFFSET + 5n * MS;
  const cal = calibrate([
    bracketAround(100, 50n, 50n),
    bracketAround(101, 10n, 10n),
    bracketAround(200, 500n, 500n, stepped),
    bracketAround(201, 80n, 80n, stepped),
  ]);
  assert.ok(cal);
  assert.equal(cal.restarts, 1);
  assert.equal(cal.used, 2);
  assert.ok(contains(cal, stepped));
  assert.ok(!contains(cal, TRUE_OFFSET));
});

test('calibrate: no brackets, no calibration', () => {
  assert.equal(calibrate([]), undefined);
});

test('calibrate: rounding keeps the true offset inside for any bracket (property)', () => {
  fc.assert(fc.property(
    fc.bigInt({ min: -(1n << 62n), max: 1n << 62n }),
    fc.array(fc.tuple(fc.integer({ min: 0, max: 1_000_000 }), fc.bigInt({ min: 0n, max: 100_000n }), fc.bigInt({ min: 0n, max: 100_000n })), { minLength: 1, maxLength: 8 }),
    (off, specs) => {
      const brackets = specs.map(([ms, before, after]) => bracketAround(1_795_000_000_000 + ms, before, after, off));
      const cal = calibrate(brackets);
      return cal !== undefined && contains(cal, off) && cal.restarts === 0;
    },
  ));
});

/**
 * Synthetic clocks: every read costs `costNs` of monotonic time; realtime is
 * monotonic + offset; Date.now() floors it. Hooks can pause or step it.
 */

test('collectBrackets: every bracket holds its tick-over, and the calibration holds the true offset', () => {
  const c = new FakeClocks(7_000_000_000n, TRUE_OFFSET, 40n);
  const brackets = collectBrackets(c, 5);
  assert.equal(brackets.length, 5);
  for (const b of brackets) {
    const crossHr = BigInt(b.ms) * MS - TRUE_OFFSET;
    assert.ok(b.hrBefore < crossHr && crossHr <= b.hrAfter, `${b.hrBefore} < ${crossHr} <= ${b.hrAfter}`);
    assert.ok(b.hrAfter - b.hrBefore <= 5n * c.costNs); // two trips round the loop
  }
  const cal = calibrate(brackets);
  assert.ok(cal && contains(cal, TRUE_OFFSET));
  assert.ok(cal.uncertaintyNs <= 2n * c.costNs);
});

test('collectBrackets: a pause inside the spin only widens that bracket; the intersection keeps the tight ones', () => {
  const c = new FakeClocks(7_000_000_000n, TRUE_OFFSET, 40n);
  c.onMsRead = (n) => { if (n % 9_000 === 0) c.mono += 3n * MS; };
  const cal = calibrate(collectBrackets(c, 6));
  assert.ok(cal && contains(cal, TRUE_OFFSET));
  assert.ok(cal.uncertaintyNs <= 2n * c.costNs);
});

test('collectBrackets: a backward step is not taken for a tick-over, and calibration follows the new offset', () => {
  const c = new FakeClocks(7_000_000_000n, TRUE_OFFSET, 40n);
  const stepped = TRUE_OFFSET - 2_500_000n;
  let stepHr = -1n;
  c.onMsRead = (n) => { if (n === 20_000) { c.offset = stepped; stepHr = c.mono; } }; // ~1.6 ms in
  const brackets = collectBrackets(c, 6);
  assert.ok(stepHr > 0n);
  assert.ok(brackets.some((b) => b.hrAfter < stepHr) && brackets.some((b) => b.hrBefore > stepHr));
  for (const b of brackets) {
    assert.ok(!(b.hrBefore < stepHr && stepHr <= b.hrAfter), 'no bracket spans the step');
    const crossHr = BigInt(b.ms) * MS - (b.hrAfter < stepHr ? TRUE_OFFSET : stepped);
    assert.ok(b.hrBefore < crossHr && crossHr <= b.hrAfter);
  }
  const cal = calibrate(brackets);
  assert.ok(cal && contains(cal, stepped), 'calibrated to the stepped clock');
  assert.equal(cal.restarts, 1);
});

test('collectBrackets: a clock that never ticks over gives up', () => {
  const brackets = collectBrackets({ hr: () => 1n, ms: () => 42 }, 3, 1_000);
  assert.deepEqual(brackets, []);
});

const CAL: Calibration = { offsetNs: TRUE_OFFSET, uncertaintyNs: 100n, used: 4, restarts: 0 };
const TOL = STEP_TOLERANCE_NS;

test('checkHrThenMs: consistent inside the millisecond, stepped when the estimate is past its end', () => {
  const hr = 5_000_000_000n;
  const realMs = Number((hr + TRUE_OFFSET) / MS);
  assert.equal(checkHrThenMs(CAL, hr, realMs), 'consistent');
  // Date.now() a ms later than the estimate: a pause between the reads would explain it.
  assert.equal(checkHrThenMs(CAL, hr, realMs + 1), 'confirm');
  // The clock stepped back 2 ms: Date.now() is now behind our estimate.
  assert.equal(checkHrThenMs(CAL, hr, realMs - 2), 'stepped');
  // A forward step, or a pause between the reads: only a suspicion.
  assert.equal(checkHrThenMs(CAL, hr, realMs + 3), 'confirm');
});

test('checkHrThenMs: the threshold is the tolerance beyond the millisecond, plus the calibration uncertainty', () => {
  // Put the estimate exactly on a millisecond boundary, then shift Date.now()'s view by small steps.
  const boundaryMs = 1_795_000_000_500;
  const hr = BigInt(boundaryMs) * MS - TRUE_OFFSET;
  const slack = Number(CAL.uncertaintyNs) + TOL + 1_000; // as in calibration.ts
  const hrPast = (ns: number): bigint => hr + BigInt(ns);
  // The estimate may run ahead of the end of Date.now()'s millisecond by up to the
  // slack (give or take the 256 ns float rounding of the check).
  assert.equal(checkHrThenMs(CAL, hrPast(slack - 1_000), boundaryMs - 1), 'consistent');
  assert.equal(checkHrThenMs(CAL, hrPast(slack + 1_000), boundaryMs - 1), 'stepped');
  // A step back of less than the tolerance is never reported.
  assert.equal(checkHrThenMs(CAL, hrPast(TOL - 1_000), boundaryMs - 1), 'consistent');
});

test('checkMsThenHr: an estimate below the start of a millisecond read earlier is a forward step', () => {
  const hr = 5_000_000_000n;
  const realMs = Number((hr + TRUE_OFFSET) / MS);
  assert.equal(checkMsThenHr(CAL, realMs, hr), 'consistent');
  // Any amount ahead is fine: time passed between the reads.
  assert.equal(checkMsThenHr(CAL, realMs - 50, hr), 'consistent');
  assert.equal(checkMsThenHr(CAL, realMs + 2, hr), 'stepped');
});
