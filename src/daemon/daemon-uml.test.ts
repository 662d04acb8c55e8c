/**
 * Issue 4's end-to-end test "System clock inside User-mode Linux": `ntpkit
 * daemon -f FILE --clock system` disciplines a UML guest's kernel clock from
 * chronyd (-x, `local stratum 1`) on the host side of a tap, in a network
 * namespace of this test's own (src/testing/uml.ts: DESIGN.md "How to test it
 * honestly" point 5).
 *
 * The guest side is uml-guest-sync.ts. Before each daemon run it puts the
 * guest clock 0.5 s ahead of the host and sets a +100 ppm frequency
 * correction with adjtimex (the guest's oscillator is the host's, so that is
 * a 100 ppm error); while the daemon runs it measures the guest's
 * error against chronyd once a second (its own minimal NTP client, best of 4
 * by delay) and samples CLOCK_REALTIME against CLOCK_MONOTONIC_RAW every
 * 10 ms, which no adjtimex moves, so a step shows whatever the daemon logs.
 * One boot (about 50 s) runs three daemons in turn:
 * - `makestep`: `makestep 0.1 3`;
 * - `slew`: no makestep, so the daemon may only slew;
 * - `hold`: a source that never answers, to see what the daemon does to the
 *   kernel's frequency before any update.
 * The two converging runs also find a drift file that agrees with the kernel,
 * as an earlier daemon would leave both (stopped, then the oscillator moved
 * by 100 ppm, as after a VM migration): the daemon starts from the wrong
 * frequency whether it takes it from the file or the kernel, and must find
 * the error itself.
 *
 * The host's clock is never touched: the guest is the only kernel written,
 * and the last test checks the host's adjtimex state and its realtime to
 * monotonic distance are unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadNative } from '../clock/native.js';
import type { RawTimex } from '../clock/native.js';
import { requireTool } from '../testing/tools.js';
import { requireUml, runInUml, type UmlResult } from '../testing/uml.js';
import {
  type ClockSample, type ErrorPoint, type GuestRequest, type GuestScenario, MAX_KERNEL_RATE, type ScenarioResult, findJumps, maxRate, settledAt, withoutJumps,
} from './uml-guest-sync.js';

const SERVER = '192.168.77.1';
const INITIAL_ERROR = 0.5;
const INITIAL_FREQ_PPM = 100;
/** chrony's drift file format and sign (negative: the clock is slow, corrected by +100 ppm), with a skew ntpkit itself saves after such runs. */
const STALE_DRIFT = `${(-INITIAL_FREQ_PPM).toFixed(6)} 2.000000\n`;

/**
 * With makestep: |error| < 1 ms, for good, within 25 s of the daemon's spawn.
 * chronyd gets within 1 ms 5 s after starting 1 s off (DESIGN.md anchors),
 * and ntpkit was seen at 2-9 s here. The guest's node takes 1-2 s to start
 * the daemon, more on a loaded CI host, hence 25 s. 1 ms is 4x the worst
 * error of the measurement itself (half its round trip, 0.3-0.5 ms through
 * the tap) and 3x the residual error seen in the 10 s after convergence
 * (0.1-0.35 ms while the 100 ppm error is being worked out; <= 0.05 ms without it).
 */
const MAKESTEP_BOUND = 1e-3;
const MAKESTEP_WITHIN = 25;
/**
 * Slewing only: |error| < 5 ms, for good, within 40 s. 0.5 s at chrony's
 * default maxslewrate (83333 ppm) takes 6 s; ntpkit was seen below 1 ms at
 * 8-9 s. 5 ms and 40 s leave room for a loaded CI host; the figures in the
 * diagnostics say how fast it really was.
 */
const SLEW_BOUND = 5e-3;
const SLEW_WITHIN = 40;

const HOLD: GuestScenario = {
  name: 'hold', makestep: null, initialErrorS: INITIAL_ERROR, frequencyPpm: INITIAL_FREQ_PPM,
  // In the guest's subnet, but nobody is there: no reply ever comes.
  source: '192.168.77.3', holdS: 1, maxSeconds: 15, settledBelowS: 0, settledForS: 0,
};
const MAKESTEP: GuestScenario = {
  name: 'makestep', makestep: [0.1, 3], initialErrorS: INITIAL_ERROR, frequencyPpm: INITIAL_FREQ_PPM, driftFile: STALE_DRIFT,
  maxSeconds: MAKESTEP_WITHIN + 5, settledBelowS: MAKESTEP_BOUND, settledForS: 8,
};
const SLEW: GuestScenario = {
  name: 'slew', makestep: null, initialErrorS: INITIAL_ERROR, frequencyPpm: INITIAL_FREQ_PPM, driftFile: STALE_DRIFT,
  // Runs on after 1 ms (not 5 ms) is reached, so the figures show the fine convergence too.
  maxSeconds: SLEW_WITHIN + 5, settledBelowS: 1e-3, settledForS: 8,
};

