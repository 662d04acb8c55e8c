/**
 * Kiss-o'-death end to end: a real `ntpkit daemon` process polls a small
 * server on loopback that answers DENY, then the time, then RATE with poll
 * 17, as the test tells it. The daemon keeps asking a refusing server
 * (backing off within minpoll..maxpoll), shows the refusal in `sources -v`
 * and `ntpdata`, and `ntpkit online` and `ntpkit burst` ask it again at
 * once; a RATE naming poll 17 leaves the poll within maxpoll.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from '../cli/run-captured.test-helper.js';
import { fetchSnapshot } from '../control/commands.js';
import type { SourceSnapshot } from '../core/engine/snapshot.js';
import { type ManagedProcess, pollFor, type ScriptedNtpServer, spawnNtpkit, startScriptedNtpServer } from '../testing/index.js';

/** This file's loopback address (127.0.15.0/24 belongs to these tests); the port is any free one. */
const ADDRESS = '127.0.15.2';
const MINPOLL = 4;
const MAXPOLL = 6;

test('a refusing server is asked again within minpoll..maxpoll; online and burst ask it at once; RATE with poll 17 leaves the poll within maxpoll', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-kod-e2e-'));
  let server: ScriptedNtpServer | undefined;
  let daemon: ManagedProcess | undefined;
  try {
    server = await startScriptedNtpServer({ address: ADDRESS, answer: { kiss: 'DENY' } });
    const srv = server;
    const socket = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `server ${ADDRESS} port ${srv.port} iburst minpoll ${MINPOLL} maxpoll ${MAXPOLL}\ncontrolsocket ${socket}\nbindcmdaddress /\ncmdport 0\n`);
    daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    const d = daemon;
    const logs = (): string => `daemon log:\n${d.logs()}\nrequests: ${JSON.stringify(srv.requests)}`;
    const source = async (): Promise<SourceSnapshot | undefined> => (await fetchSnapshot(socket, { timeoutMs: 2000 }).catch(() => undefined))?.sources[0];
    const cli = async (...args: string[]): Promise<string> => {
      const r = await runCaptured([...args, '--socket', socket]);
      assert.equal(r.code, 0, `ntpkit ${args.join(' ')}: ${r.err}\n${logs()}`);
      return r.out;
    };

    // Refused: the source shows it, and its poll has backed off one step, not beyond maxpoll.
    const refused = await pollFor('the DENY to show', async () => { const s = await source(); return s?.kod?.code === 'DENY' ? s : undefined; }, 20_000, logs);
    const deniedAt = (srv.requests[0] as { at: number }).at;
    assert.equal(refused.verdict, 'unusable');
    assert.match(refused.reason, /KoD DENY/);
    assert.equal(refused.reach & 1, 0, 'a refusal sets no reach bit');
    assert.ok(refused.poll > MINPOLL && refused.poll <= MAXPOLL, `poll ${refused.poll}`);
    assert.match(d.logs(), new RegExp(`Received KoD DENY from ${ADDRESS.replaceAll('.', '\\.')}: the server refuses us`));
    assert.match((await cli('sources')).split('\n')[2] ?? '', new RegExp(`^\\^\\? ${ADDRESS.replaceAll('.', '\\.')} `));
    assert.match(await cli('sources', '-v'), new RegExp(`\\nKoD DENY from ${ADDRESS.replaceAll('.', '\\.')} \\d+ s ago: Access denied by remote server\\. Polling goes on`));
    assert.match(await cli('ntpdata', ADDRESS), /\nReference ID {4}: 44454E59 \(DENY\)\n[\s\S]*\nNTP tests {7}: 111 101 0000\n/);
    assert.match(await cli('activity'), /\n1 sources online\n/);

    // The server lets us in again; `online` asks now instead of at the backed-off poll.
    srv.set({});
    const before = srv.requests.length;
    await cli('online', ADDRESS);
    const served = await pollFor('a reply after online', async () => {
      const s = await source();
      return s !== undefined && (s.reach & 1) === 1 && s.kod === null ? s : undefined;
    }, 20_000, logs);
    const asked = (srv.requests[before] as { at: number }).at;
    // The next poll after the DENY was 2^5 s (less at most 5 % of jitter) after it.
    assert.ok(asked - deniedAt < 0.95 * 2 ** refused.poll * 1000, `online asked ${asked - deniedAt} ms after the DENY, the backed-off poll would have waited ${2 ** refused.poll} s`);
    assert.equal(served.poll, MINPOLL, 'back to minpoll once served');
    // Served again, it is held back only for the samples selection needs (3, as chronyd's), no longer by the refusal.
    assert.ok(served.verdict !== 'unusable' || /samples/.test(served.reason), `${served.verdict}: ${served.reason}`);

    // Refused again: a burst asks at once, and ends at the refusal.
    srv.set({ kiss: 'DENY' });
    let n = srv.requests.length;
    await cli('burst', '1/2', ADDRESS);
    await pollFor('the DENY after burst', async () => ((await source())?.kod?.code === 'DENY' ? true : undefined), 10_000, logs);
    assert.equal(srv.requests.length, n + 1, 'the refusal ended the burst');
    srv.set({});
    n = srv.requests.length;
    await cli('burst', '2/4', ADDRESS);
    await pollFor('replies to the burst', async () => { const s = await source(); return s !== undefined && s.kod === null && (s.reach & 0b11) === 0b11 ? true : undefined; }, 20_000, logs);
    assert.ok(srv.requests.length >= n + 2);

    // RATE naming poll 17 (2^17 s = 36 h): the poll stays within maxpoll, the burst ends.
    srv.set({ kiss: 'RATE', poll: 17 });
    await cli('burst', '1/4', ADDRESS);
    const rate = await pollFor('the RATE to show', async () => { const s = await source(); return s?.kod?.code === 'RATE' ? s : undefined; }, 20_000, logs);
    assert.ok(rate.poll >= MINPOLL && rate.poll <= MAXPOLL, `poll ${rate.poll} after a RATE with poll 17`);
    assert.match(await cli('ntpdata', ADDRESS), new RegExp(`\\nPoll interval {3}: ${rate.poll} \\(`));
    assert.match(d.logs(), /Received KoD RATE from 127\.0\.15\.2: the next request waits 4 poll intervals more/);

    const status = await d.stop(10_000);
    assert.deepEqual(status, { code: 0, signal: null }, logs());
  } finally {
    await daemon?.stop(3000);
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  }
});
