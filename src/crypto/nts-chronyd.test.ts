/**
 * Interop of the NTS NTP layer with chronyd 4.3, both ways:
 * - ntpkit's client (nts-client.ts) against chronyd's NTS server, with keys
 *   and cookies from chronyd's own NTS-KE;
 * - chronyd's NTS client against ntpkit's request check and reply
 *   (nts-server.ts) behind a bare UDP responder, after one NTS-KE: past its 8
 *   first cookies chronyd can only go on with cookies it decrypted from
 *   ntpkit's replies, and `chronyc ntpdata` gives chronyd's own verdict.
 * The KE client and server here are minimal test ones on node:tls (RFC 8915
 * §4: ALPN ntske/1, next protocol NTPv4, AEAD 15, key export §5.1), so this
 * file tests the NTP level alone, whatever the product's KE does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer as createTlsServer } from 'node:tls';
import { parseNtsPacketFields } from '../proto/nts-fields.js';
import { FakeCookieCodec } from '../testing/nts-cookie-fake.js';
import { requireTool, reserveLoopbackBlock, startChronydClient, startChronydServer, toolPath } from '../testing/index.js';
import { COOKIE_JAR_SIZE, NtsClientAuthenticator, type NtsClientKeys } from './nts-client.js';
import { NtsServerAuthenticator } from './nts-server.js';

const NTS_KE_PORT = 4460;

function record(type: number, critical: boolean, body: number[]): number[] {
  return [(critical ? 0x80 : 0) | (type >> 8), type & 0xff, body.length >> 8, body.length & 0xff, ...body];
}

/** A minimal NTS-KE client: asks for NTPv4 with AES-SIV-CMAC-256, returns the exported keys and the cookies. */
function keyExchange(host: string, port: number, ca: string): Promise<NtsClientKeys & { readonly records: number[] }> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port, ca, ALPNProtocols: ['ntske/1'], minVersion: 'TLSv1.3' });
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('NTS-KE timed out')); }, 5000);
    let buf = Buffer.alloc(0);
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('secureConnect', () => {
      sock.write(Buffer.from([...record(1, true, [0, 0]), ...record(4, false, [0, 15]), ...record(0, true, [])]));
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const cookies: Uint8Array[] = [];
      const records: number[] = [];
      for (let pos = 0; pos + 4 <= buf.length;) {
        const type = buf.readUInt16BE(pos) & 0x7fff;
        const len = buf.readUInt16BE(pos + 2);
        if (pos + 4 + len > buf.length) return;
        records.push(type);
        if (type === 5) cookies.push(new Uint8Array(buf.subarray(pos + 4, pos + 4 + len)));
        if (type === 2) { clearTimeout(timer); sock.destroy(); reject(new Error(`NTS-KE error record ${buf.readUInt16BE(pos + 4)}`)); return; }
        pos += 4 + len;
        if (type === 0) {
          clearTimeout(timer);
          const context = (dir: number): Buffer => Buffer.from([0, 0, 0, 15, dir]);
          const c2s = new Uint8Array(sock.exportKeyingMaterial(32, 'EXPORTER-network-time-security', context(0)));
          const s2c = new Uint8Array(sock.exportKeyingMaterial(32, 'EXPORTER-network-time-security', context(1)));
          sock.end();
          resolve({ aeadId: 15, c2s, s2c, cookies, records });
          return;
        }
      }
    });
  });
}

/** One UDP exchange; null on timeout. */
async function exchange(address: string, port: number, packet: Uint8Array, timeoutMs = 1000): Promise<Uint8Array | null> {
  const s = createSocket('udp4');
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      s.on('message', (m) => { clearTimeout(timer); resolve(new Uint8Array(m)); });
      s.on('error', (e) => { clearTimeout(timer); reject(e); });
      s.send(packet, port, address);
    });
  } finally {
    s.close();
  }
}

function makeCert(dir: string, address: string): { cert: string; key: string } {
  execFileSync(toolPath('openssl'), ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=ntpkit-test',
    '-addext', `subjectAltName=IP:${address}`], { stdio: 'ignore' });
  return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
}

function clientRequest(): Uint8Array {
  const h = new Uint8Array(48);
  h[0] = 0x23; // leap 0, version 4, mode 3
  h.set(randomBytes(8), 40); // transmit timestamp: any unique value
  return h;
}

