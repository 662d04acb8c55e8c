/**
 * Issue 5's acceptance "sync works inside User-mode Linux": `ntpkit sync`
 * really steps and slews a kernel clock, the guest's own (src/testing/uml.ts),
 * against chronyd -x on the host side of this test's own tap; and it refuses
 * while another daemon (a real chronyd that owns the guest's clock) runs.
 * The guest side is src/testing/uml-guest-oneshot.ts. The host's clock is
 * never touched, and the last test checks it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadNative, type RawTimex } from '../clock/native.js';
import { requireTool } from '../testing/tools.js';
import { requireUml, runInUml, type UmlResult } from '../testing/uml.js';
import type { LockResult, OneShotResult, RefuseResult, SlewResult, StepResult } from '../testing/uml-guest-oneshot.js';

const SERVER = '192.168.77.1';

interface Outcome {
  readonly uml: UmlResult;
  readonly results: ReadonlyMap<string, OneShotResult>;
  readonly host: { readonly before: RawTimex; readonly after: RawTimex; readonly realtimeMinusMonotonicChange: number };
}

let outcome: Promise<Outcome> | undefined;

/** One boot for every test below; the first test to need it starts it. */
function guest(): Promise<Outcome> {
  outcome ??= (async () => {
    const n = loadNative();
    if (!n.ok) throw new Error(n.reason);
    const a = n.addon;
    const gap = (): bigint => a.realtimeNs() - a.clockGettimeNs(a.clocks.MONOTONIC);
    const before = a.adjtimexStatus();
    const gap0 = gap();
    const helper = fileURLToPath(new URL('../testing/uml-guest-oneshot.js', import.meta.url));
    const uml = await runInUml({ command: [process.execPath, helper, SERVER], chronyd: true, timeoutMs: 150_000 });
    const after = a.adjtimexStatus();
    const change = Number(gap() - gap0) / 1e9;
    const results = new Map<string, OneShotResult>();
    for (const line of uml.output.split('\n')) {
      if (line.startsWith('RESULT ')) {
        const r = JSON.parse(line.slice(7)) as OneShotResult;
        results.set(r.name, r);
      }
    }
    return { uml, results, host: { before, after, realtimeMinusMonotonicChange: change } };
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

test('inside User-mode Linux, sync steps a guest clock 30 s off back to the reference', { timeout: 200_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const r = await result<StepResult>('step');
  t.diagnostic(`step: before ${r.before.toFixed(6)} s, after ${(r.after * 1e6).toFixed(0)} us`);
  assert.ok(Math.abs(r.before - 30) < 0.01, `the guest was not put 30 s off: ${r.before}`);
  assert.equal(r.sync.code, 0, show(r.sync));
  const m = /^Stepped the system clock by (-\d+\.\d{9}) s$/m.exec(r.sync.out);
  assert.ok(m, show(r.sync));
  assert.ok(Math.abs(Number(m[1]) + 30) < 0.01, show(r.sync));
  // One server: warned, as the issue asks, and still done.
  assert.match(r.sync.err, /warning: only 1 usable source/);
  assert.ok(Math.abs(r.after) < 5e-3, `after the step the guest is ${r.after} s off`);
});

test('inside User-mode Linux, sync hands a 50 ms offset to the kernel as a slew that goes on after sync exits', { timeout: 200_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const r = await result<SlewResult>('slew');
  const figures = `before ${r.before} s; after sync: remaining ${r.remaining0} s, error ${r.error0} s; ${r.waitS} s later: remaining ${r.remaining1} s, error ${r.error1} s`;
  t.diagnostic(`slew: ${figures}`);
  assert.equal(r.sync.code, 0, show(r.sync));
  assert.match(r.sync.out, /^Slewing the system clock by -0\.0[45]\d{4} s \(kernel adjtime, about (9\d|10\d) s at 500 ppm\)$/m, show(r.sync));
  // The kernel still has nearly all of it to do when sync has gone...
  assert.ok(r.remaining0 < -0.04 && r.remaining0 > -0.051, figures);
  // ...and keeps doing it at 500 us/s. The kernel takes the one-shot offset in whole 500 us steps, one at each
  // second boundary (second_overflow(), MAX_TICKADJ), so over waitS seconds the remaining slew moves by
  // floor(waitS) or ceil(waitS) steps, depending on where the boundaries fall.
  const expected = r.waitS * 500e-6;
  const done = r.remaining1 - r.remaining0;
  const steps = Math.round(done / 500e-6);
  assert.ok(Math.abs(done - steps * 500e-6) < 2e-6 && (steps === Math.floor(r.waitS) || steps === Math.ceil(r.waitS)),
    `remaining slew moved by ${done} s in ${r.waitS} s: ${figures}`);
  // Measured over NTP from inside UML the error is noisier (seen: 2.4 ms for 3 ms), so within half of it.
  const corrected = r.error0 - r.error1;
  assert.ok(corrected > 0.5 * expected && corrected < 1.5 * expected, `measured error moved by ${corrected} s in ${r.waitS} s: ${figures}`);
  // error + remaining is where the clock will end: about 0.
  assert.ok(Math.abs(r.error1 + r.remaining1) < 2e-3, figures);
});

test('inside User-mode Linux, sync and daemon --clock system refuse while chronyd owns the clock, naming it; --force goes ahead', { timeout: 200_000 }, async (t) => {
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
  assert.ok(Math.abs(r.after) < 5e-3, `after the forced step the guest is ${r.after} s off`);
});

test('inside User-mode Linux, a daemon on the system clock holds the PID lock: sync and a second daemon refuse, naming it; the lock goes with the daemon', { timeout: 200_000 }, async (t) => {
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

test('the host\'s clock is untouched by sync in the guest', { timeout: 200_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const g = await guest();
  t.diagnostic(`UML: boot to init ${g.uml.timings.bootToInitMs} ms, guest command ${g.uml.timings.commandMs} ms, whole run ${g.uml.timings.totalMs} ms`);
  assert.ok(g.uml.ok, `the guest failed (exit ${g.uml.exitCode}):\n${g.uml.output.split('\n').filter((l) => !l.startsWith('RESULT ')).join('\n')}`);
  const { before, after, realtimeMinusMonotonicChange } = g.host;
  for (const k of ['status', 'freq', 'tick', 'offset', 'constant'] as const) assert.equal(after[k], before[k], `host ${k}`);
  assert.ok(Math.abs(realtimeMinusMonotonicChange) < 0.005, `host realtime moved against monotonic by ${realtimeMinusMonotonicChange} s`);
});
