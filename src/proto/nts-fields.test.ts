import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ExtensionFieldType } from './extension.js';
import {
  appendExtensionFields, authenticatorField, authenticatorFieldLength, cookieField, cookiePlaceholderField,
  parseNtsAuthenticator, parseNtsPacketFields, parseNtsPlaintext, uniqueIdField,
} from './nts-fields.js';
import { parsePacket } from './packet.js';

const header = (): Uint8Array => { const h = new Uint8Array(48); h[0] = 0x23; return h; };
const bytes = (n: number, v = 0xab): Uint8Array => new Uint8Array(n).fill(v);

test('authenticator field: lengths, nonce padded to 4 and with additional padding to 16', () => {
  const f = authenticatorField(bytes(12, 1), bytes(18, 2));
  // 4 (lengths) + 16 (12 padded to 16 to reach the minimum) + 20 (18 padded)
  assert.equal(f.body.length, 40);
  assert.equal(authenticatorFieldLength(12, 18), 44);
  assert.deepEqual([...f.body.subarray(0, 4)], [0, 12, 0, 18]);
  const a = parseNtsAuthenticator(f.body);
  assert.ok(a.ok);
  assert.deepEqual(a.value.nonce, bytes(12, 1));
  assert.deepEqual(a.value.ciphertext, bytes(18, 2));
  // A 16-octet nonce needs no additional padding.
  assert.equal(authenticatorField(bytes(16), bytes(16)).body.length, 36);
});

test('authenticator parse: lengths past the body, or nonce and padding under 16, are bad-authenticator', () => {
  const tooShortNonce = new Uint8Array([0, 8, 0, 16, ...bytes(8), ...bytes(16)]);
  const r1 = parseNtsAuthenticator(tooShortNonce);
  assert.equal(r1.ok, false);
  assert.equal(!r1.ok && r1.reason, 'bad-authenticator');
  const overrun = new Uint8Array([0, 16, 0xff, 0xf0, ...bytes(32)]);
  const r2 = parseNtsAuthenticator(overrun);
  assert.equal(!r2.ok && r2.reason, 'bad-authenticator');
  assert.match(!r2.ok ? r2.message : '', /^Cannot parse NTS fields: nonce length 16 and ciphertext length 65520/);
  const r3 = parseNtsAuthenticator(new Uint8Array(3));
  assert.equal(!r3.ok && r3.reason, 'bad-authenticator');
});

test('a full request parses into its unique id, cookie, placeholders and authenticator, and is an RFC 7822 packet', () => {
  const uid = bytes(32, 7);
  const cookie = bytes(100, 9);
  const ad = appendExtensionFields(header(), [uniqueIdField(uid), cookieField(cookie), cookiePlaceholderField(100), cookiePlaceholderField(100)]);
  const packet = appendExtensionFields(ad, [authenticatorField(bytes(16, 3), bytes(16, 4))]);
  const r = parseNtsPacketFields(packet);
  assert.ok(r.ok);
  assert.deepEqual(r.value.uniqueId, uid);
  assert.deepEqual(r.value.cookies, [cookie]);
  assert.deepEqual(r.value.placeholderLengths, [100, 100]);
  assert.equal(r.value.authOffset, ad.length);
  assert.deepEqual(r.value.authenticator?.nonce, bytes(16, 3));
  const p = parsePacket(packet);
  assert.ok(p.ok, 'the general packet parser accepts it (last field at least 28 octets, no MAC)');
});

test('named errors: duplicate and short unique id, fields after the authenticator, broken fields', () => {
  const auth = authenticatorField(bytes(16), bytes(16));
  const cases: [Uint8Array, string][] = [
    [appendExtensionFields(header(), [uniqueIdField(bytes(32)), uniqueIdField(bytes(32)), auth]), 'duplicate-unique-id'],
    [appendExtensionFields(header(), [{ type: ExtensionFieldType.NtsUniqueIdentifier, body: bytes(28) }, auth]), 'short-unique-id'],
    [appendExtensionFields(header(), [uniqueIdField(bytes(32)), auth, cookieField(bytes(100))]), 'authenticator-not-last'],
    [Uint8Array.from([...appendExtensionFields(header(), [uniqueIdField(bytes(32)), auth]), 0, 0, 0, 1, ...bytes(16)]), 'authenticator-not-last'],
    [Uint8Array.from([...header(), 0x01, 0x04, 0x00, 0x07, ...bytes(32)]), 'bad-extension-field'],
  ];
  for (const [packet, reason] of cases) {
    const r = parseNtsPacketFields(packet);
    assert.equal(r.ok, false, reason);
    assert.equal(!r.ok && r.reason, reason);
    assert.match(!r.ok ? r.message : '', /^Cannot parse NTS fields: /);
  }
});

test('encrypted fields: cookies are picked out, short nested fields allowed, broken ones rejected', () => {
  const plain = appendExtensionFields(new Uint8Array(0), [cookieField(bytes(100, 1)), { type: 0x7777, body: new Uint8Array(0) }, cookieField(bytes(100, 2))]);
  const r = parseNtsPlaintext(plain);
  assert.ok(r.ok);
  assert.deepEqual(r.value.cookies, [bytes(100, 1), bytes(100, 2)]);
  assert.equal(r.value.others.length, 1);
  const broken = parseNtsPlaintext(plain.subarray(0, plain.length - 4));
  assert.equal(!broken.ok && broken.reason, 'bad-extension-field');
});

test('encoders refuse what a field cannot carry', () => {
  assert.throws(() => uniqueIdField(bytes(31)), /at least 32/);
  assert.throws(() => cookieField(bytes(101)), /not a multiple of 4/);
  assert.throws(() => cookiePlaceholderField(0), RangeError);
  assert.throws(() => authenticatorField(bytes(16), bytes(0x10000)), RangeError);
});

test('property: parsers never throw on arbitrary bytes after a header, and round-trip what they accept', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
    const packet = Uint8Array.from([...header(), ...tail]);
    const r = parseNtsPacketFields(packet);
    if (r.ok && r.value.authenticator) {
      const re = authenticatorField(r.value.authenticator.nonce, r.value.authenticator.ciphertext);
      assert.deepEqual(parseNtsAuthenticator(re.body), { ok: true, value: r.value.authenticator });
    }
    parseNtsPlaintext(tail);
    parseNtsAuthenticator(tail);
  }), { numRuns: 2000 });
});

test('property: structured NTS packets with a corrupted byte never throw', () => {
  fc.assert(fc.property(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 40 }), (at, v, placeholders, nonceLen) => {
    const fields = [uniqueIdField(bytes(32, 5)), cookieField(bytes(100, 6))];
    for (let i = 0; i < placeholders; i++) fields.push(cookiePlaceholderField(100));
    const packet = appendExtensionFields(appendExtensionFields(header(), fields), [authenticatorField(bytes(nonceLen), bytes(16))]);
    const good = parseNtsPacketFields(packet);
    assert.ok(good.ok);
    assert.equal(good.value.placeholderLengths.length, placeholders);
    const bad = Uint8Array.from(packet);
    bad[48 + (at % (packet.length - 48))] = v;
    parseNtsPacketFields(bad);
  }), { numRuns: 1000 });
});
