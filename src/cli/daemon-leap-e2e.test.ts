/**
 * A leap second on the virtual clock: `ntpkit daemon --clock virtual`
 * started on 2016-12-31 a few seconds before midnight, its one source
 * announcing the leap, and its NTP server probed across it, once per
 * leapsecmode and once smearing it with `smoothtime 400 0.001 leaponly`.
 *
 * The source goes silent just before midnight and stays so for a few
 * seconds after, so what the served time does then comes from the
 * leapsecmode alone, not from an update that found the new offset. Served
 * time is measured against the continuous timescale (system clock plus the
 * virtual clock's start offset): a step shows as -1 s there.
 *
 * Loopback 127.0.22.30-49 (one address pair per run); each process is stopped by PID.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Leap } from '../proto/constants.js';
import { probeNtp, type ProbeResult } from '../testing/ntp-probe.js';
import { spawnNtpkit } from '../testing/ntpkit-process.js';
import type { ManagedProcess } from '../testing/process.js';
import { startScriptedNtpServer, type ScriptedNtpServer } from '../testing/scripted-ntp-server.js';
import { runCaptured } from './run-captured.test-helper.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** 2017-01-01T00:00:00Z: the end of a day with a real leap second. */
const MIDNIGHT = 1_483_228_800;
/** Real seconds from the daemon's start to its midnight: time to synchronize and hear the announcement. */
const LEAD = 14;
/** The source is silent from this long before midnight to this long after. */
const SILENT_BEFORE = 1.5;
const SILENT_AFTER = 6;
const SERVE_PORT = 12322;

/** `offset`: served minus the continuous timescale; it is off by at most half the probe's round trip `delay`. */
interface Point { readonly t: number; readonly offset: number; readonly delay: number; readonly leap: number; readonly refid: number }

interface LeapRun {
  readonly points: readonly Point[];
  /** The daemon's frequency correction while the source is silent, ppm (its clock runs this much fast of the system clock, besides any slew). */
  readonly freqPpm: number;
  /** `ntpkit smoothing` during the silence after midnight. */
  readonly smoothing: { readonly code: number; readonly out: string };
  readonly tracking: string;
  readonly logs: string;
}

/** Real seconds (Unix) now. */
const nowS = (): number => Date.now() / 1000;

