import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { parsePacket } from '../proto/packet.js';
import { parseNtsPacketFields } from '../proto/nts-fields.js';
import { FakeCookieCodec } from '../testing/nts-cookie-fake.js';
import { COOKIE_JAR_SIZE, NtsClientAuthenticator, NtsSourceAuthenticator } from './nts-client.js';
import { NtsServerAuthenticator, type NtsSessionKeys } from './nts-server.js';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const requestHeader = (): Uint8Array => { const h = rnd(48); h[0] = 0x23; h[1] = 0; return h; };

/** A client and a server sharing keys as after NTS-KE, and a responder that answers as the NTP server would. */
function pair(aeadId = 15, len = 32, cookies = COOKIE_JAR_SIZE) {
  const codec = new FakeCookieCodec();
  const keys: NtsSessionKeys = { aeadId, c2s: rnd(len), s2c: rnd(len) };
  const client = new NtsClientAuthenticator({ ...keys, cookies: Array.from({ length: cookies }, () => codec.seal(keys)) });
  const server = new NtsServerAuthenticator({ cookies: codec });
  /** What the wire would carry back: a reply, an NTS NAK, or nothing. */
  const respond = (request: Uint8Array): Uint8Array | null => {
    const header = rnd(48);
    header[0] = 0x24;
    header[1] = 2;
    const d = server.authenticate(request, header);
    if (d.kind === 'append') return Uint8Array.from([...header, ...d.bytes]);
    if (d.kind === 'nts-nak') {
      header[1] = 0;
      header.set([0x4e, 0x54, 0x53, 0x4e], 12);
      return Uint8Array.from([...header, ...d.bytes]);
    }
    return null;
  };
  return { codec, keys, client, server, respond };
}

test('client and server agree: every AES-SIV key size, the jar stays full, requests are valid NTP packets', () => {
  for (const [aeadId, len] of [[15, 32], [16, 48], [17, 64]] as const) {
    const { client, server, respond } = pair(aeadId, len);
    for (let i = 0; i < 20; i++) {
      const s = client.secure(requestHeader());
      assert.ok(s);
      assert.ok(parsePacket(s.packet).ok, 'an RFC 7822 packet');
      const reply = respond(s.packet);
      assert.ok(reply);
      assert.ok(reply.length <= s.packet.length);
      assert.deepEqual(client.check(reply, s.token), { ok: true });
      assert.equal(client.cookieCount, COOKIE_JAR_SIZE);
    }
    assert.equal(server.stats.authenticated, 20);
  }
});

test('each request spends a different cookie and a fresh unique id', () => {
  const { client } = pair();
  const seen = new Set<string>();
  for (let i = 0; i < COOKIE_JAR_SIZE; i++) {
    const s = client.secure(requestHeader());
    assert.ok(s);
    const f = parseNtsPacketFields(s.packet);
    assert.ok(f.ok && f.value.uniqueId);
    assert.equal(f.value.cookies.length, 1);
    // Placeholders ask for enough cookies to refill the jar: 1 + placeholders = 8 - cookies left.
    assert.equal(1 + f.value.placeholderLengths.length, COOKIE_JAR_SIZE - client.cookieCount);
    seen.add(Buffer.from(f.value.cookies[0] as Uint8Array).toString('hex'));
    seen.add(Buffer.from(f.value.uniqueId).toString('hex'));
  }
  assert.equal(seen.size, 2 * COOKIE_JAR_SIZE);
});

test('lost replies drain the jar; without cookies secure() returns null; one reply refills it', () => {
  const { client, respond } = pair();
  let last = null;
  for (let i = 0; i < COOKIE_JAR_SIZE; i++) last = client.secure(requestHeader());
  assert.equal(client.cookieCount, 0);
  assert.equal(client.secure(requestHeader()), null);
  assert.ok(last);
  const reply = respond(last.packet);
  assert.ok(reply);
  assert.deepEqual(client.check(reply, last.token), { ok: true });
  assert.equal(client.cookieCount, COOKIE_JAR_SIZE);
});

