/**
 * NTS-KE interop with chronyd 4.3 on loopback, both ways. Each direction is
 * checked past the KE itself, at the first NTP packet, because only that
 * proves both ends exported the same keys (RFC 8915 §5.1 label and context):
 * - ntpkit's client against chronyd's KE server: an NTS request sealed with
 *   the exported C2S key and one of chronyd's cookies gets a reply that opens
 *   with the S2C key and echoes the unique identifier;
 * - chronyd's client against ntpkit's KE server: chronyd's first NTP request
 *   carries one of our cookies, which opens to the keys we exported, and its
 *   Authenticator opens with that C2S key.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { sivDecrypt, sivEncrypt } from '../crypto/aes-siv.js';
import { CookieKeyRing } from '../crypto/nts-cookie.js';
import { ntsKeyExchange } from '../net/nts-ke-client.js';
import { encodeExtensionFieldList, type ExtensionField, ExtensionFieldType, parseExtensionFieldList } from '../proto/extension.js';
import { startChronyd, startChronydServer } from '../testing/chronyd.js';
import { freeUdpPort, reserveLoopbackBlock } from '../testing/loopback.js';
import { freeTcpPort, makeTestPki, type TestPki } from '../testing/nts-pki.js';
import { interopSkip } from '../testing/tools.js';
import { startNtsKeServer } from './nts-ke-server.js';

/** The NTS Authenticator's body (§5.6): nonce length, ciphertext length, nonce, ciphertext, each padded to 4 octets. */
function authenticatorBody(nonce: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const pad = (n: number): number => (n + 3) & ~3;
  const body = new Uint8Array(4 + pad(nonce.length) + pad(ciphertext.length));
  new DataView(body.buffer).setUint16(0, nonce.length);
  new DataView(body.buffer).setUint16(2, ciphertext.length);
  body.set(nonce, 4);
  body.set(ciphertext, 4 + pad(nonce.length));
  return body;
}

/** Opens the Authenticator that starts at `offset` in `packet`, the octets before it being the associated data. */
function openAuthenticator(packet: Uint8Array, offset: number, key: Uint8Array): Uint8Array | null {
  const v = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const nonceLength = v.getUint16(offset + 4);
  const ctLength = v.getUint16(offset + 6);
  const nonce = packet.subarray(offset + 8, offset + 8 + nonceLength);
  const ctStart = offset + 8 + ((nonceLength + 3) & ~3);
  return sivDecrypt(key, packet.subarray(ctStart, ctStart + ctLength), [packet.subarray(0, offset)], nonce);
}

/** Field offsets in a packet's extension area (48-octet header first). */
function fieldsWithOffsets(packet: Uint8Array): { field: ExtensionField; offset: number }[] {
  const parsed = parseExtensionFieldList(packet.subarray(48));
  assert.ok(parsed.ok, `extension fields parse: ${JSON.stringify(parsed)}`);
  let offset = 48;
  return parsed.value.map((field) => { const r = { field, offset }; offset += 4 + field.body.length; return r; });
}

