/**
 * `ntpkit server --workers N` with NTS: the primary's NTS-KE owns the cookie
 * master keys and the workers follow them, so a cookie one worker issued
 * opens in another. The judge is chronyd's NTS client: it opens a new socket
 * (a new source port) for every request, so SO_REUSEPORT sends its requests
 * to either worker, each carrying a cookie that the last reply's worker
 * sealed; one worker failing to open another's cookie would NAK, and
 * chronyd would run NTS-KE again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { loadServerConfig } from '../config/load.js';
import type { ServerStats } from '../core/server/server-stats.js';
import { NtsClientAuthenticator } from '../crypto/nts-client.js';
import { CookieKeyRing } from '../crypto/nts-cookie.js';
import { loadNativeUdp } from '../net/native-udp.js';
import { ntsKeyExchange } from '../net/nts-ke-client.js';
import { reserveLoopbackBlock, startChronydClient, toolPath } from '../testing/index.js';
import { freeTcpPort, makeTestPki } from '../testing/nts-pki.js';
import { interopSkip } from '../testing/tools.js';
import { startNtsKeServer } from './nts-ke-server.js';
import { startWorkers } from './server-workers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const reuseSkip = loadNativeUdp().ok ? false : 'SO_REUSEPORT needs the native UDP socket on Node 20';
const naks = (s: ServerStats): number => s.kodSent.NTSN + s.cryptoNakSent;

/** One request from a socket of its own (so the kernel may pick either worker); null on timeout. */
async function exchange(address: string, packet: Uint8Array): Promise<Uint8Array | null> {
  const s = createSocket('udp4');
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve(null), 2000);
      s.on('message', (m) => { clearTimeout(timer); resolve(new Uint8Array(m)); });
      s.on('error', (e) => { clearTimeout(timer); reject(e); });
      s.send(packet, 123, address);
    });
  } finally {
    s.close();
  }
}

test('NTS with two workers: chronyd polls on cookies either worker issued, and a rotation reaches both', { skip: reuseSkip || interopSkip('chronyd', 'chronyc', 'openssl') }, async (t) => {
  const block = await reserveLoopbackBlock(`server-workers-nts-${process.pid}`, 1);
  t.after(() => block.release());
  const address = block.addresses[0] as string;
  const pki = await makeTestPki({ san: `IP:${address}` });
  t.after(() => pki.remove());
  let now = 0;
  const ring = CookieKeyRing.generate(now);
  const ke = await startNtsKeServer({ cert: pki.cert, key: pki.key, cookies: ring, address, port: await freeTcpPort(address) });
  t.after(() => ke.close());
  const { config } = loadServerConfig(undefined, [`bindaddress ${address}`, 'port 123', 'allow 127.0.0.0/8', 'local stratum 1']);
  const w = await startWorkers(config, 2, {}, ring);
  t.after(async () => { await w.close(); });
  assert.equal(w.pids.length, 2);

  const client = await startChronydClient({
    servers: [{ address, options: `iburst nts ntsport ${ke.port} minpoll -4 maxpoll -4` }],
    extraConfig: ['ntstrustedcerts {dir}/ca.pem', 'bindcmdaddress {dir}/cmd.sock'],
    files: { 'ca.pem': pki.caCert },
  });
  t.after(() => client.stop());
  // Both workers answering authenticated requests, 24 in all: past its 8 KE cookies chronyd polls on
  // cookies from replies, and with requests spread at random each worker meets the other's cookies.
  let per: ServerStats[] = [];
  for (const deadline = Date.now() + 40_000; Date.now() < deadline; await sleep(250)) {
    per = await w.workerStats();
    if (per.every((s) => s.authenticatedNtpPackets >= 4) && per.reduce((n, s) => n + s.authenticatedNtpPackets, 0) >= 24) break;
  }
  const summary = per.map((s) => `worker: ${s.authenticatedNtpPackets} authenticated, ${naks(s)} NAKs, ${JSON.stringify(s.authFailed)}`).join('\n');
  assert.ok(per.every((s) => s.authenticatedNtpPackets >= 4), `${summary}\nKE: ${JSON.stringify(ke.stats())}\n${client.logs()}`);
  assert.ok(per.reduce((n, s) => n + s.authenticatedNtpPackets, 0) >= 24, summary);
  assert.deepEqual(per.map(naks), [0, 0], summary);
  assert.equal(ke.stats().accepted, 1, 'one key exchange: no worker refused a cookie, so chronyd never had to re-key');
  const ntpdata = execFileSync(toolPath('chronyc'), ['-h', join(client.dir, 'cmd.sock'), '-n', 'ntpdata', address], { encoding: 'utf8' });
  assert.match(ntpdata, /^Authenticated\s*: Yes$/m, ntpdata);

  // Rotations happen in the primary only; after three, only keys the workers were sent remain, and
  // cookies the KE server seals now open in both workers.
  for (let i = 0; i < 3; i++) ring.rotate(++now);
  await sleep(200);
  const before = await w.workerStats();
  const keys = await ntsKeyExchange({ host: address, port: ke.port, trustedCerts: [pki.caCertPath], noSystemCerts: true, timeoutMs: 5000 });
  const ours = new NtsClientAuthenticator(keys);
  for (let i = 0; i < 24; i++) {
    const header = new Uint8Array(48);
    header[0] = (4 << 3) | 3;
    header.set(randomBytes(8), 40);
    const s = ours.secure(header);
    assert.ok(s);
    const reply = await exchange(address, s.packet);
    assert.ok(reply, `request ${i} unanswered`);
    assert.deepEqual(ours.check(reply, s.token), { ok: true }, `request ${i}`);
  }
  const after = await w.workerStats();
  const gained = after.map((s, i) => s.authenticatedNtpPackets - (before[i] as ServerStats).authenticatedNtpPackets);
  // chronyd's own polls land in these figures too; each worker served some of ours at the least (24 requests on
  // fresh ports all landing on one worker has odds of 2^-23).
  assert.ok(gained.every((g) => g >= 1), `authenticated per worker after the rotation: ${gained.join(', ')}`);
  // chronyd's cookies from before the rotations are under keys that left the ring: NAKs for those are expected now, ours got none (checked above).
});