test('an NTS NAK echoing our unique id reports nak; one with another id is ignored', () => {
  // The client holds a cookie from another server (say, one whose master keys were replaced).
  const foreignKeys = { aeadId: 15, c2s: rnd(32), s2c: rnd(32) };
  const bad = new NtsClientAuthenticator({ ...foreignKeys, cookies: [new FakeCookieCodec().seal(foreignKeys)] });
  const server = new NtsServerAuthenticator({ cookies: new FakeCookieCodec() });
  const s = bad.secure(requestHeader());
  assert.ok(s);
  const d = server.authenticate(s.packet, new Uint8Array(48));
  assert.equal(d.kind, 'nts-nak');
  if (d.kind !== 'nts-nak') return;
  const header = new Uint8Array(48);
  header[0] = 0x24;
  header.set([0x4e, 0x54, 0x53, 0x4e], 12);
  const nak = Uint8Array.from([...header, ...d.bytes]);
  const other = bad.check(nak, { uniqueId: rnd(32), used: false });
  assert.equal(other.ok, false);
  assert.equal(!other.ok && other.nak, false, 'a NAK for another request is not ours');
  const r = bad.check(nak, s.token);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.nak, true);
  assert.equal(bad.cookieCount, 0);
  assert.equal(bad.secure(requestHeader()), null, 'no cookies: the driver must run NTS-KE');
});

test('replies that do not match or do not authenticate are rejected, without nak', () => {
  const { client, respond } = pair();
  const a = client.secure(requestHeader());
  const b = client.secure(requestHeader());
  assert.ok(a && b);
  const replyA = respond(a.packet);
  assert.ok(replyA);
  const crossed = client.check(replyA, b.token);
  assert.equal(crossed.ok, false);
  assert.match(!crossed.ok ? crossed.reason : '', /^nts-unique-id-mismatch/);
  const unauth = Uint8Array.from(replyA.subarray(0, 48 + 36));
  const noAuth = client.check(unauth, a.token);
  assert.match(!noAuth.ok ? noAuth.reason : '', /^nts-missing-authenticator/);
  assert.deepEqual(client.check(replyA, a.token), { ok: true });
  const replay = client.check(replyA, a.token);
  assert.match(!replay.ok ? replay.reason : '', /^nts-replay/);
  assert.equal(client.check(replyA, 'not a token').ok, false);
  assert.equal(client.check(new Uint8Array(10), b.token).ok, false);
});

test('property: any single bit flipped anywhere in a reply makes the client reject it', () => {
  const { client, respond } = pair();
  fc.assert(fc.property(fc.nat(), fc.integer({ min: 0, max: 7 }), (at, bit) => {
    const s = client.secure(requestHeader());
    assert.ok(s);
    const reply = respond(s.packet);
    assert.ok(reply);
    const i = at % reply.length;
    const bad = Uint8Array.from(reply);
    bad[i] = (bad[i] as number) ^ (1 << bit);
    const r = client.check(bad, s.token);
    assert.equal(r.ok, false, `flip at ${i}`);
    assert.deepEqual(client.check(reply, s.token), { ok: true }, 'the genuine reply still passes');
  }), { numRuns: 300 });
});

test('keys for another AEAD or of the wrong length are refused up front', () => {
  assert.throws(() => new NtsClientAuthenticator({ aeadId: 30, c2s: rnd(16), s2c: rnd(16), cookies: [] }), /AEAD algorithm 30 is not supported/);
  assert.throws(() => new NtsClientAuthenticator({ aeadId: 15, c2s: rnd(16), s2c: rnd(32), cookies: [] }), /needs 32-octet keys/);
});

