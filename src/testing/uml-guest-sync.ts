/**
 * The guest side of src/daemon/daemon-uml.test.ts, which checks that the
 * daemon disciplines a real kernel clock (a UML guest's, never the host's),
 * and the pure analysis both sides share.
 *
 * Run as a script inside a UML guest booted by src/testing/uml.ts:
 *   node <build>/daemon/uml-guest-sync.js '<GuestRequest as JSON>'
 * For each scenario it:
 * 1. measures the guest clock against the reference (chronyd -x on the host
 *    side of the tap, i.e. the host's own CLOCK_REALTIME): a guest booted on
 *    a loaded host starts 20-370 ms behind, so the start is measured, not assumed;
 * 2. puts the guest clock `initialErrorS` off and gives the kernel a
 *    frequency error with adjtimex (through SystemClock);
 * 3. runs `ntpkit daemon -f <conf> --clock system` from this build tree and,
 *    while it runs, measures the guest's error against the reference once a
 *    second (its own minimal NTP client: no code shared with ntpkit's codec,
 *    so a bug there cannot make the measurement agree with the daemon) and
 *    samples CLOCK_REALTIME against CLOCK_MONOTONIC_RAW every 10 ms, which
 *    no adjtimex touches, to see any step however the daemon reports it;
 * 4. asks `ntpkit tracking` for the daemon's own view, stops it with SIGTERM
 *    and prints one `RESULT <json>` line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadClockControl, type NativeClockAddon, requireNative } from '../clock/native.js';
import { SystemClock } from '../clock/system-clock.js';
import { queryServer } from '../net/query.js';
import { assertUmlGuest } from './uml.js';

/** One daemon run inside the guest. */
export interface GuestScenario {
  readonly name: string;
  /** The daemon to run: ntpkit's (the default), or chronyd (not -x: it owns the guest's clock), for bench/uml-convergence's comparison. */
  readonly daemon?: 'ntpkit' | 'chronyd';
  /** `makestep THRESHOLD LIMIT`, or null for a slew-only run. */
  readonly makestep: readonly [number, number] | null;
  /** Guest minus reference to set before the daemon starts, seconds. */
  readonly initialErrorS: number;
  /** Frequency correction the kernel gets (adjtimex) before the daemon starts, ppm (positive: guest runs fast). */
  readonly frequencyPpm: number;
  /** Longest run, seconds of the guest's raw clock from the daemon's start (its first log line saying so). */
  readonly maxSeconds: number;
  /**
   * Poll this address instead of the request's server (one that never
   * answers: the run then shows what the daemon does to the kernel before any
   * clock update).
   */
  readonly source?: string;
  /** The drift file the daemon finds at start (chrony's format), or none. */
  readonly driftFile?: string;
  /** End the run this many seconds after the daemon's control socket appeared (it is up and its engine started). */
  readonly holdS?: number;
  /** The source's port (default 123): a relay's, to give the path delay and jitter. */
  readonly port?: number;
  /** `minpoll` and `maxpoll` of the source (default 0 and 2). */
  readonly poll?: readonly [number, number];
  /** Environment additions for the daemon (NTPKIT_UDP=dgram, to compare its socket backends). */
  readonly env?: Readonly<Record<string, string>>;
  /** Exchanges per measurement of the true error, the least-delay one kept (default 4). */
  readonly probeBurst?: number;
  /** Stop early once |error| stayed below this (s) ... */
  readonly settledBelowS: number;
  /** ... for this many seconds. */
  readonly settledForS: number;
}

/** What the test passes to the guest (argv[2], JSON). */
export interface GuestRequest {
  /** The reference's address, port 123. */
  readonly server: string;
  /** A directory for configs, drift files and sockets (default: NTPKIT_UML_DIR, the run's temp dir). */
  readonly dir?: string;
  readonly scenarios: readonly GuestScenario[];
}

/**
 * How long the daemon may take from its spawn to its start, seconds of the
 * guest's raw clock: only a hang exceeds it (node alone took 11 s to start
 * the daemon in a guest on a host loaded with stress-ng --cpu 2).
 */
