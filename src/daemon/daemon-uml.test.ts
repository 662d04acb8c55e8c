/**
 * The system clock end to end, inside User-mode Linux: `ntpkit
 * daemon -f FILE --clock system` disciplines a UML guest's kernel clock from
 * chronyd (-x, `local stratum 1`) on the host side of a tap, in a network
 * namespace of this test's own (src/testing/uml.ts: a guest is the only
 * kernel whose clock a test may discipline, so the host's is never touched).
 *
 * The guest side is src/testing/uml-guest-sync.ts. Before each daemon run it puts the
 * guest clock 0.5 s ahead of the host and sets a +100 ppm frequency
 * correction with adjtimex (the guest's oscillator is the host's, so that is
 * a 100 ppm error); while the daemon runs it measures the guest's
 * error against chronyd once a second (its own minimal NTP client, best of 4
 * by delay) and samples CLOCK_REALTIME against CLOCK_MONOTONIC_RAW every
 * 10 ms, which no adjtimex moves, so a step shows whatever the daemon logs.
 * One boot (about 100 s) runs four daemons in turn:
 * - `makestep`: `makestep 0.1 3`;
 * - `slew`: no makestep, so the daemon may only slew;
 * - `hold`: a source that never answers, to see what the daemon does to the
 *   kernel's frequency before any update;
 * - `stale`: the kernel right but a confident drift file 100 ppm wrong,
 *   through a relay giving the path 1 ms + 100 us * Exp(1) each way
 *   (src/testing/path-relay.ts), as bench/uml-closedloop does.
 * The first two runs also find a drift file that agrees with the kernel,
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
import { assertNotStepped, type ClockGap, offsetBound, realtimeMinusMonotonic } from '../testing/bounds.js';
import { requireTool } from '../testing/tools.js';
import { requireUml, runInUml, type UmlResult } from '../testing/uml.js';
import {
  type ClockJump, type ClockSample, type ErrorPoint, type GuestRequest, type GuestScenario, MAX_KERNEL_RATE, type ScenarioResult, findJumps, maxRate, settledAt, withoutJumps,
} from '../testing/uml-guest-sync.js';

const SERVER = '192.168.77.1';
const INITIAL_ERROR = 0.5;
const INITIAL_FREQ_PPM = 100;
/** chrony's drift file format and sign (negative: the clock is slow, corrected by +100 ppm), with a skew ntpkit itself saves after such runs. */
const STALE_DRIFT = `${(-INITIAL_FREQ_PPM).toFixed(6)} 2.000000\n`;

/**
 * Converged: |error| within 1% of the 0.5 s put in, beyond what the
 * measurement itself may miss (half its round trip, and the clock's slew
 * during it), for good, within MAKESTEP_WITHIN / SLEW_WITHIN seconds of the
 * daemon's start (its "Started with" line: node's own start-up in the guest,
 * 11 s on a host loaded with stress-ng, is no part of it). That tells a
 * discipline that works from one that does not (stuck, wrong sign,
 * oscillating) on any host. How fast and how close it gets on a quiet one
 * (ntpkit was seen below 1 ms 2-9 s after starting with makestep, 8-9 s
 * slewing), next to chronyd's in the same guest, is bench/uml-convergence's
 * figure (chronyd: within 1 ms 5 s after starting 1 s off with makestep, 17 s
 * slewing, as measured for chrony 4.3 on this kind of machine).
 */
const CONVERGED = INITIAL_ERROR / 100;
const MAKESTEP_WITHIN = 25;
const SLEW_WITHIN = 40;

const HOLD: GuestScenario = {
  name: 'hold', makestep: null, initialErrorS: INITIAL_ERROR, frequencyPpm: INITIAL_FREQ_PPM,
  // In the guest's subnet, but nobody is there: no reply ever comes.
  source: '192.168.77.3', holdS: 1, maxSeconds: 15, settledBelowS: 0, settledForS: 0,
};
/**
 * With a drift file 100 ppm wrong (STALE), the clock must not keep running
 * off from 15 s after the daemon's start (STEADY_FROM) to the end of the run.
 * The file asks for +100 ppm on a kernel that runs right, so a daemon that
 * keeps believing it makes the clock gain 100 us/s: the error grows positive
 * and away from zero, 1.65-1.84 ms between the first and last thirds of that
 * stretch (seen before the frequency prior was made to yield to the samples;
 * round trips of 3.4-4 ms, probes of up to 1 ms: an allowance of 1.2-1.4 ms).
 * Run-off is that: the last third's mean error above the first's AND farther
 * from zero, each by more than STEADY_WITHIN, plus what the probes may miss,
 * plus a share of the daemon's own median round trip (a sample's error is at
 * most half of it; the path is that much noisier on a loaded host). Moving
 * alone is not: a daemon still converging at 15 s moves towards zero, and on
 * a slow host (round trips of 4-12 ms through the relay, seen in CI) a first
 * sample off by several ms can leave it 3 ms out then, 30 s from settled.
 * The level itself is not judged: the guest's kernel transmit stamps are late
 * by the host's handling of the tap write, which biases every daemon in the
 * guest alike.
 */
