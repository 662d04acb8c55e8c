/**
 * The daemon's key file: loaded at start and on reload, refused when bad or
 * readable by everyone (nothing starts, or the running config stays), handed
 * to the engine (one authenticator per `key N` source) and to the NTP server
 * (replies signed with the request's key).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../clock/virtual-clock.js';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/diagnostics.js';
import { loadServerConfig } from '../config/load.js';
import { parseConfigText } from '../config/parse-config.js';
import type { EngineOptions } from '../core/engine/engine-api.js';
import { SyncEngine } from '../core/engine/engine.js';
import { checkDigest, appendMac, type SymmetricKey } from '../crypto/symmetric-mac.js';
import { freeUdpPort } from '../testing/loopback.js';
import { startNtpServer } from './ntp-server.js';
import { startSyncDaemon, type SyncDaemon } from './sync-daemon.js';

const SHA1 = '0123456789ABCDEF0123456789ABCDEF01234567';
const OTHER = '89ABCDEF0123456789ABCDEF0123456789ABCDEF';

function config(text: string): Config {
  const r = parseConfigText(text, 'test.conf', { format: 'chrony' });
  assert.deepEqual(r.errors, []);
  return r.config as Config;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-daemon-keys-'));
  try { await fn(dir); } finally { await rm(dir, { recursive: true, force: true }); }
}

/** Starts a daemon whose engines (real, but without sources: no traffic) are recorded. */
async function start(text: string, logs: string[], options: EngineOptions[]): Promise<SyncDaemon> {
  return startSyncDaemon({
    config: config(text), clock: new VirtualClock({ offsetSeconds: 0 }), log: (l) => logs.push(l),
    createEngine: (o) => { options.push(o); return new SyncEngine({ ...o, sources: [] }); },
    resolve: async (h) => { throw new Error(`no DNS in tests (${h})`); },
  });
}

/** One request with a MAC under `key` to 127.0.0.1:port; the reply or null after 2 s. */
function ask(port: number, key: SymmetricKey): Promise<Uint8Array | null> {
  const req = new Uint8Array(48);
  req[0] = 0x23;
  new DataView(req.buffer).setBigUint64(40, 0x0123456789abcdefn);
  const sock = createSocket('udp4');
  return new Promise((resolve) => {
    const t = setTimeout(() => { sock.close(); resolve(null); }, 2000);
    sock.on('message', (m) => { clearTimeout(t); sock.close(); resolve(new Uint8Array(m)); });
    sock.send(appendMac(req, key, 4), port, '127.0.0.1');
  });
}

test('a key file that is readable by everyone, or has a bad line, stops the daemon from starting', async () => {
  await withDir(async (dir) => {
    const f = join(dir, 'keys');
    await writeFile(f, `1 SHA1 HEX:${SHA1}\n`);
    await chmod(f, 0o644);
    await assert.rejects(start(`keyfile ${f}\nserver 127.0.0.9 key 1\n`, [], []), /readable by everyone \(mode 0644\)/);
    await writeFile(f, `1 SHA1 HEX:${SHA1}\n2 SHA3 HEX:${SHA1}\n`);
    await chmod(f, 0o600);
    await assert.rejects(start(`keyfile ${f}\n`, [], []), new RegExp(`${f}:2: key 2: unsupported type "SHA3"`));
    await assert.rejects(start(`keyfile ${join(dir, 'missing')}\n`, [], []), /missing: Cannot read the key file: ENOENT/);
  });
});

test('each `key N` source gets an authenticator with key N; a key not in the file is logged and its source sends nothing', async () => {
  await withDir(async (dir) => {
    const f = join(dir, 'keys');
    await writeFile(f, `1 SHA1 HEX:${SHA1}\n`, { mode: 0o600 });
    const logs: string[] = [];
    const engines: EngineOptions[] = [];
    const d = await start(`keyfile ${f}\nserver 127.0.0.9 key 1\nserver 127.0.0.10 key 9\nserver 127.0.0.11\n`, logs, engines);
    try {
      assert.ok(logs.includes(`Loaded 1 symmetric key from ${f}`), logs.join('\n'));
      assert.ok(logs.includes(`Warning: test.conf:3: 127.0.0.10: key 9 is not in ${f}; the source will not be polled`), logs.join('\n'));
      const o = engines[0] as EngineOptions;
      const [a, b, c] = o.sources.map((s) => o.authenticatorFor?.(s) ?? null);
      assert.equal(c, null);
      assert.equal(b?.secure(new Uint8Array(48)), null);
      const s = a?.secure(new Uint8Array(48).fill(0x23, 0, 1));
      assert.equal(a?.kind, 'symmetric');
      assert.equal(s?.packet.length, 72);
      const key: SymmetricKey = { id: 1, type: 'SHA1', key: new Uint8Array(Buffer.from(SHA1, 'hex')) };
      assert.ok(s && checkDigest(key, s.packet.subarray(0, 48), s.packet.subarray(52), 4));
    } finally {
      await d.stop();
    }
  });
});