describe('NTS-KE interop with chronyd 4.3', { skip: interopSkip('chronyd', 'openssl', 'libfaketime') }, () => {
  let pki: TestPki;
  let block: Awaited<ReturnType<typeof reserveLoopbackBlock>>;
  before(async () => {
    block = await reserveLoopbackBlock(`nts-ke-interop-${process.pid}`, 1, { port: 123 });
    pki = await makeTestPki({ san: `IP:${block.addresses[0]},IP:127.0.0.1` });
  });
  after(async () => {
    block?.release();
    await pki?.remove();
  });

  test('ntpkit client against chronyd NTS-KE: cookies and keys that chronyd NTP server accepts', async (t) => {
    const address = block.addresses[0] as string;
    const ntsPort = await freeTcpPort();
    const chronyd = await startChronydServer({
      address,
      extraConfig: ['ntsservercert {dir}/server.crt', 'ntsserverkey {dir}/server.key', `ntsport ${ntsPort}`],
      files: { 'server.crt': pki.cert, 'server.key': pki.key },
    });
    t.after(() => chronyd.stop());
    const ke = await ntsKeyExchange({ host: address, port: ntsPort, trustedCerts: [pki.caCertPath], noSystemCerts: true, timeoutMs: 5000 });
    assert.equal(ke.server, address);
    assert.equal(ke.port, 123);
    assert.equal(ke.aeadId, 15);
    assert.equal(ke.cookies.length, 8);

    // An NTS request (§5.7): mode 3 header, Unique Identifier, Cookie, Authenticator over all of it.
    const header = new Uint8Array(48);
    header[0] = (4 << 3) | 3;
    header.set(randomBytes(8), 40);
    const uid = new Uint8Array(randomBytes(32));
    const plain = encodeExtensionFieldList([
      { type: ExtensionFieldType.NtsUniqueIdentifier, body: uid },
      { type: ExtensionFieldType.NtsCookie, body: ke.cookies[0] as Uint8Array },
    ]);
    const ad = new Uint8Array([...header, ...plain]);
    const nonce = new Uint8Array(randomBytes(16));
    const auth = encodeExtensionFieldList([{ type: ExtensionFieldType.NtsAuthenticator, body: authenticatorBody(nonce, sivEncrypt(ke.c2s, new Uint8Array(0), [ad], nonce)) }]);
    const request = new Uint8Array([...ad, ...auth]);

    const sock = dgram.createSocket('udp4');
    t.after(() => sock.close());
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const reply = await new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply from chronyd; logs:\n${chronyd.logs()}`)), 3000);
      sock.once('message', (m) => { clearTimeout(timer); resolve(new Uint8Array(m)); });
      sock.send(request, ke.port, ke.server);
    });
    assert.equal(reply[0]! & 7, 4, 'a server reply');
    assert.notEqual(reply[1], 0, `not a kiss-o'-death (NTS NAK)`);
    const fields = fieldsWithOffsets(reply);
    assert.deepEqual(fields[0]?.field.type, ExtensionFieldType.NtsUniqueIdentifier);
    assert.deepEqual(fields[0]?.field.body, uid, 'the unique identifier is echoed');
    const authField = fields.find((f) => f.field.type === ExtensionFieldType.NtsAuthenticator);
    assert.ok(authField, 'the reply is authenticated');
    const inner = openAuthenticator(reply, authField.offset, ke.s2c);
    assert.ok(inner !== null, 'the reply opens with the S2C key ntpkit exported');
    const innerFields = parseExtensionFieldList(inner, { minLength: 4 });
    assert.ok(innerFields.ok && innerFields.value.some((f) => f.type === ExtensionFieldType.NtsCookie), 'a new cookie inside');
  });

  test('chronyd client against ntpkit NTS-KE: its first NTP request carries our cookie and is sealed with our C2S key', async (t) => {
    const ring = CookieKeyRing.generate(0);
    const ntpPort = await freeUdpPort('127.0.0.1');
    const udp = dgram.createSocket('udp4');
    t.after(() => udp.close());
    await new Promise<void>((r) => udp.bind(ntpPort, '127.0.0.1', () => r()));
    const accepted: number[] = [];
    const ke = await startNtsKeServer({ cert: pki.cert, key: pki.key, cookies: ring, address: '127.0.0.1', port: 0, ntpPort, onResult: (r) => { if (r.accepted) accepted.push(r.aeadId); } });
    t.after(() => ke.close());
    const firstRequest = new Promise<Uint8Array>((resolve) => udp.once('message', (m) => resolve(new Uint8Array(m))));
    const chronyd = await startChronyd({
      name: 'chronyd-nts-client',
      config: [`server 127.0.0.1 nts ntsport ${ke.port} iburst minpoll 0 maxpoll 0`, 'ntstrustedcerts {dir}/ca.crt'],
      files: { 'ca.crt': pki.caCert },
    });
    t.after(() => chronyd.stop());
    const packet = await Promise.race([firstRequest, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no NTS request from chronyd within 10 s; KE stats ${JSON.stringify(ke.stats())}; logs:\n${chronyd.logs()}`)), 10_000))]);
    assert.deepEqual(accepted, [15], 'one key exchange, AES-SIV-CMAC-256');
    assert.equal(packet[0]! & 7, 3, 'a client request, sent to the port our KE server named');
    const fields = fieldsWithOffsets(packet);
    const cookie = fields.find((f) => f.field.type === ExtensionFieldType.NtsCookie);
    assert.ok(cookie, 'chronyd sends a cookie');
    // The cookie field's body may be padded; ours are 104 octets, a multiple of 4, so the body is the cookie.
    const keys = ring.open(cookie.field.body);
    assert.ok(keys !== null, 'the cookie is one of ours');
    const authField = fields.find((f) => f.field.type === ExtensionFieldType.NtsAuthenticator);
    assert.ok(authField, 'chronyd authenticates the request');
    assert.ok(openAuthenticator(packet, authField.offset, keys.c2s) !== null, 'chronyd sealed it with the C2S key both sides exported');
  });
});
