/**
 * A daemon without the dashboard does not load prom-client: its default
 * metrics watch the event loop with a 10 ms timer, which was most of an idle
 * daemon's CPU. The exporter comes with the first listener. This file runs
 * in a process of its own (node --test), so nothing else loaded the package
 * before. Address: 127.0.54.200.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { DaemonHttp } from './daemon-http.js';

const promClientLoaded = (): boolean => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/prom-client/'));

test('DaemonHttp loads prom-client only when it listens', async () => {
  const lines: string[] = [];
  const source = {
    snapshot: () => { throw new Error('no snapshot in this test'); },
    serverStats: () => null,
  };
  const http = new DaemonHttp(source, { log: (l) => lines.push(l), sampleIntervalMs: 60_000 });
  try {
    await http.apply(null);
    assert.equal(promClientLoaded(), false, 'loaded without a listener');
    assert.equal(http.server, null);
    await http.apply({ address: '127.0.54.200', port: 0 });
    assert.ok(http.server !== null, lines.join('\n'));
    assert.equal(promClientLoaded(), true, 'the listener serves /metrics');
  } finally {
    await http.close();
  }
});
