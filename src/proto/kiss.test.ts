import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mode } from './constants.js';
import {
  describeKissCode, isKissOfDeath, isKnownKissCode, KISS_CODES, kissAction, kissCode, kissCodeToRefId, type KissCode,
} from './kiss.js';

test('all RFC 5905 §7.4 kiss codes, and RFC 8915\'s NTSN, are named and described', () => {
  assert.deepEqual(Object.keys(KISS_CODES).sort(), [
    'ACST', 'AUTH', 'AUTO', 'BCST', 'CRYP', 'DENY', 'DROP', 'INIT', 'MCST', 'NKEY', 'NTSN', 'RATE', 'RMOT', 'RSTR', 'STEP',
  ]);
  assert.match(describeKissCode('RATE'), /^Rate exceeded/);
  assert.match(describeKissCode('XYZ'), /Unregistered kiss code "XYZ"/);
  assert.ok(isKnownKissCode('DENY'));
  assert.ok(!isKnownKissCode('deny'));
  assert.ok(!isKnownKissCode('toString'));
});

test('what a code asks of a client: DENY and RSTR refuse it, RATE slows it down, others inform', () => {
  assert.equal(kissAction('DENY'), 'refused');
  assert.equal(kissAction('RSTR'), 'refused');
  assert.equal(kissAction('RATE'), 'reduce-rate');
  assert.equal(kissAction('NTSN'), 'nts-nak');
  for (const code of ['ACST', 'AUTH', 'INIT', 'STEP', 'ABCD']) assert.equal(kissAction(code), 'informational');
});

test('kissCode reads the ASCII code of a stratum-0 header only', () => {
  assert.equal(kissCode({ stratum: 0, referenceId: 0x52415445 }), 'RATE');
  assert.equal(kissCode({ stratum: 0, referenceId: 0x44454e59 }), 'DENY');
  assert.equal(kissCode({ stratum: 0, referenceId: 0x41420000 }), 'AB');
  assert.equal(kissCode({ stratum: 1, referenceId: 0x52415445 }), null);
  assert.equal(kissCode({ stratum: 0, referenceId: 0 }), null);
  assert.equal(kissCode({ stratum: 0, referenceId: 0x7f7f0101 }), null);
  assert.equal(kissCode({ stratum: 0, referenceId: 0x52004145 }), null);
});

test('isKissOfDeath: stratum 0 in a server reply', () => {
  assert.ok(isKissOfDeath({ mode: Mode.Server, stratum: 0 }));
  assert.ok(!isKissOfDeath({ mode: Mode.Server, stratum: 1 }));
  assert.ok(!isKissOfDeath({ mode: Mode.Client, stratum: 0 }));
});

test('kissCodeToRefId is the inverse of kissCode for every registered code', () => {
  assert.equal(kissCodeToRefId('RATE'), 0x52415445);
  for (const code of Object.keys(KISS_CODES) as KissCode[]) {
    assert.equal(kissCode({ stratum: 0, referenceId: kissCodeToRefId(code) }), code);
  }
});
