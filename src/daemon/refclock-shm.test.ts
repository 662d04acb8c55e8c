/**
 * The SHM driver's own side of the segment: it creates the segment with the
 * `perm` it is given (chronyd's default 0600 keeps segments 0 and 1 for a
 * root writer) and finds nothing in a segment no writer has filled. Unit 14
 * is used by no other test; the segment is removed at the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { loadNative } from '../clock/native.js';
import { REFCLOCK_DEFAULTS } from '../core/engine/refclock-options.js';
import { SHM_BASE_KEY, startShmRefclock, type ShmAccess } from './refclock-shm.js';

const UNIT = 14;
const KEY = SHM_BASE_KEY + UNIT;

function segmentMode(key: number): string | undefined {
  const out = execFileSync('ipcs', ['-m'], { encoding: 'utf8' });
  const row = out.split('\n').map((l) => l.trim().split(/\s+/)).find((f) => f[0] === `0x${key.toString(16).padStart(8, '0')}`);
  return row?.[3];
}

test('refclock SHM creates its segment with the perm option and reads nothing from an empty one', { skip: loadNative().ok ? false : 'no native addon' }, async () => {
  const n = loadNative();
  assert.ok(n.ok);
  const { shmAttach, shmRead, shmDetach } = n.addon;
  assert.ok(shmAttach !== undefined && shmRead !== undefined && shmDetach !== undefined, 'the addon has the SHM reader');
  const shm: ShmAccess = { shmAttach, shmRead, shmDetach };
  assert.equal(segmentMode(KEY), undefined, `segment 0x${KEY.toString(16)} exists already`);
  const samples: unknown[] = [];
  const h = startShmRefclock({ ...REFCLOCK_DEFAULTS, driver: 'SHM', parameter: String(UNIT), driverOptions: { perm: '0640' }, refid: 'SHM', dpoll: -4 },
    shm, { sample: (s) => samples.push(s), problem: (m) => assert.fail(m) });
  try {
    assert.equal(segmentMode(KEY), '640');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(samples, [], 'a segment nobody wrote holds no valid sample');
  } finally {
    h.close();
    execFileSync('ipcrm', ['-M', `0x${KEY.toString(16)}`]);
  }
  assert.equal(segmentMode(KEY), undefined);
});
