/**
 * Importing the library must not load the native addon: the composition
 * root (the CLI, or createSyncedClock's options) chooses the clock source,
 * and a program that only parses packets never pays for, or depends on, a
 * native module. Checked in a fresh process, through the package's own name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadNative } from './clock/native.js';
import { runToCompletion } from './testing/process.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Shared objects ending in .node that the child has mapped or required, after `then` ran. */
const CHILD = (then: string): string => `
  import { createRequire } from 'node:module';
  import { readFileSync } from 'node:fs';
  const lib = await import('ntpkit');
  ${then}
  const mapped = readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith('.node')).map((l) => l.split(/\\s+/).pop());
  const required = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.endsWith('.node'));
  console.log(JSON.stringify({ exports: Object.keys(lib).length, native: [...new Set([...mapped, ...required])] }));`;

async function nativeModulesAfter(then: string): Promise<{ exports: number; native: string[] }> {
  const r = await runToCompletion(process.execPath, ['--input-type=module', '-e', CHILD(then)], { cwd: ROOT, timeoutMs: 30_000 });
  assert.equal(r.status.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { exports: number; native: string[] };
}

test("import 'ntpkit' loads no native addon", { skip: process.platform !== 'linux' && 'reads /proc/self/maps' }, async () => {
  const out = await nativeModulesAfter('');
  assert.ok(out.exports > 10, `the entry exports ${out.exports} names`);
  assert.deepEqual(out.native, []);
});

test('the check sees the addon once the clock is read (where it loads)', { skip: !loadNative().ok && 'the addon does not load here' }, async () => {
  const out = await nativeModulesAfter('lib.realtime();');
  assert.ok(out.native.some((p) => p.endsWith('ntpkit_native.node')), JSON.stringify(out.native));
});
