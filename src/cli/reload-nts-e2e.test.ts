/**
 * A reload that cannot load part of the new config changes nothing, through
 * a real `ntpkit daemon` serving NTS-KE on 127.0.16.11 and the real
 * `ntpkit reload`: with the server key unreadable, then with a bad
 * certificate, the reload fails with the reason (a non-zero exit), NTS-KE
 * still completes key exchanges with the old certificate, and the snapshot
 * still shows the old sources. A good reload then serves a new certificate
 * without closing the port. The daemon runs unprivileged (nobody, under
 * root), so that mode 000 makes its key unreadable.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchSnapshot } from '../control/commands.js';
import { ntsKeyExchange } from '../net/nts-ke-client.js';
import { freeTcpPort, makeTestPki, type TestPki } from '../testing/nts-pki.js';
import { NOBODY, runToCompletion, spawnManaged, unprivileged } from '../testing/process.js';
import { interopSkip } from '../testing/tools.js';

const BIN = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
const SERVE_AT = '127.0.16.11';

let dir: string;
let a: TestPki;
let b: TestPki;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ntpkit-reload-nts-'));
  await chmod(dir, 0o777);
  [a, b] = await Promise.all([makeTestPki({ san: `IP:${SERVE_AT}` }), makeTestPki({ san: `IP:${SERVE_AT}` })]);
});
after(async () => {
  await a?.remove();
  await b?.remove();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function put(path: string, text: string, mode = 0o644): Promise<void> {
  await writeFile(path, text);
  if (process.getuid?.() === 0) await chown(path, NOBODY, NOBODY);
  await chmod(path, mode);
}

async function until(what: string, ms: number, ok: () => boolean, diag: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`${what} within ${ms / 1000} s\n${diag()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('reload with an unreadable NTS key or a bad certificate fails with the reason and keeps NTS-KE and the old config; a good one swaps the certificate', { skip: interopSkip('openssl', 'setpriv'), timeout: 120_000 }, async (t) => {
  const port = await freeTcpPort(SERVE_AT);
  const socket = join(dir, 'ntpkit.sock');
  const conf = join(dir, 'ntpkit.conf');
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  await put(cert, a.cert);
  await put(key, a.key);
  const sources = (n: number): string => Array.from({ length: n }, (_, i) => `server 127.0.16.${i + 1} port 12301\n`).join('');
  const base = `bindaddress ${SERVE_AT}\nntsport ${port}\nntsservercert ${cert}\nntsserverkey ${key}\nbindcmdaddress ${socket}\n`;
  await put(conf, base + sources(3));
  const [file, args] = unprivileged(process.execPath, [BIN, 'daemon', '-f', conf, '--clock', 'virtual']);
  const daemon = await spawnManaged(file, args);
  t.after(() => daemon.stop());
  await until('the daemon serving NTS-KE', 30_000, () => /Serving NTS-KE on/.test(daemon.logs()) && /Control socket at/.test(daemon.logs()), () => daemon.logs());

  const exchange = (ca: string): Promise<unknown> => ntsKeyExchange({ host: SERVE_AT, port, trustedCerts: [ca], noSystemCerts: true, timeoutMs: 10_000 });
  const reload = async (): Promise<{ code: number | null; err: string }> => {
    const r = await runToCompletion(process.execPath, [BIN, 'reload', '--socket', socket, '--timeout', '30'], { timeoutMs: 60_000 });
    return { code: r.status.code, err: r.stderr };
  };
  const sourceCount = async (): Promise<number> => (await fetchSnapshot(socket, { timeoutMs: 5000 })).sources.length;
  await exchange(a.caCertPath);
  assert.equal(await sourceCount(), 3);

  // The key becomes unreadable, and the config gains a source.
  await put(conf, base + sources(4));
  await chmod(key, 0o000);
  let r = await reload();
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, new RegExp(`ntsserverkey ${key}: cannot read: EACCES \\(permission denied\\); the running configuration stays in force`));
  await exchange(a.caCertPath);
  assert.equal(await sourceCount(), 3, 'the old config stays whole');

  // Readable again, but the certificate is not one.
  await chmod(key, 0o644);
  await put(cert, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
  r = await reload();
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, new RegExp(`ntsservercert ${cert}: not a PEM certificate`));
  await exchange(a.caCertPath);
  assert.equal(await sourceCount(), 3, 'the old config stays whole');
  assert.match(daemon.logs(), /the running configuration stays in force/);

  // A renewed certificate (another CA's, to tell them apart): served from now on, the port never closed.
  await put(cert, b.cert);
  await put(key, b.key);
  r = await reload();
  assert.equal(r.code, 0, r.err);
  await exchange(b.caCertPath);
  await assert.rejects(exchange(a.caCertPath), /certificate/i);
  assert.equal(await sourceCount(), 4);
  assert.doesNotMatch(daemon.logs(), /Serving NTS-KE on[^\n]*\n[\s\S]*Serving NTS-KE on/, 'NTS-KE was not restarted');
});
