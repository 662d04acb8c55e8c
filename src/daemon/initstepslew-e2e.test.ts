import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchSnapshot } from '../control/commands.js';
import { daemonClockAhead, pollFor, spawnNtpkit, startScriptedNtpServer } from '../testing/index.js';

/** The true time, served on port 123 as initstepslew asks it. */
const HOST = '127.0.24.3';


/** A daemon whose virtual clock starts `offset` s ahead, with initstepslew at 1 s; no other source. */
async function withDaemon(offset: number, fn: (logs: () => string, socket: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-isl-'));
  const socket = join(dir, 'ntpkit.sock');
  const conf = join(dir, 'chrony.conf');
  await writeFile(conf, `initstepslew 1 ${HOST}\ncontrolsocket ${socket}\nbindcmdaddress /\ncmdport 0\n`);
  const d = await spawnNtpkit(['daemon', '-f', conf, '--virtual-offset', String(offset)]);
  try {
    await pollFor('the control socket', async () => (await fetchSnapshot(socket).then(() => true, () => undefined)), 30_000, () => d.logs());
    await fn(() => d.logs(), socket);
  } finally {
    await d.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

test('initstepslew: a clock 5 s fast is stepped before polling starts, with chronyd\'s line', { timeout: 90_000 }, async () => {
  const server = await startScriptedNtpServer({ address: HOST, port: 123 });
  try {
    await withDaemon(5, async (logs, socket) => {
      const m = /System's initial offset : (\d+\.\d{6}) seconds fast of true \(step\)/.exec(logs());
      assert.ok(m !== null, logs());
      // 5 s within the loopback round trips' bounds (a few ms even on a loaded host).
      assert.ok(Math.abs(Number(m[1]) - 5) < 0.05, m[1]);
      assert.ok(Math.abs(await daemonClockAhead(socket)) < 0.05);
    });
  } finally {
    await server.close();
  }
});

test('initstepslew: an offset under the threshold is slewed out, not stepped', { timeout: 90_000 }, async () => {
  const server = await startScriptedNtpServer({ address: HOST, port: 123 });
  try {
    await withDaemon(-0.5, async (logs, socket) => {
      assert.match(logs(), /System's initial offset : 0\.\d{6} seconds slow of true \(slew\)/);
      // Not stepped: just after the start most of the 0.5 s is still there, then the slew (at most 83333 ppm: 6 s) takes it out.
      const first = await daemonClockAhead(socket);
      assert.ok(first < -0.1, `clock ${first} s ahead just after the start`);
      await pollFor('the slew to end', async () => (Math.abs(await daemonClockAhead(socket)) < 0.05 ? true : undefined), 30_000, logs);
    });
  } finally {
    await server.close();
  }
});

test('initstepslew with no host answering: chronyd\'s line, the daemon starts and the clock is untouched', { timeout: 90_000 }, async () => {
  await withDaemon(5, async (logs, socket) => {
    assert.match(logs(), /No suitable source for initstepslew \(/);
    assert.ok(Math.abs((await daemonClockAhead(socket)) - 5) < 0.05);
  });
});