const STEADY_WITHIN = 100e-6;
/** The share of the daemon's median round trip allowed on top (a fifth: two fifths of one sample's worst error). */
const ROUND_TRIP_SHARE = 0.2;
const STEADY_FROM = 15;
const MAKESTEP: GuestScenario = {
  name: 'makestep', makestep: [0.1, 3], initialErrorS: INITIAL_ERROR, frequencyPpm: INITIAL_FREQ_PPM, driftFile: STALE_DRIFT,
  // Runs on after the convergence the test asks for, until 1 ms for 8 s, so the figures show the fine convergence too.
  maxSeconds: MAKESTEP_WITHIN + 5, settledBelowS: 1e-3, settledForS: 8,
};
/** The relay's port beside the reference: 1 ms + 100 us * Exp(1) each way, the path of the real-clock comparison. */
const RELAY_PORT = 10123;
/**
 * The kernel runs right, but the drift file says it needs +100 ppm and is
 * sure of it (skew 0.05 ppm, as a long-settled daemon writes): after a VM
 * migration, say. Through the jittered path, as in bench/uml-closedloop.
 */
const STALE: GuestScenario = {
  name: 'stale', makestep: [0.1, 3], initialErrorS: 0.002, frequencyPpm: 0, driftFile: `${(-INITIAL_FREQ_PPM).toFixed(6)} 0.050000\n`,
  port: RELAY_PORT, maxSeconds: 45, settledBelowS: 0, settledForS: 0, probeBurst: 8,
};
const SLEW: GuestScenario = {
  name: 'slew', makestep: null, initialErrorS: INITIAL_ERROR, frequencyPpm: INITIAL_FREQ_PPM, driftFile: STALE_DRIFT,
  maxSeconds: SLEW_WITHIN + 5, settledBelowS: 1e-3, settledForS: 8,
};

interface GuestOutcome {
  readonly uml: UmlResult;
  readonly results: ReadonlyMap<string, ScenarioResult>;
  readonly host: { readonly before: RawTimex; readonly after: RawTimex; readonly gapBefore: ClockGap; readonly gapAfter: ClockGap };
}

let outcome: Promise<GuestOutcome> | undefined;

