import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { SmoothingReport } from '../core/engine/time-smoothing.js';
import { formatSmoothing, SMOOTHING_NOT_ENABLED } from './smoothing-format.js';

const fixture = (name: string): string => readFileSync(new URL(`../../src/cli/fixtures/${name}`, import.meta.url), 'utf8');

/** The report chronyc printed, read back from its text (each value at the precision chronyc prints it). */
function parse(text: string): SmoothingReport {
  const m = /^Active {9}: (Yes|No) (\(leap second only\))?\nOffset {9}: ([-+]\d+\.\d{9}) seconds\nFrequency {6}: ([-+]\d+\.\d{6}) ppm\nWander {9}: ([-+]\d+\.\d{6}) ppm per second\nLast update {4}: (\d+\.\d) seconds ago\nRemaining time : (\d+\.\d) seconds\n$/.exec(text);
  if (m === null) throw new Error(`not chronyc smoothing's layout:\n${text}`);
  return {
    active: m[1] === 'Yes', leapOnly: m[2] !== undefined, offset: Number(m[3]), freqPpm: Number(m[4]), wanderPpm: Number(m[5]),
    lastUpdateAgo: Number(m[6]), remainingTime: Number(m[7]),
  };
}

for (const name of ['active', 'leaponly-locked', 'locked']) {
  test(`ntpkit smoothing prints chronyc 4.3's smoothing layout byte for byte (${name})`, () => {
    const text = fixture(`chronyc-smoothing-${name}.txt`);
    assert.equal(formatSmoothing(parse(text)), text);
  });
}

test('the signs are chronyc\'s: its CSV, read around the text, brackets each value the text shows', () => {
  const r = parse(fixture('chronyc-smoothing-active.txt'));
  const rows = fixture('chronyc-smoothing-active.csv').trim().split('\n').map((l) => l.split(','));
  for (const [i, key] of [[2, 'offset'], [3, 'freqPpm'], [4, 'wanderPpm']] as const) {
    const [a, b] = rows.map((row) => Number(row[i]));
    assert.ok(r[key] >= Math.min(a as number, b as number) - 1e-9 && r[key] <= Math.max(a as number, b as number) + 1e-9, key);
  }
});

test('a zero frequency or wander prints as +0 (chronyc never shows -0 there), and no smoothtime is chronyc\'s 505', () => {
  const zero: SmoothingReport = { active: false, leapOnly: true, offset: 0, freqPpm: -0, wanderPpm: -0, lastUpdateAgo: 0, remainingTime: 0 };
  assert.equal(formatSmoothing(zero), fixture('chronyc-smoothing-leaponly-locked.txt'));
  assert.equal(`${SMOOTHING_NOT_ENABLED}\n`, fixture('chronyc-smoothing-off.txt'));
});
