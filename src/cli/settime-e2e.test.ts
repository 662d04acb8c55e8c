import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daemonClockAhead, withNtpkitDaemon } from '../testing/index.js';
import { runCaptured } from './run-captured.test-helper.js';
import { parseSettime } from './settime-command.js';

// No source answers at 127.0.24.2: only settime moves the clock.
const withDaemon = (lines: string, fn: (socket: string) => Promise<void>): Promise<void> => withNtpkitDaemon(`server 127.0.24.2 iburst\n${lines}`, fn);


test('settime with manual and makestep: the clock is stepped to the time given; the reply is chronyc\'s line', { timeout: 90_000 }, async () => {
  await withDaemon('manual\nmakestep 1 -1\n', async (socket) => {
    assert.ok(Math.abs(await daemonClockAhead(socket)) < 0.5);
    const target = (Date.now() / 1000 + 100).toFixed(3);
    const r = await runCaptured(['settime', '--socket', socket, `@${target}`]);
    assert.equal(r.code, 0, r.err);
    const m = /^200 OK\nClock was (-?\d+\.\d\d) seconds fast\. {2}Frequency change = 0\.00ppm, new frequency = -?\d+\.\d\dppm\n$/.exec(r.out);
    assert.ok(m !== null, r.out);
    // 100 s behind the time given, less what passed between reading Date.now() and the daemon's reading.
    assert.ok(Number(m[1]) < -99 && Number(m[1]) > -100.01, r.out);
    const ahead = await daemonClockAhead(socket);
    assert.ok(ahead > 99 && ahead < 100.5, `clock ${ahead} s ahead after settime`);
  });
});

test('settime without manual: refused as chronyd refuses it (505 Facility not enabled in daemon), the clock untouched', { timeout: 90_000 }, async () => {
  await withDaemon('makestep 1 -1\n', async (socket) => {
    const r = await runCaptured(['settime', '--socket', socket, `@${(Date.now() / 1000 + 100).toFixed(3)}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /^ntpkit settime: Facility not enabled in daemon: settime needs the manual directive/);
    assert.ok(Math.abs(await daemonClockAhead(socket)) < 0.5);
  });
});

test('settime without makestep: slewed, not stepped, as chronyd\'s manual reference is', { timeout: 90_000 }, async () => {
  await withDaemon('manual\n', async (socket) => {
    const r = await runCaptured(['settime', '--socket', socket, `@${(Date.now() / 1000 + 1).toFixed(3)}`]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Clock was -\d\.\d\d seconds fast/);
    // A slew at up to 83333 ppm takes at least 12 s for 1 s: just after, most of it is still to come.
    assert.ok(await daemonClockAhead(socket) < 0.5);
  });
});

test('settime TIME forms: HH:MM:SS is today in local time, ISO 8601, @UNIX; others refused', () => {
  const today = new Date(2026, 11, 7, 3, 4, 5);
  assert.equal(parseSettime('16:30:05', today), String(new Date(2026, 11, 7, 16, 30, 5).getTime() / 1000));
  assert.equal(parseSettime('16:30:05.25', today), `${new Date(2026, 11, 7, 16, 30, 5).getTime() / 1000}.25`);
  assert.equal(parseSettime('2026-12-07T16:30:05.5Z'), '1796661005.500');
  assert.equal(parseSettime('@1700000000.123456789'), '1700000000.123456789');
  for (const bad of ['25:00', 'noon', '2026-12-07', '@-1', '16:61']) assert.equal(parseSettime(bad, today), null, bad);
});
