import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type AccessRule, type AccessTable, buildAccessTable, DENY_ALL, isAllowed, isAllowedWords, normalizeAddress,
  parseSubnet,
} from './access.js';

function table(rules: AccessRule[]): AccessTable {
  const r = buildAccessTable(rules);
  if (!r.ok) throw new Error(r.message);
  return r.table;
}
const allow = (subnet: string | null, all = false): AccessRule => ({ allow: true, subnet, all });
const deny = (subnet: string | null, all = false): AccessRule => ({ allow: false, subnet, all });

test('nothing is allowed by default', () => {
  for (const a of ['127.0.0.1', '::1', '192.0.2.1']) {
    assert.equal(isAllowed(DENY_ALL, a), false);
    assert.equal(isAllowed(table([]), a), false);
  }
});

test('`allow` with no address allows every IPv4 and IPv6 address; 0/0 and ::/0 one family each', () => {
  const any = table([allow(null)]);
  assert.ok(isAllowed(any, '198.51.100.7') && isAllowed(any, '2001:db8::1'));
  const v4 = table([allow('0/0')]);
  assert.ok(isAllowed(v4, '198.51.100.7'));
  assert.equal(isAllowed(v4, '2001:db8::1'), false);
  const v6 = table([allow('::/0')]);
  assert.equal(isAllowed(v6, '198.51.100.7'), false);
  assert.ok(isAllowed(v6, '2001:db8::1'));
  assert.equal(isAllowed(table([allow(null), deny(null)]), '10.0.0.1'), false);
});

test('chrony.conf(5) example 1: the most specific rule wins, in any order', () => {
  const rules = [allow('1.2.3.4'), deny('1.2.3.0/24'), allow('1.2.0.0/16')];
  for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]]) {
    const t = table(order.map((i) => rules[i] as AccessRule));
    assert.equal(isAllowed(t, '1.2.3.4'), true);
    assert.equal(isAllowed(t, '1.2.3.5'), false);
    assert.equal(isAllowed(t, '1.2.4.1'), true);
    assert.equal(isAllowed(t, '1.3.0.0'), false);
  }
});

test('chrony.conf(5) example 2: `allow all` overrides the earlier rules for subnets inside it', () => {
  const t = table([allow('1.2.3.4'), deny('1.2.3.0/24'), allow('1.2.0.0/16', true)]);
  assert.equal(isAllowed(t, '1.2.3.5'), true);
  assert.equal(isAllowed(t, '1.2.3.4'), true);
  // Rules after it still apply.
  const later = table([allow('1.2.0.0/16', true), deny('1.2.3.0/24')]);
  assert.equal(isAllowed(later, '1.2.3.5'), false);
  // `deny all` likewise.
  const d = table([allow('10.1.2.0/24'), allow('10.1.3.3'), deny('10.0.0.0/8', true)]);
  assert.equal(isAllowed(d, '10.1.2.9'), false);
  assert.equal(isAllowed(d, '10.1.3.3'), false);
  // `allow all` with no address resets everything.
  assert.equal(isAllowed(table([deny('10.0.0.0/8'), allow(null, true)]), '10.0.0.1'), true);
});

test('specificity is counted in 4-bit levels: /25 and /28 share one, so the later wins; /29 is deeper', () => {
  assert.equal(isAllowed(table([allow('1.2.3.0/28'), deny('1.2.3.0/25')]), '1.2.3.1'), false);
  assert.equal(isAllowed(table([deny('1.2.3.0/25'), allow('1.2.3.0/28')]), '1.2.3.1'), true);
  assert.equal(isAllowed(table([allow('1.2.3.0/29'), deny('1.2.3.0/25')]), '1.2.3.1'), true);
  // The /25 covers .0 to .127 of its level, nothing more.
  const t = table([allow('1.2.3.0/24'), deny('1.2.3.0/25')]);
  assert.equal(isAllowed(t, '1.2.3.127'), false);
  assert.equal(isAllowed(t, '1.2.3.128'), true);
});

