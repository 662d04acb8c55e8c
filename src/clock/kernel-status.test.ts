import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runToCompletion } from '../testing/process.js';
import { findTool } from '../testing/tools.js';
import { CLOCK_STATES, decodeTimex, kernelDisciplineEvidence, readKernelTimeStatus, STATUS_FLAGS } from './kernel-status.js';
import { loadNative, readClockNs, type RawTimex } from './native.js';

const native = loadNative();
const skip = native.ok ? false : native.reason;

const IDLE: RawTimex = {
  state: 5, status: 0x40, offset: 0, freq: 0, maxerror: 16_000_000, esterror: 16_000_000, constant: 2,
  precision: 1, tolerance: 32_768_000, tick: 10_000, tai: 0, timeSec: 1_795_000_000, timeFrac: 123_456,
  ppsfreq: 0, jitter: 0, shift: 0, stabil: 0, jitcnt: 0, calcnt: 0, errcnt: 0, stbcnt: 0,
};

test('decodeTimex: an undisciplined kernel clock', () => {
  const s = decodeTimex(IDLE);
  assert.equal(s.state, 'TIME_ERROR');
  assert.deepEqual(s.flags, ['STA_UNSYNC']);
  assert.equal(s.synchronized, false);
  assert.equal(s.maxErrorSeconds, 16);
  assert.equal(s.tolerancePpm, 500);
  assert.equal(s.tickMicros, 10_000);
  assert.equal(s.raw, IDLE);
});

test('decodeTimex: a clock a daemon disciplines (nanosecond mode, leap pending)', () => {
  const s = decodeTimex({
    ...IDLE, state: 1, status: STATUS_FLAGS.STA_PLL | STATUS_FLAGS.STA_NANO | STATUS_FLAGS.STA_INS,
    offset: -1_500, freq: Math.round(-12.5 * 65536), maxerror: 2_500, esterror: 40, tai: 37,
  });
  assert.equal(s.state, 'TIME_INS');
  assert.deepEqual(s.flags, ['STA_PLL', 'STA_INS', 'STA_NANO']);
  assert.equal(s.synchronized, true);
  assert.equal(s.offsetSeconds, -1.5e-6); // ns under STA_NANO
  assert.equal(s.frequencyPpm, -12.5);
  assert.equal(s.maxErrorSeconds, 0.0025);
  assert.equal(s.estErrorSeconds, 0.00004);
  assert.equal(s.taiOffsetSeconds, 37);
  // Without STA_NANO the same offset is microseconds.
  assert.equal(decodeTimex({ ...IDLE, status: 0, offset: -1_500 }).offsetSeconds, -1.5e-3);
  assert.equal(decodeTimex({ ...IDLE, state: 9 }).state, 'unknown(9)');
});

test('the kernel status reads back sane values', { skip }, () => {
  const t0 = Date.now();
  const s = readKernelTimeStatus();
  const t1 = Date.now();
  assert.ok((CLOCK_STATES as readonly string[]).includes(s.state), s.state);
  // adjtimex(2): tick stays within 10% of 1e6/USER_HZ (USER_HZ is 100 on Linux);
  // freq within +-500 ppm, the kernel's MAXFREQ, which is also its tolerance.
  assert.ok(s.tickMicros >= 9_000 && s.tickMicros <= 11_000, `tick ${s.tickMicros}`);
  assert.ok(Math.abs(s.frequencyPpm) <= 500, `freq ${s.frequencyPpm} ppm`);
  assert.equal(s.tolerancePpm, 500);
  assert.ok(s.maxErrorSeconds >= 0 && s.maxErrorSeconds <= 16, `maxerror ${s.maxErrorSeconds}`);
  assert.ok(s.estErrorSeconds >= 0 && s.estErrorSeconds <= 16, `esterror ${s.estErrorSeconds}`);
  assert.ok(Math.abs(s.offsetSeconds) < 1, `offset ${s.offsetSeconds}`);
  assert.ok(s.taiOffsetSeconds >= 0 && s.taiOffsetSeconds < 100, `tai ${s.taiOffsetSeconds}`);
  // The kernel's time, whole seconds, read between two Date.now() reads.
  assert.ok(s.raw.timeSec >= Math.floor(t0 / 1000) && s.raw.timeSec <= t1 / 1000, `time ${s.raw.timeSec} s, read between ${t0} and ${t1} ms`);
  assert.equal(s.synchronized, !s.flags.includes('STA_UNSYNC') && s.state !== 'TIME_ERROR');
});

/** CLOCK_REALTIME - CLOCK_MONOTONIC, as an interval: a step changes it, a slew does not. */
function realtimeMinusMonotonic(): [bigint, bigint] {
  const m0 = readClockNs('MONOTONIC');
  const r = readClockNs('REALTIME');
  const m1 = readClockNs('MONOTONIC');
  return [r - m1, r - m0];
}