interface GuestOutcome {
  readonly uml: UmlResult;
  readonly results: ReadonlyMap<string, ScenarioResult>;
  readonly host: { readonly before: RawTimex; readonly after: RawTimex; readonly realtimeMinusMonotonicChange: number };
}

let outcome: Promise<GuestOutcome> | undefined;

/** One boot for all the tests below (about 50 s); the first test to need it starts it. */
function guest(): Promise<GuestOutcome> {
  outcome ??= (async () => {
    const n = loadNative();
    if (!n.ok) throw new Error(n.reason);
    const a = n.addon;
    const rtMinusMono = (): bigint => a.realtimeNs() - a.clockGettimeNs(a.clocks.MONOTONIC);
    const before = a.adjtimexStatus();
    const gap0 = rtMinusMono();
    const helper = fileURLToPath(new URL('./uml-guest-sync.js', import.meta.url));
    // Files go to the run's temp dir (NTPKIT_UML_DIR), shared with the host through hostfs.
    const request: GuestRequest = { server: SERVER, scenarios: [MAKESTEP, SLEW, HOLD] };
    const uml = await runInUml({
      command: [process.execPath, helper, JSON.stringify(request)],
      chronyd: true,
      timeoutMs: 150_000,
    });
    const after = a.adjtimexStatus();
    const change = Number(rtMinusMono() - gap0) / 1e9;
    const results = new Map<string, ScenarioResult>();
    for (const line of uml.output.split('\n')) {
      if (!line.startsWith('RESULT ')) continue;
      const r = JSON.parse(line.slice(7)) as ScenarioResult;
      results.set(r.name, r);
    }
    return { uml, results, host: { before, after, realtimeMinusMonotonicChange: change } };
  })();
  return outcome;
}

async function scenario(name: string): Promise<ScenarioResult> {
  const g = await guest();
  const r = g.results.get(name);
  const guestLog = g.uml.output.split('\n').filter((l) => !l.startsWith('RESULT ')).join('\n');
  assert.ok(r, `the guest produced no result for ${name} (exit ${g.uml.exitCode}, timed out ${g.uml.timedOut}):\n${guestLog}\n--- console ---\n${g.uml.console.slice(-2000)}\n--- chronyd ---\n${g.uml.hostLogs.slice(-2000)}`);
  return r;
}

const ms = (s: number): string => `${(s * 1e3).toFixed(3)} ms`;

/** Error against time, for the diagnostics and the docs: one line each. */
function figures(r: ScenarioResult): string[] {
  const at = (b: number): string => { const s = settledAt(r.series, b); return s === null ? 'never' : `${s.toFixed(1)} s`; };
  return [
    `${r.name}: guest found ${ms(r.found.error)} off, put ${ms(r.prepared.error)} off at ${r.prepared.freqPpm} ppm; `
      + `|error| < 1 ms from ${at(1e-3)}, < 100 us from ${at(100e-6)} for good; fastest slew ${r.maxRatePpm.toFixed(0)} ppm; `
      + `${r.sampleCount} clock samples, longest gap ${ms(r.maxSampleGap)}; steps on the clock ${JSON.stringify(r.jumps.map((j) => j.jump))}`,
    ...r.series.map((p) => `  ${r.name} t=${p.t.toFixed(1)} s error ${ms(p.error)} (delay ${ms(p.delay)}, kernel ${p.freqPpm.toFixed(1)} ppm)`),
  ];
}

function context(r: ScenarioResult): string {
  return `${figures(r).join('\n')}\njumps ${JSON.stringify(r.jumps)}\n--- daemon ---\n${r.daemonLog}\n--- tracking ---\n${r.tracking.out}`;
}

/** `System clock was stepped by X seconds` lines of the daemon's log, as numbers. */
function loggedSteps(log: string): number[] {
  return [...log.matchAll(/System clock was stepped by ([-+]?\d+\.\d+) seconds/g)].map((m) => Number(m[1]));
}

