/**
 * The symmetric authenticators against chronyd 4.3's own packets
 * (src/proto/fixtures: a chronyd client with `key N` and a chronyd server
 * with the same keyfile; ntpdig with -a): chronyd's requests verify on our
 * server, which signs the replies byte for byte as chronyd did; chronyd's
 * replies verify on our client side.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instantFromUnixMillis, type Instant } from '../time/instant.js';
import { fromNtpTimestamp } from '../time/timestamp.js';
import { parseHeader } from '../proto/header.js';
import { buildAccessTable } from '../core/server/access.js';
import { NtpResponder, type RespondAction, serverConfig, type ServerAction } from '../core/server/server.js';
import { localReferenceState } from '../core/system.js';
import { symmetricRequestAuthenticator, symmetricSourceAuthenticator } from './symmetric-auth.js';
import { appendMac, type KeyType, type SymmetricKey } from './symmetric-mac.js';

const FIXTURES = fileURLToPath(new URL('../../src/proto/fixtures/', import.meta.url));
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

interface Fixture { scenario: string; capturedAt: string; setup: { keyfile?: string }; packets: { exchange: number; direction: string; hex: string }[] }
const load = (name: string): Fixture => JSON.parse(readFileSync(`${FIXTURES}${name}.json`, 'utf8')) as Fixture;

/** The fixtures' keyfile ("ID TYPE HEX:..."), read by hand so this test does not lean on the parser it does not test. */
function keysOf(text: string): Map<number, SymmetricKey> {
  const m = new Map<number, SymmetricKey>();
  for (const l of text.split('\n')) {
    const r = /^(\d+)\s+(\S+)\s+HEX:([0-9A-Fa-f]+)$/.exec(l.trim());
    if (r) m.set(Number(r[1]), { id: Number(r[1]), type: r[2] as KeyType, key: bytes(r[3] as string) });
  }
  return m;
}

function pairsOf(f: Fixture): { request: Uint8Array; reply: Uint8Array }[] {
  const ex = new Map<number, { request?: Uint8Array; reply?: Uint8Array }>();
  for (const p of f.packets) {
    const e = ex.get(p.exchange) ?? {};
    if (p.direction === 'client-to-server') e.request = bytes(p.hex); else e.reply = bytes(p.hex);
    ex.set(p.exchange, e);
  }
  return [...ex.values()].filter((e): e is { request: Uint8Array; reply: Uint8Array } => !!e.request && !!e.reply);
}

const table = buildAccessTable([{ allow: true, subnet: '127.0.0.0/8', all: false }]);
assert.ok(table.ok);
const access = table.table;

function replay(f: Fixture, responder: NtpResponder, keys: Map<number, SymmetricKey> | null, pair: { request: Uint8Array; reply: Uint8Array }, i: number): ServerAction {
  const pivot = instantFromUnixMillis(Date.parse(f.capturedAt));
  const at = (ts: bigint): Instant => fromNtpTimestamp(ts, pivot);
  const h = parseHeader(pair.reply);
  assert.ok(h.ok);
  return responder.handleRequest({
    packet: pair.request, receivedAt: at(h.value.receiveTimestamp), now: at(h.value.transmitTimestamp),
    address: '127.0.0.1', port: 40000 + i, system: localReferenceState(1, at(h.value.referenceTimestamp), h.value.precision),
    config: serverConfig({ access, authenticator: symmetricRequestAuthenticator(keys) }), random: 0,
  });
}

for (const name of ['chronyd-mac-md5', 'chronyd-mac-sha1', 'chronyd-mac-aes128', 'ntpdig-mac']) {
  test(`${name}: our server signs its replies exactly as chronyd did, and counts them authenticated`, () => {
    const f = load(name);
    const keys = keysOf(f.setup.keyfile ?? '');
    const responder = new NtpResponder({ seed: 3 });
    const pairs = pairsOf(f);
    assert.ok(pairs.length >= 2);
    pairs.forEach((pair, i) => {
      const a = replay(f, responder, keys, pair, i);
      assert.equal(a.action, 'respond', a.action === 'ignore' ? a.reason : '');
      const r = a as RespondAction;
      assert.equal(Buffer.from(r.reply).toString('hex'), Buffer.from(pair.reply).toString('hex'), `exchange ${i}`);
      assert.equal(r.transmitTimestampOffset, null, 'a signed transmit timestamp must not be rewritten');
      assert.ok(r.reply.length <= pair.request.length);
    });
    assert.equal(responder.stats(0n).authenticatedNtpPackets, pairs.length);
  });

  test(`${name}: chronyd's replies pass our client's check; altered or unsigned ones do not`, () => {
    const f = load(name);
    const keys = keysOf(f.setup.keyfile ?? '');
    for (const { request, reply } of pairsOf(f)) {
      const id = new DataView(request.buffer).getUint32(48);
      const auth = symmetricSourceAuthenticator(keys.get(id) ?? null);
      // Our request over chronyd's header is chronyd's request, byte for byte.
      const s = auth.secure(request.slice(0, 48));
      assert.ok(s);
      assert.deepEqual(s.packet, request);
      assert.deepEqual(auth.check(reply, s.token), { ok: true });
      const bad = reply.slice();
      bad[40] = (bad[40] as number) ^ 1;
      assert.equal(auth.check(bad, s.token).ok, false);
      const plain = auth.check(reply.slice(0, 48), s.token);
      assert.deepEqual(plain, { ok: false, reason: 'reply has no MAC', nak: false });
    }
  });
}

