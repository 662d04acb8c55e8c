import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { ExtensionFieldType } from '../proto/extension.js';
import {
  appendExtensionFields, authenticatorField, cookieField, cookiePlaceholderField, parseNtsPacketFields,
  parseNtsPlaintext, uniqueIdField,
} from '../proto/nts-fields.js';
import { FakeCookieCodec } from '../testing/nts-cookie-fake.js';
import { sivDecrypt, sivEncrypt } from './aes-siv.js';
import { CookieKeyRing } from './nts-cookie.js';
import { NtsServerAuthenticator, type NtsSessionKeys, withNts } from './nts-server.js';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const keysFor = (aeadId = 15, len = 32): NtsSessionKeys => ({ aeadId, c2s: rnd(len), s2c: rnd(len) });
const requestHeader = (): Uint8Array => { const h = rnd(48); h[0] = 0x23; return h; };
const replyHeader = (): Uint8Array => { const h = rnd(48); h[0] = 0x24; h[1] = 2; return h; };

interface Built { packet: Uint8Array; uid: Uint8Array }
/** A request built by hand from RFC 8915 §5.7, independent of nts-client.ts. */
function buildRequest(keys: NtsSessionKeys, cookie: Uint8Array, opts: { placeholders?: number; placeholderLength?: number; c2s?: Uint8Array; extra?: 'second-cookie' | 'no-uid' | 'no-auth' } = {}): Built {
  const uid = rnd(32);
  const fields = [];
  if (opts.extra !== 'no-uid') fields.push(uniqueIdField(uid));
  fields.push(cookieField(cookie));
  if (opts.extra === 'second-cookie') fields.push(cookieField(cookie));
  for (let i = 0; i < (opts.placeholders ?? 0); i++) fields.push(cookiePlaceholderField(opts.placeholderLength ?? cookie.length));
  const ad = appendExtensionFields(requestHeader(), fields);
  if (opts.extra === 'no-auth') return { packet: ad, uid };
  const nonce = rnd(16);
  const sealed = sivEncrypt(opts.c2s ?? keys.c2s, new Uint8Array(0), [ad], nonce);
  return { packet: appendExtensionFields(ad, [authenticatorField(nonce, sealed)]), uid };
}

function setup(aeadId = 15, len = 32): { codec: FakeCookieCodec; server: NtsServerAuthenticator; keys: NtsSessionKeys; cookie: Uint8Array } {
  const codec = new FakeCookieCodec();
  const keys = keysFor(aeadId, len);
  return { codec, server: new NtsServerAuthenticator({ cookies: codec }), keys, cookie: codec.seal(keys) };
}

test('a valid request gets its unique id back and fresh cookies sealed under the S2C key, no larger than the request', () => {
  for (const [aeadId, len] of [[15, 32], [16, 48], [17, 64]] as const) {
    const { codec, server, keys, cookie } = setup(aeadId, len);
    const req = buildRequest(keys, cookie, { placeholders: 3 });
    const header = replyHeader();
    const d = server.authenticate(req.packet, header);
    assert.equal(d.kind, 'append');
    if (d.kind !== 'append') return;
    assert.equal(d.authenticated, true);
    const reply = Uint8Array.from([...header, ...d.bytes]);
    assert.ok(reply.length <= req.packet.length, `reply ${reply.length} > request ${req.packet.length}`);
    const f = parseNtsPacketFields(reply);
    assert.ok(f.ok && f.value.authenticator);
    assert.deepEqual(f.value.uniqueId, req.uid);
    assert.equal(f.value.cookies.length, 0, 'no cookie in the clear');
    const plain = sivDecrypt(keys.s2c, f.value.authenticator.ciphertext, [reply.subarray(0, f.value.authOffset)], f.value.authenticator.nonce);
    assert.ok(plain, 'the reply authenticates under S2C with the header and unique id as associated data');
    const inner = parseNtsPlaintext(plain);
    assert.ok(inner.ok);
    assert.equal(inner.value.cookies.length, 4, 'one for the cookie spent, one per placeholder');
    for (const c of inner.value.cookies) {
      assert.notDeepEqual(c, cookie);
      assert.deepEqual(codec.open(c), keys);
    }
    assert.equal(server.stats.authenticated, 1);
    assert.equal(server.stats.cookiesIssued, 4);
  }
});

