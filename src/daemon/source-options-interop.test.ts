/**
 * Source options beside real chronyd 4.3: one chronyd server on 127.0.23.10,
 * polled by a chronyd client (-x) and by `ntpkit daemon` (virtual clock)
 * with the same `server` line. Both must report the `offset` correction in
 * ntpdata's Offset and the `minstratum` stratum in sources. `noselect`
 * keeps both clocks where they are, so the offsets compare directly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fetchSnapshot } from '../control/commands.js';
import { type ChronydProcess, type ChronydServer, type ManagedProcess, requireTool, spawnNtpkit, startChronydClient, startChronydServer, toolPath } from '../testing/index.js';
import { runCaptured } from '../cli/run-captured.test-helper.js';

const SERVER = '127.0.23.10';
const LINE = 'iburst minpoll 0 maxpoll 0 noselect offset 0.25 minstratum 4';
const DEADLINE_MS = 30_000;

/** A field of chronyc's or ntpkit's ntpdata report, e.g. "Offset". */
function field(text: string, name: string): string | null {
  const m = new RegExp(`^${name}\\s*: (.*)$`, 'm').exec(text);
  return m === null ? null : (m[1] as string).trim();
}

test('offset and minstratum: ntpkit reports what chronyd reports for the same server line', { timeout: 90_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-srcopts-'));
  let server: ChronydServer | undefined;
  let client: ChronydProcess | undefined;
  let daemon: ManagedProcess | undefined;
  try {
    server = await startChronydServer({ address: SERVER });
    client = await startChronydClient({ servers: [{ address: SERVER, options: LINE }], extraConfig: ['bindcmdaddress {dir}/chronyc.sock'] });
    const chronyc = (...args: string[]) => promisify(execFile)(toolPath('chronyc'), ['-h', join(client?.dir as string, 'chronyc.sock'), ...args]);
    const socket = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, [`server ${SERVER} ${LINE}`, 'port 0', `controlsocket ${socket}\nbindcmdaddress /\ncmdport 0`, ''].join('\n'));
    daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);

    const started = Date.now();
    let theirs = '';
    let ours = '';
    let last = '';
    for (;;) {
      assert.ok(Date.now() - started < DEADLINE_MS, `no ntpdata from both within ${DEADLINE_MS / 1000} s: ${last}\n${daemon.logs()}`);
      await new Promise((r) => setTimeout(r, 1000));
      try {
        theirs = (await chronyc('ntpdata', SERVER)).stdout;
        ours = (await runCaptured(['ntpdata', '--socket', socket])).out;
      } catch (e) {
        last = (e as Error).message;
        continue;
      }
      if (field(theirs, 'Total valid RX') !== null && Number(field(theirs, 'Total valid RX')) >= 3 && Number(field(ours, 'Total valid RX') ?? 0) >= 3) break;
      last = `chronyd:\n${theirs}\nntpkit:\n${ours}`;
    }
    const offset = (text: string): number => Number.parseFloat(field(text, 'Offset') ?? 'NaN');
    // Every process shares this clock: the measured offset is the 0.25 s correction plus loopback noise.
    assert.ok(Math.abs(offset(theirs) - 0.25) < 0.001, `chronyd: ${field(theirs, 'Offset')}`);
    assert.ok(Math.abs(offset(ours) - 0.25) < 0.001, `ntpkit: ${field(ours, 'Offset')}`);
    assert.equal(field(ours, 'NTP tests'), field(theirs, 'NTP tests'));

    // chronyc sources' stratum column (after the mode and state characters and the name).
    const theirSources = (await chronyc('-n', 'sources')).stdout;
    const row = theirSources.split('\n').find((l) => l.includes(SERVER)) ?? '';
    const theirStratum = Number(row.slice(2).trim().split(/\s+/)[1]);
    assert.equal(theirStratum, 4, theirSources);
    const snap = await fetchSnapshot(socket, { timeoutMs: 2000 });
    assert.equal(snap.sources[0]?.stratum, theirStratum);
  } finally {
    await daemon?.stop(5000);
    await client?.stop();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