test('chrony\'s subnet notations: address, ADDR/BITS, shortened IPv4 networks, IPv6', () => {
  assert.deepEqual(parseSubnet('3.4.5'), { family: 4, octets: new Uint8Array([3, 4, 5, 0]), bits: 24 });
  assert.deepEqual(parseSubnet('10'), { family: 4, octets: new Uint8Array([10, 0, 0, 0]), bits: 8 });
  assert.deepEqual(parseSubnet('10/12'), { family: 4, octets: new Uint8Array([10, 0, 0, 0]), bits: 12 });
  assert.deepEqual(parseSubnet('0/0'), { family: 4, octets: new Uint8Array(4), bits: 0 });
  assert.deepEqual(parseSubnet('1.2.3.4'), { family: 4, octets: new Uint8Array([1, 2, 3, 4]), bits: 32 });
  // Host bits are cleared.
  assert.deepEqual(parseSubnet('1.2.3.5/30'), { family: 4, octets: new Uint8Array([1, 2, 3, 4]), bits: 30 });
  assert.equal(parseSubnet('2001:db8::/32')?.bits, 32);
  assert.equal(parseSubnet('2001:db8::1')?.bits, 128);
  // IPv4-mapped subnets are IPv4.
  assert.deepEqual(parseSubnet('::ffff:198.51.100.0/120'), { family: 4, octets: new Uint8Array([198, 51, 100, 0]), bits: 24 });
  for (const bad of ['1.2.3.4/33', '::/129', 'ntp.example', '1.2.3.4/x', '256.1', '1.2.3/', '', '1.2.3.4.5', '/8', '1.2.3.4/-1']) {
    assert.equal(parseSubnet(bad), null, bad);
  }
  const t = table([allow('3.4.5'), allow('10')]);
  assert.ok(isAllowed(t, '3.4.5.200') && isAllowed(t, '10.200.1.1'));
  assert.ok(!isAllowed(t, '3.4.6.1') && !isAllowed(t, '11.0.0.1'));
});

test('a subnet that does not parse fails the build with its index', () => {
  const r = buildAccessTable([allow('10.0.0.0/8'), deny('bogus/8')]);
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.index, 1);
    assert.match(r.message, /^Cannot parse subnet: current value is "bogus\/8"/);
  }
});

test('IPv6 rules and lookups; IPv4-mapped addresses count as IPv4', () => {
  const t = table([allow('2001:db8::/32'), deny('2001:db8:1::/48'), allow('192.0.2.0/24')]);
  assert.ok(isAllowed(t, '2001:db8:2::5'));
  assert.ok(!isAllowed(t, '2001:db8:1::5'));
  assert.ok(!isAllowed(t, '2001:db9::1'));
  assert.ok(isAllowed(t, '::ffff:192.0.2.7'));
  assert.ok(!isAllowed(t, '::ffff:192.0.3.7'));
  assert.ok(isAllowed(t, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1])));
  assert.ok(isAllowed(t, new Uint8Array([192, 0, 2, 1])));
  assert.ok(!isAllowed(t, 'not an address'));
  assert.ok(!isAllowed(t, new Uint8Array(5)));
  // A mapped rule allows the IPv4 client.
  assert.ok(isAllowed(table([allow('::ffff:198.51.100.0/120')]), '198.51.100.9'));
  assert.deepEqual(normalizeAddress('::ffff:10.1.2.3'), new Uint8Array([10, 1, 2, 3]));
});

// ---- Property test against a naive model of chrony's semantics ----

interface ModelRule { readonly allow: boolean; readonly all: boolean; readonly family: 4 | 6 | null; readonly octets: Uint8Array; readonly bits: number }

function covers(r: ModelRule, o: Uint8Array): boolean {
  for (let b = 0; b < r.bits; b++) {
    const bit = (x: Uint8Array) => ((x[b >> 3] as number) >> (7 - (b & 7))) & 1;
    if (bit(r.octets) !== bit(o)) return false;
  }
  return true;
}

/**
 * Independent of the tree: the entry at depth D (D = ceil(bits / 4)) on the
 * address's path belongs to the last covering rule of that depth, unless a
 * later `all` rule of a shallower depth covering the address erased it; the
 * deepest entry decides, and none means deny.
 */
