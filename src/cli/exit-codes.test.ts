import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExitCode, exitCodeForFailures, FAILURE_EXIT } from './exit-codes.js';

test('each query failure class has its own exit code, so scripts can tell them apart', () => {
  const distinct = ['timeout', 'unreachable', 'dns', 'kod', 'unsynchronized', 'origin-mismatch', 'not-ntp', 'truncated'] as const;
  const codes = distinct.map((c) => FAILURE_EXIT[c]);
  assert.equal(new Set(codes).size, distinct.length);
  assert.ok(!codes.includes(ExitCode.OK));
});

test('agreeing failures keep their code; mixed ones are a general failure', () => {
  assert.equal(exitCodeForFailures(['timeout', 'timeout']), ExitCode.TIMEOUT);
  assert.equal(exitCodeForFailures(['not-ntp', 'wrong-mode']), ExitCode.NOT_NTP);
  assert.equal(exitCodeForFailures(['timeout', 'kod']), ExitCode.GENERAL_FAILURE);
});
