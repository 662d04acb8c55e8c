/**
 * `ntpkit validate` on input no real config looks like, through the real
 * CLI process: an include of /dev/zero, of a FIFO, of a directory, a config
 * of 130 000 sources, and the largest config the read limits let through.
 * Each must end quickly with a clear `file:line` answer: not a stack
 * overflow, not an allocation until abort, not a wait forever on a FIFO.
 *
 * "Quickly" is measured against this machine: the same CLI validating a
 * one-line config. The work here is bounded by the read limits (at most
 * 4 MiB and 100 000 lines), which parse in about four times that
 * baseline, so 15 baselines plus 5 s leaves room for a loaded machine while
 * a hang (the FIFO) or a run-away allocation (/dev/zero) still fails.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_READ_LIMITS } from '../config/bounded-read.js';
import { runToCompletion } from '../testing/process.js';

const BIN = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
/** Only to end a hung run; the assertion is the derived bound. */
const HARD_LIMIT_MS = 120_000;

let dir: string;
let boundMs = 0;

interface Run { code: number | null; out: string; ms: number }

async function validate(conf: string): Promise<Run> {
  const t0 = performance.now();
  const r = await runToCompletion(process.execPath, [BIN, 'validate', '-f', conf], { timeoutMs: HARD_LIMIT_MS });
  return { code: r.status.code, out: r.stdout + r.stderr, ms: performance.now() - t0 };
}

function conf(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Distinct source lines, `n` of them from `from` on (addresses in 10/8: never contacted by validate). */
function sources(from: number, n: number): string {
  let s = '';
  for (let k = from; k < from + n; k++) s += `server 10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255} iburst\n`;
  return s;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ntpkit-validate-extreme-'));
  const small = conf('small.conf', `server 127.0.16.1\ncontrolsocket ${dir}/ntpkit.sock\n`);
  const base = await validate(small);
  assert.equal(base.code, 0, base.out);
  boundMs = 15 * base.ms + 5000;
});
after(() => rmSync(dir, { recursive: true, force: true }));

function quick(r: Run): void {
  assert.ok(r.ms < boundMs, `took ${Math.round(r.ms)} ms, bound ${Math.round(boundMs)} ms\n${r.out.slice(0, 2000)}`);
}

test('include /dev/zero: refused as a character device, nothing read', async () => {
  const c = conf('zero.conf', 'server 127.0.16.1\ninclude /dev/zero\n');
  const r = await validate(c);
  quick(r);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^ {2}${c}:2: include: cannot read /dev/zero: a character device, not a regular file$`, 'm'));
});

test('include a FIFO: refused without waiting for a writer', async () => {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const c = conf('fifo.conf', `server 127.0.16.1\ninclude ${fifo}\n`);
  const r = await validate(c);
  quick(r);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`${c}:2: include: cannot read ${fifo}: a FIFO \\(named pipe\\), not a regular file`));
  // As the main file too.
  const main = await validate(fifo);
  quick(main);
  assert.equal(main.code, 1, main.out);
  assert.match(main.out, new RegExp(`${fifo}: cannot read: a FIFO \\(named pipe\\), not a regular file`));
});

test('include a directory: refused as one', async () => {
  const sub = join(dir, 'conf.d');
  mkdirSync(sub);
  const c = conf('dir.conf', `server 127.0.16.1\ninclude ${sub}\n`);
  const r = await validate(c);
  quick(r);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`${c}:2: include: cannot read ${sub}: a directory, not a regular file`));
});

test('130 000 sources in one file: stopped at the line limit, with its file:line', async () => {
  const c = conf('huge.conf', sources(0, 130_000));
  const r = await validate(c);
  quick(r);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^ {2}${c}:${CONFIG_READ_LIMITS.fileLines + 1}: stopped reading: a config file may hold at most ${CONFIG_READ_LIMITS.fileLines} lines$`, 'm'));
  assert.doesNotMatch(r.out, /RangeError|call stack/);
});

test('about the most the limits let through (five includes of 19 998 sources): valid, every source listed', async () => {
  const files = CONFIG_READ_LIMITS.totalLines / CONFIG_READ_LIMITS.fileLines;
  const head = `controlsocket ${dir}/ntpkit.sock\n`;
  const mainLines = 1 + files;
  const per = Math.floor((CONFIG_READ_LIMITS.totalLines - mainLines) / files);
  const includes = Array.from({ length: files }, (_, f) => `include ${conf(`part${f}.conf`, sources(f * per, per))}\n`).join('');
  const c = conf('many.conf', head + includes);
  const r = await validate(c);
  quick(r);
  assert.equal(r.code, 0, r.out.slice(-2000));
  assert.match(r.out, new RegExp(`^Sources \\(${files * per}\\):$`, 'm'));
  assert.match(r.out, new RegExp(`${c}: valid$`, 'm'));
  // Lines enough to pass the total, in the main file: the last include is where reading stops.
  const spare = CONFIG_READ_LIMITS.totalLines - mainLines - files * per;
  const over = conf('over.conf', head + '# filler\n'.repeat(spare + 1) + includes);
  const r2 = await validate(over);
  quick(r2);
  assert.equal(r2.code, 1, r2.out.slice(-2000));
  assert.match(r2.out, new RegExp(`part${files - 1}\\.conf:\\d+: stopped reading: a config with the files it includes may hold at most ${CONFIG_READ_LIMITS.totalLines} lines in all \\(included from ${over}:${mainLines + spare + 1}\\)`));
});
