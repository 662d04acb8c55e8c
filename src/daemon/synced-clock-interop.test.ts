/**
 * The library against real chronyd servers on loopback, with the real
 * engine: it synchronizes, its time agrees with this machine's clock (which
 * the servers share), and it does not keep a Node program alive.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { realtime } from '../clock/realtime.js';
import { type ChronydServer, type LoopbackBlock, requireTool, reserveLoopbackBlock, runToCompletion, startChronydServer } from '../testing/index.js';
import { diffSeconds } from '../time/instant.js';
import { createSyncedClock } from './synced-clock.js';

let block: LoopbackBlock | undefined;
before(async () => { block = await reserveLoopbackBlock('synced-clock-interop.test', 3); });
after(() => block?.release());

test('createSyncedClock follows 3 chronyd servers to within 1 ms of the shared clock', { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const servers: ChronydServer[] = [];
  try {
    for (const address of (block as LoopbackBlock).addresses) servers.push(await startChronydServer({ address }));
    const clock = await createSyncedClock({
      servers: servers.map((s) => ({ host: s.address, iburst: true, minpoll: 0, maxpoll: 2 })),
      virtualClock: { offsetSeconds: -0.7, frequencyErrorPpm: 25 },
      resolve: async (h) => { throw new Error(`no DNS in tests (${h})`); },
    });
    const events: string[] = [];
    clock.on('step', (e) => events.push(`step ${e.seconds}`));
    clock.on('synchronized', () => events.push('synchronized'));
    try {
      await clock.whenSynchronized(20_000);
      // makestep 0.1 3 (the library's default with `servers`): the 0.7 s go in a step.
      let err = Infinity;
      for (let i = 0; i < 100 && Math.abs(err) >= 1e-3; i++) {
        await new Promise((r) => setTimeout(r, 200));
        err = diffSeconds(clock.now(), realtime());
      }
      assert.ok(Math.abs(err) < 1e-3, `error ${err} s; events ${events.join(', ')}`);
      assert.ok(events.some((e) => e.startsWith('step ')), events.join(', '));
      const s = clock.status();
      assert.equal(s.tracking.synchronized, true);
      assert.equal(s.tracking.stratum, 2);
      assert.equal(s.sources.length, 3);
      assert.ok(s.sources.every((x) => x.reach > 0));
    } finally {
      await clock.close();
    }
  } finally {
    for (const s of servers) await s.stop();
  }
});

test('a program that only reads the synced clock exits on its own', { timeout: 30_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const server = await startChronydServer({ address: (block as LoopbackBlock).addresses[0] });
  try {
    const lib = new URL('./synced-clock.js', import.meta.url).href;
    const code = [
      `import { createSyncedClock } from ${JSON.stringify(lib)};`,
      `const c = await createSyncedClock({ servers: [{ host: ${JSON.stringify(server.address)}, iburst: true, minpoll: 0, maxpoll: 1 }] });`,
      'await c.whenSynchronized(10000);',
      'console.log(c.isoString());',
    ].join('\n');
    const started = Date.now();
    const r = await runToCompletion(process.execPath, ['--input-type=module', '-e', code], { timeoutMs: 20_000 });
    assert.deepEqual(r.status, { code: 0, signal: null }, r.stderr);
    assert.match(r.stdout.trim(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.ok(Date.now() - started < 15_000, 'it exited once synchronized, without close()');
  } finally {
    await server.stop();
  }
});