test('ntpkit\'s NTS client against chronyd\'s NTS server: authenticated replies, cookie refill, NAK for a bad cookie', async (t) => {
  if (!requireTool(t, 'chronyd', 'openssl')) return;
  const block = await reserveLoopbackBlock(`nts-chronyd-${process.pid}`, 1);
  const address = block.addresses[0] as string;
  const certDir = mkdtempSync(join(tmpdir(), 'ntpkit-nts-cert-'));
  let server: Awaited<ReturnType<typeof startChronydServer>> | undefined;
  try {
    const { cert, key } = makeCert(certDir, address);
    server = await startChronydServer({
      address,
      files: { 'cert.pem': cert, 'key.pem': key },
      extraConfig: ['ntsservercert {dir}/cert.pem', 'ntsserverkey {dir}/key.pem', `ntsport ${NTS_KE_PORT}`, 'ntsprocesses 0'],
    });
    const ke = await keyExchange(address, NTS_KE_PORT, cert);
    assert.equal(ke.cookies.length, COOKIE_JAR_SIZE, `chronyd sends 8 cookies (records ${ke.records.join(',')})`);
    const client = new NtsClientAuthenticator(ke);

    for (let i = 0; i < 12; i++) {
      const s = client.secure(clientRequest());
      assert.ok(s);
      const reply = await exchange(address, server.port, s.packet);
      assert.ok(reply, `chronyd answered request ${i}\n${server.logs()}`);
      assert.deepEqual(client.check(reply, s.token), { ok: true }, `reply ${i}`);
      assert.equal(client.cookieCount, COOKIE_JAR_SIZE);
      assert.equal(reply[1], 1, 'stratum 1 from `local stratum 1`');
    }

    // Placeholders: spend three cookies without sending, then one request asks chronyd for four.
    for (let i = 0; i < 3; i++) client.secure(clientRequest());
    const s = client.secure(clientRequest());
    assert.ok(s);
    const req = parseNtsPacketFields(s.packet);
    assert.ok(req.ok);
    assert.equal(req.value.placeholderLengths.length, 3);
    const reply = await exchange(address, server.port, s.packet);
    assert.ok(reply);
    assert.deepEqual(client.check(reply, s.token), { ok: true });
    assert.equal(client.cookieCount, COOKIE_JAR_SIZE, 'chronyd sent one cookie per placeholder');

    // A cookie chronyd cannot open: it answers an NTS NAK, which the client reports as nak.
    const forgedKeys = { ...ke, cookies: ke.cookies.map((c) => { const f = Uint8Array.from(c); f[f.length - 1] = (f[f.length - 1] as number) ^ 1; return f; }) };
    const forged = new NtsClientAuthenticator(forgedKeys);
    const fs = forged.secure(clientRequest());
    assert.ok(fs);
    const nak = await exchange(address, server.port, fs.packet);
    assert.ok(nak, 'chronyd answers a bad cookie with a NAK');
    const r = forged.check(nak, fs.token);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.nak, true, !r.ok ? r.reason : '');

    // Requests under the wrong C2S key fail authentication: chronyd NAKs them too (RFC 8915 §5.7).
    const wrongKey = new NtsClientAuthenticator({ ...ke, c2s: new Uint8Array(randomBytes(32)) });
    const ws = wrongKey.secure(clientRequest());
    assert.ok(ws);
    const wr = await exchange(address, server.port, ws.packet);
    assert.ok(wr);
    const wc = wrongKey.check(wr, ws.token);
    assert.equal(!wc.ok && wc.nak, true);
  } finally {
    await server?.stop();
    block.release();
    rmSync(certDir, { recursive: true, force: true });
  }
});

/** A 48-octet server reply header for `request`, stratum 1, all timestamps now (what the responder builds before authenticating). */
function replyHeader(request: Uint8Array): Uint8Array {
  const h = new Uint8Array(48);
  const v = new DataView(h.buffer);
  h[0] = ((request[0] as number) & 0x38) | 4;
  h[1] = 1;
  h[2] = request[2] as number;
  h[3] = 0xec; // precision 2^-20
  v.setUint32(8, 0x10); // root dispersion ~0.24 ms
  h.set([0x4c, 0x4f, 0x43, 0x4c], 12); // LOCL
  const ms = Date.now();
  const secs = Math.floor(ms / 1000) + 2208988800;
  const frac = Math.floor(((ms % 1000) / 1000) * 2 ** 32);
  for (const off of [16, 32, 40]) { v.setUint32(off, secs); v.setUint32(off + 4, frac); }
  h.set(request.subarray(40, 48), 24);
  return h;
}

