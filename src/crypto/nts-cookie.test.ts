import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { runToCompletion } from '../testing/process.js';
import { CookieKeyRing, formatNtsKeysFile, MAX_MASTER_KEYS, parseNtsKeysFile } from './nts-cookie.js';

const keys = { aeadId: 15, c2s: new Uint8Array(32).fill(1), s2c: new Uint8Array(32).fill(2) };

test('a cookie opens to the keys sealed in it; it is 104 octets (a multiple of 4) for AES-SIV-CMAC-256', () => {
  const ring = CookieKeyRing.generate(0);
  const c = ring.seal(keys);
  assert.equal(c.length, 104);
  assert.deepEqual(ring.open(c), keys);
  // Fresh nonce per cookie: two cookies for the same keys differ (unlinkable, RFC 8915 §6).
  assert.notDeepEqual(ring.seal(keys), c);
});

test('a forged, truncated or foreign cookie opens as null', () => {
  const ring = CookieKeyRing.generate(0);
  const other = CookieKeyRing.generate(0);
  const c = ring.seal(keys);
  for (let i = 0; i < c.length; i++) {
    const bad = c.slice();
    bad[i] = (bad[i] as number) ^ 0x01;
    assert.equal(ring.open(bad), null, `bit flipped in octet ${i}`);
  }
  assert.equal(ring.open(c.subarray(0, 60)), null);
  assert.equal(ring.open(new Uint8Array(0)), null);
  assert.equal(other.open(c), null);
});

test('rotation: due after ntsrotate seconds of operating time; old cookies open for two more rotations, then not', () => {
  const ring = CookieKeyRing.generate(1000, { rotateSeconds: 3600 });
  const c0 = ring.seal(keys);
  assert.equal(ring.rotateIfDue(1000 + 3599), false);
  assert.equal(ring.rotateIfDue(1000 + 3600), true);
  const c1 = ring.seal(keys);
  assert.notEqual(ring.current.id, new DataView(c0.buffer).getUint32(0));
  assert.deepEqual(ring.open(c0), keys);
  assert.equal(ring.nextRotation(), 1000 + 7200);
  ring.rotateIfDue(1000 + 7200);
  assert.equal(ring.keys.length, MAX_MASTER_KEYS);
  assert.deepEqual(ring.open(c0), keys, 'two previous keys are kept');
  ring.rotateIfDue(1000 + 10800);
  assert.equal(ring.keys.length, MAX_MASTER_KEYS);
  assert.equal(ring.open(c0), null, 'a key three rotations old is gone');
  assert.deepEqual(ring.open(c1), keys);
});

test('ntsrotate 0 never rotates', () => {
  const ring = CookieKeyRing.generate(0, { rotateSeconds: 0 });
  assert.equal(ring.nextRotation(), Infinity);
  assert.equal(ring.rotateIfDue(1e12), false);
});

test('sealing refuses keys of the wrong length for their AEAD', () => {
  const ring = CookieKeyRing.generate(0);
  assert.throws(() => ring.seal({ aeadId: 15, c2s: new Uint8Array(16), s2c: new Uint8Array(16) }), /Cannot seal a cookie for AEAD 15/);
  assert.throws(() => ring.seal({ aeadId: 99, c2s: new Uint8Array(32), s2c: new Uint8Array(32) }), /AEAD 99/);
});

test('keys file: round trip keeps every key and the current key age; cookies still open', () => {
  const ring = CookieKeyRing.generate(0, { rotateSeconds: 100 });
  const c = ring.seal(keys);
  ring.rotate(100);
  const text = formatNtsKeysFile({ keys: ring.keys, currentAge: ring.currentAge(130) });
  assert.match(text, /^ntpkit-ntskeys 1\nage 30\n[0-9a-f]{8} [0-9a-f]{64}\n[0-9a-f]{8} [0-9a-f]{64}\n$/);
  const p = parseNtsKeysFile(text);
  assert.ok(p.ok);
  const back = new CookieKeyRing(p.value.keys, 5000 - p.value.currentAge, { rotateSeconds: 100 });
  assert.deepEqual(back.open(c), keys);
  assert.equal(back.nextRotation(), 5000 - 30 + 100);
});

test('keys file: a garbled file is an error naming the line, never an exception', () => {
  const good = formatNtsKeysFile({ keys: CookieKeyRing.generate(0).keys, currentAge: 5 });
  const cases: [string, RegExp][] = [
    ['', /line 1/],
    ['NKS1\n', /line 1/],
    ['ntpkit-ntskeys 1\n', /line 2/],
    ['ntpkit-ntskeys 1\nage 1\n', /no keys/],
    [good.replace(/\n[0-9a-f]{8} /, '\nzz '), /line 3/],
    [good + good.split('\n')[2] + '\n', /share an id/],
  ];
  for (const [text, re] of cases) {
    const p = parseNtsKeysFile(text);
    assert.equal(p.ok, false, JSON.stringify(text));
    assert.match(!p.ok ? p.message : '', re);
  }
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => { parseNtsKeysFile(s); parseNtsKeysFile(`ntpkit-ntskeys 1\n${s}`); }), { numRuns: 2000 });
});

