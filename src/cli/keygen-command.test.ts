import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireTool, runChronyc } from '../testing/index.js';
import { keygen, scanUnsigned } from './keygen-command.js';
import { runCaptured } from './run-captured.test-helper.js';

test('scanUnsigned reads as sscanf("%u"): leading digits, negatives and overflow wrapped to 32 bits', () => {
  assert.equal(scanUnsigned('73'), 73);
  assert.equal(scanUnsigned(' 5abc'), 5);
  assert.equal(scanUnsigned('-1'), 4294967295);
  assert.equal(scanUnsigned('4294967296'), 0);
  assert.equal(scanUnsigned('99999999999999999999999'), 4294967295);
  assert.equal(scanUnsigned('x'), null);
});

test('keygen: chronyc\'s line, its defaults and its key lengths', () => {
  const zeros = (n: number): Uint8Array => new Uint8Array(n).fill(0xab);
  assert.deepEqual(keygen([], zeros), { ok: true, line: `1 SHA1 HEX:${'AB'.repeat(20)}`, type: 'SHA1' });
  const len = (words: string[]): number => { const r = keygen(words, zeros); return r.ok ? (r.line.split('HEX:')[1] as string).length / 2 : -1; };
  assert.equal(len(['73', 'SHA1', '256']), 32);
  assert.equal(len(['1', 'SHA1', '8']), 10, 'at least 10 bytes');
  assert.equal(len(['1', 'SHA512', '5000']), 512, 'at most 512 bytes');
  assert.equal(len(['1', 'SHA1', '81']), 11);
  assert.equal(len(['1', 'AES128', '4096']), 16, "a cipher's own length");
  assert.equal(len(['1', 'AES256']), 32);
  assert.deepEqual(keygen(['1', 'sha1']), { ok: false, message: 'Unknown hash function or cipher sha1' });
  assert.deepEqual(keygen(['x']), { ok: false, message: 'Invalid syntax for keygen command' });
  assert.deepEqual(keygen(['1', 'SHA1', '80', '9']), { ok: false, message: 'Invalid syntax for keygen command' });
});

test('ntpkit keygen prints what chronyc 4.3 keygen prints for the same words (the key bytes aside)', { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, 'chronyc')) return;
  const hex = (s: string): string => s.replace(/HEX:[0-9A-F]+/, (m) => `HEX:<${m.length - 4}>`);
  for (const words of [[], ['5'], ['73', 'SHA1', '256'], ['5', 'MD5'], ['5', 'SHA256'], ['5', 'SHA384'], ['5', 'SHA512', '4096'], ['5', 'SHA3-256'],
    ['5', 'AES128'], ['5', 'AES256', '80'], ['5', 'SHA1', '8'], ['5', 'SHA1', '0'], ['5', 'SHA1', '5000'], ['4294967296'], ['5', 'sha1'], ['5', 'TIGER'],
    ['x'], ['5', 'SHA1', 'x'], ['5', 'SHA1', '80', '9']]) {
    const theirs = await runChronyc(['keygen', ...words]);
    const ours = await runCaptured(['keygen', ...words]);
    const ourText = ours.code === 0 ? ours.out : ours.err;
    assert.equal(hex(ourText), hex(theirs.out), `keygen ${words.join(' ')}`);
    assert.equal(ours.code, theirs.code, `keygen ${words.join(' ')}: exit status`);
  }
  // Two keys are never the same.
  assert.notEqual((await runCaptured(['keygen'])).out, (await runCaptured(['keygen'])).out);
});
