import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSeconds } from '../time/instant.js';
import { computeSample } from './sample.js';
import { combineServers, estimateServer } from './server-estimate.js';
import { reply, T1 } from './reply-fixture.test-helper.js';

test('the minimum-delay sample is used, and jitter measures the rest', () => {
  const mk = (offset: number, delay: number) => ({
    header: reply(),
    sample: computeSample({ t1: T1, t2: addSeconds(T1, offset + delay / 2), t3: addSeconds(T1, offset + delay / 2), t4: addSeconds(T1, delay) }, 0, 0),
  });
  const e = estimateServer([mk(0.003, 0.02), mk(0.001, 0.005), mk(0.002, 0.01)]);
  assert.ok(e);
  assert.equal(e.bestIndex, 1);
  assert.ok(Math.abs(e.best.offset - 0.001) < 1e-9);
  assert.ok(e.jitter > 0.001 && e.jitter < 0.003);
  assert.equal(estimateServer([]), null);
});

test('combineServers names the falseticker and averages the rest', () => {
  const est = (offset: number) => {
    const e = estimateServer([{ header: reply(), sample: computeSample({ t1: T1, t2: addSeconds(T1, offset + 0.0001), t3: addSeconds(T1, offset + 0.0001), t4: addSeconds(T1, 0.0002) }, 0, 0) }]);
    assert.ok(e);
    return e;
  };
  const v = combineServers([est(0.00001), est(-0.00001), est(2.5), est(0.00002)]);
  assert.ok(v.ok);
  assert.deepEqual(v.falsetickers, [2]);
  assert.deepEqual(v.agree, [0, 1, 3]);
  assert.ok(Math.abs(v.offset) < 0.00002);
});
