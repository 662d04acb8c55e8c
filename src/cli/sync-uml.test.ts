/**
 * `ntpkit sync` inside User-mode Linux, the only kernel a test may change the
 * clock of: it really steps and slews a kernel clock, the guest's own (src/testing/uml.ts),
 * against chronyd -x on the host side of this test's own tap; and it refuses
 * while another daemon (a real chronyd that owns the guest's clock) runs.
 * The guest side is src/testing/uml-guest-oneshot.ts. The host's clock is
 * never touched, and the last test checks it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadNative, type RawTimex } from '../clock/native.js';
import { assertNotStepped, type ClockGap, offsetBound, realtimeMinusMonotonic } from '../testing/bounds.js';
import { requireTool } from '../testing/tools.js';
import { requireUml, runInUml, type UmlResult } from '../testing/uml.js';
import type { LockResult, Measured, OneShotResult, RefuseResult, SlewResult, StepResult } from '../testing/uml-guest-oneshot.js';

const SERVER = '192.168.77.1';

interface Outcome {
  readonly uml: UmlResult;
  readonly results: ReadonlyMap<string, OneShotResult>;
  readonly host: { readonly before: RawTimex; readonly after: RawTimex; readonly gapBefore: ClockGap; readonly gapAfter: ClockGap };
}

let outcome: Promise<Outcome> | undefined;

/** One boot for every test below; the first test to need it starts it. */
function guest(): Promise<Outcome> {
  outcome ??= (async () => {
    const n = loadNative();
    if (!n.ok) throw new Error(n.reason);
    const a = n.addon;
    const readers = { realtimeNs: () => a.realtimeNs(), monotonicNs: () => a.clockGettimeNs(a.clocks.MONOTONIC) };
    const before = a.adjtimexStatus();
    const gapBefore = realtimeMinusMonotonic(readers);
    const helper = fileURLToPath(new URL('../testing/uml-guest-oneshot.js', import.meta.url));
    // The deadline only catches a hang: on a busy host every node start in the guest takes seconds.
    const uml = await runInUml({ command: [process.execPath, helper, SERVER], chronyd: true, timeoutMs: 360_000 });
    const after = a.adjtimexStatus();
    const gapAfter = realtimeMinusMonotonic(readers);
    const results = new Map<string, OneShotResult>();
    for (const line of uml.output.split('\n')) {
      if (line.startsWith('RESULT ')) {
        const r = JSON.parse(line.slice(7)) as OneShotResult;
        results.set(r.name, r);
      }
    }
    return { uml, results, host: { before, after, gapBefore, gapAfter } };
  })();
  return outcome;
}

async function result<T extends OneShotResult>(name: T['name']): Promise<T> {
  const g = await guest();
  const r = g.results.get(name);
  const log = g.uml.output.split('\n').filter((l) => !l.startsWith('RESULT ')).join('\n');
  assert.ok(r, `the guest produced no ${name} result (exit ${g.uml.exitCode}, timed out ${g.uml.timedOut}):\n${log}\n--- console ---\n${g.uml.console.slice(-2000)}\n--- chronyd ---\n${g.uml.hostLogs.slice(-1500)}`);
  return r as T;
}

const show = (r: { code: number | null; out: string; err: string }): string => `exit ${r.code}\n--- stdout ---\n${r.out}--- stderr ---\n${r.err}`;

/**
 * The round trip of the sample sync went by, from the progress it printed on
 * stderr: with one server, the least-delay one (query's estimate). Its offset
 * was within half of that (every clock here is the host's, the guest's
 * shifted by what the test put it off; sync runs on node:dgram in the guest,
 * see uml-guest-oneshot.ts).
 */
function syncDelay(r: { err: string }): number {
  const delays = [...r.err.matchAll(/: offset [+-]\d+\.\d+ s, delay (\d+\.\d+) s \(\d+\/\d+\)$/gm)].map((m) => Number(m[1]));
  assert.ok(delays.length > 0, `no samples in sync's progress: ${r.err}`);
  // Printed to the microsecond.
  return Math.min(...delays) + 1e-6;
}