/** Checks every converging run shares: the setup took, the daemon ran and stopped cleanly, its own view agrees. */
function checkRun(r: ScenarioResult): void {
  const why = context(r);
  assert.ok(Math.abs(r.prepared.error - INITIAL_ERROR) < 0.01, `the guest was not put ${INITIAL_ERROR} s off: ${why}`);
  assert.ok(Math.abs(r.prepared.freqPpm - INITIAL_FREQ_PPM) < 0.01, why);
  assert.ok(r.series.length >= 5, why);
  // The sampler was never blind for long: any step of more than
  // MAX_KERNEL_RATE * gap (+ read noise) shows (1.2 ms between two 10 ms samples).
  assert.ok(r.maxSampleGap < 1, `the clock sampler stalled for ${r.maxSampleGap} s: ${why}`);
  // What `ntpkit tracking` says: synchronized to the tap's chronyd (stratum 1), and no further off than we measured.
  assert.equal(r.tracking.code, 0, why);
  assert.match(r.tracking.out, /^Reference ID\s+: C0A84D01 \(192\.168\.77\.1\)$/m, why);
  assert.match(r.tracking.out, /^Stratum\s+: 2$/m, why);
  assert.match(r.tracking.out, /^Leap status\s+: Normal$/m, why);
  const systemTime = /^System time\s+: (\d+\.\d+) seconds (?:fast|slow)/m.exec(r.tracking.out);
  assert.ok(systemTime && Number(systemTime[1]) < 1e-3, why);
  // SIGTERM: exit 0 and the drift file saved. Its frequency: the 100 ppm
  // error must be mostly gone (left alone it would still say -100); 60 ppm
  // allows for an estimate from 10-20 s of 1 s polls (seen: -24 to +15 ppm).
  assert.deepEqual(r.daemonExit, { code: 0, signal: null }, why);
  const drift = /^ *(-?\d+\.\d{6}) +(\d+\.\d{6})\n$/.exec(r.drift ?? '');
  assert.ok(drift, `drift file: ${JSON.stringify(r.drift)}; ${why}`);
  assert.ok(Math.abs(Number(drift[1])) < 60, `drift file ${r.drift}: ${why}`);
}

test('findJumps flags what no slew could do and nothing a slew does', () => {
  const slewing: ClockSample[] = [];
  // 2 s at the kernel's fastest slew (10% + 500 ppm), sampled every 10 ms with 20 us read noise.
  for (let i = 0; i <= 200; i++) slewing.push({ t: i * 0.01, gap: -MAX_KERNEL_RATE * i * 0.01 + (i % 2 ? 20e-6 : -20e-6), halfWidth: 10e-6 });
  assert.deepEqual(findJumps(slewing), []);
  assert.ok(Math.abs(maxRate(slewing) - MAX_KERNEL_RATE * 1e6) < 100, String(maxRate(slewing)));
  // A 2 ms step in the middle of it (makestep's smallest step here would be 100 ms).
  const stepped = slewing.map((s, i) => (i >= 100 ? { ...s, gap: s.gap - 2e-3 } : s));
  const jumps = findJumps(stepped);
  assert.equal(jumps.length, 1);
  assert.ok(Math.abs((jumps[0]?.jump ?? 0) - (-2e-3 - MAX_KERNEL_RATE * 0.01)) < 50e-6, JSON.stringify(jumps));
  assert.ok(Math.abs((jumps[0]?.t ?? 0) - 1) < 1e-9);
  // With the step taken out, what remains is the slew.
  assert.ok(Math.abs(maxRate(withoutJumps(stepped, jumps)) - MAX_KERNEL_RATE * 1e6) < 100);
  assert.ok(maxRate(stepped) > MAX_KERNEL_RATE * 1e6 + 1500); // the 2 ms within one 1 s span
  // A 0.5 s step hidden in a 1 s gap of the sampler is still one.
  assert.equal(findJumps([{ t: 0, gap: 0, halfWidth: 0 }, { t: 1, gap: -0.5, halfWidth: 0 }]).length, 1);
});

test('settledAt: from when the error stays within the bound to the end', () => {
  const p = (t: number, error: number): ErrorPoint => ({ t, error, delay: 0, freqPpm: 0 });
  assert.equal(settledAt([p(1, 0.5), p(2, 0.0005), p(3, 0.002), p(4, 0.0001), p(5, -0.0002)], 1e-3), 4);
  assert.equal(settledAt([p(1, 0.5), p(2, 0.0005), p(3, 0.002)], 1e-3), null);
  assert.equal(settledAt([], 1e-3), null);
});

test('inside User-mode Linux, with makestep 0.1 3: one step of -0.5 s, then |error| < 1 ms for good within 25 s', { timeout: 200_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const r = await scenario('makestep');
  for (const line of figures(r)) t.diagnostic(line);
  checkRun(r);
  const why = context(r);
  // The daemon stepped, at most 3 times (makestep's limit), the first time by the whole error.
  const steps = loggedSteps(r.daemonLog);
  assert.ok(steps.length >= 1 && steps.length <= 3, `steps ${JSON.stringify(steps)}: ${why}`);
  // 20 ms: the guest drifts 0.1 ms/s at +100 ppm, and a first sample taken
  // while node starts up in the guest was seen 5 ms off.
  assert.ok(Math.abs((steps[0] as number) + r.prepared.error) < 0.02, `first step ${steps[0]} for an error of ${r.prepared.error}: ${why}`);
  // The clock itself agrees: every jump it made is a logged step, and every logged step it could see (> 5 ms) is there.
  for (const j of r.jumps) assert.ok(steps.some((s) => Math.abs(s - j.jump) < 2e-3 + MAX_KERNEL_RATE * j.interval), `unlogged jump ${JSON.stringify(j)}: ${why}`);
  for (const s of steps.filter((x) => Math.abs(x) > 5e-3)) assert.ok(r.jumps.some((j) => Math.abs(s - j.jump) < 2e-3 + MAX_KERNEL_RATE * j.interval), `step ${s} not seen on the clock: ${why}`);
  const at = settledAt(r.series, MAKESTEP_BOUND);
  assert.ok(at !== null && at <= MAKESTEP_WITHIN, `|error| not below ${ms(MAKESTEP_BOUND)} for good within ${MAKESTEP_WITHIN} s: ${why}`);
});