/**
 * In a child with a small heap: master keys made of letters (so that a copy
 * kept as a string would show in a heap snapshot), rotated until the first
 * is dropped, every key used. The snapshot is searched for the dropped key,
 * whole and by the halves AES-SIV splits it into; a string kept on purpose
 * shows that the search finds what is there.
 */
const ROTATION_CHILD = `
  import { getHeapSnapshot } from 'node:v8';
  import { randomBytes } from 'node:crypto';
  const { CookieKeyRing, MAX_MASTER_KEYS } = await import(new URL('nts-cookie.js', process.env.NTPKIT_TEST_DIR));
  const letters = (seed, n) => Uint8Array.from({ length: n }, (_, j) => 0x41 + ((seed * 7 + j * 3) % 26));
  let made = 0;
  const random = (n) => (n === 32 ? letters(++made, 32) : n === 4 ? Uint8Array.of(0, 0, 0, made + 1) : new Uint8Array(randomBytes(n)));
  const keys = { aeadId: 15, c2s: new Uint8Array(32).fill(1), s2c: new Uint8Array(32).fill(2) };
  const ring = CookieKeyRing.generate(0, { random });
  const use = () => { const c = ring.seal(keys); if (ring.open(c) === null) throw new Error('cookie did not open'); };
  use();
  for (let i = 0; i < MAX_MASTER_KEYS; i++) { ring.rotate(i + 1); use(); }
  globalThis.control = String.fromCharCode(...letters(99, 16));
  globalThis.gc();
  const chunks = [];
  for await (const c of getHeapSnapshot()) chunks.push(c);
  const heap = Buffer.concat(chunks).toString('latin1');
  const dropped = letters(1, 32);
  const pieces = [dropped, dropped.subarray(0, 16), dropped.subarray(16)].map((b) => Buffer.from(b).toString('latin1'));
  console.log(JSON.stringify({ live: ring.keys.length, control: heap.includes(String.fromCharCode(...letters(99, 16))), dropped: pieces.map((p) => heap.includes(p)) }));`;

test('a master key rotated out leaves no copy behind: the cipher state is the ring\'s, not a module cache', async () => {
  const r = await runToCompletion(process.execPath, ['--expose-gc', '--input-type=module', '-e', ROTATION_CHILD], {
    env: { NTPKIT_TEST_DIR: new URL('./', import.meta.url).href }, timeoutMs: 60_000,
  });
  assert.equal(r.status.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { live: number; control: boolean; dropped: boolean[] };
  assert.equal(out.live, MAX_MASTER_KEYS);
  assert.equal(out.control, true, 'the search finds a string that is there');
  assert.deepEqual(out.dropped, [false, false, false]);
});

test('a ring following another (replaceKeys from onKeysChanged) opens its cookies and seals ones it opens, across rotations', () => {
  const primary = CookieKeyRing.generate(0, { rotateSeconds: 100 });
  const follower = new CookieKeyRing(primary.keys, 0, { rotateSeconds: 0 });
  const seen: number[] = [];
  const stop = primary.onKeysChanged((keys) => { seen.push(keys.length); follower.replaceKeys(keys, 5); });
  const keys = { aeadId: 15, c2s: new Uint8Array(32).fill(1), s2c: new Uint8Array(32).fill(2) };
  const early = follower.seal(keys);
  assert.deepEqual(primary.open(early), keys);
  for (let i = 1; i <= 2; i++) primary.rotate(i * 100);
  assert.deepEqual(seen, [2, 3]);
  assert.equal(follower.current.id, primary.current.id);
  assert.deepEqual(follower.open(primary.seal(keys)), keys, 'a cookie under the new key opens in the follower');
  assert.deepEqual(primary.open(follower.seal(keys)), keys);
  assert.deepEqual(follower.open(early), keys, 'the oldest of three keys still opens');
  primary.rotate(300);
  assert.equal(follower.open(early), null, 'gone from both rings after the third rotation');
  assert.equal(follower.rotateIfDue(1e9), false, 'a follower never rotates by itself');
  stop();
  primary.rotate(400);
  assert.notEqual(follower.current.id, primary.current.id);
  assert.throws(() => follower.replaceKeys([], 0), RangeError);
});