export const START_DEADLINE_S = 180;

/** Seconds a one-off command (`ntpkit tracking`) or the daemon's shutdown may take before it is called hung. */
const COMMAND_DEADLINE_MS = 120_000;

/** One measurement against the reference. */
export interface ErrorPoint {
  /** Seconds since the daemon was spawned, by CLOCK_MONOTONIC_RAW. */
  readonly t: number;
  /** Guest clock minus reference, seconds (the negated NTP offset). */
  readonly error: number;
  /** Round-trip delay of the exchange kept (the shortest of a burst), seconds. */
  readonly delay: number;
  /** Kernel frequency in force (tick and freq), ppm. */
  readonly freqPpm: number;
}

/** CLOCK_REALTIME minus CLOCK_MONOTONIC_RAW at one moment. */
export interface ClockSample {
  /** MONOTONIC_RAW, seconds since the daemon was spawned. */
  readonly t: number;
  /** REALTIME - MONOTONIC_RAW, seconds relative to the first sample. */
  readonly gap: number;
  /** Uncertainty of `gap`: half the REALTIME bracket around the raw read, seconds. */
  readonly halfWidth: number;
}

/** A change of REALTIME - MONOTONIC_RAW that no frequency within the kernel's range could make: a step. */
export interface ClockJump {
  readonly t: number;
  /** Seconds; negative: the clock went back. */
  readonly jump: number;
  /** Raw seconds between the two samples. */
  readonly interval: number;
  /** How far `jump` may be off from the read uncertainty of the two samples alone, seconds. */
  readonly readError: number;
}

/** How a child process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: string | null;
}

export interface ScenarioResult {
  readonly name: string;
  readonly makestep: readonly [number, number] | null;
  /** The guest's error as found (boot offset, plus what an earlier run left). */
  readonly found: { readonly error: number; readonly delay: number };
  /**
   * After the step and adjtimex, just before the daemon; `setupS`: seconds
   * from the step to the end of this measurement (the frequency error acts
   * meanwhile); `atS`: when it ended, seconds before the daemon's spawn (<= 0).
   */
  readonly prepared: { readonly error: number; readonly delay: number; readonly freqPpm: number; readonly setupS: number; readonly atS: number };
  /** When the daemon said it started (its engine runs from then), seconds since its spawn; null: it never did. */
  readonly startedAt: number | null;
  /** The daemon's measurements.log (`log measurements`), for the round trips of the samples it acted on. */
  readonly measurements: string;
  /**
   * The most an offset measured with the guest kernel's own packet stamps
   * (ntpkit's native socket, so the daemon's) was seen off the one measured
   * with JS stamps, beyond the latter's half round trip, seconds: what the
   * daemon's samples may miss beyond half their round trip, as the tap's
   * kernel stamps in the guest are not causal (TX to RX less than chronyd's
   * receive to transmit, seen).
   */
  readonly kernelStampError: number;
  readonly series: readonly ErrorPoint[];
  /** Every change of the kernel's frequency (tick and freq), ppm, by sample time. */
  readonly freqChanges: readonly { readonly t: number; readonly ppm: number }[];
  /** With holdS: when the control socket appeared (s). */
  readonly upAt: number | null;
  readonly jumps: readonly ClockJump[];
  readonly sampleCount: number;
  /** Longest raw time between two clock samples, seconds (how blind the jump check was at worst). */
  readonly maxSampleGap: number;
  /** The largest rate of REALTIME against MONOTONIC_RAW over 1 s or more, steps taken out, ppm: the fastest slew. */
  readonly maxRatePpm: number;
  readonly daemonLog: string;
  readonly daemonExit: Exit;
  readonly tracking: { readonly code: number | null; readonly out: string };
  /** The drift file after SIGTERM, or null. */
  readonly drift: string | null;
}

/**
 * The kernel cannot run CLOCK_REALTIME faster or slower than its tick range
 * allows (+-10% of nominal) plus freq (+-500 ppm): anything beyond that
 * between two samples is a step.
 */
