import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { CookieKeyRing } from '../crypto/nts-cookie.js';
import { ntsKeyExchange, type NtsKeClientError } from '../net/nts-ke-client.js';
import { buildKeRequest, encodeNtsKeRecords, type NtsKeRecord, scanNtsKeMessage } from '../proto/nts-ke.js';
import { captureClientHello, heldTcpSessions, openHostile } from '../testing/nts-ke-hostile.js';
import { makeTestPki, type TestPki } from '../testing/nts-pki.js';
import { interopSkip } from '../testing/tools.js';
import { type NtsKeServer, type NtsKeServerOptions, startNtsKeServer } from './nts-ke-server.js';

/** Sends raw bytes over TLS with ALPN ntske/1 and returns the server's whole reply. */
function rawExchange(server: NtsKeServer, ca: string, payload: Uint8Array, alpn: string[] = ['ntske/1']): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect({ host: '127.0.0.1', port: server.port, ca, ALPNProtocols: alpn, minVersion: 'TLSv1.3' }, () => s.write(payload));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(new Uint8Array(Buffer.concat(chunks))));
  });
}

function records(bytes: Uint8Array): readonly NtsKeRecord[] {
  const r = scanNtsKeMessage(bytes);
  assert.ok(r.ok && r.complete, `a complete message, got ${JSON.stringify(r)}`);
  return r.records;
}

