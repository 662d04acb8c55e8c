import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSeconds, diffSeconds, instantFromUnixSeconds, type Instant } from '../../time/instant.js';
import { Leap, Mode } from '../../proto/constants.js';
import { parseHeader, type NtpHeader } from '../../proto/header.js';
import { LOCAL_REFERENCE_ID, localReferenceState, type SystemState, unsynchronizedState } from '../system.js';
import { SourcePoller, type ReplyOutcome } from './source.js';
import { sourceOptions } from './source-options.js';
import { SymmetricPeer } from './symmetric.js';

const T0 = instantFromUnixSeconds(1_750_000_000);
/** B's clock is this far ahead of A's. */
const AHEAD = 0.1;
/** One-way delay, seconds. */
const DELAY = 0.002;

function lcg(seed: number): () => number {
  let s = seed;
  return () => { s = (s * 16807) % 2147483647; return s / 2147483647; };
}

function peer(host: string, state: () => SystemState, seed: number): SourcePoller {
  return new SourcePoller(sourceOptions('peer', host, { minpoll: 4, maxpoll: 4, iburst: true }), lcg(seed), 2 ** -24, null, state);
}

function header(packet: Uint8Array): NtpHeader {
  const h = parseHeader(packet);
  if (!h.ok) throw new Error('bad packet');
  return h.value;
}

/**
 * A (no reference) and B (local stratum 5, AHEAD of A) peer with each
 * other; `at` is A's clock. Each side sends at its own time; the packet
 * arrives DELAY later.
 */
function pair(): { a: SourcePoller; b: SourcePoller; aSends(at: Instant): Uint8Array; bSends(at: Instant): Uint8Array; toA(p: Uint8Array, at: Instant): ReplyOutcome; toB(p: Uint8Array, at: Instant): ReplyOutcome } {
  const a = peer('192.0.2.2', () => unsynchronizedState(-24), 1);
  const b = peer('192.0.2.1', () => localReferenceState(5, T0, -24), 2);
  a.begin(T0);
  b.begin(addSeconds(T0, AHEAD));
  const send = (p: SourcePoller, at: Instant): Uint8Array => {
    const r = p.transmit(at, 0);
    if (r === null) throw new Error('nothing sent');
    return r.packet;
  };
  return {
    a, b,
    aSends: (at) => send(a, at),
    bSends: (at) => send(b, addSeconds(at, AHEAD)),
    toA: (p, at) => a.receive(p, addSeconds(at, DELAY), 0),
    toB: (p, at) => b.receive(p, addSeconds(at, AHEAD + DELAY), 0),
  };
}

test('a peer sends mode 1 carrying its served sync state and poll, no burst despite iburst', () => {
  const { b, bSends } = pair();
  const h = header(bSends(T0));
  assert.equal(h.mode, Mode.SymmetricActive);
  assert.equal(h.stratum, 5);
  assert.equal(h.referenceId, LOCAL_REFERENCE_ID);
  assert.equal(h.leap, Leap.NoWarning);
  assert.equal(h.poll, 4);
  assert.equal(h.originTimestamp, 0n);
  // chronyd refuses bursts on peers: the next packet is a poll interval away, not 2 s.
  assert.ok(b.nextPoll !== null && diffSeconds(b.nextPoll, addSeconds(T0, AHEAD)) >= 16 * 0.9, String(b.nextPoll));
});

