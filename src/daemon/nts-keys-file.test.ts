import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNtsKeys, saveNtsKeys } from './nts-keys-file.js';

const keys = { aeadId: 15, c2s: new Uint8Array(32).fill(7), s2c: new Uint8Array(32).fill(9) };

test('keys persist across a restart in ntsdumpdir/ntskeys (mode 0600), so old cookies still open', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-ntskeys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const first = await loadNtsKeys(dir, 10, { rotateSeconds: 1000 });
  assert.equal(first.status, 'generated');
  const cookie = first.ring.seal(keys);
  await saveNtsKeys(join(dir, 'sub'), first.ring, 400);
  const st = await stat(join(dir, 'sub', 'ntskeys'));
  assert.equal(st.mode & 0o777, 0o600);
  assert.deepEqual(await readdir(join(dir, 'sub')), ['ntskeys'], 'no temp file left behind');
  // A new process: its monotonic clock starts elsewhere; the key's age (390 s) carries over.
  const second = await loadNtsKeys(join(dir, 'sub'), 50, { rotateSeconds: 1000 });
  assert.equal(second.status, 'loaded');
  assert.deepEqual(second.ring.open(cookie), keys);
  assert.equal(second.ring.nextRotation(), 50 - 390 + 1000);
  assert.equal(second.status === 'loaded' && second.rotated, false);
});

test('a keys file whose current key is past ntsrotate rotates at load; old cookies still open', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-ntskeys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const first = await loadNtsKeys(dir, 0, { rotateSeconds: 100 });
  const cookie = first.ring.seal(keys);
  await saveNtsKeys(dir, first.ring, 150);
  const second = await loadNtsKeys(dir, 0, { rotateSeconds: 100 });
  assert.ok(second.status === 'loaded' && second.rotated);
  assert.equal(second.ring.keys.length, 2);
  assert.deepEqual(second.ring.open(cookie), keys);
});

test('a garbled keys file gives a warning and fresh keys; the file is left for the operator', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-ntskeys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'ntskeys'), 'garbage\n');
  const r = await loadNtsKeys(dir, 0);
  assert.equal(r.status, 'generated');
  assert.match(r.status === 'generated' ? r.warning ?? '' : '', /ntskeys: line 1: expected "ntpkit-ntskeys 1"/);
  assert.equal(await readFile(join(dir, 'ntskeys'), 'utf8'), 'garbage\n');
});
