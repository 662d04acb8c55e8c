import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combineEstimates, selectSources, type SelectionCandidate } from './selection.js';

const c = (id: number, offset: number, distance: number, o: Partial<SelectionCandidate> = {}): SelectionCandidate => ({
  id, offset, distance, unusable: null, noselect: false, prefer: false, trust: false, require: false, ...o,
});
const opts = { minsources: 1, maxdistance: 3, previous: null };

test('every source gets a named verdict', () => {
  const r = selectSources([
    c(1, 0, 0.01), c(2, 0.001, 0.012), c(3, 0.5, 0.01), c(4, 0, 0.1), c(5, 0, 5), c(6, 0, 0.01, { unusable: 'unreachable' }),
    c(7, 0, 0.01, { noselect: true }),
  ], opts);
  const v = (id: number): string => r.verdicts.get(id)?.verdict ?? '';
  assert.equal(r.selected, 1);
  assert.equal(v(1), 'selected');
  assert.equal(v(2), 'combined');
  assert.equal(v(3), 'falseticker');
  assert.equal(v(4), 'not-combined'); // distance > 3 x the selected one's
  assert.equal(v(5), 'jittery');
  assert.equal(v(6), 'unusable');
  assert.equal(r.verdicts.get(6)?.reason, 'unreachable');
  assert.equal(r.verdicts.get(7)?.reason, 'noselect');
  assert.deepEqual(r.combined, [1, 2]);
});

test('no majority: nothing selected, both are falsetickers', () => {
  const r = selectSources([c(1, 0, 0.01), c(2, 1, 0.01)], opts);
  assert.equal(r.selected, null);
  assert.equal(r.verdicts.get(1)?.verdict, 'falseticker');
  assert.equal(r.reason, 'no majority agrees');
});

test('the previous selection is kept unless another is clearly better (reselect distance)', () => {
  const r = selectSources([c(1, 0, 0.01), c(2, 0, 0.01005)], { ...opts, previous: 2 });
  assert.equal(r.selected, 2);
  const r2 = selectSources([c(1, 0, 0.01), c(2, 0, 0.011)], { ...opts, previous: 2 });
  assert.equal(r2.selected, 1);
});

test('trust: a trusted source is rejected only when another trusted source disagrees', () => {
  // Majority says 0, the lone trusted source says 1: it wins, the others must meet it.
  const r = selectSources([c(1, 1, 0.01, { trust: true }), c(2, 0, 0.01), c(3, 0, 0.01)], opts);
  assert.equal(r.selected, 1);
  assert.equal(r.verdicts.get(2)?.verdict, 'falseticker');
  // Two trusted sources that disagree: the untrusted majority decides among them.
  const r2 = selectSources([c(1, 1, 0.01, { trust: true }), c(2, 0, 0.01, { trust: true }), c(3, 0, 0.01)], opts);
  assert.equal(r2.verdicts.get(1)?.verdict, 'falseticker');
  assert.ok([2, 3].includes(r2.selected ?? 0));
});

test('minsources and require hold the clock; verdict reasons say why', () => {
  const r = selectSources([c(1, 0, 0.01), c(2, 0, 0.01)], { ...opts, minsources: 3 });
  assert.equal(r.selected, null);
  assert.match(r.verdicts.get(1)?.reason ?? '', /minsources 3/);
  const r2 = selectSources([c(1, 0, 0.01), c(2, 0, 0.01, { require: true, unusable: 'unreachable' })], opts);
  assert.equal(r2.selected, null);
  assert.match(r2.reason ?? '', /required/);
});

test('prefer: only preferred sources are selected and combined', () => {
  const r = selectSources([c(1, 0, 0.005), c(2, 0, 0.01, { prefer: true })], opts);
  assert.equal(r.selected, 2);
  assert.deepEqual(r.combined, [2]);
  assert.equal(r.verdicts.get(1)?.verdict, 'not-combined');
});

