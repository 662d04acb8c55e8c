import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { NTS_KE_DROP_REASONS } from '../core/server/server-stats.js';
import { NtsClientAuthenticator } from '../crypto/nts-client.js';
import { ntsKeyExchange } from '../net/nts-ke-client.js';
import { loadNativeUdp } from '../net/native-udp.js';
import { freeUdpPort } from '../testing/loopback.js';
import { freeTcpPort, makeTestPki } from '../testing/nts-pki.js';
import { interopSkip } from '../testing/tools.js';
import { serverCommand } from './server-command.js';

/** One NTS-protected client request to 127.0.0.1:`port` on a socket of its own (so that the kernel may hand it to any worker), and its reply. */
async function ntsRoundTrip(client: NtsClientAuthenticator, port: number, log: readonly string[]): Promise<{ reply: Uint8Array; token: unknown }> {
  const header = new Uint8Array(48);
  header[0] = (4 << 3) | 3;
  header.set(randomBytes(8), 40);
  const secured = client.secure(header);
  assert.ok(secured !== null);
  const sock = dgram.createSocket('udp4');
  try {
    const reply = await new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply\n${log.join('\n')}`)), 3000);
      sock.once('message', (m) => { clearTimeout(timer); resolve(new Uint8Array(m)); });
      sock.send(secured.packet, port, '127.0.0.1');
    });
    return { reply, token: secured.token };
  } finally {
    sock.close();
  }
}

test('ntpkit server with ntsservercert/ntsserverkey serves NTS-KE, and serverstats count the exchanges', { skip: interopSkip('openssl', 'libfaketime') }, async (t) => {
  const pki = await makeTestPki();
  t.after(() => pki.remove());
  const ntpPort = await freeUdpPort('127.0.0.1');
  const ntsPort = await freeTcpPort();
  const conf = join(pki.dir, 'server.conf');
  await writeFile(conf, `bindaddress 127.0.0.1\nport ${ntpPort}\nallow 127.0.0.1\nlocal stratum 1\nntsservercert ${pki.certPath}\nntsserverkey ${pki.keyPath}\nntsport ${ntsPort}\n`);
  const out: string[] = [];
  const err: string[] = [];
  let release: () => void = () => {};
  const stopped = new Promise<void>((r) => { release = r; });
  const run = serverCommand({ out: (l) => out.push(l), err: (l) => err.push(l), setExitCode: (c) => err.push(`exit ${c}`) }, () => stopped)
    .parseAsync(['node', 'server', '-f', conf, '--json']);
  for (let i = 0; i < 100 && !err.some((l) => l.includes('Serving NTS-KE')); i++) await new Promise((r) => setTimeout(r, 50));
  try {
    assert.ok(err.includes(`ntpkit server: Serving NTS-KE on 127.0.0.1:${ntsPort}`), err.join('\n'));
    const ke = await ntsKeyExchange({ host: '127.0.0.1', port: ntsPort, trustedCerts: [pki.caCertPath], timeoutMs: 5000 });
    assert.equal(ke.port, ntpPort, 'the NTP port rides in the KE response');
    // The NTP side answers NTS requests with NTS, under the cookies the KE handed out.
    const client = new NtsClientAuthenticator(ke);
    const { reply, token } = await ntsRoundTrip(client, ntpPort, err);
    assert.notEqual(reply[1], 0, 'not an NTS NAK');
    assert.deepEqual(client.check(reply, token), { ok: true });
  } finally {
    release();
    await run;
  }
  const stats = JSON.parse(out[out.length - 1] as string) as Record<string, unknown>;
  assert.equal(stats.schema, 'ntpkit.serverstats/1');
  assert.equal(stats.ntsKeConnectionsAccepted, 1, JSON.stringify(stats));
  assert.deepEqual(stats.ntsKeDroppedByReason, Object.fromEntries(NTS_KE_DROP_REASONS.map((r) => [r, 0])), 'every KE drop reason, from the KE service');
});

test('ntpkit server serves NTS with several workers: KE in the primary, NTS replies from the workers under its keys', { skip: interopSkip('openssl', 'libfaketime') || (loadNativeUdp().ok ? false : 'SO_REUSEPORT needs the native UDP socket on Node 20') }, async (t) => {
  const pki = await makeTestPki();
  t.after(() => pki.remove());
  const ntpPort = await freeUdpPort('127.0.0.1');
  const ntsPort = await freeTcpPort();
  const conf = join(pki.dir, 'server.conf');
  await writeFile(conf, `bindaddress 127.0.0.1\nport ${ntpPort}\nallow 127.0.0.1\nlocal stratum 1\nntsservercert ${pki.certPath}\nntsserverkey ${pki.keyPath}\nntsport ${ntsPort}\n`);
  const out: string[] = [];
  const err: string[] = [];
  let release: () => void = () => {};
  const stopped = new Promise<void>((r) => { release = r; });
  const run = serverCommand({ out: (l) => out.push(l), err: (l) => err.push(l), setExitCode: (c) => err.push(`exit ${c}`) }, () => stopped)
    .parseAsync(['node', 'server', '-f', conf, '--workers', '2', '--json']);
  for (let i = 0; i < 200 && !err.some((l) => l.includes('2 workers')); i++) await new Promise((r) => setTimeout(r, 50));
  try {
    assert.ok(err.some((l) => l.includes('2 workers')), err.join('\n'));
    const ke = await ntsKeyExchange({ host: '127.0.0.1', port: ntsPort, trustedCerts: [pki.caCertPath], timeoutMs: 5000 });
    const client = new NtsClientAuthenticator(ke);
    for (let i = 0; i < 6; i++) {
      const { reply, token } = await ntsRoundTrip(client, ntpPort, err);
      assert.deepEqual(client.check(reply, token), { ok: true }, `request ${i}`);
    }
  } finally {
    release();
    await run;
  }
  const stats = JSON.parse(out[out.length - 1] as string) as Record<string, unknown>;
  assert.equal(stats.authenticatedNtpPackets, 6, JSON.stringify(stats));
  assert.equal(stats.ntsKeConnectionsAccepted, 1, JSON.stringify(stats));
});