test('reading the status many times changes nothing in the kernel clock', { skip }, () => {
  const control = (s: RawTimex) => ({ status: s.status, freq: s.freq, constant: s.constant, tick: s.tick, tai: s.tai });
  assert.ok(native.ok);
  const before = native.addon.adjtimexStatus();
  const [lo0, hi0] = realtimeMinusMonotonic();
  for (let i = 0; i < 1_000; i++) native.addon.adjtimexStatus();
  const after = native.addon.adjtimexStatus();
  const [lo1, hi1] = realtimeMinusMonotonic();
  assert.deepEqual(control(after), control(before));
  // No step: the two intervals overlap (1 us of slack for the reads themselves).
  assert.ok(lo1 <= hi0 + 1_000n && lo0 <= hi1 + 1_000n, `REALTIME-MONOTONIC moved: [${lo0}, ${hi0}] -> [${lo1}, ${hi1}]`);
});

const CAP_SYS_TIME = 25; // linux/capability.h

/*
 * The proof that the query cannot write: adjtimex(2) fails with EPERM "if
 * modes is neither 0 nor ADJ_OFFSET_SS_READ and the caller does not have
 * sufficient privilege" (CAP_SYS_TIME), so a child
 * stripped of it (setpriv drops it from the bounding set before exec) can only
 * succeed if the addon asks for nothing but a read.
 */
test('the status query works without CAP_SYS_TIME, so it only reads', { skip: skip || (findTool('setpriv') ? false : 'setpriv (util-linux) is not installed') }, async () => {
  const script = `
    import { readFileSync } from 'node:fs';
    const { readKernelTimeStatus } = await import(process.env.NTPKIT_TEST_MODULE);
    const capEff = /CapEff:\\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1];
    const s = readKernelTimeStatus();
    console.log(JSON.stringify({ capEff, state: s.state, tick: s.tickMicros }));`;
  const env = { NTPKIT_TEST_MODULE: new URL('./kernel-status.js', import.meta.url).href };
  // No pdeathsig wrapper: setpriv here is the program under test, and the child ends on its own within the timeout.
  const r = await runToCompletion(findTool('setpriv')!, ['--bounding-set=-sys_time', process.execPath, '--input-type=module', '-e', script], { env, timeoutMs: 10_000, dieWithParent: false });
  assert.equal(r.status.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { capEff: string; state: string; tick: number };
  assert.equal((BigInt(`0x${out.capEff}`) >> BigInt(CAP_SYS_TIME)) & 1n, 0n, `child still has CAP_SYS_TIME: ${out.capEff}`);
  assert.ok((CLOCK_STATES as readonly string[]).includes(out.state));
  assert.equal(out.tick, readKernelTimeStatus().tickMicros);
});

test('kernelDisciplineEvidence: what chronyd leaves behind after a clean exit is not a daemon', () => {
  // chronyd's exit (REF_Finalise) sets STA_UNSYNC; the PLL stays off and its last frequency stays in force.
  const afterChronyd = decodeTimex({ ...IDLE, state: 0, status: STATUS_FLAGS.STA_UNSYNC, freq: Math.round(-17.3 * 65536), tick: 10_001, maxerror: 120_000 });
  assert.deepEqual(kernelDisciplineEvidence(afterChronyd), []);
  assert.deepEqual(kernelDisciplineEvidence(decodeTimex(IDLE)), []);
});

test('kernelDisciplineEvidence: a live chronyd with rtcsync, or timesyncd: STA_UNSYNC clear with a fresh maxerror', () => {
  const live = decodeTimex({ ...IDLE, state: 0, status: 0, freq: 12 * 65536, maxerror: 45_000 });
  const ev = kernelDisciplineEvidence(live);
  assert.equal(ev.length, 1);
  assert.match(ev[0] as string, /marked synchronized \(STA_UNSYNC clear, maxerror 0\.0450 s\), so a daemon updated it within the last 90 s/);
  // The same state, maxerror grown past 1 s: updated over 2000 s ago, no longer taken as a live daemon.
  assert.deepEqual(kernelDisciplineEvidence(decodeTimex({ ...IDLE, state: 0, status: 0, maxerror: 1_200_000 })), []);
});

test('kernelDisciplineEvidence: the kernel PLL being fed (ntpd, NTPsec)', () => {
  const pllSynced = decodeTimex({ ...IDLE, state: 0, status: STATUS_FLAGS.STA_PLL, maxerror: 5_000_000 });
  assert.match(kernelDisciplineEvidence(pllSynced)[0] ?? '', /kernel PLL is on \(STA_PLL\) and marked synchronized/);
  const pllSlewing = decodeTimex({ ...IDLE, state: 5, status: STATUS_FLAGS.STA_PLL | STATUS_FLAGS.STA_UNSYNC, offset: 2_000 });
  assert.match(kernelDisciplineEvidence(pllSlewing)[0] ?? '', /PLL is on \(STA_PLL\) and slewing a \+0\.00200 s offset/);
  const fll = decodeTimex({ ...IDLE, state: 0, status: STATUS_FLAGS.STA_FLL });
  assert.match(kernelDisciplineEvidence(fll)[0] ?? '', /FLL is on \(STA_FLL\)/);
  // PLL left on, idle and unsynchronized (a stopped ntpd, hours ago): not a live daemon.
  assert.deepEqual(kernelDisciplineEvidence(decodeTimex({ ...IDLE, status: STATUS_FLAGS.STA_PLL | STATUS_FLAGS.STA_UNSYNC })), []);
});
