/**
 * manual on|off|list|delete against the live daemon (virtual clock): manual
 * on lets settime in where the config has no `manual`, each settime becomes a
 * sample in manual list (chronyc's layout and CSV), delete removes it, off
 * refuses settime again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withNtpkitDaemon } from '../testing/index.js';
import { runCaptured } from './run-captured.test-helper.js';

test('manual on enables settime, list shows its sample, delete removes it, off refuses settime again', { timeout: 90_000 }, async () => {
  await withNtpkitDaemon('server 127.0.34.49 iburst\nmakestep 1 -1', async (socket) => {
    const settime = (): Promise<{ code: number; out: string; err: string }> => runCaptured(['settime', '--socket', socket, `@${(Date.now() / 1000 + 100).toFixed(3)}`]);
    assert.equal((await settime()).code, 1);
    assert.equal((await runCaptured(['manual', 'on', '--socket', socket])).out, '200 OK\n');
    assert.equal((await settime()).code, 0);
    const list = await runCaptured(['manual', 'list', '--socket', socket]);
    const m = /^210 n_samples = 1\n# {4}Date {5}Time\(UTC\) {4}Slewed {3}Original {3}Residual\n={55}\n 0 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d +(-?\d+\.\d\d) +(-\d+\.\d\d) +0\.00\n$/.exec(list.out);
    assert.ok(m !== null, list.out);
    // The clock was 100 s behind the time given (Original); the settime stepped it (makestep), which chronyd's
    // manual.c carries into the sample: Slewed is what is left of that offset, nothing.
    assert.ok(Number(m[2]) < -99 && Number(m[2]) > -100.1, list.out);
    assert.equal(Math.abs(Number(m[1])), 0, list.out);
    assert.match((await runCaptured(['manual', 'list', '-c', '--socket', socket])).out, /^0,\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,-?0\.00,-\d+\.\d\d,0\.00\n$/);
    assert.equal((await runCaptured(['manual', 'delete', '3', '--socket', socket])).code, 1);
    assert.equal((await runCaptured(['manual', 'delete', '0', '--socket', socket])).out, '200 OK\n');
    assert.match((await runCaptured(['manual', 'list', '--socket', socket])).out, /^210 n_samples = 0\n/);
    assert.equal((await runCaptured(['manual', 'off', '--socket', socket])).out, '200 OK\n');
    assert.equal((await settime()).code, 1);
    assert.equal((await runCaptured(['manual', 'sometimes', '--socket', socket])).code, 2);
  });
});