export const MAX_KERNEL_RATE = 0.1 + 500e-6;

/**
 * Steps seen in REALTIME - MONOTONIC_RAW samples: a change between
 * consecutive samples larger than the fastest slew could make in that time,
 * plus both samples' read uncertainty and `noise` (scheduling inside UML).
 */
export function findJumps(samples: readonly ClockSample[], maxRate = MAX_KERNEL_RATE, noise = 200e-6): ClockJump[] {
  const jumps: ClockJump[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as ClockSample;
    const b = samples[i] as ClockSample;
    const interval = b.t - a.t;
    const change = b.gap - a.gap;
    if (Math.abs(change) > maxRate * interval + a.halfWidth + b.halfWidth + noise) jumps.push({ t: b.t, jump: change, interval, readError: a.halfWidth + b.halfWidth });
  }
  return jumps;
}

/** First time from which |error| stays below `bound` to the end of the series (null: never). */
export function settledAt(series: readonly ErrorPoint[], bound: number): number | null {
  let at: number | null = null;
  for (const p of series) {
    if (Math.abs(p.error) < bound) at ??= p.t;
    else at = null;
  }
  return at;
}

/** The samples with the given jumps taken out of `gap`, so what remains is the slewing. */
export function withoutJumps(samples: readonly ClockSample[], jumps: readonly ClockJump[]): ClockSample[] {
  let k = 0;
  let removed = 0;
  return samples.map((s) => {
    while (k < jumps.length && (jumps[k] as ClockJump).t <= s.t) removed += (jumps[k++] as ClockJump).jump;
    return { ...s, gap: s.gap - removed };
  });
}

/**
 * The largest rate of `gap` over spans of at least `span` seconds, ppm: how
 * fast the clock was slewed at least. Each end's read uncertainty is taken
 * off the change, so a pause between the reads of a sample (a busy host)
 * cannot make the rate look faster than it was.
 */
export function maxRate(samples: readonly ClockSample[], span = 1): number {
  let best = 0;
  let j = 0;
  for (let i = 0; i < samples.length; i++) {
    const b = samples[i] as ClockSample;
    while (j < i && b.t - (samples[j + 1] as ClockSample).t >= span) j++;
    const a = samples[j] as ClockSample;
    if (b.t - a.t >= span) best = Math.max(best, Math.max(0, Math.abs(b.gap - a.gap) - a.halfWidth - b.halfWidth) / (b.t - a.t) * 1e6);
  }
  return best;
}

// ---------------------------------------------------------------- guest side

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Seconds from 1900 (NTP) to 1970 (Unix). */
const NTP_UNIX = 2_208_988_800n;

function ntpToUnixNs(ts: bigint): bigint {
  return ((ts >> 32n) - NTP_UNIX) * 1_000_000_000n + (((ts & 0xffff_ffffn) * 1_000_000_000n) >> 32n);
}

class Reference {
  readonly #sock = dgram.createSocket('udp4');
  readonly #a: NativeClockAddon;

  constructor(addon: NativeClockAddon) {
    this.#a = addon;
  }