test('a cookie that does not open gets an NTS NAK carrying only the unique id', () => {
  const { server, keys, cookie } = setup();
  const forged = Uint8Array.from(cookie);
  forged[40] = (forged[40] as number) ^ 1;
  const req = buildRequest(keys, forged);
  const d = server.authenticate(req.packet, replyHeader());
  assert.equal(d.kind, 'nts-nak');
  if (d.kind !== 'nts-nak') return;
  assert.deepEqual(d.bytes, appendExtensionFields(new Uint8Array(0), [uniqueIdField(req.uid)]));
  assert.equal(server.stats.naks, 1);
  assert.equal(server.stats.rejected['bad-cookie'], 1);
});

test('a cookie from another server (other master key) is NAKed too', () => {
  const { server, keys } = setup();
  const foreign = new FakeCookieCodec().seal(keys);
  assert.equal(server.authenticate(buildRequest(keys, foreign).packet, replyHeader()).kind, 'nts-nak');
});

test('a request that does not authenticate under the cookie\'s C2S key is NAKed (RFC 8915 §5.7)', () => {
  const { server, keys, cookie } = setup();
  const req = buildRequest(keys, cookie, { c2s: rnd(32) });
  assert.equal(server.authenticate(req.packet, replyHeader()).kind, 'nts-nak');
  assert.equal(server.stats.rejected['bad-authenticator-tag'], 1);
  // A byte of the header changed in flight: the associated data no longer matches.
  const good = buildRequest(keys, cookie).packet;
  good[40] = (good[40] as number) ^ 0x80;
  assert.equal(server.authenticate(good, replyHeader()).kind, 'nts-nak');
});

test('keys for an AEAD the server cannot run get a NAK', () => {
  const { server, codec } = setup();
  const keys = keysFor(30, 16);
  const cookie = codec.seal(keys);
  const uid = rnd(32);
  const ad = appendExtensionFields(requestHeader(), [uniqueIdField(uid), cookieField(cookie)]);
  const packet = appendExtensionFields(ad, [authenticatorField(rnd(16), rnd(16))]);
  assert.equal(server.authenticate(packet, replyHeader()).kind, 'nts-nak');
  assert.equal(server.stats.rejected['unsupported-aead'], 1);
});

test('malformed NTS requests are dropped with a named reason', () => {
  const { server, keys, cookie } = setup();
  const cases = [
    [buildRequest(keys, cookie, { extra: 'no-uid' }).packet, 'missing-unique-id'],
    [buildRequest(keys, cookie, { extra: 'no-auth' }).packet, 'missing-authenticator'],
    [buildRequest(keys, cookie, { extra: 'second-cookie' }).packet, 'several-cookies'],
  ] as const;
  for (const [packet, reason] of cases) {
    const d = server.authenticate(packet, replyHeader());
    assert.deepEqual(d, { kind: 'drop', reason: 'nts-malformed' }, reason);
    assert.equal(server.stats.rejected[reason], 1);
    assert.match(server.stats.lastRejection ?? '', new RegExp(`^${reason}: `));
  }
  assert.equal(server.stats.authenticated, 0);
});

test('extension fields that are not NTS get a plain reply; withNts hands them to the other authenticator', () => {
  const { server, keys, cookie } = setup();
  const other = appendExtensionFields(requestHeader(), [{ type: ExtensionFieldType.ChecksumComplement, body: new Uint8Array(24) }]);
  assert.deepEqual(server.authenticate(other, replyHeader()), { kind: 'append', bytes: new Uint8Array(0), authenticated: false });
  const calls: Uint8Array[] = [];
  const symmetric = { authenticate: (req: Uint8Array) => { calls.push(req); return { kind: 'crypto-nak' as const, reason: 'bad-mac' as const }; } };
  const both = withNts(server, symmetric);
  assert.equal(both.authenticate(other, replyHeader()).kind, 'crypto-nak');
  assert.equal(both.authenticate(buildRequest(keys, cookie).packet, replyHeader()).kind, 'append');
  assert.deepEqual(calls, [other]);
  assert.equal(withNts(server, null).authenticate(other, replyHeader()).kind, 'append');
});

