/** chrony's `clientloglimit` bounds the server's client table, sized as chronyd sizes its own. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadServerConfig } from '../config/load.js';
import { DEFAULT_CLIENT_SLOTS } from '../core/server/client-table.js';
import { freeUdpPort, probeNtp } from '../testing/index.js';
import { clientSlotsFor, startNtpServer } from './ntp-server.js';

test('clientloglimit gives chronyd\'s record counts: a power of two, one record per 128 bytes, within the table\'s bounds', () => {
  assert.equal(clientSlotsFor(null), undefined);
  assert.equal(clientSlotsFor(524288), 4096); // chrony.conf(5): the default, 4096 addresses
  assert.equal(clientSlotsFor(1048575), 4096);
  assert.equal(clientSlotsFor(1048576), 8192);
  assert.equal(clientSlotsFor(2147483648), 16777216); // chrony.conf(5): the maximum effective value
  assert.equal(clientSlotsFor(Number.MAX_SAFE_INTEGER), 16777216);
  assert.equal(clientSlotsFor(0), 8);
});

const SERVER = '127.0.22.1';
/** More distinct clients than the smallest table holds. */
const CLIENTS = Array.from({ length: 24 }, (_, i) => `127.0.22.${i + 2}`);

async function clientsSeen(extra: readonly string[]): Promise<number> {
  const port = await freeUdpPort(SERVER);
  const { config } = loadServerConfig(undefined, [`bindaddress ${SERVER}`, `port ${port}`, 'allow 127.0.22.0/24', 'local stratum 2', ...extra]);
  const server = await startNtpServer({ config });
  try {
    for (const sourceAddress of CLIENTS) {
      const r = await probeNtp(SERVER, port, { sourceAddress, timeoutMs: 5000 });
      assert.equal(r.synchronized, true);
    }
    return server.clients().length;
  } finally {
    await server.close();
  }
}

test('a server with clientloglimit 1024 keeps at most 8 client records, where the default keeps every client', async () => {
  assert.ok(DEFAULT_CLIENT_SLOTS >= CLIENTS.length);
  assert.equal(await clientsSeen([]), CLIENTS.length);
  const bounded = await clientsSeen(['clientloglimit 1024']);
  assert.ok(bounded >= 1 && bounded <= 8, `${bounded} clients kept`);
});

test('clientloglimit takes one number of bytes', () => {
  assert.throws(() => loadServerConfig(undefined, ['clientloglimit']), /<command line>:1: clientloglimit: expected a number of bytes, got ""/);
  assert.throws(() => loadServerConfig(undefined, ['clientloglimit 1MB']), /clientloglimit: expected a number of bytes, got "1MB"/);
  const { config, warnings } = loadServerConfig(undefined, ['clientloglimit 1048576']);
  assert.equal(config.clientLogLimit, 1048576);
  assert.deepEqual(warnings, []);
});
