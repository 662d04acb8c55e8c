/**
 * The per-source authenticator plumbing (engine-api.ts SourceAuthenticator)
 * in the poller, with a toy authenticator: a trailing word that must equal
 * the request's token. The real ones (symmetric keys, NTS) are tested in
 * src/crypto against chronyd's packets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSeconds, instantFromUnixSeconds } from '../../time/instant.js';
import { toNtpTimestamp } from '../../time/timestamp.js';
import { Leap, Mode } from '../../proto/constants.js';
import { encodeHeader, parseHeader, type NtpHeader } from '../../proto/header.js';
import { refIdFromCode } from '../../proto/refid.js';
import type { SourceAuthenticator } from './engine-api.js';
import { SourcePoller } from './source.js';
import { sourceOptions } from './source-options.js';

const T0 = instantFromUnixSeconds(1_750_000_000);

/** Appends a MAC-shaped trailer (a 4-byte tag and 16 zero octets); a reply must carry the same tag, or be a crypto-NAK. */
function toy(): SourceAuthenticator & { secured: number; refuse: boolean } {
  let next = 1;
  return {
    kind: 'symmetric', secured: 0, refuse: false,
    secure(request) {
      if (this.refuse) return null;
      this.secured++;
      const tag = next++;
      const out = new Uint8Array(request.length + 20);
      out.set(request);
      new DataView(out.buffer).setUint32(request.length, tag);
      return { packet: out, token: tag };
    },
    check(reply, token) {
      if (reply.length === 52) return { ok: false, reason: 'NAK', nak: true };
      if (reply.length < 68) return { ok: false, reason: 'no tag', nak: false };
      const tag = new DataView(reply.buffer, reply.byteOffset).getUint32(reply.length - 20);
      return tag === token ? { ok: true } : { ok: false, reason: `tag ${tag}`, nak: false };
    },
  };
}

function replyTo(request: Uint8Array, t1: bigint, o: { tag?: number | null; kiss?: string } = {}): { data: Uint8Array; t4: bigint } {
  const req = parseHeader(request);
  assert.ok(req.ok);
  const t2 = addSeconds(t1, 0.01);
  const h: NtpHeader = {
    leap: Leap.NoWarning, version: 4, mode: Mode.Server, stratum: o.kiss ? 0 : 2, poll: 6, precision: -20, rootDelay: 0, rootDispersion: 0,
    referenceId: o.kiss ? refIdFromCode(o.kiss) : 1, referenceTimestamp: toNtpTimestamp(t2), originTimestamp: req.value.transmitTimestamp,
    receiveTimestamp: toNtpTimestamp(t2), transmitTimestamp: toNtpTimestamp(t2),
  };
  const head = encodeHeader(h);
  if (o.tag === null) return { data: head, t4: addSeconds(t2, 0.01) };
  const data = new Uint8Array(o.tag === 0 ? 52 : 68);
  data.set(head);
  new DataView(data.buffer).setUint32(48, o.tag ?? new DataView(request.buffer).getUint32(48));
  return { data, t4: addSeconds(t2, 0.01) };
}

test('requests are secured; replies failing the check are not samples, are counted, and do not end the exchange', () => {
  const auth = toy();
  const p = new SourcePoller(sourceOptions('server', '192.0.2.1', { key: 1 }), () => 0.5, 2 ** -24, auth);
  p.begin(T0);
  const req = p.transmit(T0, 0);
  assert.ok(req);
  assert.equal(req.packet.length, 68);
  assert.equal(auth.secured, 1);
  p.sent(T0);
  // Unsigned, wrongly signed, a NAK, and a forged DENY: all rejected, none believed.
  assert.deepEqual(p.receive(replyTo(req.packet, T0, { tag: null }).data, T0, 0), { kind: 'ignored', reason: 'auth-failed' });
  assert.deepEqual(p.receive(replyTo(req.packet, T0, { tag: 99 }).data, T0, 0), { kind: 'ignored', reason: 'auth-failed' });
  assert.deepEqual(p.receive(replyTo(req.packet, T0, { tag: 0 }).data, T0, 0), { kind: 'ignored', reason: 'auth-failed' });
  assert.deepEqual(p.receive(replyTo(req.packet, T0, { tag: 99, kiss: 'DENY' }).data, T0, 0), { kind: 'ignored', reason: 'auth-failed' });
  assert.equal(p.kod, null);
  assert.deepEqual([p.authFailures, p.authNaks, p.lastAuthFailure, p.reach, p.authenticated], [4, 1, 'tag 99', 0, false]);
  // The authentic reply still counts.
  const good = replyTo(req.packet, T0);
  assert.equal(p.receive(good.data, good.t4, 0).kind, 'sample');
  assert.deepEqual([p.reach, p.authenticated, p.totalValidRx], [1, true, 1]);
});

test('a reply to another request is ignored before the authenticator sees it, and is not an auth failure', () => {
  const auth = toy();
  const p = new SourcePoller(sourceOptions('server', '192.0.2.1', { key: 1 }), () => 0.5, 2 ** -24, auth);
  p.begin(T0);
  const req = p.transmit(T0, 0);
  assert.ok(req);
  const other = replyTo(req.packet, T0);
  new DataView(other.data.buffer).setBigUint64(24, 12345n);
  assert.deepEqual(p.receive(other.data, other.t4, 0), { kind: 'ignored', reason: 'origin-mismatch' });
  assert.equal(p.authFailures, 0);
});

test('when the authenticator cannot secure a request, nothing is sent and the poll counts as lost', () => {
  const auth = toy();
  auth.refuse = true;
  const p = new SourcePoller(sourceOptions('server', '192.0.2.1', { key: 1, iburst: true }), () => 0.5, 2 ** -24, auth);
  p.begin(T0);
  assert.equal(p.transmit(T0, 0), null);
  assert.deepEqual([p.totalTx, p.unsecured, p.reach, p.sentSinceReply], [0, 1, 0, 1]);
  assert.ok(p.nextPoll !== null && p.nextPoll > T0, 'the schedule goes on');
  auth.refuse = false;
  const next = p.transmit(p.nextPoll, 0);
  assert.ok(next);
  assert.equal(p.totalTx, 1);
});

test('a source whose requests cannot be secured shows why: the authenticator\'s problem is its reason', async () => {
  const { SyncEngine } = await import('./engine.js');
  const { DISCIPLINE_DEFAULTS } = await import('./engine-api.js');
  let problem: string | null = null;
  const engine = new SyncEngine({
    sources: [sourceOptions('server', '192.0.2.1', { nts: true, minpoll: 1, maxpoll: 1 })],
    discipline: DISCIPLINE_DEFAULTS, precision: 2 ** -24, random: () => 0.5,
    authenticatorFor: () => ({ kind: 'nts', secure: () => null, check: () => ({ ok: false, reason: 'no session', nak: false }), problem: () => problem }),
  });
  engine.start(T0);
  engine.tick(addSeconds(T0, 10));
  assert.equal(engine.snapshot(addSeconds(T0, 10), 'sim').sources[0]?.reason, 'no reply yet');
  problem = 'NTS-KE with 192.0.2.1:4460 failed: connect ECONNREFUSED 192.0.2.1:4460';
  engine.tick(addSeconds(T0, 12));
  const s = engine.snapshot(addSeconds(T0, 12), 'sim').sources[0];
  assert.equal(s?.authProblem, problem);
  assert.equal(s?.reason, problem);
});
