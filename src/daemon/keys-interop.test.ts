/**
 * Symmetric keys (RFC 8573) against chronyd 4.3 on loopback, both ways, with
 * the same key file on both sides:
 * - ntpkit's daemon (virtual clock) with `key N` polls a chronyd -x server
 *   that has the keyfile: the sources are selected and their replies
 *   authenticated, for MD5 (an ASCII key), SHA1, SHA256, SHA512, AES128 and
 *   AES256;
 * - chronyd -x as a client with `key N` polls ntpkit's server: chronyd's
 *   test 5 (authentication) passes and it selects ntpkit.
 * A key whose secret differs on the two sides is rejected and counted: by
 * the server that gets the request (chronyd drops it; ntpkit counts
 * `bad-mac`), and by ntpkit's client when a relay alters the server's MAC.
 *
 * The sources are UDP relays on distinct loopback addresses in front of the
 * one server, because neither side polls the same address twice.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../clock/virtual-clock.js';
import type { Config } from '../config/config.js';
import { loadKeyFile } from '../config/keyfile.js';
import { loadServerConfig } from '../config/load.js';
import { parseConfigText } from '../config/parse-config.js';
import type { NtpDataReport } from '../core/engine/engine-api.js';
import {
  type ChronydServer, interopSkip, type LoopbackBlock, reserveLoopbackBlock, startChronydClient, startChronydServer, startUdpRelay, type UdpRelay,
} from '../testing/index.js';
import { type RunningNtpServer, startNtpServer } from './ntp-server.js';
import { startSyncDaemon, type SyncDaemon } from './sync-daemon.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const hex = (n: number, seed: number): string => Array.from({ length: n }, (_, i) => ((i * 37 + seed * 11 + 5) & 0xff).toString(16).padStart(2, '0')).join('').toUpperCase();

/** Key id, type, and whether the pair is expected to authenticate. */
const GOOD = [[1, 'MD5'], [2, 'SHA1'], [3, 'SHA256'], [4, 'SHA512'], [5, 'AES128'], [6, 'AES256']] as const;
/** Key 7: SHA1 on both sides, different secrets. */
const WRONG = 7;
const KEYS = [
  '# the same on both sides, but key 7',
  '1 MD5 ntpkit-interop-md5-key',
  `2 SHA1 HEX:${hex(20, 2)}`,
  `3 SHA256 HEX:${hex(32, 3)}`,
  `4 SHA512 HEX:${hex(64, 4)}`,
  `5 AES128 HEX:${hex(16, 5)}`,
  `6 AES256 HEX:${hex(32, 6)}`,
].join('\n');
const keysFor = (side: 'ntpkit' | 'chronyd'): string => `${KEYS}\n${WRONG} SHA1 HEX:${hex(20, side === 'ntpkit' ? 70 : 71)}\n`;

interface Measurement { ip: string; tests567: string }
/** chronyd's measurements.log: IP is the 3rd column, tests 5-7 ("567": 5 is authentication) the 7th. */
function measurements(text: string): Measurement[] {
  return text.split('\n').filter((l) => /^\d{4}-\d\d-\d\d /.test(l)).map((l) => {
    const f = l.trim().split(/\s+/);
    return { ip: f[2] as string, tests567: f[6] as string };
  });
}