test('chronyd\'s NTS client against ntpkit\'s NTS server: it keeps polling on the cookies ntpkit\'s replies carry', async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc', 'openssl')) return;
  const block = await reserveLoopbackBlock(`nts-chronyd-client-${process.pid}`, 1);
  const address = block.addresses[0] as string;
  const certDir = mkdtempSync(join(tmpdir(), 'ntpkit-nts-cert-'));
  const { cert, key } = makeCert(certDir, address);
  const codec = new FakeCookieCodec();
  const nts = new NtsServerAuthenticator({ cookies: codec });
  let keCount = 0;
  let plainRequests = 0;
  const replySizes: [number, number][] = [];
  // A minimal NTS-KE server (RFC 8915 §4): NTPv4, AES-SIV-CMAC-256, 8 cookies; the NTP server is the same address, port 123.
  const ke = createTlsServer({ key, cert, ALPNProtocols: ['ntske/1'], minVersion: 'TLSv1.3' }, (sock) => {
    let buf = Buffer.alloc(0);
    sock.on('error', () => sock.destroy());
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (let pos = 0; pos + 4 <= buf.length;) {
        const type = buf.readUInt16BE(pos) & 0x7fff;
        const len = buf.readUInt16BE(pos + 2);
        if (pos + 4 + len > buf.length) return;
        pos += 4 + len;
        if (type !== 0) continue;
        keCount++;
        const context = (dir: number): Buffer => Buffer.from([0, 0, 0, 15, dir]);
        const keys = {
          aeadId: 15,
          c2s: new Uint8Array(sock.exportKeyingMaterial(32, 'EXPORTER-network-time-security', context(0))),
          s2c: new Uint8Array(sock.exportKeyingMaterial(32, 'EXPORTER-network-time-security', context(1))),
        };
        const out = [...record(1, true, [0, 0]), ...record(4, true, [0, 15])];
        for (let i = 0; i < 8; i++) out.push(...record(5, false, [...codec.seal(keys)]));
        out.push(...record(0, true, []));
        sock.end(Buffer.from(out));
        return;
      }
    });
  });
  const udp = createSocket('udp4');
  udp.on('message', (m, rinfo) => {
    const request = new Uint8Array(m);
    if (request.length === 48) { plainRequests++; return; }
    const header = replyHeader(request);
    const d = nts.authenticate(request, header);
    if (d.kind === 'drop') return;
    const reply = Uint8Array.from([...header, ...d.bytes]);
    replySizes.push([request.length, reply.length]);
    udp.send(reply, rinfo.port, rinfo.address);
  });
  let client: Awaited<ReturnType<typeof startChronydClient>> | undefined;
  try {
    await new Promise<void>((resolve, reject) => { ke.once('error', reject); ke.listen(NTS_KE_PORT, address, resolve); });
    await new Promise<void>((resolve, reject) => { udp.once('error', reject); udp.bind(123, address, resolve); });
    client = await startChronydClient({
      servers: [{ address, options: 'iburst nts minpoll -4 maxpoll -4' }],
      extraConfig: ['ntstrustedcerts {dir}/cert.pem', 'bindcmdaddress {dir}/cmd.sock'],
      files: { 'cert.pem': cert },
    });
    // 8 KE cookies; beyond 12 authenticated requests chronyd must be using cookies it decrypted from ntpkit's replies.
    const deadline = Date.now() + 20_000;
    while (nts.stats.authenticated < 12 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(nts.stats.authenticated >= 12,
      `authenticated ${nts.stats.authenticated}, KE ${keCount}, rejected ${JSON.stringify(nts.stats.rejected)} ${nts.stats.lastRejection ?? ''}\n${client.logs()}`);
    assert.equal(keCount, 1, 'one key exchange: chronyd never ran out of cookies');
    assert.equal(nts.stats.naks, 0);
    assert.equal(plainRequests, 0);
    for (const [req, rep] of replySizes) assert.ok(rep <= req, `reply ${rep} > request ${req}`);
    // chronyd's own verdict on the replies: authenticated, and passing its NTP tests.
    const ntpdata = execFileSync(toolPath('chronyc'), ['-h', join(client.dir, 'cmd.sock'), '-n', 'ntpdata', address], { encoding: 'utf8' });
    assert.match(ntpdata, /^Authenticated\s*: Yes$/m, ntpdata);
    const good = Number(/^Total good RX\s*: (\d+)$/m.exec(ntpdata)?.[1]);
    assert.ok(good >= 8, ntpdata);
  } finally {
    await client?.stop();
    udp.close();
    ke.close();
    block.release();
    rmSync(certDir, { recursive: true, force: true });
  }
});
