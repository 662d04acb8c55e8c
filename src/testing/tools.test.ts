import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { findTool, interopVerdict, requireTool, ToolMissingError } from './tools.js';

test('a missing tool skips the test, naming the tool and the Debian package', () => {
  const v = interopVerdict(['ntpdig'], false);
  assert.equal(v.action, 'skip');
  assert.match(v.action === 'skip' ? v.reason : '', /ntpdig.*apt-get install ntpsec-ntpdate/);
});

test('under NTPKIT_REQUIRE_INTEROP=1 a missing tool fails instead', () => {
  const v = interopVerdict(['chronyd', 'libfaketime'], true);
  assert.equal(v.action, 'fail');
  assert.ok(v.action === 'fail' && v.error instanceof ToolMissingError);
  assert.match(v.action === 'fail' ? v.error.message : '', /chronyd, libfaketime.*chrony libfaketime/);
});

test('nothing missing: the test runs, whatever the policy', () => {
  assert.deepEqual(interopVerdict([], true), { action: 'run' });
  assert.deepEqual(interopVerdict([], false), { action: 'run' });
});

test('requireTool calls t.skip only when something is missing', () => {
  const skipped: string[] = [];
  const t = { skip: (m?: string) => void skipped.push(m ?? '') };
  const ok = requireTool(t);
  assert.equal(ok, true);
  assert.deepEqual(skipped, []);
});

test('findTool finds installed programs outside PATH (chronyd lives in /usr/sbin)', (t) => {
  if (!existsSync('/usr/sbin/chronyd')) {
    t.skip('no /usr/sbin/chronyd on this machine');
    return;
  }
  assert.equal(findTool('chronyd'), '/usr/sbin/chronyd');
});
