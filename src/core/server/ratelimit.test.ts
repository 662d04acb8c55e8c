import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientTable, newClientKey, setClientKey } from './client-table.js';
import { buildAccessTable } from './access.js';
import { DEFAULT_RATE_LIMIT, limitRate, type RateLimitConfig, rateLimitProblem, type RateLimitVerdict } from './ratelimit.js';
import { NtpResponder, serverConfig } from './server.js';
import { unsynchronizedState } from '../system.js';

/** Deterministic 32-bit PRNG (mulberry32) for the leak. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** One client's requests at the given times (seconds) through table + limiter. */
function run(table: ClientTable, address: string, times: readonly number[], cfg: RateLimitConfig, random: () => number): RateLimitVerdict[] {
  const k = newClientKey();
  setClientKey(k, address);
  return times.map((t) => {
    const slot = table.lookup(k);
    return limitRate(table, slot, table.touch(slot, t), cfg, random());
  });
}

const NEVER_LEAK = () => 0xffffffff; // low bits never all zero: no leak, no KoD

test('defaults and ranges are chrony\'s', () => {
  assert.deepEqual(DEFAULT_RATE_LIMIT, { interval: 3, burst: 8, leak: 2, kod: 0 });
  assert.equal(rateLimitProblem(DEFAULT_RATE_LIMIT), null);
  assert.equal(rateLimitProblem({ ...DEFAULT_RATE_LIMIT, interval: -19 }), null);
  assert.equal(rateLimitProblem({ ...DEFAULT_RATE_LIMIT, interval: 13 }), 'interval 13 is not an integer from -19 to 12');
  assert.equal(rateLimitProblem({ ...DEFAULT_RATE_LIMIT, burst: 0 }), 'burst 0 is not an integer from 1 to 255');
  assert.equal(rateLimitProblem({ ...DEFAULT_RATE_LIMIT, leak: 0 }), 'leak 0 is not an integer from 1 to 4');
  assert.equal(rateLimitProblem({ ...DEFAULT_RATE_LIMIT, kod: 5 }), 'kod 5 is not an integer from 0 to 4');
  assert.equal(rateLimitProblem({ ...DEFAULT_RATE_LIMIT, burst: 2.5 }), 'burst 2.5 is not an integer from 1 to 255');
});

