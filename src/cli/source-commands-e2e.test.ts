/**
 * reset sources and the per-source option commands against the live daemon
 * (virtual clock) polling a chronyd server every second: their effects show
 * in the reports, not only in the reply.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchSnapshot } from '../control/commands.js';
import { pollFor, requireTool, withNtpkitDaemon, startChronydServer } from '../testing/index.js';
import { runCaptured } from './run-captured.test-helper.js';

const SERVER = '127.0.34.3';

const samples = async (socket: string): Promise<number> => (await fetchSnapshot(socket)).sources[0]?.stats.samples ?? -1;

test('reset sources empties sourcestats; minpoll shows in sources\' Poll; maxdelay fails test A; an unknown source is refused', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const server = await startChronydServer({ address: SERVER, stratum: 1 });
  try {
    await withNtpkitDaemon(`server ${SERVER} iburst minpoll 0 maxpoll 0`, async (socket) => {
      await pollFor('6 samples', async () => ((await samples(socket)) >= 6 ? true : undefined), 60_000);
      const r = await runCaptured(['reset', 'sources', '--socket', socket]);
      assert.deepEqual(r, { code: 0, out: '200 OK\n', err: '' });
      // One request a second: at most a sample or two can have come in since.
      const after = await samples(socket);
      assert.ok(after <= 2, `${after} samples just after reset sources`);

      assert.equal((await runCaptured(['minpoll', SERVER, '3', '--socket', socket])).out, '200 OK\n');
      // chronyd keeps maxpoll >= minpoll: the poll goes to 3 and stays.
      await pollFor('Poll 3 in sources -c', async () => {
        const csv = (await runCaptured(['sources', '-c', '--socket', socket])).out;
        return csv.split(',')[4] === '3' ? true : undefined;
      }, 30_000);

      assert.equal((await runCaptured(['maxpoll', SERVER, '0', '--socket', socket])).out, '200 OK\n');
      assert.equal((await runCaptured(['maxdelay', SERVER, '1e-9', '--socket', socket])).out, '200 OK\n');
      // The next replies fail test A (maxdelay): ntpdata's fourth NTP test field starts with 0.
      await pollFor('test A failing in ntpdata -c', async () => {
        const f = (await runCaptured(['ntpdata', '-c', '--socket', socket])).out.trim().split(',');
        return f[25]?.startsWith('0') ? true : undefined;
      }, 30_000);

      const bad = await runCaptured(['minpoll', '127.0.34.99', '3', '--socket', socket]);
      assert.equal(bad.code, 1);
      assert.match(bad.err, /No such source: 127\.0\.34\.99/);
      const usage = await runCaptured(['minpoll', SERVER, 'x', '--socket', socket]);
      assert.equal(usage.code, 2);
      const range = await runCaptured(['maxpoll', SERVER, '99', '--socket', socket]);
      assert.equal(range.code, 1);
      assert.match(range.err, /from -6 to 24/);
    });
  } finally {
    await server.stop();
  }
});