test('placeholders of another length than the cookie earn no cookie', () => {
  const { server, keys, cookie } = setup();
  const req = buildRequest(keys, cookie, { placeholders: 3, placeholderLength: cookie.length + 4 });
  const d = server.authenticate(req.packet, replyHeader());
  assert.equal(d.kind, 'append');
  assert.equal(server.stats.cookiesIssued, 1);
});

test('isNtsRequest tells NTS fields from others', () => {
  const { keys, cookie } = setup();
  assert.equal(NtsServerAuthenticator.isNtsRequest(buildRequest(keys, cookie).packet), true);
  assert.equal(NtsServerAuthenticator.isNtsRequest(appendExtensionFields(requestHeader(), [{ type: ExtensionFieldType.ChecksumComplement, body: new Uint8Array(24) }])), false);
  assert.equal(NtsServerAuthenticator.isNtsRequest(requestHeader()), false);
});

test('property: with 0..10 placeholders the reply is never larger than the request and carries min(1 + n, 8) cookies', () => {
  const { server, keys, cookie } = setup();
  fc.assert(fc.property(fc.integer({ min: 0, max: 10 }), (n) => {
    const before = server.stats.cookiesIssued;
    const req = buildRequest(keys, cookie, { placeholders: n });
    const header = replyHeader();
    const d = server.authenticate(req.packet, header);
    assert.equal(d.kind, 'append');
    if (d.kind === 'append') assert.ok(header.length + d.bytes.length <= req.packet.length);
    assert.equal(server.stats.cookiesIssued - before, Math.min(1 + n, 8));
  }), { numRuns: 30 });
});

test('property: arbitrary bytes after a header never throw, and never authenticate', () => {
  const { server } = setup();
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (tail) => {
    const d = server.authenticate(Uint8Array.from([...requestHeader(), ...tail]), replyHeader());
    if (d.kind === 'append') assert.deepEqual(d, { kind: 'append', bytes: new Uint8Array(0), authenticated: false });
  }), { numRuns: 1000 });
  assert.equal(server.stats.authenticated, 0);
});

// The addon's whole-request path (native/nts_server.c) against the JS path, on the product's cookie ring.
const nativeNtsSkip = new NtsServerAuthenticator({ cookies: CookieKeyRing.generate(0) }).nativePath ? false : 'the native addon with ntsServe is not loaded';

test('the addon answers NTS requests where required (NTPKIT_REQUIRE_NATIVE=1 on Linux)', (t) => {
  if (process.env.NTPKIT_REQUIRE_NATIVE !== '1' || process.platform !== 'linux') { t.skip('NTPKIT_REQUIRE_NATIVE is not 1'); return; }
  assert.equal(nativeNtsSkip, false);
});

