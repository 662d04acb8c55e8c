#!/usr/bin/env node
// bench/uml-closedloop: chronyd and ntpkit discipline a real kernel clock, a
// User-mode Linux guest's, from the same reference through the same jittered
// path, alternately in one boot, and the guest's true error is measured from
// outside the daemon.
//
// - The reference: chronyd -x (local stratum 1) on the host side of the tap,
//   on the host's own clock, which nothing here changes.
// - The path: src/testing/path-relay.ts beside it, 1 ms + jitter * Exp(1)
//   each way; the daemons' `server` lines point at the relay.
// - The true error: once a second, a burst of probes straight to the
//   reference (not through the relay), keeping the least-delay one
//   (src/testing/uml-guest-sync.ts).
// - Each scenario puts the guest clock off by a start error and the kernel's
//   frequency off, then runs chronyd (it owns the guest's clock) and ntpkit
//   (`daemon --clock system`) in turn, with the same chrony.conf lines.
//
// Per scenario and daemon it prints: the time from the daemon's start until
// the error stays within 10 ms, 1 ms and 100 us of the run's settled level
// (isolated one-sample glitches ignored, and counted), the steady spread
// (sd over the second half of the run), the largest overshoot (the same
// figures as the simulator's, src/sim/convergence-metrics.ts), and the
// probes' median round trip.
//
// Usage: npm run build && sudo node bench/uml-closedloop/run.mjs [--runs N] [--only a,b] [--seconds S] [--json]
//   --runs N       boots (each runs every scenario for both daemons; default 1)
//   --only LIST    scenario names (default: all)
//   --seconds S    override every scenario's length
//   --daemons LIST chronyd,ntpkit (default both)
//   --series       print each run's error series as well
//   --ntpkit-env K=V  environment for ntpkit's daemon (repeatable), e.g. NTPKIT_UDP=dgram
//   --raw FILE     write the guest's whole results (daemon logs, measurements.log) to FILE as JSON lines
// It needs root (network namespaces, the tap) and linux.uml, as the UML tests do.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { appendFileSync } from 'node:fs';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    only: { type: 'string' },
    seconds: { type: 'string' },
    daemons: { type: 'string', default: 'chronyd,ntpkit' },
    json: { type: 'boolean', default: false },
    series: { type: 'boolean', default: false },
    raw: { type: 'string' },
    'ntpkit-env': { type: 'string', multiple: true, default: [] },
    dist: { type: 'string', default: new URL('../../dist/', import.meta.url).pathname },
  },
});
const dist = new URL(`file://${values.dist.endsWith('/') ? values.dist : `${values.dist}/`}`);
const { runInUml, umlUnavailableReason } = await import(new URL('testing/uml.js', dist).href);
const { convergenceFigures } = await import(new URL('sim/convergence-metrics.js', dist).href);
const { CLOSED_LOOP } = await import(new URL('sim/uml-scenarios.js', dist).href);

const why = umlUnavailableReason();
if (why !== undefined) {
  console.error(`bench/uml-closedloop: ${why}`);
  process.exit(2);
}

const SERVER = '192.168.77.1';
const RELAY_PORT = 10123;
/** chrony's drift file: frequency ppm and skew; "-100" makes a daemon correct by +100 ppm. */
const driftSaying = (ppm, skew) => `${(-ppm).toFixed(6)} ${skew.toFixed(6)}\n`;
/** Seconds each scenario runs: long enough for its steady half. */
const SECONDS = { 'step-0.5s': 120, 'steady-2ms': 120, 'slew-0.5s': 150, 'step-20ms': 90, 'stale-drift': 120 };

/**
 * The scenarios of the real-clock comparison, from the table their simulated
 * twins use (src/sim/uml-scenarios.ts CLOSED_LOOP). jitterUs shapes the relay
 * (one relay per boot, so scenarios are grouped by it); the rest goes to the
 * guest. "+N ppm" is put into the kernel; with a drift file (stale-drift) the
 * kernel starts at kernelPpm and the file says ppm.
 */
const SCENARIOS = Object.entries(CLOSED_LOOP).map(([name, k]) => ({
  name,
  jitterUs: Math.round(k.jitter * 1e6),
  makestep: k.makestep ? [0.1, 3] : null,
  initialErrorS: k.offset,
  frequencyPpm: k.kernelPpm ?? k.ppm,
  ...(k.skew === null ? {} : { driftFile: driftSaying(k.ppm, k.skew) }),
  seconds: SECONDS[name],
}));

