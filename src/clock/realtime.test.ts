import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runToCompletion } from '../testing/process.js';
import { instantFromUnixMillis, instantFromUnixNanos } from '../time/instant.js';
import { loadNative } from './native.js';
import { applyEnvironmentSwitches, CLOCK_SOURCE_ENV } from '../cli/environment-switches.js';
import { realtime, realtimeInfo, realtimeUnixNanos } from './realtime.js';

const native = loadNative();
// This file composes as the CLI does: the environment chooses the source.
applyEnvironmentSwitches();

test('realtimeInfo() names the source, and the reason when it is the fallback', () => {
  const info = realtimeInfo();
  if (process.env[CLOCK_SOURCE_ENV] === 'hrtime') {
    assert.equal(info.kind, 'hrtime-calibrated');
  } else if (native.ok) {
    assert.deepEqual(info, { kind: 'clock_gettime' });
  } else {
    assert.equal(info.kind, 'hrtime-calibrated');
    assert.equal(info.reason, native.reason);
  }
  if (info.kind === 'hrtime-calibrated') assert.ok(info.reason && info.reason.length > 0);
  assert.ok(Object.isFrozen(info));
});

test('realtime() agrees with Date.now() and never goes back', () => {
  let prev = realtime();
  for (let i = 0; i < 2_000; i++) {
    const before = Date.now();
    const now = realtime();
    const after = Date.now();
    // Date.now() floors the same clock; 1 ms of slack either side as in native.test.ts.
    assert.ok(now >= instantFromUnixMillis(before - 1) && now < instantFromUnixMillis(after + 2), `${now} vs ${before}..${after} ms`);
    assert.ok(now >= prev);
    prev = now;
  }
});

test('realtime() and realtimeUnixNanos() read the same clock', () => {
  for (let i = 0; i < 1_000; i++) {
    const a = instantFromUnixNanos(realtimeUnixNanos());
    const x = realtime();
    const b = instantFromUnixNanos(realtimeUnixNanos());
    assert.ok(a <= x && x <= b);
  }
});

/** In the child: the source it picked, and its readings against Date.now() and (when it loads) the addon. */
const CHILD = `
  const { realtimeInfo, realtimeUnixNanos } = await import(new URL('realtime.js', process.env.NTPKIT_TEST_DIR));
  const { applyEnvironmentSwitches } = await import(new URL('../cli/environment-switches.js', process.env.NTPKIT_TEST_DIR));
  applyEnvironmentSwitches();
  const { loadNative } = await import(new URL('native.js', process.env.NTPKIT_TEST_DIR));
  const n = loadNative();
  const samples = [];
  for (let i = 0; i < 200; i++) {
    const d0 = Date.now();
    const a = n.ok ? n.addon.realtimeNs() : 0n;
    const x = realtimeUnixNanos();
    const b = n.ok ? n.addon.realtimeNs() : 0n;
    const d1 = Date.now();
    samples.push([d0, String(a), String(x), String(b), d1]);
  }
  console.log(JSON.stringify({ info: realtimeInfo(), native: n.ok, samples }));`;

interface ChildOut {
  info: { kind: string; reason?: string };
  native: boolean;
  samples: [number, string, string, string, number][];
}

async function childRun(source: string | undefined): Promise<ChildOut> {
  // An empty value counts as unset, so the child does not inherit an override from this process.
  const env = { NTPKIT_TEST_DIR: new URL('./', import.meta.url).href, [CLOCK_SOURCE_ENV]: source ?? '' };
  const r = await runToCompletion(process.execPath, ['--input-type=module', '-e', CHILD], { env, timeoutMs: 10_000 });
  assert.equal(r.status.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ChildOut;
}

test(`${CLOCK_SOURCE_ENV}=hrtime forces the calibrated fallback, which reads the right time`, async () => {
  const out = await childRun('hrtime');
  assert.equal(out.info.kind, 'hrtime-calibrated');
  assert.match(out.info.reason ?? '', /NTPKIT_CLOCK_SOURCE=hrtime/);
  // Date.now() floors the same clock; 1 ms of slack either side as above.
  for (const [d0, , x, , d1] of out.samples) {
    const ns = BigInt(x);
    assert.ok(ns >= BigInt(d0 - 1) * 1_000_000n && ns < BigInt(d1 + 2) * 1_000_000n, `${ns} vs ${d0}..${d1} ms`);
  }
  if (!out.native) return;
  // Against clock_gettime: the fallback adds one calibrated offset to hrtime, so one offset explains every
  // reading, each taken between its two clock_gettime() reads (however far apart a busy machine put them).
  // How small that offset is (the calibration's accuracy) is hrtime-clock.test.ts's and bench/realtime's.
  let lo: bigint | null = null;
  let hi: bigint | null = null;
  for (const [, a, x, b] of out.samples) {
    const [l, h] = [BigInt(x) - BigInt(b), BigInt(x) - BigInt(a)];
    if (lo === null || l > lo) lo = l;
    if (hi === null || h < hi) hi = h;
  }
  assert.ok(lo !== null && hi !== null && lo <= hi + 1n, `no single offset explains the fallback's readings: it lies in [${lo}, ${hi}] ns`);
});

test('without the override, a child picks clock_gettime when the addon loads', { skip: native.ok ? false : native.reason }, async () => {
  const out = await childRun(undefined);
  assert.deepEqual(out.info, { kind: 'clock_gettime' });
  for (const [, a, x, b] of out.samples) assert.ok(BigInt(a) <= BigInt(x) && BigInt(x) <= BigInt(b));
});