describe('NTS-KE server and client on loopback', { skip: interopSkip('openssl', 'libfaketime') }, () => {
  let pki: TestPki;
  let expired: TestPki;
  const servers: NtsKeServer[] = [];
  const start = async (o: Partial<NtsKeServerOptions> = {}, p: TestPki = pki): Promise<NtsKeServer> => {
    const s = await startNtsKeServer({ cert: p.cert, key: p.key, cookies: o.cookies ?? CookieKeyRing.generate(0), address: '127.0.0.1', port: 0, ...o });
    servers.push(s);
    return s;
  };
  before(async () => {
    pki = await makeTestPki();
    expired = await makeTestPki({ expired: true });
  });
  after(async () => {
    for (const s of servers) await s.close();
    await pki?.remove();
    await expired?.remove();
  });

  test('the client gets 8 cookies; both ends export the same keys, and the cookies hold them', async () => {
    const ring = CookieKeyRing.generate(0);
    const server = await start({ cookies: ring });
    const r = await ntsKeyExchange({ host: '127.0.0.1', port: server.port, trustedCerts: [pki.caCertPath], noSystemCerts: true, timeoutMs: 5000 });
    assert.equal(r.server, '127.0.0.1');
    assert.equal(r.port, 123);
    assert.equal(r.aeadId, 15);
    assert.equal(r.cookies.length, 8);
    assert.equal(r.c2s.length, 32);
    assert.notDeepEqual(r.c2s, r.s2c);
    for (const c of r.cookies) assert.deepEqual(ring.open(c), { aeadId: 15, c2s: r.c2s, s2c: r.s2c });
    assert.deepEqual(server.stats(), { accepted: 1, dropped: 0, droppedBy: {} });
    // A second exchange gets other keys: they come from the TLS session.
    const r2 = await ntsKeyExchange({ host: '127.0.0.1', port: server.port, trustedCerts: [pki.dir + '/ca.crt'], timeoutMs: 5000 });
    assert.notDeepEqual(r2.c2s, r.c2s);
  });

  test('the NTP server and port named by the KE server (ntsntpserver) reach the client', async () => {
    const server = await start({ ntpServer: '127.0.0.9', ntpPort: 11123 });
    const r = await ntsKeyExchange({ host: '127.0.0.1', port: server.port, trustedCerts: [pki.caCertPath], timeoutMs: 5000 });
    assert.equal(r.server, '127.0.0.9');
    assert.equal(r.port, 11123);
  });

  test('a certificate from an untrusted CA is refused by the client, which sends no request: the server hands out nothing', async () => {
    const server = await start();
    await assert.rejects(ntsKeyExchange({ host: '127.0.0.1', port: server.port, trustedCerts: [pki.otherCaCertPath], noSystemCerts: true, timeoutMs: 5000 }),
      (e: NtsKeClientError) => e.code === 'certificate' && /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER/.test(e.message));
    // The refusal is the client's: it closes after the handshake without a request.
    await new Promise((r) => setTimeout(r, 100));
    // Whether the server sees the close inside its TLS handshake or just after it is a race.
    const st = server.stats();
    assert.equal(st.accepted, 0);
    assert.equal(st.dropped, 1);
    assert.equal((st.droppedBy['tls-error'] ?? 0) + (st.droppedBy['closed-early'] ?? 0), 1);
  });

  test('a certificate for another name is refused', async () => {
    const server = await start();
    await assert.rejects(ntsKeyExchange({ host: '127.0.0.1', serverName: 'ntp.invalid', port: server.port, trustedCerts: [pki.caCertPath], timeoutMs: 5000 }),
      (e: NtsKeClientError) => e.code === 'certificate' && /does not match ntp.invalid/.test(e.message));
  });

  test('nocerttimecheck: an expired certificate is refused, unless time checks are off; an untrusted one is refused either way', async () => {
    const server = await start({}, expired);
    await assert.rejects(ntsKeyExchange({ host: '127.0.0.1', port: server.port, trustedCerts: [expired.caCertPath], timeoutMs: 5000 }),
      (e: NtsKeClientError) => e.code === 'certificate' && /CERT_HAS_EXPIRED/.test(e.message));
    const r = await ntsKeyExchange({ host: '127.0.0.1', port: server.port, trustedCerts: [expired.caCertPath], noCertTimeCheck: true, timeoutMs: 5000 });
    assert.equal(r.cookies.length, 8);
    await assert.rejects(ntsKeyExchange({ host: '127.0.0.1', port: server.port, trustedCerts: [expired.otherCaCertPath], noSystemCerts: true, noCertTimeCheck: true, timeoutMs: 5000 }),
      (e: NtsKeClientError) => e.code === 'certificate');
    await assert.rejects(ntsKeyExchange({ host: '127.0.0.1', serverName: 'ntp.invalid', port: server.port, trustedCerts: [expired.caCertPath], noCertTimeCheck: true, timeoutMs: 5000 }),
      (e: NtsKeClientError) => e.code === 'certificate' && /does not match/.test(e.message));
  });

  test('bad requests get an Error record: unknown critical record (0), missing AEAD (1); no common AEAD gets an empty AEAD record', async () => {
    const server = await start();
    const unknown = encodeNtsKeRecords([...buildKeRequest({ aeads: [15] }).slice(0, -1), { type: 'unknown', critical: true, recordType: 0x4001, body: new Uint8Array(0) }, { type: 'end', critical: true }]);
    assert.deepEqual(records(await rawExchange(server, pki.caCert, unknown)), [{ type: 'error', critical: true, code: 0 }, { type: 'end', critical: true }]);
    const noAead = encodeNtsKeRecords([{ type: 'next-protocol', critical: true, protocols: [0] }, { type: 'end', critical: true }]);
    assert.deepEqual(records(await rawExchange(server, pki.caCert, noAead)), [{ type: 'error', critical: true, code: 1 }, { type: 'end', critical: true }]);
    const gcm = encodeNtsKeRecords(buildKeRequest({ aeads: [30] }));
    assert.deepEqual(records(await rawExchange(server, pki.caCert, gcm)), [
      { type: 'next-protocol', critical: true, protocols: [0] }, { type: 'aead', critical: true, algorithms: [] }, { type: 'end', critical: true }]);
    const garbage = Uint8Array.of(0x80, 0, 0, 1, 0xff);
    assert.deepEqual(records(await rawExchange(server, pki.caCert, garbage)), [{ type: 'error', critical: true, code: 1 }, { type: 'end', critical: true }]);
    const st = server.stats();
    assert.equal(st.accepted, 0);
    assert.deepEqual(st.droppedBy, { 'bad-request': 2, 'no-common-algorithm': 1, malformed: 1 });
  });

  test('a client without ALPN ntske/1 is dropped; so is one that sends nothing before the timeout', async () => {
    const server = await start({ timeoutMs: 300 });
    await rawExchange(server, pki.caCert, encodeNtsKeRecords(buildKeRequest({ aeads: [15] })), []).catch(() => undefined);
    await rawExchange(server, pki.caCert, new Uint8Array(0));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(server.stats().droppedBy, { 'no-alpn': 1, timeout: 1 });
  });

  test('connections beyond maxConnections are closed at once and counted', async () => {
    const server = await start({ maxConnections: 1, timeoutMs: 1000 });
    const held = rawExchange(server, pki.caCert, new Uint8Array(0));
    await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(ntsKeyExchange({ host: '127.0.0.1', port: server.port, trustedCerts: [pki.caCertPath], timeoutMs: 2000 }),
      (e: NtsKeClientError) => ['connect-failed', 'closed-early'].includes(e.code));
    await held;
    assert.equal(server.stats().droppedBy['too-many-connections'], 1);
  });

  test('the session deadline runs from accept and ends every connection, whatever the client sends, after the response too', { timeout: 20_000 }, async () => {
    const timeoutMs = 400;
    const server = await start({ timeoutMs });
    const o = { host: '127.0.0.1', port: server.port, ca: pki.caCert, clientHello: await captureClientHello(), intervalMs: 100 };
    const hostile = (['idle', 'slow-handshake', 'slow-request'] as const).map((k) => openHostile(k, o));
    // A client that reads its response but never closes its end.
    let lingering: TLSSocket | undefined;
    const response = new Promise<Uint8Array>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const raw = new Socket({ allowHalfOpen: true }).connect(server.port, '127.0.0.1');
      lingering = connect({ socket: raw, ca: pki.caCert, ALPNProtocols: ['ntske/1'], minVersion: 'TLSv1.3', checkServerIdentity: () => undefined },
        () => lingering?.write(encodeNtsKeRecords(buildKeRequest({ aeads: [15] }))));
      lingering.on('data', (c: Buffer) => chunks.push(c));
      lingering.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
      lingering.on('error', reject);
    });
    try {
      assert.equal(records(await response).filter((r) => r.type === 'cookie').length, 8);
      for (const h of hostile) {
        const held = (await h.closed) - h.startedAt;
        assert.ok(held >= timeoutMs, `${h.kind} closed after ${held.toFixed(1)} ms, before the ${timeoutMs} ms deadline`);
      }
      assert.ok(hostile.slice(1).every((h) => h.sent() > 0), 'the slow clients were sending');
      // The server's end of the lingering connection goes too (its socket leaves the process).
      for (let i = 0; heldTcpSessions('127.0.0.1', server.port) > 0; i++) {
        assert.ok(i < 100, 'the server still holds a connection 10 deadlines later');
        await new Promise((r) => setTimeout(r, timeoutMs / 4));
      }
      assert.deepEqual(server.stats(), { accepted: 1, dropped: 3, droppedBy: { timeout: 3 } });
    } finally {
      for (const h of hostile) h.destroy();
      lingering?.destroy();
    }
  });
});

