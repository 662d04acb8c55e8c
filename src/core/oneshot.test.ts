import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_STEP_THRESHOLD, KERNEL_SLEW_RATE, MAX_SLEW_SECONDS, type OneShotServer, decideOneShot } from './oneshot.js';
import type { ServerEstimate } from './server-estimate.js';

/** A server whose best sample says `offset` with correctness interval +-distance. */
function srv(name: string, offset: number, distance = 0.005): OneShotServer {
  const estimate = { best: { offset, delay: 0.001, dispersion: 0 }, rootDistance: distance, jitter: 0, rootDelay: 0, rootDispersion: 0, bestIndex: 0 } as unknown as ServerEstimate;
  return { name, estimate, error: null };
}
const down = (name: string): OneShotServer => ({ name, estimate: null, error: 'timeout: no reply within 5 s' });
const auto = { mode: 'auto' as const, threshold: DEFAULT_STEP_THRESHOLD };

test('three agree, one liar: the liar is named and left out, the offset is the majority\'s', () => {
  const d = decideOneShot([srv('a', 0.0101), srv('b', 0.0099), srv('c', 0.0100), srv('liar', 2.5)], auto);
  assert.equal(d.action, 'slew');
  assert.deepEqual(d.falsetickers, ['liar']);
  assert.deepEqual([...d.agree].sort(), ['a', 'b', 'c']);
  assert.ok(d.action === 'slew' && Math.abs(d.offset - 0.01) < 1e-4);
  assert.deepEqual(d.warnings, []);
});

test('two liars against one: no majority, refused, every server named', () => {
  const d = decideOneShot([srv('a', 0.0), srv('liar1', 2.5), srv('liar2', -3)], auto);
  assert.equal(d.action, 'refuse');
  assert.ok(d.action === 'refuse' && d.reason === 'no-majority');
  assert.match(d.action === 'refuse' ? d.message : '', /No majority.*a \+0\.000000 s.*liar1 \+2\.500000 s.*liar2 -3\.000000 s.*not changed/);
});

test('two liars that agree with each other outvote one honest server: the majority wins, as with chronyd', () => {
  const d = decideOneShot([srv('honest', 0), srv('liar1', 2.5), srv('liar2', 2.501)], auto);
  assert.equal(d.action, 'step');
  assert.deepEqual(d.falsetickers, ['honest']);
});

test('fewer than 3 usable sources: a warning that says why; two that disagree are refused', () => {
  const two = decideOneShot([srv('a', 0.001), srv('b', 0.0012), down('c')], auto);
  assert.equal(two.action, 'slew');
  assert.match(two.warnings[0] ?? '', /only 2 usable sources: with two, a liar cannot be told from the truth/);
  assert.deepEqual(two.unusable, ['c']);
  const one = decideOneShot([srv('a', 0.001)], auto);
  assert.match(one.warnings[0] ?? '', /only 1 usable source \(a\)/);
  const split = decideOneShot([srv('a', 0), srv('b', 1)], auto);
  assert.equal(split.action, 'refuse');
});

test('nothing answered: refused, with each server\'s reason', () => {
  const d = decideOneShot([down('a'), down('b')], auto);
  assert.ok(d.action === 'refuse' && d.reason === 'no-sources');
  assert.match(d.action === 'refuse' ? d.message : '', /a: timeout.*b: timeout/);
});

test('step or slew: threshold in auto mode, forced by --step/--slew', () => {
  const at = (offset: number, mode: 'auto' | 'step' | 'slew', threshold = 0.5) =>
    decideOneShot([srv('a', offset), srv('b', offset), srv('c', offset)], { mode, threshold });
  assert.equal(at(0.49, 'auto').action, 'slew');
  assert.equal(at(-0.51, 'auto').action, 'step');
  assert.equal(at(0.2, 'auto', 0.128).action, 'step'); // ntpd's 128 ms from an ntp.conf
  assert.equal(at(0.001, 'step').action, 'step');
  assert.equal(at(1.5, 'slew').action, 'slew');
  const slew = at(0.0125, 'auto');
  assert.ok(slew.action === 'slew' && Math.abs(slew.durationSeconds - 25) < 1e-6, 'at 500 ppm, 12.5 ms takes 25 s');
});

test('a slew that would take longer than an hour is refused, suggesting --step', () => {
  const big = MAX_SLEW_SECONDS * KERNEL_SLEW_RATE + 0.01; // 1.81 s
  const d = decideOneShot([srv('a', big), srv('b', big), srv('c', big)], { mode: 'slew', threshold: 0.5 });
  assert.ok(d.action === 'refuse' && d.reason === 'slew-too-long');
  assert.match(d.action === 'refuse' ? d.message : '', /would take 3620 s.*use --step/);
  // Through a large --threshold too.
  assert.equal(decideOneShot([srv('a', 5), srv('b', 5), srv('c', 5)], { mode: 'auto', threshold: 10 }).action, 'refuse');
});

test('property: with a strict majority of agreeing servers the decision follows them and names every other one', () => {
  fc.assert(fc.property(
    fc.double({ min: -100, max: 100, noNaN: true }),
    fc.integer({ min: 2, max: 6 }),
    fc.array(fc.double({ min: 1, max: 50, noNaN: true }), { maxLength: 5 }),
    (truth, honest, liarOffsets) => {
      fc.pre(liarOffsets.length < honest);
      const servers = [
        ...Array.from({ length: honest }, (_, i) => srv(`h${i}`, truth + (i % 2 ? 1e-4 : -1e-4))),
        ...liarOffsets.map((o, i) => srv(`l${i}`, truth + o * (i % 2 ? 1 : -1))),
      ];
      const d = decideOneShot(servers, { mode: 'step', threshold: 0.5 });
      assert.equal(d.action, 'step');
      assert.ok(d.action === 'step' && Math.abs(d.offset - truth) < 1e-3);
      assert.deepEqual([...d.falsetickers].sort(), liarOffsets.map((_, i) => `l${i}`).sort());
    },
  ));
});
