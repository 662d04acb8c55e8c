/**
 * A reload (SIGHUP, `ntpkit reload`) moves chronyc's command endpoints as
 * the new bindcmdaddress, cmdport and cmdallow lines say, judged by the real
 * chronyc: the new port and socket answer, the old ones are closed, the
 * new rules decide cmdaccheck. A reload whose new port cannot be opened
 * (taken) fails with the reason and keeps the old endpoints serving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort, type ManagedProcess, pollFor, requireTool, runToCompletion, spawnNtpkit, toolPath } from '../testing/index.js';
import { runCaptured } from './run-captured.test-helper.js';

const FIRST = '127.0.52.10';
const SECOND = '127.0.52.11';
const TAKEN = '127.0.52.12';

async function chronyc(args: readonly string[]): Promise<{ code: number | null; out: string }> {
  const r = await runToCompletion(toolPath('chronyc'), args, { timeoutMs: 20_000 });
  return { code: r.status.code, out: r.stdout + r.stderr };
}

/** Whether chronyc gets tracking from this endpoint. */
async function answers(args: readonly string[]): Promise<boolean> {
  const r = await chronyc([...args, 'tracking']);
  return r.code === 0 && /^Reference ID/m.test(r.out);
}

test('a reload moves the command endpoints and rules; a port that cannot be opened fails the reload and keeps the old ones', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyc')) return;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-reload-endpoints-'));
  const blocker = createSocket('udp4');
  let daemon: ManagedProcess | undefined;
  try {
    const control = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    const config = (sock: string, address: string, port: number, extra: readonly string[] = []): string =>
      [`controlsocket ${control}`, `bindcmdaddress ${join(dir, sock)}`, `bindcmdaddress ${address}`, `cmdport ${port}`, ...extra, ''].join('\n');
    const p1 = await freeUdpPort(FIRST);
    await writeFile(conf, config('one.sock', FIRST, p1));
    daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    const d = daemon;
    const first = ['-h', FIRST, '-p', String(p1)];
    await pollFor('the first endpoints', async () => ((await answers(first)) ? true : undefined), 20_000, () => d.logs());
    assert.ok(await answers(['-h', join(dir, 'one.sock')]));
    assert.match((await chronyc(['-h', join(dir, 'one.sock'), 'cmdaccheck', '192.0.2.1'])).out, /209 Access denied/);

    // SIGHUP with another address, port, socket and a cmdallow line.
    const p2 = await freeUdpPort(SECOND);
    await writeFile(conf, config('two.sock', SECOND, p2, ['cmdallow 192.0.2.0/24']));
    process.kill(d.pid, 'SIGHUP');
    const second = ['-h', SECOND, '-p', String(p2)];
    await pollFor('the second endpoints', async () => ((await answers(second)) ? true : undefined), 20_000, () => d.logs());
    assert.ok(await answers(['-h', join(dir, 'two.sock')]));
    assert.equal(existsSync(join(dir, 'one.sock')), false, 'the old socket is gone');
    const old = await chronyc([...first, 'tracking']);
    assert.match(old.out, /506 Cannot talk to daemon/);
    assert.match((await chronyc(['-h', join(dir, 'two.sock'), 'cmdaccheck', '192.0.2.1'])).out, /208 Access allowed/);

    // A port another socket holds: the reload fails, naming it, and the second endpoints go on serving.
    await new Promise<void>((r) => blocker.bind(0, TAKEN, r));
    const p3 = blocker.address().port;
    await writeFile(conf, config('three.sock', TAKEN, p3));
    const r = await runCaptured(['reload', '--socket', control]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, new RegExp(`command port ${TAKEN.replace(/\./g, '\\.')}:${p3}.*the running configuration stays in force`));
    assert.ok(await answers(second));
    assert.ok(await answers(['-h', join(dir, 'two.sock')]));
    assert.equal(existsSync(join(dir, 'three.sock')), false, 'the new socket opened for the failed reload is closed again');
    assert.match((await chronyc(['-h', join(dir, 'two.sock'), 'cmdaccheck', '192.0.2.1'])).out, /208 Access allowed/);
  } finally {
    blocker.close();
    await daemon?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