test('the server signs replies with the request\'s key; a reload re-reads the key file, and a bad one changes nothing', async () => {
  await withDir(async (dir) => {
    const f = join(dir, 'keys');
    await writeFile(f, `1 SHA1 HEX:${SHA1}\n`, { mode: 0o600 });
    const port = await freeUdpPort('127.0.0.1');
    const text = `keyfile ${f}\nlocal stratum 3\nallow 127.0.0.1\nbindaddress 127.0.0.1\nport ${port}\n`;
    const engines: EngineOptions[] = [];
    const d = await start(text, [], engines);
    try {
      const k1: SymmetricKey = { id: 1, type: 'SHA1', key: new Uint8Array(Buffer.from(SHA1, 'hex')) };
      const k1b: SymmetricKey = { ...k1, key: new Uint8Array(Buffer.from(OTHER, 'hex')) };
      const r = await ask(port, k1);
      assert.ok(r && r.length === 72);
      assert.ok(checkDigest(k1, r.subarray(0, 48), r.subarray(52), 4), 'signed with key 1');
      assert.equal(await ask(port, k1b), null, 'a wrong secret gets no reply');
      assert.equal(d.serverStats()?.authFailed['bad-mac'], 1);

      // A bad key file: the reload is refused and key 1 still works.
      await writeFile(f, `1 SHA1 HEX:${OTHER}\n1 MD5 abcdefghijklmnop\n`);
      await assert.rejects(d.reconfigure(config(text)), new RegExp(`${f}:2: key 1: duplicate key id`));
      assert.equal(engines.length, 1);
      assert.ok(await ask(port, k1));

      // A good one: the server takes the new secret without a restart.
      await writeFile(f, `1 SHA1 HEX:${OTHER}\n`);
      await d.reconfigure(config(text));
      assert.equal(engines.length, 2);
      assert.equal(await ask(port, k1), null);
      const r2 = await ask(port, k1b);
      assert.ok(r2 && checkDigest(k1b, r2.subarray(0, 48), r2.subarray(52), 4));
      assert.equal(d.serverStats()?.authenticatedNtpPackets, 3);
    } finally {
      await d.stop();
    }
  });
});

test('ntpkit server\'s keyfile directive: the server loads it and signs; a bad or world-readable one is a ConfigError naming file:line', async () => {
  await withDir(async (dir) => {
    const f = join(dir, 'keys');
    await writeFile(f, `1 SHA1 HEX:${SHA1}\n`, { mode: 0o600 });
    const port = await freeUdpPort('127.0.0.1');
    const lines = [`bindaddress 127.0.0.1`, `port ${port}`, 'allow 127.0.0.1', 'local stratum 1', `keyfile ${f}`];
    const { config } = loadServerConfig(undefined, lines);
    assert.equal(config.keyfile, f);
    const server = await startNtpServer({ config });
    try {
      const k1: SymmetricKey = { id: 1, type: 'SHA1', key: new Uint8Array(Buffer.from(SHA1, 'hex')) };
      const r = await ask(port, k1);
      assert.ok(r && checkDigest(k1, r.subarray(0, 48), r.subarray(52), 4));
      assert.equal(server.stats().authenticatedNtpPackets, 1);
    } finally {
      await server.close();
    }
    await writeFile(f, `1 SHA1 HEX:${SHA1}\nbogus\n`);
    await assert.rejects(startNtpServer({ config }), (e: unknown) => e instanceof ConfigError && e.message === `${f}:2: Cannot parse key line: expected "ID [TYPE] KEY", got 1 fields`);
    await chmod(f, 0o604);
    await assert.rejects(startNtpServer({ config }), /readable by everyone/);
  });
});
