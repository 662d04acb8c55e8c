/**
 * rtcsync on a real kernel clock: inside User-mode Linux (the guest's kernel
 * is the only one a test may discipline), the daemon with `rtcsync` leaves
 * STA_UNSYNC clear once synchronized, so the guest kernel's 11-minute mode
 * would write its RTC, with the error bounds it writes; without `rtcsync`
 * STA_UNSYNC stays set, as chronyd leaves it. The guest side is
 * src/testing/uml-guest-rtcsync.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { requireTool } from '../testing/tools.js';
import { requireUml, runInUml } from '../testing/uml.js';
import type { RtcsyncResult } from '../testing/uml-guest-rtcsync.js';

test('rtcsync in a User-mode Linux guest: STA_UNSYNC cleared while synchronized; without it, left set', { timeout: 400_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const helper = fileURLToPath(new URL('../testing/uml-guest-rtcsync.js', import.meta.url));
  const uml = await runInUml({ command: [process.execPath, helper, '192.168.77.1'], chronyd: true, timeoutMs: 360_000 });
  const results = uml.output.split('\n').filter((l) => l.startsWith('RESULT ')).map((l) => JSON.parse(l.slice(7)) as RtcsyncResult);
  const on = results.find((r) => r.rtcsync);
  const off = results.find((r) => !r.rtcsync);
  assert.ok(on !== undefined && off !== undefined, `${uml.output}\n${uml.console}`);
  assert.ok(on.selected && off.selected, `${on.log}\n${off.log}`);
  assert.equal(on.unsync, false, on.log);
  // Synchronized: the bounds written are the daemon's, far below the 16 s of an unsynchronized clock (us).
  assert.ok(on.maxerror < 16_000_000 && on.esterror < 16_000_000, JSON.stringify(on));
  assert.equal(off.unsync, true, off.log);
});