test('the system estimate weighs each combined source by the inverse of its root distance', () => {
  const e = (offset: number, distance: number) => ({ offset, freq: offset * 1e-3, pPhase: offset * 1e-6, pFreq: offset * 1e-9, distance });
  const estimates = new Map([[1, e(1, 0.01)], [2, e(4, 0.02)], [3, e(100, 0.001)]]);
  const c = combineEstimates([1, 2], estimates);
  assert.ok(c !== null);
  // Weights 100 and 50: (100·1 + 50·4) / 150 = 2.
  assert.ok(Math.abs(c.offset - 2) < 1e-12, String(c.offset));
  assert.ok(Math.abs(c.freq - 2e-3) < 1e-15 && Math.abs(c.pPhase - 2e-6) < 1e-18 && Math.abs(c.pFreq - 2e-9) < 1e-21);
  assert.deepEqual(combineEstimates([1, 2, 9], estimates), c, 'a source without an estimate takes no part');
  assert.equal(combineEstimates([9], estimates), null);
});

test('combinelimit: how far beyond the selected source\'s distance a truechimer is still combined', () => {
  const set = [c(1, 0, 0.01), c(2, 0, 0.04)];
  assert.equal(selectSources(set, opts).verdicts.get(2)?.verdict, 'not-combined');
  assert.deepEqual(selectSources(set, { ...opts, combinelimit: 5 }).combined, [1, 2]);
});

test('stratumweight: a lower stratum wins when the distances differ by less than its weight per stratum', () => {
  const set = [c(1, 0, 0.0105, { stratum: 1 }), c(2, 0, 0.01, { stratum: 3 })];
  assert.equal(selectSources(set, opts).selected, 1, 'chronyd\'s default 1 ms per stratum');
  assert.equal(selectSources(set, { ...opts, stratumweight: 0 }).selected, 2);
});

test('reselectdist: the selected source stays until another beats it by that much', () => {
  const set = [c(1, 0, 0.0106), c(2, 0, 0.0100)];
  assert.equal(selectSources(set, { ...opts, previous: 1 }).selected, 2, 'default 100 us: beaten by 600 us');
  assert.equal(selectSources(set, { ...opts, previous: 1, reselectdist: 0.001 }).selected, 1);
});

test('maxjitter: a source whose offsets scatter more is jittery', () => {
  const set = [c(1, 0, 0.01, { stdDev: 0.002 }), c(2, 0, 0.02, { stdDev: 0.0001 })];
  assert.equal(selectSources(set, opts).selected, 1);
  const r = selectSources(set, { ...opts, maxjitter: 0.001 });
  assert.equal(r.verdicts.get(1)?.verdict, 'jittery');
  assert.equal(r.selected, 2);
});

test('authselectmode: require, prefer, mix and ignore add chrony 4.3\'s options by authentication', () => {
  // 1 and 2 unauthenticated and agreeing; 3 authenticated, 50 ms off them.
  const set = [c(1, 0, 0.01), c(2, 0.001, 0.01), c(3, 0.05, 0.01, { authenticated: true })];
  const v = (mode: 'require' | 'prefer' | 'mix' | 'ignore'): string[] => {
    const r = selectSources(set, { ...opts, authselectmode: mode });
    return [1, 2, 3].map((id) => r.verdicts.get(id)?.verdict ?? '');
  };
  assert.deepEqual(v('ignore'), ['selected', 'combined', 'falseticker']);
  // mix: the authenticated source gets trust and require, so it is not outvoted, and the others must meet it.
  assert.deepEqual(v('mix'), ['falseticker', 'falseticker', 'selected']);
  assert.deepEqual(v('prefer'), ['unusable', 'unusable', 'selected']);
  assert.deepEqual(v('require'), ['unusable', 'unusable', 'selected']);
  // Without an authenticated source, prefer and mix change nothing; require selects nothing.
  const plain = [c(1, 0, 0.01), c(2, 0.001, 0.01)];
  assert.equal(selectSources(plain, { ...opts, authselectmode: 'prefer' }).selected, 1);
  assert.equal(selectSources(plain, { ...opts, authselectmode: 'mix' }).selected, 1);
  assert.equal(selectSources(plain, { ...opts, authselectmode: 'require' }).selected, null);
  assert.match(selectSources(plain, { ...opts, authselectmode: 'require' }).verdicts.get(1)?.reason ?? '', /authselectmode require/);
});