  async open(server: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#sock.once('error', reject);
      this.#sock.connect(123, server, () => {
        this.#sock.off('error', reject);
        resolve();
      });
    });
  }

  close(): void {
    this.#sock.close();
  }

  /** One client exchange (RFC 5905 §8 on-wire): t1/t4 from the guest's CLOCK_REALTIME, the one being disciplined. */
  async exchange(timeoutMs = 500): Promise<{ error: number; delay: number }> {
    const req = Buffer.alloc(48);
    req[0] = 0x23; // LI 0, version 4, mode 3
    // A random transmit timestamp is the request's cookie (RFC 5905 §9.1: origin must match it).
    const cookie = randomBytes(8).readBigUInt64BE(0);
    req.writeBigUInt64BE(cookie, 40);
    const reply = new Promise<{ msg: Buffer; t4: bigint }>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#sock.off('message', onMsg);
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMsg = (msg: Buffer): void => {
        const t4 = this.#a.realtimeNs();
        if (msg.length < 48 || msg.readBigUInt64BE(24) !== cookie) return; // a late reply to an earlier request
        clearTimeout(timer);
        this.#sock.off('message', onMsg);
        resolve({ msg, t4 });
      };
      this.#sock.on('message', onMsg);
    });
    const t1 = this.#a.realtimeNs();
    this.#sock.send(req);
    const { msg, t4 } = await reply;
    if (((msg[0] as number) & 7) !== 4 || msg[1] === 0) throw new Error(`not a server reply (mode ${(msg[0] as number) & 7}, stratum ${msg[1]})`);
    const t2 = ntpToUnixNs(msg.readBigUInt64BE(32));
    const t3 = ntpToUnixNs(msg.readBigUInt64BE(40));
    const offset = Number(t2 - t1 + (t3 - t4)) / 2e9;
    const delay = Number(t4 - t1 - (t3 - t2)) / 1e9;
    return { error: -offset, delay };
  }

  /** The exchange with the shortest delay of `n` (the least queueing, so the least asymmetry). */
  async measure(n = 4): Promise<{ error: number; delay: number }> {
    let best: { error: number; delay: number } | undefined;
    let lastErr: unknown;
    for (let i = 0; i < n; i++) {
      try {
        const e = await this.exchange();
        if (best === undefined || e.delay < best.delay) best = e;
      } catch (err) {
        lastErr = err;
      }
      if (i + 1 < n) await sleep(5);
    }
    if (best === undefined) throw new Error(`Cannot measure against the reference: ${(lastErr as Error).message}`);
    return best;
  }
}

/** The kernel's frequency correction (tick and freq), ppm, read-only. */
function kernelFreqPpm(a: NativeClockAddon): number {
  const hz = a.userHz?.() ?? 100;
  const t = a.adjtimexStatus();
  return hz * (t.tick - Math.round(1e6 / hz)) + t.freq / 65536;
}

