/**
 * doffset, local, accheck, rtcdata and shutdown against the live daemon
 * (virtual clock; its one source never answers), each by its effect: the
 * clock moves, the NTP server answers with the stratum asked for, the
 * process exits and removes its files; accheck and rtcdata answer as chronyc
 * does against chronyd with the same rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { daemonClockAhead, type ManagedProcess, pollFor, probeNtp, requireTool, startChronydClient, withNtpkitDaemon, toolPath } from '../testing/index.js';
import { runCaptured } from './run-captured.test-helper.js';
import { parseLocalArgs } from './local-command.js';

/** Nothing listens here. */
const SILENT = '127.0.34.9';
/** The daemon's NTP server. */
const SERVED = '127.0.34.5';
const RULES = ['allow 127.0.34.0/24', 'deny 127.0.34.7'];

const withDaemon = (lines: string, fn: (socket: string, dir: string, d: ManagedProcess) => Promise<void>): Promise<void> =>
  withNtpkitDaemon((dir) => `server ${SILENT} iburst\n${lines}\npidfile ${dir}/ntpkit.pid`, fn);

function chronyc(sock: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(toolPath('chronyc'), ['-h', sock, ...args], { timeout: 10_000 }, (e, out) => {
      resolve({ code: e === null ? 0 : Number((e as { code?: unknown }).code), out });
    });
  });
}

test('doffset slews the clock by minus the offset given (negative: the clock is behind and moves forward)', { timeout: 90_000 }, async () => {
  await withDaemon('', async (socket) => {
    assert.ok(Math.abs(await daemonClockAhead(socket)) < 0.2);
    assert.deepEqual(await runCaptured(['doffset', '--socket', socket, '-0.5']), { code: 0, out: '200 OK\n', err: '' });
    // A slew, not a step: at chronyd's 83333 ppm, 0.5 s takes 6 s.
    await pollFor('the clock 0.45 s ahead', async () => ((await daemonClockAhead(socket)) > 0.45 ? true : undefined), 30_000);
    assert.ok((await daemonClockAhead(socket)) < 0.7);
    const bad = await runCaptured(['doffset', '--socket', socket, 'soon']);
    assert.equal(bad.code, 2);
  });
});

test('local stratum N makes the unsynchronised server answer as stratum N; local off makes it unsynchronised again', { timeout: 90_000 }, async () => {
  await withDaemon(`allow 127.0.34.0/24\nbindaddress ${SERVED}`, async (socket) => {
    const before = await probeNtp(SERVED, 123, { sourceAddress: '127.0.34.6', timeoutMs: 3000 });
    assert.equal(before.synchronized, false);
    assert.equal((await runCaptured(['local', 'stratum', '8', '--socket', socket])).out, '200 OK\n');
    const on = await probeNtp(SERVED, 123, { sourceAddress: '127.0.34.6', timeoutMs: 3000 });
    assert.equal(on.synchronized, true);
    assert.equal(on.header.stratum, 8);
    assert.equal((await runCaptured(['local', 'off', '--socket', socket])).out, '200 OK\n');
    assert.equal((await probeNtp(SERVED, 123, { sourceAddress: '127.0.34.6', timeoutMs: 3000 })).synchronized, false);
    assert.equal((await runCaptured(['local', 'stratum', '16', '--socket', socket])).code, 2);
  });
  assert.deepEqual(parseLocalArgs([]), { enable: true });
  assert.deepEqual(parseLocalArgs(['stratum', '3', 'orphan', 'distance', '0.5']), { enable: true, stratum: 3, orphan: true, distance: 0.5 });
});

test('accheck and rtcdata print what chronyc prints against chronyd with the same allow/deny rules', { timeout: 90_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  const ours: string[] = [];
  const addresses = ['127.0.34.6', '127.0.34.7', '10.1.2.3'];
  // Bound to its own address: on the wildcard, port 123 would clash with other tests' servers on 127.0.x.y:123.
  await withDaemon([...RULES, `bindaddress ${SERVED}`].join('\n'), async (socket) => {
    for (const a of addresses) {
      const r = await runCaptured(['accheck', '--socket', socket, a]);
      assert.equal(r.code, 0);
      ours.push(r.out);
    }
    const rtc = await runCaptured(['rtcdata', '--socket', socket]);
    assert.equal(rtc.code, 1);
    ours.push(rtc.out);
  });
  assert.deepEqual(ours.slice(0, 3), ['208 Access allowed\n', '209 Access denied\n', '209 Access denied\n']);
  const chronyd = await startChronydClient({ servers: [{ address: SILENT }], extraConfig: ['bindcmdaddress {dir}/chronyd.sock', ...RULES] });
  try {
    const sock = join(chronyd.dir, 'chronyd.sock');
    await pollFor('chronyd\'s command socket', async () => ((await chronyc(sock, 'tracking')).code === 0 ? true : undefined), 20_000, () => chronyd.logs());
    const theirs: string[] = [];
    for (const a of addresses) theirs.push((await chronyc(sock, 'accheck', a)).out);
    const rtc = await chronyc(sock, 'rtcdata');
    assert.equal(rtc.code, 1);
    theirs.push(rtc.out);
    assert.deepEqual(ours, theirs);
  } finally {
    await chronyd.stop();
  }
});

test('shutdown: 200 OK, then the daemon exits 0 and removes its control socket and pidfile', { timeout: 90_000 }, async () => {
  await withDaemon('', async (socket, dir, d) => {
    assert.ok(existsSync(join(dir, 'ntpkit.pid')));
    assert.deepEqual(await runCaptured(['shutdown', '--socket', socket]), { code: 0, out: '200 OK\n', err: '' });
    const status = await Promise.race([d.exited, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
    assert.deepEqual(status, { code: 0, signal: null }, d.logs());
    assert.equal(existsSync(socket), false);
    assert.equal(existsSync(join(dir, 'ntpkit.pid')), false);
  });
});
