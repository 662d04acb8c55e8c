import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../clock/virtual-clock.js';
import { parseConfigText } from '../config/parse-config.js';
import { ntsKeyExchange } from '../net/nts-ke-client.js';
import { freeTcpPort, makeTestPki, type TestPki } from '../testing/nts-pki.js';
import { interopSkip } from '../testing/tools.js';
import { startNtsKeService } from './nts-ke-service.js';
import { startSyncDaemon } from './sync-daemon.js';

describe('the daemon\'s NTS-KE service', { skip: interopSkip('openssl', 'libfaketime') }, () => {
  let pki: TestPki;
  let dir: string;
  before(async () => {
    pki = await makeTestPki();
    dir = await mkdtemp(join(tmpdir(), 'ntpkit-ntske-svc-'));
  });
  after(async () => {
    await pki?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a daemon with ntsservercert/ntsserverkey serves NTS-KE, saves its keys in ntsdumpdir, and a restarted daemon opens the old cookies', async () => {
    const port = await freeTcpPort();
    const text = `bindaddress 127.0.0.1\nntsservercert ${pki.certPath}\nntsserverkey ${pki.keyPath}\nntsport ${port}\nntsdumpdir ${dir}/nts\n`;
    const r = parseConfigText(text, 'test.conf', { format: 'chrony' });
    assert.deepEqual(r.errors, []);
    const logs: string[] = [];
    const start = () => startSyncDaemon({
      config: r.config!, clock: new VirtualClock({ offsetSeconds: 0 }), log: (l) => logs.push(l),
      resolve: async (h) => { throw new Error(`no DNS in tests (${h})`); },
    });
    const d1 = await start();
    let ke;
    try {
      assert.ok(d1.ntsKe, logs.join('\n'));
      ke = await ntsKeyExchange({ host: '127.0.0.1', port, trustedCerts: [pki.caCertPath], timeoutMs: 5000 });
      assert.equal(d1.ntsKe.stats().accepted, 1);
      assert.ok(logs.some((l) => l === `Serving NTS-KE on 127.0.0.1:${port}`), logs.join('\n'));
    } finally {
      await d1.stop();
    }
    assert.equal((await stat(join(dir, 'nts', 'ntskeys'))).mode & 0o777, 0o600);
    const d2 = await start();
    try {
      assert.ok(logs.some((l) => l.startsWith(`Loaded 1 NTS cookie key(s) from ${dir}/nts`)), logs.join('\n'));
      assert.deepEqual(d2.ntsKe?.cookies.open(ke.cookies[0] as Uint8Array), { aeadId: 15, c2s: ke.c2s, s2c: ke.s2c });
    } finally {
      await d2.stop();
    }
  });

  test('an unreadable certificate stops the daemon from starting, with the file and the line that named it', async () => {
    const text = `bindaddress 127.0.0.1\nntsservercert ${join(dir, 'missing.crt')}\nntsserverkey ${pki.keyPath}\nntsport ${await freeTcpPort()}\n`;
    const config = parseConfigText(text, 'test.conf', { format: 'chrony' }).config!;
    await assert.rejects(startSyncDaemon({ config, clock: new VirtualClock({ offsetSeconds: 0 }), log: () => {} }), (e: Error) => {
      assert.equal(e.message, `test.conf:2: ntsservercert ${join(dir, 'missing.crt')}: cannot read: ENOENT (no such file or directory)`);
      return true;
    });
  });

  test('a reload whose NTS-KE cannot bind changes nothing: the old KE server is back, with the same cookie keys, and the old config stays', async () => {
    const at = '127.0.16.12';
    const [p1, p2] = [await freeTcpPort(at), await freeTcpPort(at)];
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(p2, at, resolve));
    const text = (port: number, extra = ''): string => `server 127.0.16.1\nserver 127.0.16.2\nserver 127.0.16.3\n${extra}bindaddress ${at}\nntsservercert ${pki.certPath}\nntsserverkey ${pki.keyPath}\nntsport ${port}\n`;
    const own = await makeTestPki({ san: `IP:${at}` });
    const d = await startSyncDaemon({
      config: parseConfigText(text(p1), 'test.conf', { format: 'chrony' }).config!, clock: new VirtualClock({ offsetSeconds: 0 }), log: () => {},
      resolve: async (h) => { throw new Error(`no DNS in tests (${h})`); },
    });
    try {
      const exchange = (): Promise<unknown> => ntsKeyExchange({ host: at, port: p1, trustedCerts: [own.caCertPath], noSystemCerts: true, timeoutMs: 5000 });
      await assert.rejects(exchange(), /certificate/, 'serving the suite certificate, which names 127.0.0.1');
      const cookie = d.ntsKe!.cookies.seal({ aeadId: 15, c2s: new Uint8Array(32), s2c: new Uint8Array(32) });
      // A new certificate and a new port, which another listener holds.
      const next = parseConfigText(text(p2, 'server 127.0.16.4\n').replace(pki.certPath, own.certPath).replace(pki.keyPath, own.keyPath), 'test.conf', { format: 'chrony' }).config!;
      await assert.rejects(d.reconfigure(next), /EADDRINUSE/);
      assert.equal(d.config.sources.length, 3);
      assert.equal(d.ntsKe?.servers[0]?.port, p1);
      assert.ok(d.ntsKe?.cookies.open(cookie), 'cookies sealed before the reload still open');
      await assert.rejects(exchange(), /certificate/, 'still the old certificate, on the old port');
      // The same certificate change without the port change: served in place.
      await d.reconfigure(parseConfigText(text(p1).replace(pki.certPath, own.certPath).replace(pki.keyPath, own.keyPath), 'test.conf', { format: 'chrony' }).config!);
      await exchange();
    } finally {
      await d.stop();
      blocker.close();
      await own.remove();
    }
  });

  test('keys rotate on schedule (operating time) and the rotation is saved', async () => {
    let t = 1000;
    const logs: string[] = [];
    const nts = { ...parseConfigText('', 't', { format: 'chrony' }).config!.server.nts, serverCerts: [pki.certPath], serverKeys: [pki.keyPath], port: await freeTcpPort(), rotate: 1, dumpDir: join(dir, 'rot') };
    const svc = await startNtsKeService({ nts, credentials: { cert: pki.cert, key: pki.key }, bindAddresses: ['127.0.0.1'], log: (l) => logs.push(l), now: () => t });
    try {
      const first = svc.cookies.current.id;
      t += 1;
      await new Promise((r) => setTimeout(r, 1100));
      assert.notEqual(svc.cookies.current.id, first);
      assert.ok(logs.includes('Rotated the NTS cookie key'), logs.join('\n'));
    } finally {
      await svc.close();
    }
  });
});
