import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitWeightedLine } from './weighted-line.js';

test('a weighted line: exact through points on a line, and a point of tiny weight barely moves it', () => {
  const exact = fitWeightedLine([0, 1, 2, 3], [1, 3, 5, 7], [1, 2, 1, 3]);
  assert.ok(Math.abs(exact.slope - 2) < 1e-12 && Math.abs(exact.intercept - 1) < 1e-12);
  assert.ok(exact.residualSquares < 1e-20);
  assert.equal(exact.sumWeights, 7);
  // sxx: Σw(x − x̄)² with x̄ = (0 + 2 + 2 + 9) / 7 = 13/7.
  const xm = 13 / 7;
  assert.ok(Math.abs(exact.sxx - (xm ** 2 + 2 * (1 - xm) ** 2 + (2 - xm) ** 2 + 3 * (3 - xm) ** 2)) < 1e-12);
  const outlier = fitWeightedLine([0, 1, 2, 3], [0, 0, 0, 100], [1, 1, 1, 1e-9]);
  assert.ok(Math.abs(outlier.slope) < 1e-5, String(outlier.slope));
});
