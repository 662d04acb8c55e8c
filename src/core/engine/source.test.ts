import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSeconds, diffSeconds, instantFromUnixSeconds, type Instant } from '../../time/instant.js';
import { toNtpTimestamp } from '../../time/timestamp.js';
import { Leap, Mode } from '../../proto/constants.js';
import { encodeHeader, parseHeader, type NtpHeader } from '../../proto/header.js';
import { refIdFromCode } from '../../proto/refid.js';
import { secondsToShort } from '../../time/short.js';
import { SourcePoller, type ReplyOutcome } from './source.js';
import { sourceOptions, type SourceOptions } from './source-options.js';

const T0 = instantFromUnixSeconds(1_750_000_000);

/** A seeded stand-in for the driver's random numbers (request cookies, poll jitter). */
function lcg(seed = 1): () => number {
  let s = seed;
  return () => { s = (s * 16807) % 2147483647; return s / 2147483647; };
}

function poller(o: Partial<Omit<SourceOptions, 'kind' | 'host'>> = {}, random: () => number = lcg()): SourcePoller {
  return new SourcePoller(sourceOptions('server', '192.0.2.1', o), random, 2 ** -24);
}

interface ReplyOptions {
  /** Server clock − client clock, seconds. */
  offset?: number;
  /** One-way delay, seconds. */
  delay?: number;
  stratum?: number;
  leap?: Leap;
  kiss?: string;
  poll?: number;
  /** Override the origin field (a stale or spoofed reply). */
  origin?: bigint;
}

/** A server's reply to `request` sent at client time `t1`: the packet and its arrival t4 on the client's clock. */
function reply(request: Uint8Array, t1: Instant, o: ReplyOptions = {}): { data: Uint8Array; t4: Instant; t2: Instant; t3: Instant } {
  const req = parseHeader(request);
  if (!req.ok) throw new Error('bad request');
  const delay = o.delay ?? 0.01;
  const offset = o.offset ?? 0;
  const t2 = addSeconds(t1, delay + offset);
  const t3 = addSeconds(t2, 1e-5);
  const h: NtpHeader = {
    leap: o.leap ?? Leap.NoWarning, version: 4, mode: Mode.Server,
    stratum: o.kiss !== undefined ? 0 : o.stratum ?? 2, poll: o.poll ?? req.value.poll, precision: -20,
    rootDelay: secondsToShort(0.002), rootDispersion: secondsToShort(0.003),
    referenceId: o.kiss !== undefined ? refIdFromCode(o.kiss) : 0x0a000001,
    referenceTimestamp: toNtpTimestamp(addSeconds(t2, -30)),
    originTimestamp: o.origin ?? req.value.transmitTimestamp,
    receiveTimestamp: toNtpTimestamp(t2),
    transmitTimestamp: toNtpTimestamp(t3),
  };
  return { data: encodeHeader(h), t2, t3, t4: addSeconds(t3, delay - offset) };
}

/** Sends the due request at `now` and answers it (unless `answer` is false); returns the outcome. */
function exchange(p: SourcePoller, now: Instant, o: ReplyOptions & { answer?: boolean; epoch?: number } = {}): ReplyOutcome | null {
  const { packet } = p.transmit(now, o.epoch ?? 0)!;
  p.sent(now);
  if (o.answer === false) return null;
  const r = reply(packet, now, o);
  return p.receive(r.data, r.t4, o.epoch ?? 0);
}

/** Seconds from the start of each request the poller sends while it is driven to `until` seconds. */
function drive(p: SourcePoller, until: number, answer: (k: number) => boolean = () => true): number[] {
  const times: number[] = [];
  p.begin(T0);
  for (let k = 0; ; k++) {
    const next = p.nextPoll;
    if (next === null || diffSeconds(next, T0) > until) return times;
    assert.ok(p.due(next));
    times.push(diffSeconds(next, T0));
    exchange(p, next, { answer: answer(k) });
  }
}

const gaps = (ts: readonly number[]): number[] => ts.slice(1).map((t, i) => Math.round((t - (ts[i] as number)) * 1000) / 1000);