/** Asserts two measurements of one error agree within half of each one's round trip (plus `extra`). */
function assertSameError(a: number, da: number, b: number, db: number, what: string, extra = 0): void {
  const bound = offsetBound(da) + offsetBound(db) + extra;
  assert.ok(Math.abs(a - b) <= bound, `${what}: ${a} s vs ${b} s, more than ${bound} s apart (round trips ${da} s and ${db} s)`);
}

/** The guest was put `target` s off from a measurement; the next one finds it that far off within both round trips. */
function assertPutOff(setup: Measured, before: Measured, target: number, what: string): void {
  assertSameError(before.error, before.delay, target, setup.delay, what);
}

test('inside User-mode Linux, sync steps a guest clock 30 s off back to the reference', { timeout: 400_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const r = await result<StepResult>('step');
  t.diagnostic(`step: before ${r.before.error.toFixed(6)} s, after ${(r.after.error * 1e6).toFixed(0)} us (round trip ${(r.after.delay * 1e6).toFixed(0)} us)`);
  assertPutOff(r.setup, r.before, 30, 'the guest put 30 s off');
  assert.equal(r.sync.code, 0, show(r.sync));
  const m = /^Stepped the system clock by (-\d+\.\d{9}) s$/m.exec(r.sync.out);
  assert.ok(m, show(r.sync));
  // The step undoes the error sync measured, which is the one measured before it, within both round trips.
  const step = Number(m[1]);
  assertSameError(-step, syncDelay(r.sync), r.before.error, r.before.delay, `the step (${show(r.sync)})`);
  // One server: warned (one source cannot be checked against another), and still done.
  assert.match(r.sync.err, /warning: only 1 usable source/);
  // What is left is what sync's measurement missed, and this one's.
  assertSameError(r.after.error, r.after.delay, 0, syncDelay(r.sync), 'after the step');
});

test('inside User-mode Linux, sync hands a 50 ms offset to the kernel as a slew that goes on after sync exits', { timeout: 400_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const r = await result<SlewResult>('slew');
  const figures = `before ${r.before.error} s; sync ran ${r.syncS} s; after sync: remaining ${r.remaining0} s, error ${r.error0.error} s (round trip ${r.error0.delay} s); `
    + `${r.waitS} s later: remaining ${r.remaining1} s, error ${r.error1.error} s (round trip ${r.error1.delay} s, ended ${r.error1EndS} s)`;
  t.diagnostic(`slew: ${figures}`);
  assertPutOff(r.setup, r.before, 0.05, 'the guest put 50 ms off');
  assert.equal(r.sync.code, 0, show(r.sync));
  const m = /^Slewing the system clock by ([+-]\d+\.\d{6}) s \(kernel adjtime, about ([\d.]+) s at 500 ppm\)$/m.exec(r.sync.out);
  assert.ok(m, show(r.sync));
  // Back, by the error sync measured: the one measured before it, within both round trips...
  const slew = Number(m[1]);
  assert.ok(slew < 0, show(r.sync));
  const dSync = syncDelay(r.sync);
  assertSameError(-slew, dSync, r.before.error, r.before.delay, `the slew (${show(r.sync)})`);
  // ...taking the time that is at 500 ppm, as the formatter rounds it.
  const d = Math.abs(slew) / 500e-6;
  assert.equal(m[2], d < 1 ? d.toFixed(3) : d < 10 ? d.toFixed(1) : String(Math.round(d)), show(r.sync));
  // The kernel still has nearly all of it to do when sync has gone: it takes one 500 us step at each
  // second boundary (second_overflow(), MAX_TICKADJ), and sync set the slew at its end, under syncS ago.
  const doneBefore = r.remaining0 - slew;
  assert.ok(doneBefore >= -1e-6 && doneBefore <= 500e-6 * (Math.floor(r.syncS) + 1) + 1e-6, figures);
  // ...and keeps doing it: over waitS seconds the remaining slew moves by floor(waitS) or ceil(waitS)
  // steps, depending on where the boundaries fall.
  const done = r.remaining1 - r.remaining0;
  const steps = Math.round(done / 500e-6);
  assert.ok(Math.abs(done - steps * 500e-6) < 2e-6 && (steps === Math.floor(r.waitS) || steps === Math.ceil(r.waitS)),
    `remaining slew moved by ${done} s in ${r.waitS} s: ${figures}`);
  // The clock itself moves at 500 ppm while the slew runs (the first second after adjtime() may pass
  // before it starts): between the two measurements, which span [waitS - error0EndS, error1EndS]
  // seconds, by that much, as measured within both round trips.
  const corrected = r.error0.error - r.error1.error;
  const noise = offsetBound(r.error0.delay) + offsetBound(r.error1.delay);
  const [lo, hi] = [500e-6 * (r.waitS - r.error0EndS - 1) - noise, 500e-6 * r.error1EndS + noise];
  assert.ok(corrected >= lo && corrected <= hi, `measured error moved by ${corrected} s, expected ${lo} to ${hi} s: ${figures}`);
  // error + remaining is where the clock will end: off by what sync's measurement missed, plus this
  // measurement's error and the slew it saw go by (up to one step the kernel counted but has not yet made).
  const end = r.error1.error + r.remaining1;
  const endBound = offsetBound(dSync) + offsetBound(r.error1.delay) + 500e-6 * (1 + r.error1EndS - r.waitS);
  assert.ok(Math.abs(end) <= endBound, `the slew ends the clock ${end} s off, beyond ${endBound} s: ${figures}`);
});

