import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROBLEM_SUMMARY_INTERVAL_MS, ProblemLog } from './problem-log.js';

test('the first problem is logged at once; a flood after it makes one summary line per interval', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const lines: string[] = [];
  const p = new ProblemLog((l) => lines.push(l), 'socket 0.0.0.0:123');
  p.report('EINVAL', 'socket 0.0.0.0:123: EINVAL sendmmsg EINVAL 192.0.2.1:0');
  assert.deepEqual(lines, ['socket 0.0.0.0:123: EINVAL sendmmsg EINVAL 192.0.2.1:0']);
  // 35 intervals of 1000 problems each: 35 more lines, not 35,000.
  for (let w = 0; w < 35; w++) {
    for (let i = 0; i < 1000; i++) p.report(i % 10 === 0 ? 'EACCES' : 'EINVAL', `socket 0.0.0.0:123: problem ${w}.${i}`);
    t.mock.timers.tick(PROBLEM_SUMMARY_INTERVAL_MS);
  }
  assert.equal(lines.length, 36);
  assert.equal(lines[1], 'socket 0.0.0.0:123: 1000 more since the previous line (EACCES 100, EINVAL 900), the last: socket 0.0.0.0:123: problem 0.999');
  assert.equal(lines[35], 'socket 0.0.0.0:123: 1000 more since the previous line (EACCES 100, EINVAL 900), the last: socket 0.0.0.0:123: problem 34.999');
  // A quiet interval closes the window: the next problem is logged at once again.
  t.mock.timers.tick(PROBLEM_SUMMARY_INTERVAL_MS);
  assert.equal(lines.length, 36);
  p.report('EPERM', 'later');
  assert.equal(lines.at(-1), 'later');
  p.close();
  assert.equal(lines.length, 37, 'nothing counted, nothing to sum up');
});

test('close() sums up what is still counted; many kinds are folded into `other`', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const lines: string[] = [];
  const p = new ProblemLog((l) => lines.push(l), 's');
  p.report('E0', 'first');
  for (let i = 0; i < 20; i++) p.report(`E${i}`, `line ${i}`);
  p.close();
  assert.equal(lines.length, 2);
  assert.equal(lines[1], 's: 20 more since the previous line (E0 1, E1 1, E2 1, E3 1, E4 1, E5 1, E6 1, E7 1, other 12), the last: line 19');
  t.mock.timers.tick(10 * PROBLEM_SUMMARY_INTERVAL_MS);
  assert.equal(lines.length, 2, 'no timer after close');
});
