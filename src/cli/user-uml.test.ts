/**
 * `user` on a real kernel clock: inside User-mode Linux (the guest's kernel
 * is the only one a test may discipline), the daemon started as root with
 * `user nobody` runs as nobody keeping CAP_SYS_TIME and
 * CAP_NET_BIND_SERVICE, exactly what chronyd 4.3 keeps with clock control
 * and port 123, and still disciplines the clock: a step of the guest's
 * clock made after the drop is corrected. The guest side is
 * src/testing/uml-guest-user.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { requireTool } from '../testing/tools.js';
import { requireUml, runInUml } from '../testing/uml.js';
import type { UserResult } from '../testing/uml-guest-user.js';

/** nobody's id in the guest, which shares the host's /etc/passwd through hostfs (Debian's 65534). */
const NOBODY = '65534';
const CAP_NET_BIND_SERVICE = 10n;
const CAP_SYS_TIME = 25n;

test('user nobody in a User-mode Linux guest: the daemon drops to nobody with CAP_SYS_TIME and CAP_NET_BIND_SERVICE, and still corrects the clock', { timeout: 400_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const helper = fileURLToPath(new URL('../testing/uml-guest-user.js', import.meta.url));
  const uml = await runInUml({ command: [process.execPath, helper, '192.168.77.1'], chronyd: true, timeoutMs: 360_000 });
  const line = uml.output.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line !== undefined, `${uml.output}\n${uml.console}`);
  const r = JSON.parse(line.slice(7)) as UserResult;
  assert.match(r.log, /Dropped root privileges: UID \d+ GID \d+ \(nobody\)/, r.log);
  assert.deepEqual(r.uid, [NOBODY, NOBODY, NOBODY, NOBODY], r.log);
  assert.deepEqual(r.gid, [NOBODY, NOBODY, NOBODY, NOBODY], r.log);
  const kept = (1n << CAP_SYS_TIME) | (1n << CAP_NET_BIND_SERVICE);
  assert.equal(BigInt(`0x${r.capEff}`), kept, `CapEff ${r.capEff}`);
  assert.equal(BigInt(`0x${r.capPrm}`), kept, `CapPrm ${r.capPrm}`);
  // Synchronized once, then stepped 0.5 s ahead from outside: only a daemon that can still set the clock brings it back.
  assert.ok(r.synced !== null && Math.abs(r.synced) < 0.05, `first synchronization: ${String(r.synced)}\n${r.log}`);
  // The step shows either in the measurement right after it or, when the daemon (polling every second) was quicker, as its own step back of about -0.5 s.
  const stepBack = /clock was stepped by (-0\.[456]\d*) seconds/.exec(r.logAfterStep);
  assert.ok((r.afterStep !== null && r.afterStep < -0.4) || stepBack !== null, `the outside step shows neither in the measurement (${String(r.afterStep)}) nor as the daemon's step back:\n${r.logAfterStep}`);
  assert.ok(r.corrected !== null && Math.abs(r.corrected) < 0.05, `corrected after the drop: ${String(r.corrected)}\n${r.log}`);
  assert.doesNotMatch(r.log, /EPERM|Operation not permitted/, r.log);
  assert.equal(r.exitCode, 0, r.log);
});
