/**
 * waitsync against real daemons: ntpkit's daemon (virtual clock) with a
 * chronyd server that answers at once, and with a source where nothing
 * listens; chronyc waitsync against chronyd in the second situation gives
 * the layout of the lines to match.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pollFor, requireTool, withNtpkitDaemon, startChronydClient, startChronydServer, toolPath } from '../testing/index.js';
import { runCaptured } from './run-captured.test-helper.js';
import { parseWaitsyncArgs } from './waitsync-command.js';

const SERVER = '127.0.34.2';
/** Nothing listens here. */
const SILENT = '127.0.34.9';

const TRY = /^try: (\d+), refid: ([0-9A-F]{8}), correction: (\d+\.\d{9}), skew: (\d+\.\d{3})$/;

test('waitsync exits 0 once the daemon follows a source within the limits, printing chronyc\'s try lines', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const server = await startChronydServer({ address: SERVER, stratum: 1 });
  try {
    await withNtpkitDaemon(`server ${SERVER} iburst minpoll 0 maxpoll 0\nmakestep 1 -1`, async (socket) => {
      const r = await runCaptured(['waitsync', '--socket', socket, '120', '0.01', '0', '0.25']);
      assert.equal(r.code, 0, r.out + r.err);
      const lines = r.out.trim().split('\n');
      lines.forEach((l, i) => assert.equal(TRY.exec(l)?.[1], String(i + 1), l));
      const last = TRY.exec(lines.at(-1) as string) as RegExpExecArray;
      // 127.0.34.2's refid, and a correction within the limit asked for.
      assert.equal(last[2], '7F002202');
      assert.ok(Number(last[3]) <= 0.01, last[3]);
      const csv = await runCaptured(['waitsync', '--socket', socket, '1', '0', '0', '0.1', '-c']);
      assert.equal(csv.code, 0);
      assert.match(csv.out, /^1,7F002202,\d+\.\d{9},\d+\.\d{3}\n$/);
    });
  } finally {
    await server.stop();
  }
});

test('waitsync exits 1 after MAX-TRIES tries when no source answers, as chronyc waitsync does against chronyd', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  let ours = '';
  await withNtpkitDaemon(`server ${SILENT} iburst`, async (socket) => {
    const started = Date.now();
    const r = await runCaptured(['waitsync', '--socket', socket, '3', '0', '0', '0.2']);
    assert.equal(r.code, 1, r.err);
    // Three tries, two waits of 0.2 s between them.
    assert.ok(Date.now() - started >= 400);
    ours = r.out;
  });
  const chronyd = await startChronydClient({ servers: [{ address: SILENT, options: 'iburst' }], extraConfig: ['bindcmdaddress {dir}/chronyd.sock'] });
  try {
    const sock = join(chronyd.dir, 'chronyd.sock');
    const theirs = await pollFor('chronyc waitsync', () => new Promise<string | undefined>((resolve) => {
      execFile(toolPath('chronyc'), ['-h', sock, 'waitsync', '3', '0', '0', '0.2'], { timeout: 10_000 }, (e, out) => {
        resolve(e !== null && (e as { code?: unknown }).code === 1 && out.includes('try: 3') ? out : undefined);
      });
    }), 20_000, () => chronyd.logs());
    assert.equal(ours, theirs);
  } finally {
    await chronyd.stop();
  }
});

test('waitsync arguments: chronyc\'s defaults, an interval of at least 0.1 s, anything else a usage error', async () => {
  assert.deepEqual(parseWaitsyncArgs([]), { maxTries: 0, maxCorrection: 0, maxSkewPpm: 0, interval: 10 });
  assert.deepEqual(parseWaitsyncArgs(['5', '0.5', '10', '0.01']), { maxTries: 5, maxCorrection: 0.5, maxSkewPpm: 10, interval: 0.1 });
  assert.equal(parseWaitsyncArgs(['x']), null);
  assert.equal(parseWaitsyncArgs(['1.5']), null);
  const r = await runCaptured(['waitsync', 'soon']);
  assert.equal(r.code, 2);
  assert.match(r.err, /Invalid syntax/);
});