describe('symmetric keys with chronyd 4.3, both ways', { skip: interopSkip('chronyd') }, () => {
  let block: LoopbackBlock;
  let dir: string;
  before(async () => {
    block = await reserveLoopbackBlock('keys-interop', 9, { port: 123 });
    dir = await mkdtemp(join(tmpdir(), 'ntpkit-keys-interop-'));
  });
  /** Writes ntpkit's side of the keys, mode 0600, into the test's directory. */
  const writeKeys = async (name: string): Promise<string> => {
    const f = join(dir, name);
    await writeFile(f, keysFor('ntpkit'));
    await chmod(f, 0o600);
    return f;
  };
  after(async () => {
    block?.release();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('ntpkit with `key N` against chronyd -x with the same keyfile: selected and authenticated; a wrong key is rejected and counted', { timeout: 60_000 }, async () => {
    const addrs = block.addresses;
    let chronyd: ChronydServer | undefined;
    const relays: UdpRelay[] = [];
    let daemon: SyncDaemon | undefined;
    try {
      chronyd = await startChronydServer({ address: addrs[0] as string, files: { keys: keysFor('chronyd') }, extraConfig: ['keyfile {dir}/keys'] });
      const target = { address: chronyd.address, port: chronyd.port };
      const relayAt = async (i: number, mutate?: Parameters<typeof startUdpRelay>[0]['mutate']): Promise<UdpRelay> => {
        const r = await startUdpRelay({ listen: { address: addrs[i] as string, port: 0 }, target, ...(mutate ? { mutate } : {}) });
        relays.push(r);
        return r;
      };
      const good: UdpRelay[] = [];
      for (let i = 0; i < GOOD.length; i++) good.push(await relayAt(i + 1));
      const wrong = await relayAt(GOOD.length + 1);
      // Key 2 again, but the relay flips the last bit of the server's MAC.
      const forged = await relayAt(GOOD.length + 2, (d) => {
        if (d.direction !== 'to-client' || d.bytes.length <= 48) return undefined;
        const b = d.bytes.slice();
        b[b.length - 1] = (b[b.length - 1] as number) ^ 1;
        return b;
      });
      const keyfile = join(dir, 'client.keys');
      await writeFile(keyfile, keysFor('ntpkit'), { mode: 0o600 });
      const opts = 'minpoll -2 maxpoll -2 iburst';
      const text = [
        `keyfile ${keyfile}`,
        ...GOOD.map(([id], i) => `server ${good[i]?.address} port ${good[i]?.port} key ${id} ${opts}`),
        `server ${wrong.address} port ${wrong.port} key ${WRONG} ${opts}`,
        `server ${forged.address} port ${forged.port} key 2 ${opts} noselect`,
        '',
      ].join('\n');
      const parsed = parseConfigText(text, 'client.conf', { format: 'chrony' });
      assert.deepEqual(parsed.errors, []);
      const logs: string[] = [];
      daemon = await startSyncDaemon({ config: parsed.config as Config, clock: new VirtualClock({ offsetSeconds: 0 }), log: (l) => logs.push(l), serve: false });
      assert.ok(logs.includes(`Loaded 7 symmetric keys from ${keyfile}`), logs.join('\n'));

      const byAddress = (rows: readonly NtpDataReport[], r: UdpRelay): NtpDataReport | undefined => rows.find((x) => x.remoteAddress === r.address);
      let rows: readonly NtpDataReport[] = [];
      const started = Date.now();
      for (;;) {
        await sleep(250);
        const nd = daemon.control({ op: 'ntpdata', selector: null });
        assert.ok(nd.ok);
        rows = nd.value;
        const snap = daemon.snapshot();
        const done = good.every((r) => (byAddress(rows, r)?.totalGoodRx ?? 0) >= 3 && byAddress(rows, r)?.authenticated) &&
          snap.sources.some((s) => s.verdict === 'selected') && (byAddress(rows, forged)?.authFailures ?? 0) >= 3;
        if (done || Date.now() - started > 30_000) break;
      }
      const snap = daemon.snapshot();
      const show = JSON.stringify(rows.map((r) => [r.remoteAddress, r.authenticated, r.totalTx, r.totalRx, r.totalGoodRx, r.authFailures, r.lastAuthFailure]));
      for (const [i, [id, type]] of GOOD.entries()) {
        const row = byAddress(rows, good[i] as UdpRelay);
        assert.ok(row?.authenticated && row.totalGoodRx >= 3, `key ${id} (${type}): ${show}\n${logs.join('\n')}`);
        assert.equal(row.authFailures, 0, `key ${id} (${type})`);
        // Every reply chronyd sent on this relay carried a MAC under the key.
        const replies = (good[i] as UdpRelay).records().filter((x) => x.direction === 'to-client');
        assert.ok(replies.length >= 3 && replies.every((x) => x.bytes.length > 48 && new DataView(x.bytes.buffer, x.bytes.byteOffset).getUint32(48) === id));
      }
      assert.ok(snap.sources.some((s) => s.verdict === 'selected' && good.some((r) => r.address === s.address)), JSON.stringify(snap.sources.map((s) => [s.address, s.verdict, s.reason])));
      // Wrong key: chronyd answers none of the requests; nothing is taken.
      const w = byAddress(rows, wrong);
      assert.ok(w && w.totalTx >= 3 && w.totalRx === 0 && !w.authenticated, show);
      assert.equal(wrong.records().filter((x) => x.direction === 'to-client').length, 0);
      assert.ok(wrong.records().filter((x) => x.direction === 'to-server').length >= 3);
      // Altered MAC: every reply rejected and counted, none used.
      const f = byAddress(rows, forged);
      assert.ok(f && f.authFailures >= 3 && f.totalGoodRx === 0 && f.totalValidRx === 0 && !f.authenticated, show);
      assert.equal(f.lastAuthFailure, 'reply\'s MAC does not verify with key 2');
    } finally {
      await daemon?.stop();
      for (const r of relays) await r.stop();
      await chronyd?.stop();
    }
  });

  test('chronyd -x with `key N` against ntpkit\'s server with the same keyfile: authenticated (test 5) and selected; a wrong key is dropped and counted', { timeout: 60_000 }, async () => {
    const addrs = block.addresses;
    let server: RunningNtpServer | undefined;
    const relays: UdpRelay[] = [];
    let client: Awaited<ReturnType<typeof startChronydClient>> | undefined;
    try {
      const keyfile = join(dir, 'server.keys');
      await writeFile(keyfile, keysFor('ntpkit'));
      await chmod(keyfile, 0o600);
      const loaded = await loadKeyFile(keyfile, 'chrony');
      assert.deepEqual(loaded.errors, []);
      const { config } = loadServerConfig(undefined, [`bindaddress ${addrs[0]}`, 'port 123', 'allow 127.0.0.0/8', 'local stratum 1']);
      server = await startNtpServer({ config, keys: loaded.keys });
      const target = { address: addrs[0] as string, port: 123 };
      for (let i = 0; i <= GOOD.length; i++) relays.push(await startUdpRelay({ listen: { address: addrs[i + 1] as string, port: 0 }, target }));
      const ids = [...GOOD.map(([id]) => id), WRONG];
      client = await startChronydClient({
        servers: relays.map((r, i) => ({ address: r.address, port: r.port, options: `iburst minpoll -2 maxpoll -2 key ${ids[i]}` })),
        files: { keys: keysFor('chronyd') },
        extraConfig: ['keyfile {dir}/keys', 'logdir {dir}', 'log measurements tracking'],
      });
      const c = client;
      let m: Measurement[] = [];
      const ok = (ip: string): number => m.filter((x) => x.ip === ip && x.tests567.startsWith('1')).length;
      const started = Date.now();
      while (Date.now() - started < 30_000) {
        await sleep(250);
        m = measurements(await readFile(join(c.dir, 'measurements.log'), 'utf8').catch(() => ''));
        if (relays.slice(0, GOOD.length).every((r) => ok(r.address) >= 3) && (server.stats().authFailed['bad-mac'] ?? 0) >= 3) break;
      }
      for (const [i, [id, type]] of GOOD.entries()) {
        assert.ok(ok((relays[i] as UdpRelay).address) >= 3, `key ${id} (${type}): chronyd's authenticated measurements: ${JSON.stringify(m.slice(-20))}\n${c.logs()}`);
      }
      const tracking = await readFile(join(c.dir, 'tracking.log'), 'utf8').catch(() => '');
      const selected = tracking.split('\n').filter((l) => /^\d{4}-/.test(l)).map((l) => l.trim().split(/\s+/)[2]);
      assert.ok(selected.some((ip) => relays.slice(0, GOOD.length).some((r) => r.address === ip)), `chronyd never selected ntpkit:\n${tracking}`);
      const s = server.stats();
      assert.ok(s.authenticatedNtpPackets >= 3 * GOOD.length, JSON.stringify(s));
      // Key 7's secret differs: ntpkit drops every such request, as chronyd would, and counts it.
      assert.ok(s.authFailed['bad-mac'] >= 3 && s.droppedByReason['auth-failed'] === s.authFailed['bad-mac'], JSON.stringify(s));
      const wrongRelay = relays[GOOD.length] as UdpRelay;
      assert.equal(wrongRelay.records().filter((x) => x.direction === 'to-client').length, 0);
      assert.equal(ok(wrongRelay.address), 0);
    } finally {
      await client?.stop();
      for (const r of relays) await r.stop();
      await server?.close();
    }
  });

  test('chronyd -x with `xleave key N` against ntpkit\'s server: signed replies in interleaved mode', { timeout: 60_000 }, async (t) => {
    const address = block.addresses[8] as string;
    const loaded = await loadKeyFile(await writeKeys('xleave.keys'), 'chrony');
    const { config } = loadServerConfig(undefined, [`bindaddress ${address}`, 'port 123', 'allow 127.0.0.0/8', 'local stratum 1']);
    const server = await startNtpServer({ config, keys: loaded.keys });
    let client: Awaited<ReturnType<typeof startChronydClient>> | undefined;
    try {
      // A signed reply's transmit time comes back only as a kernel transmit timestamp.
      if (server.transport.kind !== 'native-kernel-timestamps') {
        t.skip(`needs kernel transmit timestamps (transport: ${server.transport.kind})`);
        return;
      }
      client = await startChronydClient({
        servers: [{ address, options: 'iburst minpoll -3 maxpoll -3 xleave key 2' }],
        files: { keys: keysFor('chronyd') },
        extraConfig: ['keyfile {dir}/keys', 'logdir {dir}', 'log measurements'],
      });
      const c = client;
      let lines: string[] = [];
      const started = Date.now();
      while (Date.now() - started < 30_000 && lines.length < 16) {
        await sleep(250);
        lines = (await readFile(join(c.dir, 'measurements.log'), 'utf8').catch(() => '')).split('\n').filter((l) => /^\d{4}-/.test(l));
      }
      assert.ok(lines.length >= 16, `only ${lines.length} measurements:\n${c.logs()}`);
      // After the basic-mode warm-up: authenticated (test 5) and interleaved ("4I").
      const settled = lines.slice(6).map((l) => l.trim().split(/\s+/));
      assert.ok(settled.every((f) => (f[6] as string).startsWith('1')), lines.join('\n'));
      assert.ok(settled.filter((f) => f[f.length - 3] === '4I').length >= settled.length / 2, lines.join('\n'));
      const s = server.stats();
      assert.ok(s.interleavedNtpPackets > 0 && s.authenticatedNtpPackets >= lines.length, JSON.stringify(s));
    } finally {
      await client?.stop();
      await server.close();
    }
  });
});
