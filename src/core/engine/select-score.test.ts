import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ScoreCandidate, scoreRound } from './select-score.js';

const c = (id: number, distance: number, selectable = true, stratum = 1): ScoreCandidate => ({ id, distance, stratum, selectable, refclock: false });
const base = { stratumweight: 0.001, reselectdist: 1e-4 };

test('a source nearer than the selected one gains by the ratio of distances in each round either brings a sample, as chronyd\'s sources.c', () => {
  const cands = [c(1, 0.010), c(2, 0.002)];
  let s = scoreRound(new Map(), { ...base, candidates: cands, previous: 1, selected: 1, updated: 2 });
  const ratio = 0.010 / (0.002 + 1e-4);
  assert.ok(Math.abs((s.get(2) as number) - ratio) < 1e-12);
  // The selected source's own score: its distance over itself plus reselectdist, held at 1.
  assert.equal(s.get(1), 1);
  s = scoreRound(s, { ...base, candidates: cands, previous: 1, selected: 1, updated: 1 });
  assert.ok(Math.abs((s.get(2) as number) - ratio * ratio) < 1e-9, 'it accumulates');
  // A round started by neither (a third source's sample) leaves it.
  const three = [...cands, c(3, 0.05)];
  const t = scoreRound(s, { ...base, candidates: three, previous: 1, selected: 1, updated: 3 });
  assert.equal(t.get(2), s.get(2));
  assert.equal(t.get(3), 1, 'farther than the selected one: at least 1');
});

test('scores start again at 1: an unselectable source, and every source when another is selected; without a selection, 1/distance', () => {
  const before = new Map([[1, 1], [2, 7]]);
  const out = scoreRound(before, { ...base, candidates: [c(1, 0.01), c(2, 0.002, false)], previous: 1, selected: 1, updated: 1 });
  assert.equal(out.get(2), 1);
  const sw = scoreRound(new Map([[1, 1], [2, 12]]), { ...base, candidates: [c(1, 0.01), c(2, 0.002)], previous: 1, selected: 2, updated: 2 });
  assert.deepEqual([...sw.values()], [1, 1]);
  const none = scoreRound(new Map(), { ...base, candidates: [c(1, 0.01), c(2, 0.02, true, 2)], previous: null, selected: null, updated: 1 });
  assert.ok(Math.abs((none.get(1) as number) - 1 / (0.01 + 1e-4)) < 1e-9);
  assert.ok(Math.abs((none.get(2) as number) - 1 / (0.02 + 0.001 + 1e-4)) < 1e-9, 'stratum weight over the lowest stratum');
});