async function leapRun(index: number, lines: readonly string[]): Promise<LeapRun> {
  const source = `127.0.22.${30 + 2 * index}`;
  const self = `127.0.22.${31 + 2 * index}`;
  const start = nowS();
  const leapReal = start + LEAD;
  // The virtual clock reads MIDNIGHT at leapReal: its offset from the system clock.
  const shift = MIDNIGHT - leapReal;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-leap-e2e-'));
  let server: ScriptedNtpServer | undefined;
  let daemon: ManagedProcess | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    server = await startScriptedNtpServer({ address: source, answer: { offset: shift, leap: Leap.InsertSecond } });
    const socket = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, [
      `server ${source} port ${server.port} iburst minpoll 0 maxpoll 0`,
      `bindaddress ${self}`, `port ${SERVE_PORT}`, 'allow 127.0.0.0/8', `controlsocket ${socket}\nbindcmdaddress /\ncmdport 0`, 'maxslewrate 1000',
      ...lines, '',
    ].join('\n'));
    daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual', '--virtual-offset', String(shift)]);
    const s = server;
    const at = (real: number, f: () => void): void => { timers.push(setTimeout(f, Math.max(0, (real - nowS()) * 1000))); };
    at(leapReal - SILENT_BEFORE, () => s.set({ silent: true }));
    // After the leap UTC is one second behind the continuous timescale.
    at(leapReal + SILENT_AFTER, () => s.set({ offset: shift - 1 }));
    const S = ['--socket', socket];
    for (;;) {
      const r = await runCaptured(['tracking', ...S]);
      if (r.code === 0 && /Leap status\s+: Insert second/.test(r.out)) break;
      if (nowS() > leapReal - SILENT_BEFORE - 0.5) assert.fail(`the daemon did not hear the leap second in time:\n${r.out}${r.err}\n${daemon.logs()}`);
      await sleep(200);
    }
    const points: Point[] = [];
    const probe = async (): Promise<void> => {
      const p: ProbeResult = await probeNtp(self, SERVE_PORT, { timeoutMs: 1000 });
      points.push({ t: nowS() - leapReal, offset: p.offset - shift, delay: p.delay, leap: p.header.leap, refid: p.header.referenceId });
    };
    let freqPpm: number | null = null;
    while (nowS() < leapReal + SILENT_AFTER - 0.3) {
      await probe();
      if (freqPpm === null && nowS() > leapReal - SILENT_BEFORE + 0.3) {
        const j = JSON.parse((await runCaptured(['tracking', '--json', ...S])).out) as { tracking: { frequencyPpm: number } };
        freqPpm = j.tracking.frequencyPpm;
      }
      await sleep(250);
    }
    if (freqPpm === null) assert.fail('no frequency read during the silence');
    const smoothing = await runCaptured(['smoothing', ...S]);
    // The source back, one second behind: what each mode does with the offset that is left.
    const settle = nowS() + 20;
    let tracking = '';
    for (;;) {
      await probe();
      tracking = (await runCaptured(['tracking', ...S])).out;
      if (Math.abs((points.at(-1) as Point).offset + 1) < 0.01 || nowS() > settle) break;
      await sleep(300);
    }
    return { points, freqPpm, smoothing, tracking, logs: daemon.logs() };
  } finally {
    for (const t of timers) clearTimeout(t);
    await daemon?.stop();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const during = (r: LeapRun, from: number, to: number): Point[] => r.points.filter((p) => p.t >= from && p.t <= to);
/** Probes on loopback from JavaScript: a few ms of error allowed on a loaded host. */
const PROBE_TOL = 5e-3;
/** The fastest slew (maxslewrate 1000 ppm): a correction already under way moves the served time at most this much per second. */
const SLEW = 1e-3;

/**
 * Each point's served time against the last probe before midnight, less
 * what the daemon's frequency correction moved it since. A daemon just
 * started from one JavaScript server on a loaded host may still run a
 * frequency estimate off by ms/s, and finish correcting its first offset by
 * slewing, which moves the served time by up to SLEW per second more
 * through the silence; the bounds below allow for that slew.
 */
function fromMidnight(r: LeapRun): { t: number; moved: number; tol: number; p: Point }[] {
  const base = during(r, -SILENT_BEFORE, 0).at(-1);
  if (base === undefined) assert.fail(`no probe just before midnight: ${show(r)}`);
  return during(r, 0.3, SILENT_AFTER - 0.3).map((p) => ({ t: p.t - base.t, moved: p.offset - base.offset - r.freqPpm * 1e-6 * (p.t - base.t), tol: PROBE_TOL + (p.delay + base.delay) / 2, p }));
}

function show(r: LeapRun): string {
  return `frequency ${r.freqPpm} ppm; ${r.points.map((p) => `${p.t.toFixed(2)}:${p.offset.toFixed(4)}`).join(' ')}\n${r.logs}`;
}

test('a leap second on the virtual clock, for each leapsecmode and smeared by smoothtime leaponly, as the NTP server serves it', { timeout: 120_000 }, async () => {
  const [step, system, slew, ignore, smear] = await Promise.all([
    leapRun(0, ['leapsecmode step']),
    leapRun(1, ['leapsecmode system']),
    leapRun(2, ['leapsecmode slew']),
    leapRun(3, ['leapsecmode ignore', 'makestep 0.5 -1']),
    leapRun(4, ['leapsecmode slew', 'smoothtime 400 0.001 leaponly']),
  ]) as [LeapRun, LeapRun, LeapRun, LeapRun, LeapRun];
  // step and system: one second back at midnight (the engine steps; the virtual clock inserts it
  // as the kernel would, from the STA_INS status the engine set).
  for (const r of [step, system]) {
    const after = fromMidnight(r);
    assert.ok(after.length > 3 && after.every((a) => Math.abs(a.moved + 1) <= SLEW * a.t + a.tol), `stepped back 1 s at midnight: ${show(r)}`);
  }
  assert.match(step.logs, /Virtual clock was stepped by -1\.0+ seconds/);
  // Without smoothtime, chronyc's refusal and exit status.
  assert.deepEqual({ code: step.smoothing.code, out: step.smoothing.out }, { code: 1, out: '505 Facility not enabled in daemon\n' });
  assert.doesNotMatch(system.logs, /stepped/);
  // Clients hear the leap announced (leap bits 01) before it in these modes.
  assert.ok(during(system, -SILENT_BEFORE, -0.3).every((p) => p.leap === Leap.InsertSecond));
  // slew: no step; from midnight the clock slews the second out at maxslewrate (1000 ppm).
  const slewed = fromMidnight(slew);
  assert.ok(slewed.length > 3 && slewed.every((a) => a.moved <= a.tol && a.moved >= -SLEW * a.t - a.tol), `slewed at most 1000 ppm: ${show(slew)}`);
  const last = slewed.at(-1) as (typeof slewed)[0];
  assert.ok(last.moved < -SLEW * last.t / 2, `slewing after ${last.t} s: ${show(slew)}`);
  // ignore: nothing at midnight; the 1 s found by the next updates is stepped (makestep).
  const ignored = fromMidnight(ignore);
  assert.ok(ignored.length > 3 && ignored.every((a) => Math.abs(a.moved) <= SLEW * a.t + a.tol), `nothing at the leap: ${show(ignore)}`);
  assert.ok(Math.abs((ignore.points.at(-1) as Point).offset + 1) < 0.05, `corrected later: ${show(ignore)}`);
  // The step is the second plus what the daemon's frequency error added during the silence (a few ms/s here).
  const stepped = /Virtual clock was stepped by (-?\d+\.\d+) seconds/.exec(ignore.logs);
  assert.ok(stepped !== null && Math.abs(Number(stepped[1]) + 1) < 0.1, `the later step: ${show(ignore)}`);
  // smoothtime leaponly: the leap is not announced, the served time goes on without a step
  // (1 s smeared over 17.6 hours moves it by microseconds here), refid 127.127.1.255 once smoothing.
  // With smoothtime the corrected time is served, which a slew under way does not move.
  assert.ok(during(smear, -SILENT_BEFORE - 1, SILENT_AFTER).every((p) => p.leap === Leap.NoWarning), 'not announced');
  const smeared = fromMidnight(smear);
  assert.ok(smeared.length > 3 && smeared.every((a) => Math.abs(a.moved) < a.tol && a.p.refid === 0x7f7f01ff), `smeared: ${show(smear)}`);
  assert.equal(smear.smoothing.code, 0);
  assert.match(smear.smoothing.out, /^Active {9}: Yes \(leap second only\)\nOffset {9}: \+0\.99\d+ seconds\nFrequency {6}: -0\.00\d+ ppm\n/);
  assert.match(smear.logs, /Time smoothing activated \(leap seconds only\)/);
});