/** One boot for all the tests below (about 50 s); the first test to need it starts it. */
function guest(): Promise<GuestOutcome> {
  outcome ??= (async () => {
    const n = loadNative();
    if (!n.ok) throw new Error(n.reason);
    const a = n.addon;
    const readers = { realtimeNs: () => a.realtimeNs(), monotonicNs: () => a.clockGettimeNs(a.clocks.MONOTONIC) };
    const before = a.adjtimexStatus();
    const gapBefore = realtimeMinusMonotonic(readers);
    const helper = fileURLToPath(new URL('../testing/uml-guest-sync.js', import.meta.url));
    // Files go to the run's temp dir (NTPKIT_UML_DIR), shared with the host through hostfs.
    const request: GuestRequest = { server: SERVER, scenarios: [MAKESTEP, SLEW, HOLD, STALE] };
    const relay = fileURLToPath(new URL('../testing/path-relay.js', import.meta.url));
    const uml = await runInUml({
      command: [process.execPath, helper, JSON.stringify(request)],
      chronyd: true,
      extraHostCommands: [{ file: process.execPath, args: [relay, `${SERVER}:${RELAY_PORT}`, `${SERVER}:123`, '1000', '100'] }],
      // Only a hang exceeds it: on a busy host node takes many seconds to start each daemon in the guest.
      timeoutMs: 600_000,
    });
    const after = a.adjtimexStatus();
    const gapAfter = realtimeMinusMonotonic(readers);
    const results = new Map<string, ScenarioResult>();
    for (const line of uml.output.split('\n')) {
      if (!line.startsWith('RESULT ')) continue;
      const r = JSON.parse(line.slice(7)) as ScenarioResult;
      results.set(r.name, r);
    }
    return { uml, results, host: { before, after, gapBefore, gapAfter } };
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

/**
 * What one of the guest's measurements may miss of the true error: half its
 * round trip (its JS stamps are causal: read before the send, after the
 * receive), and what a slew at the kernel's fastest rate moves the clock
 * during the exchange.
 */
const measurementError = (p: ErrorPoint): number => offsetBound(p.delay) + MAX_KERNEL_RATE * Math.max(0, p.delay);

/** The series with each error replaced by the least the true |error| can be: what the convergence is judged on. */
const trueAtLeast = (series: readonly ErrorPoint[]): ErrorPoint[] => series.map((p) => ({ ...p, error: Math.max(0, Math.abs(p.error) - measurementError(p)) }));

/** Seconds from the daemon's start until |error| stayed within `bound` (beyond what each measurement may miss) for good; null: never. */
function convergedAfter(r: ScenarioResult, bound: number): number | null {
  const at = settledAt(trueAtLeast(r.series), bound);
  return at === null || r.startedAt === null ? null : Math.max(0, at - r.startedAt);
}

/**
 * The largest step the clock sampler could have missed: one inside its
 * longest gap, hidden by the fastest slew over it (findJumps' own threshold,
 * with its noise allowance and some read uncertainty).
 */
const hideableStep = (r: ScenarioResult): number => MAX_KERNEL_RATE * r.maxSampleGap + 200e-6 + 100e-6;

/** Offsets and round trips of the daemon's measurements.log (chrony's columns: offset 12th, delay 13th), seconds. */
function daemonMeasurements(r: ScenarioResult): { offset: number; delay: number }[] {
  return r.measurements.split('\n').filter((l) => /^\d{4}-\d\d-\d\d /.test(l)).map((l) => {
    const f = l.trim().split(/\s+/);
    return { offset: Number(f[11]), delay: Number(f[12]) };
  });
}

/** Error against time, for the diagnostics and the docs: one line each. */
function figures(r: ScenarioResult): string[] {
  const at = (b: number): string => { const s = settledAt(r.series, b); return s === null ? 'never' : `${s.toFixed(1)} s`; };
  return [
    `${r.name}: guest found ${ms(r.found.error)} off, put ${ms(r.prepared.error)} off at ${r.prepared.freqPpm} ppm; daemon started at ${r.startedAt?.toFixed(1) ?? 'never'} s; `
      + `kernel-stamp error ${ms(r.kernelStampError)}; daemon's measurements: ${daemonMeasurements(r).slice(0, 6).map((m) => `${ms(m.offset)} (delay ${ms(m.delay)})`).join(', ')}; `
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
  // Put INITIAL_ERROR off from the measurement found, then measured again: both measurements' error, and
  // the frequency error acting from the step to the end of the second.
  const setupBound = offsetBound(r.found.delay) + offsetBound(r.prepared.delay) + INITIAL_FREQ_PPM * 1e-6 * r.prepared.setupS;
  assert.ok(Math.abs(r.prepared.error - INITIAL_ERROR) <= setupBound, `the guest was not put ${INITIAL_ERROR} s off (within ${setupBound} s): ${why}`);
  assert.ok(Math.abs(r.prepared.freqPpm - INITIAL_FREQ_PPM) < 0.01, why);
  assert.ok(r.startedAt !== null, `the daemon never said it started: ${why}`);
  assert.ok(r.series.length >= 5, why);
  // The sampler was never blind for long: a step of the size this run is about shows however it came
  // (the gaps are longer on a busy host; ~1 s there still hides no step above 0.1 s).
  assert.ok(hideableStep(r) < INITIAL_ERROR / 2, `the clock sampler stalled for ${r.maxSampleGap} s: ${why}`);
  // What `ntpkit tracking` says: synchronized to the tap's chronyd (stratum 1), and within the convergence bound.
  assert.equal(r.tracking.code, 0, why);
  assert.match(r.tracking.out, /^Reference ID\s+: C0A84D01 \(192\.168\.77\.1\)$/m, why);
  assert.match(r.tracking.out, /^Stratum\s+: 2$/m, why);
  assert.match(r.tracking.out, /^Leap status\s+: Normal$/m, why);
  const systemTime = /^System time\s+: (\d+\.\d+) seconds (?:fast|slow)/m.exec(r.tracking.out);
  assert.ok(systemTime && Number(systemTime[1]) <= CONVERGED, why);
  // SIGTERM: exit 0 and the drift file saved. Its frequency: the 100 ppm error found, at least in part
  // (left alone the file would still say -100): closer to the truth (0) by more than the daemon's own
  // estimate of its error (the file's skew), which a few seconds of 1 s polls leave wide.
  assert.deepEqual(r.daemonExit, { code: 0, signal: null }, why);
  const drift = /^ *(-?\d+\.\d{6}) +(\d+\.\d{6})\n$/.exec(r.drift ?? '');
  assert.ok(drift, `drift file: ${JSON.stringify(r.drift)}; ${why}`);
  assert.ok(Math.abs(Number(drift[1])) + Number(drift[2]) < INITIAL_FREQ_PPM, `drift file ${r.drift}: ${why}`);
  const at = convergedAfter(r, CONVERGED);
  const within = r.makestep === null ? SLEW_WITHIN : MAKESTEP_WITHIN;
  assert.ok(at !== null && at <= within, `|error| not within ${ms(CONVERGED)} (beyond each measurement's own error) for good within ${within} s of the daemon's start: ${why}`);
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

test('inside User-mode Linux, with makestep 0.1 3: one step of -0.5 s, then within 1% of it for good', { timeout: 700_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const r = await scenario('makestep');
  for (const line of figures(r)) t.diagnostic(line);
  checkRun(r);
  const why = context(r);
  // The daemon stepped, at most 3 times (makestep's limit)...
  const steps = loggedSteps(r.daemonLog);
  assert.ok(steps.length >= 1 && steps.length <= 3, `steps ${JSON.stringify(steps)}: ${why}`);
  // ...the first time by the whole error it measured: within its samples' half round trip (the samples
  // from before the step, the ones still ~0.5 s off), and what the guest's kernel stamps may add, of the error there was, which is the prepared one
  // (within that measurement's error) plus what 100 ppm added until the step showed on the clock.
  const first = steps[0] as number;
  const jump = r.jumps[0];
  assert.ok(jump !== undefined, `the step never showed on the clock: ${why}`);
  const preStep = daemonMeasurements(r).filter((m) => Math.abs(m.offset) > INITIAL_ERROR / 2);
  assert.ok(preStep.length > 0, `no measurement before the step in measurements.log: ${r.measurements}\n${why}`);
  const drifted = INITIAL_FREQ_PPM * 1e-6 * (jump.t - r.prepared.atS);
  const stepBound = offsetBound(Math.max(...preStep.map((m) => m.delay))) + r.kernelStampError + offsetBound(r.prepared.delay) + drifted / 2;
  assert.ok(Math.abs(-first - (r.prepared.error + drifted / 2)) <= stepBound, `first step ${first} for an error of ${r.prepared.error} (+${drifted} s drift), beyond ${stepBound} s: ${why}`);
  // The clock itself agrees: every jump it made is a logged step, and every logged step it could see is there.
  // A jump is the step plus what slewing and the two samples' reads may add in its interval.
  const matches = (st: number, j: ClockJump): boolean => Math.abs(st - j.jump) < 2e-3 + MAX_KERNEL_RATE * j.interval + j.readError;
  for (const j of r.jumps) assert.ok(steps.some((st) => matches(st, j)), `unlogged jump ${JSON.stringify(j)}: ${why}`);
  for (const st of steps.filter((x) => Math.abs(x) > hideableStep(r))) assert.ok(r.jumps.some((j) => matches(st, j)), `step ${st} not seen on the clock: ${why}`);
});

test('inside User-mode Linux, a drift file 100 ppm wrong is overruled: the clock does not run off', { timeout: 700_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const r = await scenario('stale');
  const why = context(r);
  assert.ok(r.startedAt !== null, why);
  const start = r.startedAt;
  const steady = r.series.filter((p) => p.t - start >= STEADY_FROM);
  assert.ok(steady.length >= 12, `only ${steady.length} measurements from ${STEADY_FROM} s on: ${why}`);
  const third = Math.floor(steady.length / 3);
  const mean = (ps: readonly ErrorPoint[]): number => ps.reduce((a, p) => a + p.error, 0) / ps.length;
  const first = steady.slice(0, third);
  const last = steady.slice(-third);
  const moved = mean(last) - mean(first);
  const grew = Math.abs(mean(last)) - Math.abs(mean(first));
  const trips = daemonMeasurements(r).map((m) => m.delay).sort((a, b) => a - b);
  assert.ok(trips.length >= 5, `too few daemon measurements: ${why}`);
  const medianTrip = trips[Math.floor(trips.length / 2)] as number;
  // Each third's mean is off by at most the mean of its probes' bounds, so their difference by the sum.
  const meanBound = (ps: readonly ErrorPoint[]): number => ps.reduce((a, p) => a + measurementError(p), 0) / ps.length;
  const probeError = meanBound(first) + meanBound(last);
  const bound = STEADY_WITHIN + probeError + ROUND_TRIP_SHARE * medianTrip;
  t.diagnostic(`mean error ${ms(mean(first))} over ${first.length} probes from ${STEADY_FROM} s, ${ms(mean(last))} over the last ${last.length}: moved ${ms(moved)}, ${ms(grew)} farther from zero; allowed ${ms(bound)} (daemon's median round trip ${ms(medianTrip)}, kernel-stamp error ${ms(r.kernelStampError)})`);
  assert.ok(moved <= bound || grew <= bound, `the clock ran off the way the drift file drives it: ${ms(mean(first))} in the first third from ${STEADY_FROM} s, ${ms(mean(last))} in the last, ${ms(grew)} farther from zero, beyond ${ms(bound)}: ${why}`);
});

test('inside User-mode Linux, slewing only: never a step, |error| falls from 0.5 s to within 1% of it for good', { timeout: 700_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const r = await scenario('slew');
  for (const line of figures(r)) t.diagnostic(line);
  checkRun(r);
  const why = context(r);
  // Never a step: none logged, none on the clock (against MONOTONIC_RAW, beyond the kernel's fastest slew).
  assert.deepEqual(loggedSteps(r.daemonLog), [], why);
  assert.deepEqual(r.jumps, [], why);
  // It did slew: 0.5 s less the bound went in the time it took, so REALTIME ran off MONOTONIC_RAW at least
  // that fast on average (maxRate is conservative: each end's read uncertainty is taken off); and never
  // past the kernel's limit.
  const took = (convergedAfter(r, CONVERGED) as number) + ((r.startedAt as number) - r.prepared.atS);
  const needed = (INITIAL_ERROR - CONVERGED) / Math.max(took, 1) * 1e6;
  assert.ok(r.maxRatePpm >= needed / 2 && r.maxRatePpm <= MAX_KERNEL_RATE * 1e6 + 1, `max rate ${r.maxRatePpm} ppm (${needed} ppm needed on average): ${why}`);
  // Monotonic approach: while off by more than the bound, each measurement finds the error no larger than the
  // one before, but for what both may miss and what the 100 ppm frequency error adds in between (before the
  // daemon's first update it is all there is).
  for (let i = 1; i < r.series.length; i++) {
    const [p, q] = [r.series[i - 1] as ErrorPoint, r.series[i] as ErrorPoint];
    const slack = measurementError(p) + measurementError(q) + INITIAL_FREQ_PPM * 1e-6 * (q.t - p.t);
    if (Math.abs(p.error) - measurementError(p) > CONVERGED) assert.ok(Math.abs(q.error) <= Math.abs(p.error) + slack, `error grew from ${ms(p.error)} to ${ms(q.error)} at ${q.t} s (beyond ${ms(slack)}): ${why}`);
  }
});

test('inside User-mode Linux, without a drift file the daemon starts from the kernel\'s frequency, as chronyd does', { timeout: 700_000 }, async (t) => {
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

test('the host\'s clock is untouched by all of it', { timeout: 700_000 }, async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd')) return;
  const g = await guest();
  t.diagnostic(`UML: boot to init ${g.uml.timings.bootToInitMs} ms, guest command ${g.uml.timings.commandMs} ms, whole run ${g.uml.timings.totalMs} ms`);
  assert.ok(g.uml.ok, `the guest failed (exit ${g.uml.exitCode}, timed out ${g.uml.timedOut}):\n${g.uml.output.split('\n').filter((l) => !l.startsWith('RESULT ')).join('\n')}`);
  const { before, after, gapBefore, gapAfter } = g.host;
  for (const k of ['status', 'freq', 'tick', 'offset', 'constant'] as const) assert.equal(after[k], before[k], `host ${k}`);
  // The guest stepped its own clock by 0.5 s three times; the host's realtime kept its distance to its monotonic clock.
  assertNotStepped(gapBefore, gapAfter, 'the host clock');
});