test('inside User-mode Linux, sync and daemon --clock system refuse while chronyd owns the clock, naming it; --force goes ahead', { timeout: 400_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const r = await result<RefuseResult>('refuse');
  assert.deepEqual(r.seen, [`chronyd ${r.chronydPid}`]);
  assert.equal(r.sync.code, 1, show(r.sync));
  assert.match(r.sync.err, new RegExp(`Refusing to set the system clock[^]*chronyd is running \\(PID ${r.chronydPid}[^]*systemctl disable --now chrony[^]*--force`), show(r.sync));
  assert.equal(r.sync.out, '');
  assert.equal(r.daemon.code, 1, show(r.daemon));
  assert.match(r.daemon.err, new RegExp(`not started: Refusing to discipline the system clock[^]*chronyd is running \\(PID ${r.chronydPid}`), show(r.daemon));
  assert.equal(r.forced.code, 0, show(r.forced));
  assert.match(r.forced.err, new RegExp(`warning: --force: overriding 1 finding: chronyd is running \\(PID ${r.chronydPid}`), show(r.forced));
  assert.match(r.forced.out, /^Stepped the system clock by -\d\.\d{9} s$/m, show(r.forced));
  assertSameError(r.after.error, r.after.delay, 0, syncDelay(r.forced), 'after the forced step');
});

test('inside User-mode Linux, a daemon on the system clock holds the PID lock: sync and a second daemon refuse, naming it; the lock goes with the daemon', { timeout: 400_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const r = await result<LockResult>('lock');
  const why = `--- daemon ---\n${r.daemonLog}`;
  assert.equal(r.lockPid, r.daemonPid, `the lock file ${r.lockPath} held ${r.lockPid}, the daemon is ${r.daemonPid}: ${why}`);
  assert.equal(r.sync.code, 1, show(r.sync));
  assert.ok(r.sync.err.includes(`another ntpkit (PID ${r.daemonPid}) holds ${r.lockPath}`), show(r.sync));
  assert.equal(r.second.code, 1, show(r.second));
  assert.ok(r.second.err.includes(`not started: Refusing to discipline the system clock`) && r.second.err.includes(`another ntpkit (PID ${r.daemonPid})`), show(r.second));
  assert.equal(r.daemonExit, 0, why);
  assert.ok(r.lockGone, `the lock file ${r.lockPath} outlived the daemon: ${why}`);
});

test('the host\'s clock is untouched by sync in the guest', { timeout: 400_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const g = await guest();
  t.diagnostic(`UML: boot to init ${g.uml.timings.bootToInitMs} ms, guest command ${g.uml.timings.commandMs} ms, whole run ${g.uml.timings.totalMs} ms`);
  assert.ok(g.uml.ok, `the guest failed (exit ${g.uml.exitCode}):\n${g.uml.output.split('\n').filter((l) => !l.startsWith('RESULT ')).join('\n')}`);
  const { before, after, gapBefore, gapAfter } = g.host;
  for (const k of ['status', 'freq', 'tick', 'offset', 'constant'] as const) assert.equal(after[k], before[k], `host ${k}`);
  assertNotStepped(gapBefore, gapAfter, 'the host clock');
});