/** `ntpkit ARGS` from this build tree, as bin/ntpkit.js runs it (bin/ would use dist/, maybe another build). */
function spawnCli(args: readonly string[], env: Readonly<Record<string, string>> = {}): ChildProcess {
  const main = new URL('../cli/main.js', import.meta.url).href;
  const code = `import { run } from ${JSON.stringify(main)}; process.exitCode = await run(process.argv.slice(1));`;
  return spawn(process.execPath, ['--input-type=module', '-e', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
}

function collect(child: ChildProcess): { text: () => string; exited: Promise<{ code: number | null; signal: string | null }> } {
  let text = '';
  child.stdout?.on('data', (d: Buffer) => { text += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { text += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { text: () => text, exited };
}

/** Waits up to `waitMs` for the child to exit by itself, then SIGTERM, then SIGKILL after `graceMs`. */
async function stopChild(child: ChildProcess, exited: Promise<Exit>, graceMs: number, waitMs = 0): Promise<Exit> {
  const within = (ms: number): Promise<boolean> => Promise.race([exited.then(() => true), sleep(ms).then(() => false)]);
  if (waitMs > 0 && (await within(waitMs))) return exited;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  if (!(await within(graceMs))) child.kill('SIGKILL');
  return exited;
}

/** See ScenarioResult.kernelStampError: pairs of exchanges, one with the native socket's kernel stamps, one with JS stamps. */
async function kernelStampError(ref: Reference, server: string, pairs = 8): Promise<number> {
  let worst = 0;
  for (let i = 0; i < pairs; i++) {
    const js = await ref.measure(1).catch(() => null);
    const nat = await queryServer(server, { samples: 1, timeoutMs: 2000 });
    if (js === null || nat.estimate === null) continue;
    worst = Math.max(worst, Math.abs(-nat.estimate.best.offset - js.error) + js.delay / 2);
  }
  return worst;
}

async function runScenario(req: GuestRequest & { readonly dir: string }, s: GuestScenario, a: NativeClockAddon, ref: Reference, stampError: number): Promise<ScenarioResult> {
  const raw = (): bigint => a.clockGettimeNs(a.clocks.MONOTONIC_RAW);
  const found = await ref.measure(8);

  // The error and frequency the daemon starts from, set as an operator's
  // adjtimex would (SystemClock: ADJ_SETOFFSET and ADJ_TICK|ADJ_FREQUENCY).
  const setup = new SystemClock();
  const stepAt = raw();
  setup.step(s.initialErrorS - found.error);
  setup.setFrequency(s.frequencyPpm);
  setup.close();
  const preparedM = await ref.measure(8);
  const preparedAt = raw();
  const freqPpm = kernelFreqPpm(a);

  const conf = join(req.dir, `${s.name}.conf`);
  const socket = join(req.dir, `${s.name}.sock`);
  const drift = join(req.dir, `${s.name}.drift`);
  const logdir = join(req.dir, `${s.name}-logs`);
  const chronyd = s.daemon === 'chronyd';
  rmSync(drift, { force: true });
  rmSync(logdir, { recursive: true, force: true });
  mkdirSync(logdir);
  if (s.driftFile !== undefined) writeFileSync(drift, s.driftFile);
  writeFileSync(conf, [
    `# ${s.name}: written by src/daemon/uml-guest-sync.ts`,
    `server ${s.source ?? req.server}${s.port === undefined ? '' : ` port ${s.port}`} iburst minpoll ${s.poll?.[0] ?? 0} maxpoll ${s.poll?.[1] ?? 2}`,
    ...(s.makestep === null ? [] : [`makestep ${s.makestep[0]} ${s.makestep[1]}`]),
    `driftfile ${drift}`,
    `logdir ${logdir}`,
    'log measurements',
    // chronyd: no command port, its pid file in the run's dir (hostfs makes /run the host's).
    ...(chronyd ? ['cmdport 0', 'bindcmdaddress /', `pidfile ${join(req.dir, `${s.name}.pid`)}`] : [`controlsocket ${socket}`, 'bindcmdaddress /', 'cmdport 0']),
    '',
  ].join('\n'));

  // Clock samples: REALTIME bracketed by two reads around MONOTONIC_RAW.
  const samples: ClockSample[] = [];
  const freqChanges: { t: number; ppm: number }[] = [];
  let gap0: bigint | null = null;
  const t0 = raw();
  const sample = (): void => {
    const r0 = a.realtimeNs();
    const m = raw();
    const r1 = a.realtimeNs();
    const gap = (r0 + r1) / 2n - m;
    gap0 ??= gap;
    const t = Number(m - t0) / 1e9;
    samples.push({ t, gap: Number(gap - gap0) / 1e9, halfWidth: Number(r1 - r0) / 2e9 });
    const ppm = kernelFreqPpm(a);
    if (freqChanges.at(-1)?.ppm !== ppm) freqChanges.push({ t, ppm });
  };
  sample();
  const sampler = setInterval(sample, 10);

  const tNow = (): number => Number(raw() - t0) / 1e9;
  const prepared = { ...preparedM, freqPpm, setupS: Number(preparedAt - stepAt) / 1e9, atS: Number(preparedAt - t0) / 1e9 };
  const daemon = chronyd
    ? spawn('chronyd', ['-d', '-u', 'root', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawnCli(['daemon', '-f', conf, '--clock', 'system'], s.env);
  const dlog = collect(daemon);
  // The engine runs from the daemon's own "started" line: node's start-up before it is no part of convergence.
  const startedLine = chronyd ? /chronyd version \S+ starting/ : /Started with/;
  let startedAt: number | null = null;
  const watchStart = (): void => {
    if (startedAt === null && startedLine.test(dlog.text())) startedAt = tNow();
  };
  daemon.stdout?.on('data', watchStart);
  daemon.stderr?.on('data', watchStart);
  /** Whether the run may go on: until maxSeconds after the daemon's start, or START_DEADLINE_S for it to start. */
  const running = (): boolean => (startedAt === null ? tNow() < START_DEADLINE_S : tNow() < startedAt + s.maxSeconds);
  const series: ErrorPoint[] = [];
  let tracking = { code: null as number | null, out: '' };
  let daemonExit: Exit = { code: null, signal: null };
  let upAt: number | null = null;
  try {
    let next = 1;
    while (s.holdS !== undefined && running() && daemon.exitCode === null) {
      if (existsSync(socket)) {
        upAt = tNow();
        await sleep(s.holdS * 1000);
        break;
      }
      await sleep(20);
    }
    while (s.holdS === undefined && running()) {
      await sleep(Math.max(0, (next - tNow()) * 1000));
      next += 1;
      if (daemon.exitCode !== null || daemon.signalCode !== null) break;
      const m = await ref.measure(s.probeBurst ?? 4).catch(() => null);
      if (m === null) continue;
      series.push({ t: tNow(), error: m.error, delay: m.delay, freqPpm: kernelFreqPpm(a) });
      const since = settledAt(series, s.settledBelowS);
      if (since !== null && tNow() - since >= s.settledForS) break;
    }
    if (!chronyd && s.holdS === undefined && daemon.exitCode === null && daemon.signalCode === null) {
      const tr = spawnCli(['tracking', '--socket', socket]);
      const trOut = collect(tr);
      const st = await stopChild(tr, trOut.exited, 2000, COMMAND_DEADLINE_MS);
      tracking = { code: st.code, out: trOut.text() };
    }
  } finally {
    daemonExit = await stopChild(daemon, dlog.exited, COMMAND_DEADLINE_MS);
    clearInterval(sampler);
    sample();
  }
  let driftText: string | null = null;
  try {
    driftText = readFileSync(drift, 'utf8');
  } catch {
    driftText = null;
  }
  let measurements = '';
  try {
    measurements = readFileSync(join(logdir, 'measurements.log'), 'utf8');
  } catch {
    // none written: the daemon never measured
  }
  let maxGap = 0;
  for (let i = 1; i < samples.length; i++) maxGap = Math.max(maxGap, (samples[i] as ClockSample).t - (samples[i - 1] as ClockSample).t);
  const jumps = findJumps(samples);
  return {
    name: s.name,
    makestep: s.makestep,
    found,
    prepared,
    startedAt,
    measurements,
    kernelStampError: stampError,
    series,
    freqChanges,
    upAt,
    jumps,
    sampleCount: samples.length,
    maxSampleGap: maxGap,
    maxRatePpm: maxRate(withoutJumps(samples, jumps)),
    daemonLog: dlog.text(),
    daemonExit,
    tracking,
    drift: driftText,
  };
}

async function main(): Promise<void> {
  assertUmlGuest(); // before anything can touch a clock
  const given = JSON.parse(process.argv[2] ?? '') as GuestRequest;
  const dir = given.dir ?? process.env.NTPKIT_UML_DIR;
  if (dir === undefined) throw new Error('uml-guest-sync needs a directory: none in the request, no NTPKIT_UML_DIR');
  const req = { ...given, dir };
  const control = loadClockControl();
  if (!control.ok) throw new Error(control.reason);
  const a = requireNative();
  const ref = new Reference(a);
  await ref.open(req.server);
  // The tap and chronyd may need a moment after boot (more on a busy host).
  for (const end = performance.now() + 60_000; ;) {
    try {
      await ref.exchange(200);
      break;
    } catch (e) {
      if (performance.now() > end) throw new Error(`the reference ${req.server} never answered: ${(e as Error).message}`);
      await sleep(100);
    }
  }
  try {
    const stampError = await kernelStampError(ref, req.server);
    for (const s of req.scenarios) {
      const r = await runScenario(req, s, a, ref, stampError);
      console.log(`RESULT ${JSON.stringify(r)}`);
    }
  } finally {
    ref.close();
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(`uml-guest-sync: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  });
}
