import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { parseConfigText } from '../config/parse-config.js';
import { makeTestPki, type TestPki } from '../testing/nts-pki.js';
import { interopSkip } from '../testing/tools.js';
import { loadConfigResources, type LoadResourcesOptions } from './config-resources.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'ntpkit-resources-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const THREE = 'server 127.0.16.1\nserver 127.0.16.2\nserver 127.0.16.3\n';
/** A machine with loopback and one Ethernet address. */
const INTERFACES: LoadResourcesOptions['interfaces'] = () => ({
  lo: [
    { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' },
    { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', mac: '00:00:00:00:00:00', internal: true, cidr: '::1/128', scopeid: 0 },
  ],
  eth0: [{ address: '10.1.2.3', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '10.1.2.3/24' }],
});

function config(text: string): Config {
  const r = parseConfigText(text, 'test.conf', { format: 'chrony' });
  assert.deepEqual(r.errors, []);
  return r.config as Config;
}

async function check(text: string, o: LoadResourcesOptions = {}): Promise<{ errors: string[]; warnings: string[]; ok: boolean }> {
  const r = await loadConfigResources(config(`controlsocket /\n${text}`), { interfaces: INTERFACES, ...o });
  return { errors: r.errors.map(formatDiagnostic), warnings: r.warnings.map(formatDiagnostic), ok: r.resources !== null };
}

test('no source: valid, with a warning; a single source: the no-fault-tolerance warning at its line; a pool counts as its maxsources', async () => {
  assert.deepEqual(await check(''), { ok: true, errors: [], warnings: ['test.conf: no time sources (server, pool or peer): the clock will not be synchronized, only run free'] });
  const one = await check('server 127.0.16.1 iburst\n');
  assert.equal(one.ok, true);
  assert.deepEqual(one.warnings, ['test.conf:2: server 127.0.16.1 is the only time source: no fault tolerance. If it fails or serves a wrong time, no other source can take over or outvote it; configure several (at least three lets a wrong one be outvoted)']);
  assert.match((await check('pool pool.example.org maxsources 1\n')).warnings.join('\n'), /pool pool\.example\.org is the only time source: no fault tolerance/);
  assert.deepEqual((await check('pool pool.example.org\n')).warnings, []);
  assert.deepEqual((await check(THREE)).warnings, []);
});

test('the key file: a missing one is an error at the keyfile line, the errno code said once', async () => {
  const missing = join(dir, 'missing.keys');
  const r = await check(`${THREE}keyfile ${missing}\n`);
  assert.deepEqual(r, { ok: false, warnings: [], errors: [`test.conf:5: ${missing}: Cannot read the key file: ENOENT (no such file or directory)`] });
  const keys = join(dir, 'ok.keys');
  writeFileSync(keys, '1 SHA1 HEX:0123456789ABCDEF0123456789ABCDEF01234567\n', { mode: 0o600 });
  const good = await loadConfigResources(config(`controlsocket /\n${THREE}keyfile ${keys}\nserver 127.0.16.4 key 2\n`), { interfaces: INTERFACES });
  assert.equal(good.resources?.keys?.size, 1);
  assert.deepEqual(good.warnings.map(formatDiagnostic), [`test.conf:6: 127.0.16.4: key 2 is not in ${keys}; the source will not be polled`]);
});

test('addresses: a bindaddress this machine does not have is an error when the daemon serves; httpaddress only a warning', async () => {
  const serving = `${THREE}allow 127.0.0.0/8\nport 12300\n`;
  assert.equal((await check(`${serving}bindaddress 127.0.16.9\nbindaddress 10.1.2.3\nbindaddress 0.0.0.0\nbindaddress ::1\n`)).ok, true);
  assert.deepEqual((await check(`${serving}bindaddress 198.51.100.7\n`)).errors,
    ['test.conf:7: bindaddress 198.51.100.7: not an address of this machine (binding it fails with EADDRNOTAVAIL)']);
  // Not serving (no allow): chronyd binds nothing, so nothing to check.
  assert.equal((await check(`${THREE}bindaddress 198.51.100.7\n`)).ok, true);
  assert.deepEqual(await check(`${THREE}httpaddress 198.51.100.7 9473\n`), {
    ok: true, errors: [], warnings: ['test.conf:5: httpaddress 198.51.100.7: not an address of this machine: the daemon will run without its dashboard and metrics'],
  });
  assert.deepEqual((await check(`${THREE}httpaddress 198.51.100.7 9473\n`, { http: false })).warnings, []);
});

test('directories the daemon writes to: a missing or blocked one is a warning, one it can create is fine', async () => {
  writeFileSync(join(dir, 'a-file'), '');
  const r = await check(`${THREE}driftfile ${join(dir, 'no-such-dir', 'drift')}\nlogdir ${join(dir, 'a-file', 'logs')}\nlog tracking\n`);
  assert.equal(r.ok, true);
  assert.deepEqual(r.warnings, [
    `test.conf:5: driftfile ${join(dir, 'no-such-dir', 'drift')}: directory ${join(dir, 'no-such-dir')}: ENOENT (no such file or directory): the frequency will not be saved`,
    `test.conf:6: logdir ${join(dir, 'a-file', 'logs')}: ${join(dir, 'a-file')} is not a directory: the statistics logs will not be written`,
  ]);
  assert.deepEqual((await check(`${THREE}driftfile ${join(dir, 'drift')}\nlogdir ${join(dir, 'new', 'logs')}\nlog tracking\n`)).warnings, []);
});

describe('NTS certificates and keys', { skip: interopSkip('openssl') }, () => {
  let a: TestPki;
  let b: TestPki;
  before(async () => { [a, b] = await Promise.all([makeTestPki(), makeTestPki()]); });
  after(async () => { await a?.remove(); await b?.remove(); });

  const nts = (cert: string, key: string): string => `${THREE}bindaddress 127.0.16.9\nntsservercert ${cert}\nntsserverkey ${key}\n`;

  test('a good pair loads: the first pair is what the KE server gets', async () => {
    const r = await loadConfigResources(config(`controlsocket /\n${nts(a.certPath, a.keyPath)}`), { interfaces: INTERFACES });
    assert.deepEqual(r.errors, []);
    assert.equal(r.resources?.ntsServer?.cert, a.cert);
    assert.equal(r.resources?.ntsServer?.key, a.key);
  });

  test('a bad certificate, a key that is not one, a missing key, a pair that does not belong together: each an error at its line', async () => {
    const garbage = join(dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    assert.deepEqual((await check(nts(garbage, a.keyPath))).errors, [`test.conf:6: ntsservercert ${garbage}: not a PEM certificate (PEM routines: no start line)`]);
    assert.match((await check(nts(a.certPath, garbage))).errors.join('\n'), new RegExp(`^test\\.conf:7: ntsserverkey ${garbage}: not a PEM private key without a passphrase \\(`));
    const missing = join(dir, 'missing.key');
    assert.deepEqual((await check(nts(a.certPath, missing))).errors, [`test.conf:7: ntsserverkey ${missing}: cannot read: ENOENT (no such file or directory)`]);
    assert.deepEqual((await check(nts(a.certPath, b.keyPath))).errors, [`test.conf:7: ntsserverkey ${b.keyPath}: not the key of the certificate in ${a.certPath}`]);
    assert.deepEqual((await check(nts(a.certPath, dir))).errors, [`test.conf:7: ntsserverkey ${dir}: cannot read: a directory, not a regular file`]);
  });

  test('the library never serves: its certificates are not its business', async () => {
    assert.equal((await check(nts(join(dir, 'missing.crt'), a.keyPath), { serve: false })).ok, true);
  });

  test('ntstrustedcerts: a missing file, one without a certificate: errors; a directory of certificates loads', async () => {
    const missing = join(dir, 'missing-ca.pem');
    assert.deepEqual((await check(`${THREE}ntstrustedcerts ${missing}\n`)).errors, [`test.conf:5: ntstrustedcerts ${missing}: cannot read: ENOENT (no such file or directory)`]);
    const empty = join(dir, 'empty.pem');
    writeFileSync(empty, '');
    assert.deepEqual((await check(`${THREE}ntstrustedcerts ${empty}\n`)).errors, [`test.conf:5: ntstrustedcerts ${empty}: no PEM certificate in it`]);
    const cas = join(dir, 'cas');
    mkdirSync(cas);
    writeFileSync(join(cas, 'a.pem'), a.caCert);
    writeFileSync(join(cas, 'b.pem'), b.caCert);
    assert.equal((await check(`${THREE}ntstrustedcerts ${cas}\n`)).ok, true);
  });
});
