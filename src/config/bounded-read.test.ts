import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileReader, ConfigLimitError, countLines, describeError, messageWithCode, readRegularFile } from './bounded-read.js';
import { loadConfig } from './parse-config.js';
import { formatDiagnostic } from './diagnostics.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'ntpkit-bounded-read-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const SMALL = { fileBytes: 100, fileLines: 5, totalBytes: 250, totalLines: 12 };

test('readRegularFile refuses what is not a regular file before reading it: a FIFO does not block, /dev/zero does not fill memory', () => {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  assert.throws(() => readRegularFile(fifo, 10), { message: 'a FIFO (named pipe), not a regular file' });
  assert.throws(() => readRegularFile('/dev/zero', 10), { message: 'a character device, not a regular file' });
  mkdirSync(join(dir, 'sub'));
  assert.throws(() => readRegularFile(join(dir, 'sub'), 10), { message: 'a directory, not a regular file' });
  assert.throws(() => readRegularFile(join(dir, 'nope'), 10), { code: 'ENOENT' });
});

test('readRegularFile reads up to the limit and says when there is more', () => {
  const p = file('ten', '0123456789');
  assert.deepEqual(readRegularFile(p, 10), { data: Buffer.from('0123456789'), truncated: false });
  const cut = readRegularFile(p, 4);
  assert.equal(cut.data.toString(), '0123');
  assert.equal(cut.truncated, true);
  // Larger than one read chunk.
  const big = file('big', 'x'.repeat(200_000));
  assert.equal(readRegularFile(big, 150_000).data.length, 150_000);
  assert.equal(readRegularFile(big, 200_000).truncated, false);
});

test('errors name the errno code once, with its meaning', () => {
  const e = Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), { code: 'ENOENT' });
  assert.equal(describeError(e), 'ENOENT (no such file or directory)');
  assert.equal(messageWithCode(e), "ENOENT: no such file or directory, open '/x'");
  assert.equal(messageWithCode(Object.assign(new Error('bind failed'), { code: 'EADDRINUSE' })), 'EADDRINUSE bind failed');
  assert.equal(describeError(new Error('plain')), 'plain');
});

test('countLines counts a last line without a newline', () => {
  assert.equal(countLines(''), 0);
  assert.equal(countLines('a'), 1);
  assert.equal(countLines('a\n'), 1);
  assert.equal(countLines('a\nb'), 2);
  assert.equal(countLines('\n\n'), 2);
});

test('ConfigFileReader: per-file lines and bytes, then totals over the files of one config, each as file:line', () => {
  const five = file('five', 'a\nb\nc\nd\ne\n');
  const six = file('six', 'a\nb\nc\nd\ne\nf\n');
  const limitError = (f: () => unknown): ConfigLimitError => {
    try { f(); } catch (e) { if (e instanceof ConfigLimitError) return e; throw e; }
    assert.fail('no ConfigLimitError');
  };
  let r = new ConfigFileReader(SMALL);
  assert.equal(r.read(five), 'a\nb\nc\nd\ne\n');
  let e = limitError(() => r.read(six));
  assert.deepEqual([e.file, e.line, e.message], [six, 6, 'stopped reading: a config file may hold at most 5 lines']);

  const long = file('long', `${'x'.repeat(60)}\n${'y'.repeat(60)}\n`);
  e = limitError(() => new ConfigFileReader(SMALL).read(long));
  assert.deepEqual([e.line, e.message], [2, 'stopped reading: a config file may hold at most 100 bytes']);

  // Totals: 12 lines in all; five + five leave 2.
  r = new ConfigFileReader(SMALL);
  r.read(five);
  r.read(five);
  e = limitError(() => r.read(five));
  assert.deepEqual([e.file, e.line, e.message], [five, 3, 'stopped reading: a config with the files it includes may hold at most 12 lines in all']);
  // 250 bytes in all: 61 + 61 + 61 + 61 leave 6.
  const line61 = file('line61', `${'z'.repeat(60)}\n`);
  r = new ConfigFileReader(SMALL);
  for (let i = 0; i < 4; i++) r.read(line61);
  e = limitError(() => r.read(line61));
  assert.deepEqual([e.line, e.message], [1, 'stopped reading: a config with the files it includes may hold at most 250 bytes in all']);
});

test('loadConfig: an included file past the per-file limit is reported at its own line, with where it was included from', async () => {
  const main = file('main.conf', `server 127.0.16.1\ninclude ${join(dir, 'huge.conf')}\n`);
  file('huge.conf', 'server 127.0.16.2\n'.repeat(20_001));
  const r = await loadConfig(main);
  assert.equal(r.config, null);
  assert.deepEqual(r.errors.map(formatDiagnostic), [`${join(dir, 'huge.conf')}:20001: stopped reading: a config file may hold at most 20000 lines (included from ${main}:2)`]);
  const viaZero = file('zero.conf', 'include /dev/zero\n');
  assert.deepEqual((await loadConfig(viaZero)).errors.map(formatDiagnostic), [`${viaZero}:1: include: cannot read /dev/zero: a character device, not a regular file`]);
});