test('a burst of `burst` requests passes, the next is limited, and tokens come back at one per 2^interval s', () => {
  const t = new ClientTable({ slots: 64, seed: 1 });
  const v = run(t, '192.0.2.1', Array.from({ length: 10 }, (_, i) => 1000 + i * 0.001), DEFAULT_RATE_LIMIT, NEVER_LEAK);
  assert.deepEqual(v, ['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'drop', 'drop']);
  assert.deepEqual(run(t, '192.0.2.1', [1007], DEFAULT_RATE_LIMIT, NEVER_LEAK), ['drop']); // 7 s: under one token
  assert.deepEqual(run(t, '192.0.2.1', [1008.02], DEFAULT_RATE_LIMIT, NEVER_LEAK), ['pass']);
  assert.deepEqual(run(t, '192.0.2.1', [1008.03], DEFAULT_RATE_LIMIT, NEVER_LEAK), ['drop']);
  // Other clients are not affected.
  assert.deepEqual(run(t, '192.0.2.2', [1008.04], DEFAULT_RATE_LIMIT, NEVER_LEAK), ['pass']);
});

test('a client polling at the interval or slower is never limited', () => {
  const t = new ClientTable({ slots: 64, seed: 1 });
  const v = run(t, '192.0.2.9', Array.from({ length: 500 }, (_, i) => i * 8), DEFAULT_RATE_LIMIT, NEVER_LEAK);
  assert.ok(v.every((x) => x === 'pass'));
  const fast = { interval: -4, burst: 1, leak: 2, kod: 0 };
  const w = run(t, '192.0.2.10', Array.from({ length: 500 }, (_, i) => i / 16), fast, NEVER_LEAK);
  assert.ok(w.every((x) => x === 'pass'));
});

test('without leak, a steady 1/s client gets exactly the burst plus one reply per 8 s', () => {
  const t = new ClientTable({ slots: 64, seed: 1 });
  const v = run(t, '192.0.2.3', Array.from({ length: 800 }, (_, i) => i), DEFAULT_RATE_LIMIT, NEVER_LEAK);
  const passes = v.filter((x) => x === 'pass').length;
  // 8 from the full bucket and 799 s × 1/8 s of refill.
  assert.ok(passes === 107 || passes === 108, `passes ${passes}`);
});

test('the leak answers about 1 in 2^leak limited requests and empties the bucket', () => {
  const t = new ClientTable({ slots: 64, seed: 1 });
  // Exactly: a zero in the low `leak` bits lets the request through.
  const k = newClientKey();
  setClientKey(k, '192.0.2.4');
  const slot = t.lookup(k);
  for (let i = 0; i < 8; i++) assert.equal(limitRate(t, slot, t.touch(slot, 50), DEFAULT_RATE_LIMIT, 1), 'pass');
  assert.equal(limitRate(t, slot, t.touch(slot, 50), DEFAULT_RATE_LIMIT, 0b01), 'drop');
  assert.equal(limitRate(t, slot, t.touch(slot, 50), DEFAULT_RATE_LIMIT, 0b100), 'pass');
  assert.equal(t.tokens[slot], 0);
  // Statistically, for a client flooding at 100/s: about a quarter answered.
  for (const leak of [1, 2, 3, 4]) {
    const cfg = { ...DEFAULT_RATE_LIMIT, leak };
    const v = run(t, `192.0.3.${leak}`, Array.from({ length: 20000 }, (_, i) => 100 + i / 100), cfg, prng(leak));
    const ratio = v.filter((x) => x === 'pass').length / v.length;
    assert.ok(Math.abs(ratio - 2 ** -leak) < 0.02, `leak ${leak}: ${ratio}`);
  }
});

test('kod N sends a RATE KoD to about 1 in 2^N of the limited requests left after the leak', () => {
  const t = new ClientTable({ slots: 64, seed: 1 });
  assert.ok(run(t, '192.0.2.5', Array.from({ length: 2000 }, (_, i) => i / 100), DEFAULT_RATE_LIMIT, prng(9)).every((x) => x !== 'kod'));
  const cfg = { ...DEFAULT_RATE_LIMIT, kod: 2 };
  const v = run(t, '192.0.2.6', Array.from({ length: 40000 }, (_, i) => i / 100), cfg, prng(3));
  const kods = v.filter((x) => x === 'kod').length;
  const drops = v.filter((x) => x === 'drop').length;
  // Of the limited requests, 3/4 are left after the leak and 1/4 of them get a KoD: drops = 3 × KoDs.
  assert.ok(kods * 2.7 < drops && kods * 3.3 > drops, `kods ${kods} drops ${drops}`);
  // The KoD uses the bits above the leak's.
  const k = newClientKey();
  setClientKey(k, '192.0.2.7');
  const slot = t.lookup(k);
  for (let i = 0; i < 8; i++) limitRate(t, slot, t.touch(slot, 0), cfg, 1);
  assert.equal(limitRate(t, slot, t.touch(slot, 0), cfg, 0b0001), 'kod');
  assert.equal(limitRate(t, slot, t.touch(slot, 0), cfg, 0b0101), 'drop');
});

test('a spoofed victim gets the bucket\'s replies plus 2^-leak of the requests beyond it, and with kod K > 0 a further (1 - 2^-leak) 2^-K as RATE KoDs', () => {
  // docs/security.md states this share. chrony: "on average at least every 2^leak-th request has a response",
  // and kod is "an additional stream of responses" for 1 in 2^kod of the requests that are dropped.
  const allowAll = buildAccessTable([{ allow: true, subnet: null, all: false }]);
  assert.ok(allowAll.ok);
  const packet = new Uint8Array(48);
  packet[0] = (4 << 3) | 3;
  const rate = 100; // the flood's requests per second, one address
  const n = 20_000;
  const seconds = n / rate;
  for (let leak = 1; leak <= 4; leak++) {
    for (let kod = 0; kod <= 4; kod++) {
      const cfg: RateLimitConfig = { interval: 3, burst: 8, leak, kod };
      const r = new NtpResponder({ seed: 1, clientSlots: 64 });
      const config = serverConfig({ access: allowAll.table, rateLimit: cfg });
      const random = prng(1 + 16 * leak + kod);
      let replies = 0;
      let kods = 0;
      for (let i = 0; i < n; i++) {
        const at = BigInt(Math.round((1000 + i / rate) * 2 ** 32));
        const a = r.handleRequest({ packet, receivedAt: at, now: at, address: '198.51.100.9', port: 123, system: unsynchronizedState(-20), config, random: random() });
        if (a.action === 'respond') { if (a.kod === 'RATE') kods++; else replies++; }
      }
      // What the bucket lets through whatever the leak: the burst and one per 2^interval s.
      const bucket = cfg.burst + seconds / 2 ** cfg.interval;
      const leakShare = 2 ** -leak;
      const share = leakShare + (1 - leakShare) * (kod > 0 ? 2 ** -kod : 0);
      // Each request beyond the bucket is answered independently with probability `share`: five standard deviations either side.
      const slack = (p: number): number => 5 * Math.sqrt(n * p * (1 - p));
      const within = (x: number, p: number): boolean => x >= p * (n - bucket) - slack(p) && x <= bucket + p * n + slack(p);
      const what = `leak ${leak} kod ${kod}: ${replies} replies and ${kods} KoDs of ${n}`;
      assert.ok(within(replies + kods, share), `${what}; answered share ${share} expected`);
      assert.ok(within(replies, leakShare), `${what}; reply share ${leakShare} expected`);
      if (kod === 0) assert.equal(kods, 0, what);
    }
  }
});

test('a client that polls faster when ignored has its limiting suspended (the leak is inverted)', () => {
  const t = new ClientTable({ slots: 64, seed: 1 });
  const k = newClientKey();
  setClientKey(k, '192.0.2.8');
  const random = prng(5);
  let now = 0;
  const verdicts: RateLimitVerdict[] = [];
  for (let i = 0; i < 4000; i++) {
    const slot = t.lookup(k);
    const v = limitRate(t, slot, t.touch(slot, now), DEFAULT_RATE_LIMIT, random());
    verdicts.push(v);
    now += v === 'pass' ? 1 : 0.1; // retries ten times faster after a lost reply
  }
  const late = verdicts.slice(2000);
  const ratio = late.filter((x) => x === 'pass').length / late.length;
  assert.ok(ratio > 0.6, `pass ratio ${ratio}`);
  // The same request rate, steady whatever the replies: ordinary limiting.
  const steady = run(t, '192.0.2.9', Array.from({ length: 4000 }, (_, i) => i * 0.1), DEFAULT_RATE_LIMIT, prng(5)).slice(2000);
  const steadyRatio = steady.filter((x) => x === 'pass').length / steady.length;
  assert.ok(steadyRatio < 0.35, `steady pass ratio ${steadyRatio}`);
});

test('a legitimate client polling every 16 s is always served during a flood from 1M spoofed addresses, in fixed memory', () => {
  const t = new ClientTable({ seed: 0x5eed }); // default 65536 records
  const arrays = [t.family, t.words, t.lastSeen, t.tokens, t.rxSent];
  const lengths = arrays.map((a) => a.length);
  const random = prng(11);
  const spoofed = newClientKey();
  const legit = newClientKey();
  setClientKey(legit, '198.51.100.77');
  const rate = 10_000; // spoofed requests per second
  let legitServed = 0;
  let legitRequests = 0;
  let legitEvicted = 0;
  let spoofPasses = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const now = i / rate;
    // Every spoofed request comes from a different address (10.0.0.0/8 and beyond).
    spoofed.family = 4;
    spoofed.words[0] = (0x0a000000 + i * 7919) >>> 0;
    const s = t.lookup(spoofed);
    if (limitRate(t, s, t.touch(s, now), DEFAULT_RATE_LIMIT, random()) === 'pass') spoofPasses++;
    if (i % (16 * rate) === 0) {
      legitRequests++;
      if (t.find(legit) < 0 && legitRequests > 1) legitEvicted++;
      const slot = t.lookup(legit);
      if (limitRate(t, slot, t.touch(slot, now), DEFAULT_RATE_LIMIT, random()) === 'pass') legitServed++;
    }
  }
  assert.equal(legitRequests, 7);
  assert.equal(legitServed, legitRequests);
  // The flood did push the legitimate record out of the table between polls: served anyway.
  assert.ok(legitEvicted > 0, 'the flood should have replaced the legitimate record');
  assert.ok(t.recordsDropped > 900_000, `records dropped ${t.recordsDropped}`);
  assert.equal(t.used(), t.slots);
  assert.deepEqual(arrays.map((a) => a.length), lengths);
  // Each spoofed address is new, so each gets its first reply: the limiter
  // cannot tell them apart (replies are never larger than requests, so there is no amplification).
  assert.equal(spoofPasses, 1_000_000);
});

test('a legitimate client is served during a flood that spoofs its own address, through the leak', () => {
  const t = new ClientTable({ slots: 1024, seed: 3 });
  const random = prng(12);
  const victim = newClientKey();
  setClientKey(victim, '198.51.100.78');
  let served = 0;
  let polls = 0;
  for (let i = 0; i < 400_000; i++) {
    const now = i / 1000; // 1000 spoofed requests/s in the victim's name
    const slot = t.lookup(victim);
    limitRate(t, slot, t.touch(slot, now), DEFAULT_RATE_LIMIT, random());
    if (i % 1000 === 0) {
      polls++;
      const s = t.lookup(victim);
      if (limitRate(t, s, t.touch(s, now + 0.0005), DEFAULT_RATE_LIMIT, random()) === 'pass') served++;
    }
  }
  // The bucket is always empty, so the leak decides: about 1 in 4 of the victim's polls get through.
  const ratio = served / polls;
  assert.ok(ratio > 0.17 && ratio < 0.33, `served ${served} of ${polls}`);
});