test('iburst: the first 4 requests 2 s apart, then the poll interval less a little random jitter', () => {
  const p = poller({ iburst: true, minpoll: 6, maxpoll: 6 }, () => 1);
  const t = drive(p, 300);
  assert.deepEqual(gaps(t).slice(0, 3), [2, 2, 2]);
  // interval · (1 − 0.05 · random()), random() = 1 here.
  assert.deepEqual(gaps(t).slice(3), [60.8, 60.8, 60.8, 60.8]);
  const q = poller({ iburst: true, minpoll: 6, maxpoll: 6 }, () => 0);
  assert.deepEqual(gaps(drive(q, 200)).slice(3), [64, 64, 64]);
});

test('iburst with minpoll below 1 s sends the burst at the minpoll interval', () => {
  const p = poller({ iburst: true, minpoll: -2, maxpoll: -2 });
  assert.deepEqual(gaps(drive(p, 2)).slice(0, 3), [0.25, 0.25, 0.25]);
});

test('burst: each poll is a burst 2 s apart that ends after 4 good replies, or after 8 requests', () => {
  const p = poller({ burst: true, minpoll: 6, maxpoll: 6 }, () => 0);
  const answered = drive(p, 150);
  // Two polls of exactly 4 requests each, the second 64 s after the last request of the first.
  assert.deepEqual(gaps(answered), [2, 2, 2, 64, 2, 2, 2, 64, 2, 2, 2]);
  const q = poller({ burst: true, minpoll: 6, maxpoll: 6 }, () => 0);
  const silent = drive(q, 100, () => false);
  assert.deepEqual(gaps(silent).slice(0, 8), [2, 2, 2, 2, 2, 2, 2, 64]);
});

test('reach: shifted left at every request, bit 0 set by a valid reply to it', () => {
  const p = poller({ minpoll: 4, maxpoll: 4 });
  p.begin(T0);
  let now = T0;
  const pattern = [true, true, false, true, false, false, false, false, false, false, false, true];
  const seen: number[] = [];
  for (const ok of pattern) {
    exchange(p, now, { answer: ok });
    seen.push(p.reach);
    now = addSeconds(now, 16);
  }
  assert.deepEqual(seen, [0b1, 0b11, 0b110, 0b1101, 0b11010, 0b110100, 0b1101000, 0b11010000, 0b10100000, 0b1000000, 0b10000000, 0b1]);
});

test('unreachable: after 4 requests without a reply the interval doubles at each poll up to maxpoll; a reply restores minpoll', () => {
  const p = poller({ minpoll: 4, maxpoll: 8 }, () => 0);
  const t = drive(p, 1500, (k) => k === 0);
  // Request 0 answered; requests 1-4 go unanswered at minpoll; from the 5th
  // request on (4 missed), each further request doubles the interval, up to 2^8.
  assert.deepEqual(gaps(t), [16, 16, 16, 16, 16, 32, 64, 128, 256, 256, 256, 256]);
  assert.equal(p.poll, 8);
  assert.equal(p.reach, 0);
  const now = p.nextPoll as Instant;
  const out = exchange(p, now);
  assert.equal(out?.kind, 'sample');
  assert.equal(p.poll, 4);
  assert.equal(p.missed, 0);
  assert.equal(p.sentSinceReply, 0);
  assert.ok(Math.abs(diffSeconds(p.nextPoll as Instant, now) - 16) < 1e-6, 'the next request follows minpoll at once');
});

test('RATE KoD: the poll stays within minpoll..maxpoll whatever poll the kiss names; the next request waits 4 intervals more', () => {
  // A server once answered RATE with poll 17: obeying it meant a request every 36 h despite maxpoll 1.
  const q = poller({ minpoll: 0, maxpoll: 1 }, () => 0);
  q.begin(T0);
  const out = exchange(q, T0, { kiss: 'RATE', poll: 17 });
  assert.deepEqual(out, { kind: 'kod', code: 'RATE', action: 'reduce-rate', fresh: true });
  assert.ok(q.poll >= 0 && q.poll <= 1, `poll ${q.poll}`);
  assert.equal(q.kissCode, 'RATE');
  assert.equal(q.kod?.code, 'RATE');
  // chronyd's back-off: the usual interval after the request, plus 4 intervals.
  assert.equal(diffSeconds(q.nextPoll as Instant, T0), 5 * 2 ** q.poll);
  // Every further RATE: the same, never beyond maxpoll, and reported fresh only once.
  let now = q.nextPoll as Instant;
  for (let i = 0; i < 5; i++) {
    const o = exchange(q, now, { kiss: 'RATE', poll: 17 });
    assert.ok(o?.kind === 'kod' && !o.fresh);
    assert.ok(q.poll <= 1, `poll ${q.poll}`);
    assert.equal(diffSeconds(q.nextPoll as Instant, now), 5 * 2 ** q.poll);
    now = q.nextPoll as Instant;
  }
  // A valid reply ends it: the regular interval again.
  assert.equal(exchange(q, now)?.kind, 'sample');
  assert.equal(q.kod, null);
  assert.equal(diffSeconds(q.nextPoll as Instant, now), 2 ** q.poll);
});