test('the symmetric exchange starts from zero origins and then measures the peer\'s offset and delay', () => {
  const { a, aSends, bSends, toA, toB } = pair();
  // A's first packet has no origin: B cannot take it (test 2/3), but remembers it to answer.
  const p1 = aSends(T0);
  assert.deepEqual(toB(p1, T0), { kind: 'ignored', reason: 'not-expected' });
  // B answers it: origin = A's transmit timestamp, receive = when it reached B.
  const t = addSeconds(T0, 0.5);
  const p2 = bSends(t);
  assert.equal(header(p2).originTimestamp, header(p1).transmitTimestamp);
  const out = toA(p2, t);
  assert.equal(out.kind, 'sample', JSON.stringify(out, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  if (out.kind !== 'sample') return;
  // B's packet left 0.5 s after A's reached it: a real symmetric exchange, not a 4 ms round trip.
  assert.ok(Math.abs(out.sample.offset - AHEAD) < 1e-6, String(out.sample.offset));
  assert.ok(Math.abs(out.sample.delay - 2 * DELAY) < 1e-6, String(out.sample.delay));
  assert.equal(a.reach & 1, 1);
  // A replay of the same packet is a duplicate (test 1).
  assert.deepEqual(toA(p2, addSeconds(t, 0.1)), { kind: 'ignored', reason: 'duplicate' });
});

test('a peer\'s packet whose origin is not our last transmit timestamp is no sample (test 2), and a second answer to one packet is refused', () => {
  const { aSends, bSends, toA, toB } = pair();
  const p1 = aSends(T0);
  toB(p1, T0);
  const p2 = bSends(addSeconds(T0, 1));
  // A sends again before B's answer arrives: B's packet now answers an older one.
  aSends(addSeconds(T0, 1));
  const out = toA(p2, addSeconds(T0, 1));
  assert.equal(out.kind, 'ignored');
  assert.equal(out.kind === 'ignored' ? out.reason : '', 'origin-mismatch');
  // The basic exchange recovers: A's next packet answers B's, B's answer to that is valid.
  const p3 = aSends(addSeconds(T0, 2));
  assert.equal(header(p3).originTimestamp, header(p2).transmitTimestamp);
  assert.equal(toB(p3, addSeconds(T0, 2)).kind, 'unsynchronized'); // A has no time to give
  const p4 = bSends(addSeconds(T0, 3));
  assert.equal(toA(p4, addSeconds(T0, 3)).kind, 'sample');
  // B sends once more without a new packet from A: no second sample for one packet of A's.
  const p5 = bSends(addSeconds(T0, 4));
  assert.equal(header(p5).originTimestamp, header(p3).transmitTimestamp);
  assert.deepEqual(toA(p5, addSeconds(T0, 4)), { kind: 'ignored', reason: 'not-expected' });
});

test('an unsynchronized peer (leap 3, stratum 0, refid 0) is "no time", not a kiss-o\'-death', () => {
  const { aSends, bSends, toA, toB } = pair();
  toA(bSends(T0), T0);
  const out = toB(aSends(addSeconds(T0, 1)), addSeconds(T0, 1));
  assert.equal(out.kind, 'unsynchronized');
});

test('symmetric polling as chronyd: the shorter of both polls while the peer answers, and PEER_SAMPLING_ADJ', () => {
  const s = new SymmetricPeer();
  // No valid packet yet: our own poll.
  assert.equal(s.transmitPoll(6, 4, false), 6);
  const h: NtpHeader = {
    leap: Leap.NoWarning, version: 4, mode: Mode.SymmetricActive, stratum: 3, poll: 5, precision: -20, rootDelay: 0, rootDispersion: 0,
    referenceId: 0, referenceTimestamp: 0n, originTimestamp: 5n, receiveTimestamp: 1n, transmitTimestamp: 2n,
  };
  assert.equal(s.record(h, true, 3n), true);
  // One valid packet per packet of ours; the next one must wait for our next transmission.
  assert.equal(s.record({ ...h, receiveTimestamp: 6n, transmitTimestamp: 7n }, true, 8n), false);
  assert.deepEqual(s.nextEcho(), { origin: 7n, receive: 8n });
  assert.equal(s.transmitPoll(6, 4, true), 5);
  assert.equal(s.transmitPoll(6, 6, true), 6);
  assert.equal(s.transmitPoll(4, 4, true), 4);
  // A peer of lower stratum than ours (3 vs 4): the plain interval, less the time already spent.
  assert.equal(s.transmitDelay(4, 4, false, 1), 15);
  // Of higher stratum (3 vs 2): wait 10 % longer, so that its packet comes first and ours answers it soon after.
  assert.ok(Math.abs(s.transmitDelay(4, 2, true, 0) - 17.6) < 1e-9);
  // Equal stratum: spread the two sides' packets.
  assert.ok(Math.abs(s.transmitDelay(4, 3, false, 12) - (17.6 - 12)) < 1e-9);
  assert.equal(s.transmitDelay(4, 3, false, 2), 14);
});
