/**
 * NTS end to end through `ntpkit daemon`, with chronyd 4.3 on loopback, in
 * both directions:
 * - ntpkit's daemon with `server ADDR nts` against chronyd's NTS server: it
 *   runs NTS-KE, synchronizes on authenticated replies only, and ntpdata says
 *   so;
 * - chronyd's NTS client against the daemon's NTS-KE and NTP server: chronyd
 *   selects ntpkit and `chronyc authdata` shows NTS, with cookies from our
 *   replies.
 * Certificates come from a test CA made with openssl (src/testing/nts-pki.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchSnapshot } from '../control/commands.js';
import { controlRequest } from '../control/client.js';
import { startChronydClient, startChronydServer } from '../testing/chronyd.js';
import { freeUdpPort, type LoopbackBlock, reserveLoopbackBlock } from '../testing/loopback.js';
import { freeTcpPort, makeTestPki, type TestPki } from '../testing/nts-pki.js';
import { type ManagedProcess, spawnManaged } from '../testing/process.js';
import { interopSkip, toolPath } from '../testing/tools.js';
import { until } from '../testing/until.js';

const BIN = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));

describe('NTS through ntpkit daemon, with chronyd 4.3', { skip: interopSkip('chronyd', 'chronyc', 'openssl') }, () => {
  let pki: TestPki;
  let block: LoopbackBlock;
  let dir: string;
  before(async () => {
    block = await reserveLoopbackBlock(`nts-daemon-interop-${process.pid}`, 2);
    pki = await makeTestPki({ san: `IP:${block.addresses.join(',IP:')}` });
    dir = await mkdtemp(join(tmpdir(), 'ntpkit-nts-daemon-'));
  });
  after(async () => {
    block?.release();
    await pki?.remove();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('ntpkit daemon `server ADDR nts` against chronyd\'s NTS server: key exchange, then synchronized on authenticated replies', { timeout: 90_000 }, async (t) => {
    const [server] = block.addresses as [string];
    const ntsPort = await freeTcpPort();
    const chronyd = await startChronydServer({
      address: server,
      extraConfig: ['ntsservercert {dir}/server.crt', 'ntsserverkey {dir}/server.key', `ntsport ${ntsPort}`],
      files: { 'server.crt': pki.cert, 'server.key': pki.key },
    });
    t.after(() => chronyd.stop());
    const socket = join(dir, 'client.sock');
    const conf = join(dir, 'client.conf');
    await writeFile(conf, [
      `server ${server} nts ntsport ${ntsPort} iburst minpoll 0 maxpoll 1`,
      `ntstrustedcerts ${pki.caCertPath}`,
      'nosystemcert',
      `controlsocket ${socket}\nbindcmdaddress /\ncmdport 0`,
      'makestep 0.1 3',
    ].join('\n') + '\n');
    const daemon: ManagedProcess = await spawnManaged(process.execPath, [BIN, 'daemon', '-f', conf, '--clock', 'virtual', '--virtual-offset', '0.05']);
    t.after(() => daemon.stop());
    await until('the daemon synchronized', 40_000, async () => {
      const s = await fetchSnapshot(socket, { timeoutMs: 1000 });
      return s.tracking.synchronized ? s : null;
    }, () => daemon.logs());
    assert.match(daemon.logs(), new RegExp(`NTS-KE with ${server.replaceAll('.', '\\.')}:${ntsPort}: 8 cookies, AEAD 15`));
    const data = await controlRequest(socket, 'ntpdata', {}, { timeoutMs: 2000 }) as { sources: { authenticated: boolean; authMode: string; authFailures: number; totalValidRx: number }[] } | { authenticated: boolean; authMode: string; authFailures: number; totalValidRx: number }[];
    const sources = Array.isArray(data) ? data : data.sources;
    assert.equal(sources.length, 1, JSON.stringify(data));
    const s = sources[0]!;
    assert.equal(s.authenticated, true, JSON.stringify(s));
    assert.equal(s.authMode, 'nts', JSON.stringify(s));
    assert.equal(s.authFailures, 0, JSON.stringify(s));
    // More valid replies than the KE's 8 cookies: the daemon keeps going on cookies from chronyd's replies.
    await until('more than 8 authenticated replies', 30_000, async () => {
      const d = await controlRequest(socket, 'ntpdata', {}, { timeoutMs: 2000 }) as typeof data;
      const x = (Array.isArray(d) ? d : d.sources)[0]!;
      return x.totalValidRx > 8 && x.authenticated ? x : null;
    }, () => daemon.logs());
    assert.doesNotMatch(daemon.logs(), /NTS-KE with .* failed/);
  });

  test('chronyd\'s NTS client against ntpkit daemon\'s NTS-KE and NTP server: selected, NTS in use', { timeout: 90_000 }, async (t) => {
    const [, self] = block.addresses as [string, string];
    const ntsPort = await freeTcpPort(self);
    const socket = join(dir, 'server.sock');
    const conf = join(dir, 'server.conf');
    await writeFile(join(dir, 'server.crt'), pki.cert);
    await writeFile(join(dir, 'server.key'), pki.key, { mode: 0o600 });
    await writeFile(conf, [
      'local stratum 3',
      'allow 127.0.0.0/8',
      `bindaddress ${self}`,
      `controlsocket ${socket}\nbindcmdaddress /\ncmdport 0`,
      `ntsservercert ${join(dir, 'server.crt')}`,
      `ntsserverkey ${join(dir, 'server.key')}`,
      `ntsport ${ntsPort}`,
      `ntsdumpdir ${dir}`,
    ].join('\n') + '\n');
    const daemon = await spawnManaged(process.execPath, [BIN, 'daemon', '-f', conf, '--clock', 'virtual']);
    t.after(() => daemon.stop());
    await until('the daemon serving', 20_000, async () => (/Serving NTP on/.test(daemon.logs()) ? true : null), () => daemon.logs());
    const client = await startChronydClient({
      servers: [{ address: self, options: `iburst nts ntsport ${ntsPort} minpoll 0 maxpoll 0` }],
      extraConfig: ['ntstrustedcerts {dir}/ca.crt', 'bindcmdaddress {dir}/cmd.sock'],
      files: { 'ca.crt': pki.caCert },
    });
    t.after(() => client.stop());
    const chronyc = (...args: string[]): string => execFileSync(toolPath('chronyc'), ['-h', join(client.dir, 'cmd.sock'), '-n', ...args], { encoding: 'utf8' });
    await until('chronyd selected ntpkit', 40_000, async () => (new RegExp(`^\\^\\* ${self.replaceAll('.', '\\.')}\\s`, 'm').test(chronyc('sources')) ? true : null),
      () => `${chronyc('sources')}\n${client.logs()}\n${daemon.logs()}`);
    const tracking = chronyc('tracking');
    assert.match(tracking, /^Leap status\s*: Normal$/m, tracking);
    assert.match(tracking, /^Stratum\s*: 4$/m, tracking);
    const authdata = chronyc('authdata');
    // chronyc authdata: Name/IP address  Mode KeyID Type KLen Last Atmp  NAK Cook CLen
    assert.match(authdata, new RegExp(`^${self.replaceAll('.', '\\.')}\\s+NTS\\s+1\\s+15\\s+256\\s`, 'm'), authdata);
    const ntpdata = chronyc('ntpdata', self);
    assert.match(ntpdata, /^Authenticated\s*: Yes$/m, ntpdata);
    const stats = await controlRequest(socket, 'serverstats', {}, { timeoutMs: 2000 }) as Record<string, unknown>;
    assert.ok(JSON.stringify(stats).includes('ntsKeConnectionsAccepted'), JSON.stringify(stats));
  });

  test('ntpkit daemon against ntpkit daemon: the client polls the NTP port its NTS-KE named (RFC 8915 §4.1.8)', { timeout: 90_000 }, async (t) => {
    const [, self] = block.addresses as [string, string];
    const ntsPort = await freeTcpPort(self);
    const ntpPort = await freeUdpPort(self);
    const serverSocket = join(dir, 'port-server.sock');
    const serverConf = join(dir, 'port-server.conf');
    await writeFile(join(dir, 'server.crt'), pki.cert);
    await writeFile(join(dir, 'server.key'), pki.key, { mode: 0o600 });
    await writeFile(serverConf, [
      'local stratum 2', 'allow 127.0.0.0/8', `bindaddress ${self}`, `port ${ntpPort}`, `controlsocket ${serverSocket}\nbindcmdaddress /\ncmdport 0`,
      `ntsservercert ${join(dir, 'server.crt')}`, `ntsserverkey ${join(dir, 'server.key')}`, `ntsport ${ntsPort}`,
    ].join('\n') + '\n');
    const server = await spawnManaged(process.execPath, [BIN, 'daemon', '-f', serverConf, '--clock', 'virtual']);
    t.after(() => server.stop());
    await until('the server daemon serving', 20_000, async () => (/Serving NTP on/.test(server.logs()) ? true : null), () => server.logs());
    const clientSocket = join(dir, 'port-client.sock');
    const clientConf = join(dir, 'port-client.conf');
    // No port option: the NTP port comes from the NTS-KE response, not the default 123.
    await writeFile(clientConf, [
      `server ${self} nts ntsport ${ntsPort} iburst minpoll 0 maxpoll 1`, `ntstrustedcerts ${pki.caCertPath}`, 'nosystemcert',
      `controlsocket ${clientSocket}\nbindcmdaddress /\ncmdport 0`, 'port 0',
    ].join('\n') + '\n');
    const client = await spawnManaged(process.execPath, [BIN, 'daemon', '-f', clientConf, '--clock', 'virtual', '--virtual-offset', '0.02']);
    t.after(() => client.stop());
    await until('the client synchronized over NTS', 40_000, async () => {
      const s = await fetchSnapshot(clientSocket, { timeoutMs: 1000 });
      return s.tracking.synchronized ? s : null;
    }, () => `${client.logs()}\n${server.logs()}`);
    assert.match(client.logs(), new RegExp(`named NTP port ${ntpPort}; polling ${self.replaceAll('.', '\\.')} there`));
    const d = await controlRequest(clientSocket, 'ntpdata', {}, { timeoutMs: 2000 }) as { sources: { authMode: string; authenticated: boolean; remotePort: number }[] } | { authMode: string; authenticated: boolean; remotePort: number }[];
    const s = (Array.isArray(d) ? d : d.sources)[0]!;
    assert.equal(s.authMode, 'nts');
    assert.equal(s.authenticated, true);
  });
});
