/**
 * chrony's acquisitionport and bindacqaddress, on the real daemon process:
 * its requests leave from that address and port, which is what a firewall
 * rule written for chronyd expects. The "server" is a bare UDP socket of the
 * test's own, which sees each request's source address as the kernel gives it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../config/parse-config.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { type LoopbackBlock, type ManagedProcess, reserveLoopbackBlock, spawnNtpkit } from '../testing/index.js';

let block: LoopbackBlock | undefined;
before(async () => { block = await reserveLoopbackBlock('acquisition-e2e.test', 2); });
after(() => block?.release());

const bound = (address: string): Promise<Socket> => new Promise((resolve, reject) => {
  const s = createSocket('udp4');
  s.once('error', reject);
  s.bind(0, address, () => resolve(s));
});

const close = (s: Socket): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

test('acquisitionport and bindacqaddress: the daemon\'s requests leave from that address and port', { timeout: 60_000 }, async () => {
  const [self, server] = (block as LoopbackBlock).addresses as [string, string];
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-acq-'));
  const listener = await bound(server);
  // A port the kernel just handed out on `self` and took back: free for the daemon to bind.
  const probe = await bound(self);
  const acqPort = probe.address().port;
  await close(probe);
  let daemon: ManagedProcess | undefined;
  try {
    const seen = new Promise<RemoteInfo>((resolve) => listener.once('message', (_m, r) => resolve(r)));
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, [
      `server ${server} port ${listener.address().port} iburst minpoll 0`,
      `acquisitionport ${acqPort}`,
      `bindacqaddress ${self}`,
      `controlsocket ${join(dir, 'ntpkit.sock')}\nbindcmdaddress /\ncmdport 0`,
      '',
    ].join('\n'));
    daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    const from = await Promise.race([seen, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    assert.ok(from, `no request within 30 s:\n${daemon.logs()}`);
    assert.equal(from.address, self);
    assert.equal(from.port, acqPort);
  } finally {
    await daemon?.stop();
    await close(listener);
    await rm(dir, { recursive: true, force: true });
  }
});

test('acquisitionport: a port, and not the served one; bindacqaddress: one address per family', () => {
  const parse = (text: string): string[] => parseConfigText(text, 'c.conf', { format: 'chrony' }).errors.map(formatDiagnostic);
  assert.deepEqual(parse('acquisitionport 70000\nbindacqaddress nowhere\nbindacqaddress 10.0.0.1 10.0.0.2\n'), [
    'c.conf:1: acquisitionport: expected a port number from 0 to 65535, got "70000"',
    'c.conf:2: bindacqaddress: expected one IPv4 or IPv6 address, got "nowhere"',
    'c.conf:3: bindacqaddress: expected one IPv4 or IPv6 address, got "10.0.0.1 10.0.0.2"',
  ]);
  assert.deepEqual(parse('port 11123\nallow\nacquisitionport 11123\n'), ['c.conf:3: acquisitionport 11123: the same port as the NTP server\'s; use another port, or 0']);
  // Not serving (no allow): nothing to share the port with.
  assert.deepEqual(parse('port 11123\nacquisitionport 11123\n'), []);
  const c = parseConfigText('bindacqaddress 10.0.0.1\nbindacqaddress ::1\nbindacqaddress 10.0.0.2\nacquisitionport 1123\n', 'c.conf', { format: 'chrony' }).config;
  assert.deepEqual(c?.acquisition, { port: 1123, addresses: ['::1', '10.0.0.2'], device: null });
});
