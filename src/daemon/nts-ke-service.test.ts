import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../clock/virtual-clock.js';
import { parseConfigText } from '../config/config.js';
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

  test('an unreadable certificate stops the service from starting, with the file named', async () => {
    const nts = { ...parseConfigText('', 't', { format: 'chrony' }).config!.server.nts, serverCerts: [join(dir, 'missing.crt')], serverKeys: [pki.keyPath] };
    await assert.rejects(startNtsKeService({ nts, bindAddresses: ['127.0.0.1'], log: () => {} }), /Cannot read NTS server certificate .*missing\.crt: ENOENT/);
  });

  test('keys rotate on schedule (operating time) and the rotation is saved', async () => {
    let t = 1000;
    const logs: string[] = [];
    const nts = { ...parseConfigText('', 't', { format: 'chrony' }).config!.server.nts, serverCerts: [pki.certPath], serverKeys: [pki.keyPath], port: await freeTcpPort(), rotate: 1, dumpDir: join(dir, 'rot') };
    const svc = await startNtsKeService({ nts, bindAddresses: ['127.0.0.1'], log: (l) => logs.push(l), now: () => t });
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