function modelAllowed(rules: readonly ModelRule[], address: Uint8Array): boolean {
  const family = address.length === 4 ? 4 : 6;
  const applies = rules.map((r) => (r.family === null || r.family === family) && covers(r, address));
  const depth = (r: ModelRule) => Math.ceil(r.bits / 4);
  for (let d = family === 4 ? 8 : 32; d >= 0; d--) {
    let last = -1;
    rules.forEach((r, i) => { if (applies[i] && depth(r) === d) last = i; });
    if (last < 0) continue;
    const erased = rules.some((r, j) => j > last && applies[j] && r.all && depth(r) < d);
    if (!erased) return (rules[last] as ModelRule).allow;
  }
  return false;
}

const BASES = [0x0a000000, 0x0a010000, 0xc0a80100, 0xc0a801c0, 0x01020304];

const v4Address = fc.tuple(fc.constantFrom(...BASES), fc.nat({ max: 0xffff }), fc.integer({ min: 0, max: 31 }))
  .map(([base, noise, shift]) => {
    const a = (base ^ (noise >>> (shift % 16))) >>> 0;
    return new Uint8Array([a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff]);
  });
const v6Address = fc.tuple(v4Address, fc.constantFrom(0x20010db8, 0xfd000000)).map(([v4, hi]) => {
  const o = new Uint8Array(16);
  o.set([hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff], 0);
  o.set(v4, 12);
  return o;
});

function textOf(o: Uint8Array): string {
  if (o.length === 4) return Array.from(o).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((o[i] as number) << 8) | (o[i + 1] as number)).toString(16));
  return groups.join(':');
}

const ruleArb = fc.record({
  allow: fc.boolean(),
  all: fc.boolean(),
  kind: fc.constantFrom('v4', 'v4', 'v4', 'v6', 'none'),
  v4: v4Address,
  v6: v6Address,
  bits4: fc.integer({ min: 0, max: 32 }),
  bits6: fc.constantFrom(0, 1, 32, 64, 95, 96, 97, 100, 120, 127, 128),
});

test('property: the table decides as the naive model of chrony\'s rules does, for both families', () => {
  fc.assert(fc.property(fc.array(ruleArb, { maxLength: 12 }), fc.array(fc.oneof(v4Address, v6Address), { minLength: 1, maxLength: 20 }), (raw, queries) => {
    const rules: AccessRule[] = [];
    const model: ModelRule[] = [];
    for (const r of raw) {
      if (r.kind === 'none') {
        rules.push({ allow: r.allow, all: r.all, subnet: null });
        model.push({ allow: r.allow, all: r.all, family: null, octets: new Uint8Array(16), bits: 0 });
        continue;
      }
      const o = r.kind === 'v4' ? r.v4 : r.v6;
      const bits = r.kind === 'v4' ? r.bits4 : r.bits6;
      rules.push({ allow: r.allow, all: r.all, subnet: `${textOf(o)}/${bits}` });
      model.push({ allow: r.allow, all: r.all, family: r.kind === 'v4' ? 4 : 6, octets: o, bits });
    }
    const t = table(rules);
    for (const q of [...queries, ...model.filter((m) => m.family !== null).map((m) => m.octets)]) {
      assert.equal(isAllowed(t, q), modelAllowed(model, q), `${textOf(q)} with ${JSON.stringify(rules)}`);
      assert.equal(isAllowed(t, textOf(q)), isAllowed(t, q));
    }
  }), { numRuns: 1500 });
});

test('property: an IPv4-mapped address gets the decision of its IPv4 address; word lookup agrees', () => {
  fc.assert(fc.property(fc.array(ruleArb, { maxLength: 8 }), v4Address, (raw, q) => {
    const t = table(raw.map((r) => ({
      allow: r.allow, all: r.all,
      subnet: r.kind === 'none' ? null : r.kind === 'v4' ? `${textOf(r.v4)}/${r.bits4}` : `${textOf(r.v6)}/${r.bits6}`,
    })));
    const v4 = textOf(q);
    assert.equal(isAllowed(t, `::ffff:${v4}`), isAllowed(t, v4));
    const word = (((q[0] as number) << 24) | ((q[1] as number) << 16) | ((q[2] as number) << 8) | (q[3] as number)) >>> 0;
    assert.equal(isAllowedWords(t, 4, [word, 0, 0, 0]), isAllowed(t, q));
  }), { numRuns: 500 });
});