test('NtsSourceAuthenticator: asks for NTS-KE once without a session, on an empty jar and after a NAK; ignores replies of old sessions', () => {
  const { codec, keys, respond } = pair();
  let asks = 0;
  const src = new NtsSourceAuthenticator(() => { asks++; });
  assert.equal(src.secure(requestHeader()), null);
  assert.equal(src.secure(requestHeader()), null);
  assert.equal(asks, 1, 'one request until a session is installed');
  src.install({ ...keys, cookies: [codec.seal(keys)] });
  const s = src.secure(requestHeader());
  assert.ok(s);
  assert.equal(src.cookieCount, 0);
  assert.equal(src.secure(requestHeader()), null);
  assert.equal(asks, 2, 'an empty jar asks again');
  const reply = respond(s.packet);
  assert.ok(reply);
  assert.deepEqual(src.check(reply, s.token), { ok: true });
  assert.equal(src.cookieCount, COOKIE_JAR_SIZE, 'the reply refilled the jar');
  // A new session (say, after a NAK elsewhere): replies to the old one are refused.
  const old = src.secure(requestHeader());
  assert.ok(old);
  src.install({ ...keys, cookies: [codec.seal(keys)] });
  const late = respond(old.packet);
  assert.ok(late);
  assert.match((src.check(late, old.token) as { reason: string }).reason, /^nts-stale-session/);
  // A NAK ends the session and asks for a new exchange.
  const foreign = { aeadId: 15, c2s: rnd(32), s2c: rnd(32) };
  src.install({ ...foreign, cookies: [new FakeCookieCodec().seal(foreign)] });
  const n = src.secure(requestHeader());
  assert.ok(n);
  const nak = respond(n.packet);
  assert.ok(nak);
  const r = src.check(nak, n.token);
  assert.equal(!r.ok && r.nak, true);
  assert.equal(src.cookieCount, 0);
  assert.equal(asks, 3);
  assert.equal(src.installed, 3);
});

test('NtsSourceAuthenticator: a failed key exchange is its problem until a session is installed, and the next request asks again', () => {
  const { codec, keys } = pair();
  let asks = 0;
  const src = new NtsSourceAuthenticator(() => { asks++; });
  assert.equal(src.problem(), null);
  assert.equal(src.secure(requestHeader()), null);
  src.failed('NTS-KE with 127.0.15.2:4460 failed: connect ECONNREFUSED 127.0.15.2:4460');
  assert.equal(src.problem(), 'NTS-KE with 127.0.15.2:4460 failed: connect ECONNREFUSED 127.0.15.2:4460');
  assert.equal(src.secure(requestHeader()), null);
  assert.equal(asks, 2, 'asked again after the failure');
  src.install({ ...keys, cookies: [codec.seal(keys)] });
  assert.equal(src.problem(), null);
});

test('NtsSourceAuthenticator: keys older than maxKeyAge are renewed before the next request, though cookies are left (ntsrefresh)', () => {
  const { codec, keys } = pair();
  let asks = 0;
  let now = 100;
  let maxAge = 10;
  const src = new NtsSourceAuthenticator(() => { asks++; }, { now: () => now, maxKeyAge: () => maxAge });
  src.install({ ...keys, cookies: Array.from({ length: COOKIE_JAR_SIZE }, () => codec.seal(keys)) });
  now = 110;
  assert.ok(src.secure(requestHeader()), 'exactly the limit: the keys still serve (chronyd compares with >)');
  assert.equal(asks, 0);
  now = 110.5;
  assert.equal(src.secure(requestHeader()), null, 'older than the limit: the request waits for new keys');
  assert.equal(asks, 1);
  assert.equal(src.cookieCount, 0, 'the old cookies went with the keys');
  src.install({ ...keys, cookies: [codec.seal(keys)] });
  assert.ok(src.secure(requestHeader()), 'the new keys serve');
  assert.equal(asks, 1);
  // The limit is read at each request, so a reload changes it for a running source.
  src.install({ ...keys, cookies: [codec.seal(keys), codec.seal(keys)] });
  now = 200;
  maxAge = 2419200;
  assert.ok(src.secure(requestHeader()));
  assert.equal(asks, 1);
});

test('NtsSourceAuthenticator report: the age of the last key exchange on its clock (authdata\'s Last), none before one or without a clock', () => {
  const { codec, keys } = pair();
  let t = 100;
  const src = new NtsSourceAuthenticator(() => {}, { now: () => t });
  assert.equal(src.report().lastKeAgo, null);
  src.install({ ...keys, cookies: [codec.seal(keys)] });
  t = 161.5;
  assert.equal(src.report().lastKeAgo, 61.5);
  assert.equal(src.report().keyId, 1);
  const clockless = new NtsSourceAuthenticator(() => {});
  clockless.install({ ...keys, cookies: [codec.seal(keys)] });
  assert.equal(clockless.report().lastKeAgo, null);
});
