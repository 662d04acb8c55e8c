import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathDelayMs } from './path-relay.js';

test('one way of the path is base + jitter * Exp(1), in ms from us', () => {
  assert.equal(pathDelayMs(1000, 100, 1), 1);
  assert.ok(Math.abs(pathDelayMs(1000, 100, Math.exp(-1)) - 1.1) < 1e-12);
  assert.ok(Math.abs(pathDelayMs(1000, 100, Math.exp(-3)) - 1.3) < 1e-12);
  // The mean of Exp(1) is 1: over a fine grid of uniforms the mean extra delay is the jitter.
  let sum = 0;
  const n = 100_000;
  for (let i = 1; i <= n; i++) sum += pathDelayMs(0, 100, i / n);
  assert.ok(Math.abs(sum / n - 0.1) < 0.002, String(sum / n));
});