test('RATE KoD ends a burst (iburst, or one asked for)', () => {
  const p = poller({ iburst: true, minpoll: 6, maxpoll: 10 }, () => 0);
  p.begin(T0);
  assert.ok(p.bursting);
  exchange(p, T0, { kiss: 'RATE' });
  assert.equal(p.bursting, false);
  assert.equal(diffSeconds(p.nextPoll as Instant, T0), 5 * 64);
  p.startBurst(addSeconds(T0, 10), 4, 8);
  exchange(p, addSeconds(T0, 10), { kiss: 'RATE' });
  assert.equal(p.bursting, false);
});

for (const code of ['DENY', 'RSTR']) {
  test(`${code} KoD: polling backs off one step per refusal up to maxpoll and goes on; a valid reply restores minpoll`, () => {
    const p = poller({ minpoll: 4, maxpoll: 7, iburst: true }, () => 0);
    let k = 0;
    const outs: (ReplyOutcome | null)[] = [];
    const times: number[] = [];
    p.begin(T0);
    for (;;) {
      const next = p.nextPoll;
      if (next === null || diffSeconds(next, T0) > 1000) break;
      times.push(diffSeconds(next, T0));
      outs.push(exchange(p, next, k++ < 6 ? { kiss: code } : {}));
    }
    // The iburst ends at the first refusal; then 2^5, 2^6, 2^7 and maxpoll again; then served at minpoll.
    assert.deepEqual(gaps(times).slice(0, 7), [32, 64, 128, 128, 128, 128, 16]);
    assert.deepEqual(outs[0], { kind: 'kod', code, action: 'refused', fresh: true });
    assert.deepEqual(outs[1], { kind: 'kod', code, action: 'refused', fresh: false });
    assert.equal(outs[6]?.kind, 'sample');
    assert.equal(p.kod, null);
    assert.equal(p.poll, 4);
  });
}

test('a refusal sets no reach bit: the register drains while the server refuses', () => {
  const p = poller({ minpoll: 4, maxpoll: 4 });
  p.begin(T0);
  exchange(p, T0);
  assert.equal(p.reach, 1);
  let now = T0;
  for (let i = 0; i < 8; i++) {
    now = p.nextPoll as Instant;
    exchange(p, now, { kiss: 'DENY' });
  }
  assert.equal(p.reach, 0);
  assert.equal(p.refused, true);
  assert.equal(p.missed, 0, 'a refusal is an answer, not a lost request');
  // chronyc ntpdata shows the kiss as the last valid reply.
  assert.equal(p.lastReply?.synchronized, false);
  assert.equal(p.lastReply?.header.stratum, 0);
  assert.equal(p.lastHeader?.stratum, 2, 'the last synchronized header is kept for the clock');
});

test('online asks a refusing source again at once from minpoll; burst asks it too; begin forgets the refusal', () => {
  const p = poller({ minpoll: 4, maxpoll: 10 }, () => 0);
  p.begin(T0);
  let now = T0;
  for (let i = 0; i < 4; i++) {
    exchange(p, now, { kiss: 'DENY' });
    now = p.nextPoll as Instant;
  }
  assert.equal(p.poll, 8);
  const later = addSeconds(T0, 300);
  assert.equal(p.due(later), false);
  p.setOnline(later, true);
  assert.equal(p.poll, 4);
  assert.ok(p.due(later), 'online: a request now');
  exchange(p, later, { kiss: 'DENY' });
  assert.equal(p.poll, 5);
  const after = addSeconds(later, 1);
  assert.equal(p.due(after), false);
  p.startBurst(after, 2, 4);
  assert.ok(p.due(after), 'burst: a request now');
  exchange(p, after, { kiss: 'DENY' });
  assert.equal(p.bursting, false, 'a refusal ends the burst');
  p.begin(addSeconds(after, 10));
  assert.equal(p.kod, null);
  assert.equal(p.kissCode, null);
  assert.equal(p.poll, 4);
});

