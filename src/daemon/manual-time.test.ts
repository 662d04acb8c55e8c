import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualTime } from './manual-time.js';

test('manual list: Original as taken; Slewed moved by the clock\'s steps and slews since (chronyd\'s manual.c), as taken without a phase', () => {
  const m = new ManualTime(true);
  m.record({ when: 1000, offset: 2.5, phase: 0 });
  m.record({ when: 2000, offset: 0.5, phase: -2.5 });
  const rows = m.list(-3);
  assert.deepEqual(rows.map((r) => [r.offset, r.slewedOffset]), [[2.5, -0.5], [0.5, 0]]);
  assert.equal(m.list()[0]?.slewedOffset, undefined);
  assert.equal('phase' in (rows[0] as object), false, 'the phase stays inside');
});