test('chronyd-extfield-mac: a request with an extension field and a MAC verifies; the reply is signed over our 48-byte header', () => {
  const f = load('chronyd-extfield-mac');
  const keys = keysOf(f.setup.keyfile ?? '');
  const responder = new NtpResponder({ seed: 3 });
  pairsOf(f).forEach((pair, i) => {
    const r = replay(f, responder, keys, pair, i) as RespondAction;
    assert.equal(r.action, 'respond');
    assert.deepEqual(r.reply.subarray(0, 48), pair.reply.subarray(0, 48));
    const id = new DataView(pair.request.buffer).getUint32(pair.request.length - 24);
    assert.deepEqual(r.reply, appendMac(r.reply.subarray(0, 48), keys.get(id) as SymmetricKey, 4));
  });
});

test('a wrong key id, a wrong digest, or no key file: dropped and counted by reason (chronyd 4.3 sends nothing); or a crypto-NAK when asked', () => {
  const f = load('chronyd-mac-sha1');
  const keys = keysOf(f.setup.keyfile ?? '');
  const pair = pairsOf(f)[0] as { request: Uint8Array; reply: Uint8Array };
  const unknown = pair.request.slice();
  new DataView(unknown.buffer).setUint32(48, 77);
  const badMac = pair.request.slice();
  badMac[badMac.length - 1] = (badMac[badMac.length - 1] as number) ^ 0x40;
  const responder = new NtpResponder({ seed: 3 });
  const reasonOf = (a: ServerAction): string => (a.action === 'ignore' ? a.reason : 'respond');
  assert.equal(reasonOf(replay(f, responder, keys, { ...pair, request: unknown }, 0)), 'auth-failed');
  assert.equal(reasonOf(replay(f, responder, keys, { ...pair, request: badMac }, 1)), 'auth-failed');
  assert.equal(reasonOf(replay(f, responder, null, pair, 2)), 'auth-failed');
  const s = responder.stats(0n);
  assert.deepEqual([s.authFailed['unknown-key'], s.authFailed['bad-mac'], s.authFailed['no-keys']], [1, 1, 1]);
  assert.equal(s.droppedByReason['auth-failed'], 3);
  assert.equal(s.ntpPacketsReplied, 0);
  assert.equal(s.authenticatedNtpPackets, 0);

  // ntpd's way: a crypto-NAK, which our client recognises and rejects as such.
  const pivot = instantFromUnixMillis(Date.parse(f.capturedAt));
  const h = parseHeader(pair.reply);
  assert.ok(h.ok);
  const a = responder.handleRequest({
    packet: unknown, receivedAt: fromNtpTimestamp(h.value.receiveTimestamp, pivot), now: fromNtpTimestamp(h.value.transmitTimestamp, pivot),
    address: '127.0.0.1', port: 40100, system: localReferenceState(1, pivot, -20),
    config: serverConfig({ access, authenticator: symmetricRequestAuthenticator(keys, { onFailure: 'crypto-nak' }) }), random: 0,
  }) as RespondAction;
  assert.equal(a.action, 'respond');
  assert.equal(a.reply.length, 52);
  assert.deepEqual(a.reply.subarray(48), new Uint8Array(4));
  assert.equal(responder.stats(0n).cryptoNakSent, 1);
  const client = symmetricSourceAuthenticator(keys.get(1) as SymmetricKey);
  const verdict = client.check(a.reply, null);
  assert.equal(verdict.ok, false);
  assert.equal(!verdict.ok && verdict.nak, true);
});

test('a request with extension fields but no MAC gets a plain reply; a client without its key sends nothing', () => {
  const auth = symmetricRequestAuthenticator(new Map());
  const req = new Uint8Array(48 + 28);
  req[0] = 0x23;
  req.set([0xf3, 0x23, 0x00, 0x1c], 48);
  assert.deepEqual(auth.authenticate(req, new Uint8Array(48)), { kind: 'append', bytes: new Uint8Array(0), authenticated: false });
  assert.equal(symmetricSourceAuthenticator(null).secure(new Uint8Array(48)), null);
});