test('online for a source already online that is not refused changes nothing', () => {
  const p = poller({ minpoll: 4, maxpoll: 10 }, () => 0);
  p.begin(T0);
  exchange(p, T0);
  const next = p.nextPoll;
  p.setOnline(addSeconds(T0, 1), true);
  assert.equal(p.nextPoll, next);
});

test('a kiss whose origin is not our request is ignored: nobody can stop us with a spoofed DENY', () => {
  const p = poller();
  p.begin(T0);
  const { packet } = p.transmit(T0, 0)!;
  const spoof = reply(packet, T0, { kiss: 'DENY', origin: 0x1234n });
  assert.deepEqual(p.receive(spoof.data, spoof.t4, 0), { kind: 'ignored', reason: 'origin-mismatch' });
  assert.equal(p.kod, null);
  assert.equal(p.poll, 6);
});

test('origin check: a stale reply is ignored and the real one still counts; a duplicate is not expected', () => {
  const p = poller();
  p.begin(T0);
  const first = p.transmit(T0, 0)!.packet;
  const t1 = addSeconds(T0, 64);
  const second = p.transmit(t1, 0)!.packet;
  const stale = reply(first, T0);
  assert.deepEqual(p.receive(stale.data, addSeconds(t1, 0.001), 0), { kind: 'ignored', reason: 'origin-mismatch' });
  assert.equal(p.reach & 1, 0);
  const good = reply(second, t1, { offset: 0.25 });
  const out = p.receive(good.data, good.t4, 0);
  assert.equal(out.kind, 'sample');
  if (out.kind === 'sample') {
    assert.ok(Math.abs(out.sample.offset - 0.25) < 1e-6, String(out.sample.offset));
    assert.ok(Math.abs(out.sample.delay - 0.02) < 1e-6, String(out.sample.delay));
  }
  assert.equal(p.reach & 1, 1);
  assert.deepEqual(p.receive(good.data, good.t4, 0), { kind: 'ignored', reason: 'not-expected' });
  // Garbage from the source's address does not consume the request either.
  const third = p.transmit(addSeconds(t1, 64), 0)!.packet;
  assert.equal(p.receive(new Uint8Array(10), addSeconds(t1, 64.01), 0).kind, 'ignored');
  const late = reply(third, addSeconds(t1, 64));
  assert.equal(p.receive(late.data, late.t4, 0).kind, 'sample');
});

test('the precise transmit time given by sent() is the T1 of the sample', () => {
  const p = poller();
  p.begin(T0);
  const { packet } = p.transmit(T0, 0)!;
  const real = addSeconds(T0, 0.003); // the kernel stamped it 3 ms later
  p.sent(real);
  const r = reply(packet, real);
  const out = p.receive(r.data, r.t4, 0);
  assert.equal(out.kind, 'sample');
  if (out.kind === 'sample') assert.ok(Math.abs(out.sample.delay - 0.02) < 1e-6);
});

test('an unsynchronized server (leap 3) counts as reachable but gives no sample', () => {
  const p = poller();
  p.begin(T0);
  const out = exchange(p, T0, { leap: Leap.Unsynchronized, stratum: 16 });
  assert.equal(out?.kind, 'unsynchronized');
  assert.equal(p.reach, 1);
  assert.equal(p.lastHeader?.stratum, 16);
});

test('an exchange that spans a step of the clock gives no sample', () => {
  const p = poller();
  p.begin(T0);
  const { packet } = p.transmit(T0, 0)!;
  const r = reply(packet, T0);
  assert.deepEqual(p.receive(r.data, r.t4, 1), { kind: 'ignored', reason: 'clock-stepped' });
  assert.equal(p.reach, 1, 'the server did answer');
});

test('leap bits and root figures come from the last valid reply', () => {
  const p = poller();
  p.begin(T0);
  assert.equal(p.leap(), 'none');
  assert.deepEqual(p.root(), { delay: 0, dispersion: 0 });
  exchange(p, T0, { leap: Leap.InsertSecond });
  assert.equal(p.leap(), 'insert');
  assert.ok(Math.abs(p.root().delay - 0.002) < 1e-4 && Math.abs(p.root().dispersion - 0.003) < 1e-4);
});