test('inside User-mode Linux, slewing only: never a step, |error| falls from 0.5 s to < 5 ms for good within 40 s', { timeout: 200_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const r = await scenario('slew');
  for (const line of figures(r)) t.diagnostic(line);
  checkRun(r);
  const why = context(r);
  // Never a step: none logged, none on the clock (against MONOTONIC_RAW, beyond the kernel's fastest slew).
  assert.deepEqual(loggedSteps(r.daemonLog), [], why);
  assert.deepEqual(r.jumps, [], why);
  // It did slew: REALTIME ran well off MONOTONIC_RAW for a while (0.5 s in
  // well under 40 s needs > 12500 ppm), and not past the kernel's limit.
  assert.ok(r.maxRatePpm > 12_500 && r.maxRatePpm <= MAX_KERNEL_RATE * 1e6 + 1000, `max rate ${r.maxRatePpm} ppm: ${why}`);
  // Monotonic approach: while more than 5 ms off, each second brings the
  // error closer (1 ms of slack for the measurement), with no overshoot past the bound.
  for (let i = 1; i < r.series.length; i++) {
    const [p, q] = [r.series[i - 1] as ErrorPoint, r.series[i] as ErrorPoint];
    if (Math.abs(p.error) > SLEW_BOUND) assert.ok(Math.abs(q.error) <= Math.abs(p.error) + 1e-3, `error grew from ${ms(p.error)} to ${ms(q.error)} at ${q.t} s: ${why}`);
  }
  const at = settledAt(r.series, SLEW_BOUND);
  assert.ok(at !== null && at <= SLEW_WITHIN, `|error| not below ${ms(SLEW_BOUND)} for good within ${SLEW_WITHIN} s: ${why}`);
});

test('inside User-mode Linux, without a drift file the daemon starts from the kernel\'s frequency, as chronyd does', { timeout: 200_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const r = await scenario('hold');
  const why = `kernel frequency changes ${JSON.stringify(r.freqChanges)}, control socket up at ${r.upAt} s\n--- daemon ---\n${r.daemonLog}`;
  assert.ok(r.upAt !== null, `the daemon never opened its control socket: ${why}`);
  assert.ok(Math.abs(r.prepared.freqPpm - INITIAL_FREQ_PPM) < 0.01, why);
  // chronyd's reference.c: with no drift file (or a 0 in it) it reads the
  // kernel's frequency and keeps it ("Initial frequency X ppm"): an operator's
  // adjtimex, or what an earlier daemon left, is the best guess there is.
  // The source never answers, so nothing else could have changed it.
  const last = r.freqChanges.at(-1)?.ppm;
  assert.ok(last !== undefined && Math.abs(last - INITIAL_FREQ_PPM) < 0.01, `the daemon changed the kernel's frequency from ${INITIAL_FREQ_PPM} to ${last} ppm before any update: ${why}`);
});

test('the host\'s clock is untouched by all of it', { timeout: 200_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const g = await guest();
  t.diagnostic(`UML: boot to init ${g.uml.timings.bootToInitMs} ms, guest command ${g.uml.timings.commandMs} ms, whole run ${g.uml.timings.totalMs} ms`);
  assert.ok(g.uml.ok, `the guest failed (exit ${g.uml.exitCode}, timed out ${g.uml.timedOut}):\n${g.uml.output.split('\n').filter((l) => !l.startsWith('RESULT ')).join('\n')}`);
  const { before, after, realtimeMinusMonotonicChange } = g.host;
  for (const k of ['status', 'freq', 'tick', 'offset', 'constant'] as const) assert.equal(after[k], before[k], `host ${k}`);
  // The guest stepped its own clock by 0.5 s three times; the host's realtime kept its distance to its monotonic clock.
  assert.ok(Math.abs(realtimeMinusMonotonicChange) < 0.005, `host realtime moved against monotonic by ${realtimeMinusMonotonicChange} s`);
});