test('property: the addon\'s path and the JS path agree on every request: the same decision, reply length and counters, and replies that check', { skip: nativeNtsSkip }, () => {
  const ring = CookieKeyRing.generate(0);
  const other = CookieKeyRing.generate(0);
  const native = new NtsServerAuthenticator({ cookies: ring });
  const js = new NtsServerAuthenticator({ cookies: ring, native: false });
  assert.equal(native.nativePath, true);
  assert.equal(js.nativePath, false);
  fc.assert(fc.property(
    fc.nat(9), fc.constantFrom(undefined, 100, 104, 108), fc.constantFrom('ok', 'ok', 'ok', 'second-cookie', 'no-uid', 'no-auth', 'wrong-c2s', 'foreign-cookie', 'flip', 'truncate', 'trailer', 'inner-field', 'scribble', 'scribble', 'field-length'),
    fc.nat(),
    (placeholders, placeholderLength, variant, at) => {
      const keys = keysFor();
      const cookie = (variant === 'foreign-cookie' ? other : ring).seal(keys);
      let packet: Uint8Array;
      if (variant === 'inner-field') {
        // Something encrypted inside the Authenticator: the JS path's case.
        const uid = rnd(32);
        const ad = appendExtensionFields(requestHeader(), [uniqueIdField(uid), cookieField(cookie)]);
        const nonce = rnd(16);
        const inner = appendExtensionFields(new Uint8Array(0), [{ type: 0x7777, body: new Uint8Array(12) }]);
        packet = appendExtensionFields(ad, [authenticatorField(nonce, sivEncrypt(keys.c2s, inner, [ad], nonce))]);
      } else {
        const extra = variant === 'second-cookie' || variant === 'no-uid' || variant === 'no-auth' ? variant : undefined;
        packet = buildRequest(keys, cookie, { placeholders, ...(placeholderLength ? { placeholderLength } : {}), ...(variant === 'wrong-c2s' ? { c2s: rnd(32) } : {}), ...(extra ? { extra } : {}) }).packet;
      }
      if (variant === 'flip') { packet = Uint8Array.from(packet); const i = at % packet.length; packet[i] = (packet[i] as number) ^ 1; }
      if (variant === 'truncate') packet = packet.subarray(0, 48 + (at % (packet.length - 48)));
      if (variant === 'trailer') packet = Uint8Array.from([...packet, 0, 0, 0, 0]);
      // Two octets anywhere in the fields, or a field's length set to anything: what the C parser must survive.
      if (variant === 'scribble') { packet = Uint8Array.from(packet); const i = 48 + (at % (packet.length - 49)); packet[i] = at & 0xff; packet[i + 1] = (at >>> 8) & 0xff; }
      if (variant === 'field-length') {
        packet = Uint8Array.from(packet);
        const starts: number[] = [];
        for (let pos = 48; pos + 4 <= packet.length;) { starts.push(pos); const l = ((packet[pos + 2] as number) << 8) | (packet[pos + 3] as number); if (l < 4) break; pos += l; }
        const f = starts[at % starts.length] as number;
        packet[f + 2] = (at >>> 3) & 0xff;
        packet[f + 3] = (at >>> 11) & 0xfc;
      }
      const header = replyHeader();
      const before = { n: { ...native.stats, rejected: { ...native.stats.rejected } }, j: { ...js.stats, rejected: { ...js.stats.rejected } } };
      const a = native.authenticate(packet, header);
      const b = js.authenticate(packet, header);
      assert.equal(a.kind, b.kind, variant);
      if (a.kind !== 'drop' && b.kind !== 'drop') assert.equal(a.bytes.length, b.bytes.length, variant);
      assert.equal(native.stats.authenticated - before.n.authenticated, js.stats.authenticated - before.j.authenticated);
      assert.equal(native.stats.cookiesIssued - before.n.cookiesIssued, js.stats.cookiesIssued - before.j.cookiesIssued);
      assert.equal(native.stats.naks - before.n.naks, js.stats.naks - before.j.naks);
      assert.deepEqual(native.stats.rejected, Object.fromEntries(Object.entries(js.stats.rejected)));
      if (a.kind === 'append' && a.authenticated) {
        // The reply is what a client checks: the Unique Identifier echoed, the Authenticator under S2C, fresh cookies that open.
        const reply = appendExtensionFields(header, []);
        const whole = new Uint8Array(reply.length + a.bytes.length);
        whole.set(reply);
        whole.set(a.bytes, reply.length);
        const f = parseNtsPacketFields(whole);
        assert.ok(f.ok && f.value.authenticator);
        const plain = sivDecrypt(keys.s2c, f.value.authenticator.ciphertext, [whole.subarray(0, f.value.authOffset)], f.value.authenticator.nonce);
        assert.ok(plain);
        const inner = parseNtsPlaintext(plain);
        assert.ok(inner.ok);
        for (const c of inner.value.cookies) assert.deepEqual(ring.open(c), keys);
        assert.deepEqual(f.value.uniqueId, parseNtsPacketFields(packet).ok ? (parseNtsPacketFields(packet) as { value: { uniqueId: Uint8Array } }).value.uniqueId : null);
      }
    }), { numRuns: 1500 });
});