const only = values.only?.split(',');
const scenarios = SCENARIOS.filter((s) => only === undefined || only.includes(s.name));
if (scenarios.length === 0) {
  console.error(`No scenario matches --only ${values.only}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const daemons = values.daemons.split(',');
const runs = Number(values.runs);
const helper = fileURLToPath(new URL('testing/uml-guest-sync.js', dist));
const relay = fileURLToPath(new URL('testing/path-relay.js', dist));

/** One boot for all scenarios with the same jitter; daemons alternate, the first one alternating between runs. */
async function boot(jitterUs, group, run) {
  const order = run % 2 === 0 ? daemons : [...daemons].reverse();
  const guestScenarios = group.flatMap((s) => order.map((daemon) => ({
    name: `${s.name}@${daemon}`,
    daemon,
    makestep: s.makestep,
    initialErrorS: s.initialErrorS,
    frequencyPpm: s.frequencyPpm,
    ...(s.driftFile === undefined ? {} : { driftFile: s.driftFile }),
    ...(daemon === 'ntpkit' ? { env: Object.fromEntries(values['ntpkit-env'].map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) } : {}),
    port: RELAY_PORT,
    poll: [0, 2],
    probeBurst: 8,
    maxSeconds: Number(values.seconds ?? s.seconds),
    // Never stops early: the steady spread needs the whole run.
    settledBelowS: 0,
    settledForS: 0,
  })));
  const totalS = guestScenarios.reduce((a, s) => a + s.maxSeconds + 30, 120);
  const uml = await runInUml({
    command: [process.execPath, helper, JSON.stringify({ server: SERVER, scenarios: guestScenarios })],
    chronyd: true,
    extraHostCommands: [{ file: process.execPath, args: [relay, `${SERVER}:${RELAY_PORT}`, `${SERVER}:123`, '1000', String(jitterUs)] }],
    timeoutMs: totalS * 1000,
  });
  const results = [];
  for (const line of uml.output.split('\n')) if (line.startsWith('RESULT ')) results.push(JSON.parse(line.slice(7)));
  if (values.raw !== undefined) appendFileSync(values.raw, results.map((r) => `${JSON.stringify({ run, jitterUs, ...r })}\n`).join(''));
  if (results.length < guestScenarios.length) {
    const log = uml.output.split('\n').filter((l) => !l.startsWith('RESULT ')).join('\n');
    console.error(`run ${run + 1}, jitter ${jitterUs} us: ${results.length} of ${guestScenarios.length} results (exit ${uml.exitCode}, timed out ${uml.timedOut})\n${log.slice(-3000)}\n--- host ---\n${uml.hostLogs.slice(-2000)}`);
  }
  return results;
}

const rows = [];
for (let run = 0; run < runs; run++) {
  const byJitter = new Map();
  for (const s of scenarios) byJitter.set(s.jitterUs, [...(byJitter.get(s.jitterUs) ?? []), s]);
  for (const [jitterUs, group] of byJitter) {
    for (const r of await boot(jitterUs, group, run)) {
      const [scenario, daemon] = r.name.split('@');
      const start = r.startedAt ?? 0;
      // From the daemon's start (its "started" line): node's start-up in the guest is no part of convergence.
      const series = r.series.map((p) => ({ t: p.t - start, error: p.error })).filter((p) => p.t >= 0);
      const f = convergenceFigures(series);
      const within = (x) => f.within.find((w) => w.threshold === x);
      const figures = {
        settledLevel: f.settledLevel, steadySd: f.steadySd, overshoot: f.overshoot,
        within10ms: within(10e-3).time, within1ms: within(1e-3).time, within100us: within(100e-6).time, glitches: within(100e-6).glitches,
      };
      const delays = r.series.map((p) => p.delay).sort((a, b) => a - b);
      // The probe's noise, at most: consecutive second-apart errors of the
      // second half differ by the probe's noise twice over plus what the clock
      // really did in that second, so sd(difference)/sqrt(2) bounds it from above.
      const tail = series.filter((p) => p.t >= (series.at(-1)?.t ?? 0) / 2);
      const diffs = tail.slice(1).map((p, i) => p.error - tail[i].error);
      const mean = diffs.reduce((a, b) => a + b, 0) / Math.max(1, diffs.length);
      const probeNoise = Math.sqrt(diffs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, diffs.length - 1) / 2);
      const row = {
        run: run + 1, scenario, daemon, startedAt: r.startedAt, prepared: r.prepared.error, steps: r.jumps.length,
        medianProbeDelayUs: (delays[Math.floor(delays.length / 2)] ?? NaN) * 1e6, probeNoise, ...figures,
        tracking: r.tracking.out.split('\n').filter((l) => /System time|RMS offset|Frequency|Residual freq|Update interval|Root delay|Root dispersion/.test(l)).join(' | '),
        ...claimCheck(r),
        ...(values.series ? { series: r.series } : {}),
      };
      rows.push(row);
      if (!values.json) printRow(row);
    }
  }
}
if (values.json) console.log(JSON.stringify(rows, null, 1));
else summarize(rows);

/**
 * What `ntpkit tracking` claims at the end against the error measured then:
 * its bound on the clock's error is root delay / 2 + root dispersion (what
 * it serves to its own clients); the true error must not be beyond it.
 */
function claimCheck(r) {
  const num = (re) => { const m = re.exec(r.tracking.out); return m ? Number(m[1]) : null; };
  const rootDelay = num(/^Root delay\s+: (\d+\.\d+) seconds/m);
  const rootDispersion = num(/^Root dispersion\s+: (\d+\.\d+) seconds/m);
  const last = r.series.at(-1);
  if (rootDelay === null || rootDispersion === null || last === undefined) return {};
  const claimed = rootDelay / 2 + rootDispersion;
  // The probe's own error is at most half its round trip.
  return { claimedBound: claimed, trueErrorAtEnd: last.error, claimHolds: Math.abs(last.error) <= claimed + last.delay / 2 };
}

function fmtS(s) {
  return s === null ? 'never' : `${s.toFixed(0)} s`;
}
function us(x) {
  return x === null || Number.isNaN(x) ? '-' : `${(x * 1e6).toFixed(0)} us`;
}
function printRow(r) {
  console.log(
    `run ${r.run} ${r.scenario.padEnd(12)} ${r.daemon.padEnd(8)} start ${us(r.prepared).padStart(10)} ` +
    `10ms ${fmtS(r.within10ms).padStart(6)}  1ms ${fmtS(r.within1ms).padStart(6)}  100us ${fmtS(r.within100us).padStart(6)}  ` +
    `glitches ${r.glitches}  settled ${us(r.settledLevel)}  spread(sd) ${us(r.steadySd)}  overshoot ${us(r.overshoot)}  probe: delay ${r.medianProbeDelayUs.toFixed(0)} us, noise <= ${us(r.probeNoise)}` +
    (r.tracking ? `\n    ${r.tracking}` : '') +
    (r.claimedBound === undefined ? '' : `\n    tracking's error bound ${us(r.claimedBound)}, true error at the end ${us(r.trueErrorAtEnd)}: ${r.claimHolds ? 'holds' : 'BROKEN'}`),
  );
}
function summarize(all) {
  console.log('\nscenario      daemon    within 10 ms   within 1 ms    within 100 us   steady sd        overshoot   (min-max over runs)');
  for (const s of scenarios) {
    for (const d of daemons) {
      const rs = all.filter((r) => r.scenario === s.name && r.daemon === d);
      if (rs.length === 0) continue;
      const span = (k, f) => {
        const v = rs.map((r) => r[k]);
        if (v.some((x) => x === null)) return `${v.filter((x) => x === null).length}x never`;
        const lo = Math.min(...v);
        const hi = Math.max(...v);
        return lo === hi ? f(lo) : `${f(lo)}-${f(hi)}`;
      };
      const sec = (x) => `${x.toFixed(0)}`;
      const u = (x) => `${(x * 1e6).toFixed(0)}`;
      console.log(`${s.name.padEnd(13)} ${d.padEnd(9)} ${(span('within10ms', sec) + ' s').padEnd(14)} ${(span('within1ms', sec) + ' s').padEnd(14)} ${(span('within100us', sec) + ' s').padEnd(15)} ${(span('steadySd', u) + ' us').padEnd(16)} ${span('overshoot', u)} us`);
    }
  }
}