test('poll adaptation: two votes in a row above polltarget lengthen the interval, two below half of it shorten it, within minpoll..maxpoll', () => {
  const p = poller({ minpoll: 4, maxpoll: 6, polltarget: 8 });
  p.begin(T0);
  p.adapt(9);
  assert.equal(p.poll, 4);
  p.adapt(9);
  assert.equal(p.poll, 5);
  p.adapt(9);
  p.adapt(6); // in between: the count starts again
  p.adapt(9);
  assert.equal(p.poll, 5);
  p.adapt(9);
  assert.equal(p.poll, 6);
  p.adapt(100);
  p.adapt(100);
  assert.equal(p.poll, 6, 'never above maxpoll');
  p.adapt(3.9);
  p.adapt(3.9);
  assert.equal(p.poll, 5);
  for (let i = 0; i < 10; i++) p.adapt(0);
  assert.equal(p.poll, 4, 'never below minpoll');
});

test('interleaved mode: the next request carries the previous exchange; an interleaved reply gives that exchange with the real transmit time', () => {
  const p = poller({ xleave: true });
  p.begin(T0);
  const first = p.transmit(T0, 0)!.packet;
  const f = parseHeader(first);
  assert.ok(f.ok && f.value.originTimestamp === 0n && f.value.receiveTimestamp === 0n, 'the first request is basic');
  const r1 = reply(first, T0, { offset: 0.1 });
  assert.equal(p.receive(r1.data, r1.t4, 0).kind, 'sample');
  assert.equal(p.interleaved, false);

  const t1b = addSeconds(T0, 64);
  const second = p.transmit(t1b, 0)!.packet;
  const s = parseHeader(second);
  assert.ok(s.ok);
  if (!s.ok) return;
  assert.equal(s.value.originTimestamp, toNtpTimestamp(r1.t2), 'origin = server receive time of the previous reply');
  assert.equal(s.value.receiveTimestamp, toNtpTimestamp(r1.t4), 'receive = our receive time of it');
  // The server's real transmit time of its previous reply was 40 us after the estimate it sent.
  const realT3 = addSeconds(r1.t3, 4e-5);
  const t2b = addSeconds(t1b, 0.11);
  const h: NtpHeader = {
    leap: Leap.NoWarning, version: 4, mode: Mode.Server, stratum: 2, poll: 6, precision: -20,
    rootDelay: 0, rootDispersion: 0, referenceId: 1, referenceTimestamp: toNtpTimestamp(T0),
    // An interleaved reply echoes the request's receive field (RFC 9769).
    originTimestamp: s.value.receiveTimestamp,
    receiveTimestamp: toNtpTimestamp(t2b),
    transmitTimestamp: toNtpTimestamp(realT3),
  };
  const out = p.receive(encodeHeader(h), addSeconds(t2b, -0.09), 0);
  assert.equal(out.kind, 'sample');
  if (out.kind !== 'sample') return;
  assert.equal(out.interleaved, true);
  assert.equal(p.interleaved, true);
  // The sample is the FIRST exchange, with t3 the real departure: delay shrinks by 40 us.
  assert.equal(out.sample.t1, T0);
  assert.equal(out.sample.t4, r1.t4);
  assert.ok(Math.abs(out.sample.delay - (0.02 - 4e-5)) < 1e-6, String(out.sample.delay));
});

test('interleaved mode falls back to basic when the server answers basic, and after a step', () => {
  const p = poller({ xleave: true });
  p.begin(T0);
  exchange(p, T0);
  const out = exchange(p, addSeconds(T0, 64)); // the helper's server answers basic replies
  assert.equal(out?.kind, 'sample');
  if (out?.kind === 'sample') assert.equal(out.interleaved, false);
  // After a step (epoch 1) the previous exchange is stale: a basic request again.
  const next = p.transmit(addSeconds(T0, 128), 1)!.packet;
  const h = parseHeader(next);
  assert.ok(h.ok && h.value.originTimestamp === 0n && h.value.receiveTimestamp === 0n);
});

test('begin restarts from scratch', () => {
  const p = poller({ iburst: true });
  p.begin(T0);
  exchange(p, T0);
  p.begin(addSeconds(T0, 10));
  assert.equal(p.reach, 0);
  assert.equal(p.lastHeader, null);
  assert.equal(p.lastReply, null);
  assert.ok(p.due(addSeconds(T0, 10)));
});
