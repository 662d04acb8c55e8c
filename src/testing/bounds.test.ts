import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSeconds } from '../cli/units.js';
import { assertNotStepped, offsetBound, parseSeconds, realtimeMinusMonotonic } from './bounds.js';

test('parseSeconds reads back every unit formatSeconds prints, within the rounding it reports', () => {
  for (const v of [-936e-9, 4e-9, 12.34e-6, -999.96e-6, 4.5678e-3, -0.39987654, 2.5000123, -1234.5]) {
    const text = formatSeconds(v, true);
    const p = parseSeconds(text);
    assert.ok(Math.abs(p.seconds - v) <= p.halfUlp * (1 + 1e-9), `${text}: ${p.seconds} vs ${v}`);
  }
  assert.deepEqual(parseSeconds('-936ns'), { seconds: -936e-9, halfUlp: 0.5e-9 });
  assert.equal(parseSeconds('+2.500000s').halfUlp, 0.5e-6);
  assert.equal(parseSeconds('12.3us').halfUlp, 0.05e-6);
  for (const bad of ['', '1.2', 'us', '+-1s', '1.2 ms', '1e3s']) assert.throws(() => parseSeconds(bad), /Cannot parse a duration/);
});

test('offsetBound is half the round trip, plus a late T3 and the stamp slack', () => {
  assert.ok(Math.abs(offsetBound(2e-3) - 1.001e-3) < 1e-12);
  assert.ok(Math.abs(offsetBound(2e-3, 1e-3) - 2.001e-3) < 1e-12);
  assert.ok(offsetBound(-1) > 0, 'a negative delay bounds nothing more');
});

test('realtimeMinusMonotonic keeps the tightest bracket, so a preempted try does not move it; a step does', () => {
  let mono = 1_000_000_000n;
  let offset = 5_000_000_000n;
  let call = 0;
  // Every third read pair is preempted for 3 ms between the monotonic and realtime reads.
  const readers = {
    monotonicNs: () => { mono += call++ % 3 === 0 ? 3_000_000n : 100n; return mono; },
    realtimeNs: () => { mono += 50n; return mono + offset; },
  };
  const a = realtimeMinusMonotonic(readers);
  const b = realtimeMinusMonotonic(readers);
  assert.ok(a.uncertaintyNs < 1_000n, String(a.uncertaintyNs));
  assertNotStepped(a, b, 'no step');
  offset -= 500_000n;
  const c = realtimeMinusMonotonic(readers);
  assert.throws(() => assertNotStepped(b, c, 'a 0.5 ms step'), /moved against monotonic by -0\.0005/);
});
