import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { mountTinyTmpfs, tmpfsSkip } from '../testing/tmpfs.js';
import { DriftFileWriter, formatDriftFile, MIN_SKEW_PPM, parseDriftFile, readDriftFile, writeDriftFile } from './drift-file.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-drift-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a chronyd drift file migrates: its frequency is the negated correction', () => {
  // chronyd writes "%20.6f %20.6f\n"; -8.294 means the uncorrected clock loses 8.294 ppm,
  // so the kernel is told to speed it up (chronyc tracking: "8.294 ppm slow").
  const r = parseDriftFile('           -8.294000             0.031000\n');
  assert.deepEqual(r, { ok: true, value: { frequencyPpm: 8.294, skewPpm: 0.031 } });
});

test('what we write is byte for byte chronyd\'s layout', () => {
  assert.equal(formatDriftFile({ frequencyPpm: 8.294, skewPpm: 0.031 }), '           -8.294000             0.031000\n');
  assert.equal(formatDriftFile({ frequencyPpm: -12.5, skewPpm: 1 }), '           12.500000             1.000000\n');
  assert.equal(formatDriftFile({ frequencyPpm: 0, skewPpm: 0 }), '            0.000000             0.000000\n');
});

test('format then parse gives the values back to the file\'s 6 decimals', () => {
  fc.assert(fc.property(
    fc.double({ min: -1000, max: 1000, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }),
    (f, s) => {
      const r = parseDriftFile(formatDriftFile({ frequencyPpm: f, skewPpm: s }));
      assert.ok(r.ok);
      assert.ok(Math.abs(r.value.frequencyPpm - f) <= 5e-7 + 1e-12);
      assert.ok(Math.abs(r.value.skewPpm - Math.max(s, MIN_SKEW_PPM)) <= 5e-7 + 1e-12);
    },
  ));
});

test('like fscanf, extra text after the two numbers is ignored; a tiny skew is raised to chrony\'s minimum', () => {
  assert.deepEqual(parseDriftFile('1.5 0 trailing words\nmore'), { ok: true, value: { frequencyPpm: -1.5, skewPpm: MIN_SKEW_PPM } });
  assert.deepEqual(parseDriftFile('1e1\t2E-1'), { ok: true, value: { frequencyPpm: -10, skewPpm: 0.2 } });
});

test('garbled files are rejected with a message, never thrown', () => {
  for (const bad of ['', '   \n', '12.0', 'abc 1.0', '1.0 xyz', '0x10 1', '1 -2', 'nan 1', 'inf 1', '1e9 1']) {
    const r = parseDriftFile(bad);
    assert.equal(r.ok, false, JSON.stringify(bad));
    if (!r.ok) assert.ok(r.message.length > 0);
  }
  fc.assert(fc.property(fc.string(), (s) => { parseDriftFile(s); }));
});

test('readDriftFile: missing, garbled and good files', async () => {
  await withDir(async (dir) => {
    assert.deepEqual(await readDriftFile(join(dir, 'none')), { status: 'missing' });
    await writeFile(join(dir, 'bad'), 'hello\n');
    const bad = await readDriftFile(join(dir, 'bad'));
    assert.equal(bad.status, 'invalid');
    assert.match((bad as { message: string }).message, /bad: expected two numbers/);
    const unreadable = await readDriftFile(dir); // a directory: EISDIR
    assert.equal(unreadable.status, 'invalid');
    await writeFile(join(dir, 'good'), '  -3.000000   0.500000\n');
    assert.deepEqual(await readDriftFile(join(dir, 'good')), { status: 'ok', value: { frequencyPpm: 3, skewPpm: 0.5 } });
  });
});

test('writeDriftFile replaces the file whole and leaves no temp file behind', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'drift');
    await writeFile(path, 'old contents\n');
    await writeDriftFile(path, { frequencyPpm: 4.25, skewPpm: 0.125 });
    assert.equal(await readFile(path, 'utf8'), '           -4.250000             0.125000\n');
    assert.deepEqual(await readdir(dir), ['drift']);
    await assert.rejects(writeDriftFile(path, { frequencyPpm: NaN, skewPpm: 1 }), RangeError);
    assert.equal(await readFile(path, 'utf8'), '           -4.250000             0.125000\n');
  });
});

test('a failed write leaves the old file intact and reports through onError', async (t) => {
  await withDir(async (dir) => {
    const path = join(dir, 'drift');
    await writeFile(path, ' 1.000000 1.000000\n');
    const errors: string[] = [];
    const missingDir = new DriftFileWriter(join(dir, 'no', 'such', 'dir', 'drift'), (m) => errors.push(m));
    await missingDir.write({ frequencyPpm: 1, skewPpm: 1 });
    assert.equal(errors.length, 1);
    assert.match(errors[0] as string, /Cannot write drift file .*ENOENT/);
    // root ignores directory permissions: the unwritable-directory case only runs unprivileged.
    if (process.getuid?.() !== 0) {
      await chmod(dir, 0o500);
      t.after(() => chmod(dir, 0o700));
      await assert.rejects(writeDriftFile(path, { frequencyPpm: 2, skewPpm: 2 }));
      assert.equal(await readFile(path, 'utf8'), ' 1.000000 1.000000\n');
    }
  });
});

test('DriftFileWriter: queued writes land in order, the last one wins', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'drift');
    const w = new DriftFileWriter(path);
    for (let i = 1; i <= 20; i++) void w.write({ frequencyPpm: i, skewPpm: 0.5 });
    await w.flush();
    assert.deepEqual(w.last, { frequencyPpm: 20, skewPpm: 0.5 });
    assert.deepEqual(await readDriftFile(path), { status: 'ok', value: { frequencyPpm: 20, skewPpm: 0.5 } });
    assert.deepEqual(await readdir(dir), ['drift']);
  });
});

test('on a full disk (a real tmpfs) a write reports ENOSPC, resolves false, and the old file stays whole; with space again it lands', async (t) => {
  const why = tmpfsSkip();
  if (why !== null) { t.skip(why); return; }
  const fs = await mountTinyTmpfs('ntpkit-drift-full', 8 * 1024);
  t.after(() => fs.unmount());
  const path = join(fs.dir, 'drift');
  const errors: string[] = [];
  const w = new DriftFileWriter(path, (m) => errors.push(m));
  assert.equal(await w.write({ frequencyPpm: 1.5, skewPpm: 0.25 }), true);
  await fs.fill();
  assert.equal(await w.write({ frequencyPpm: 2.5, skewPpm: 0.25 }), false);
  assert.equal(errors.length, 1);
  assert.match(errors[0] as string, new RegExp(`^Cannot write drift file ${path}: ENOSPC`));
  assert.equal(await readFile(path, 'utf8'), formatDriftFile({ frequencyPpm: 1.5, skewPpm: 0.25 }));
  assert.deepEqual((await readdir(fs.dir)).sort(), ['.filler', 'drift'], 'no temp file left behind');
  await fs.free();
  assert.equal(await w.write({ frequencyPpm: 3.5, skewPpm: 0.25 }), true);
  assert.equal(await readFile(path, 'utf8'), formatDriftFile({ frequencyPpm: 3.5, skewPpm: 0.25 }));
});
