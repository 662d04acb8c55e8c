/**
 * The guest side of src/cli/sync-uml.test.ts: runs inside a User-mode Linux
 * guest (never on the host: it checks first) and drives `ntpkit sync`
 * against the chronyd on the host side of the tap. Each case puts the guest
 * clock off with ADJ_SETOFFSET, runs sync as a child process, and measures
 * the guest's error against chronyd before and after; the results go to
 * stdout as `RESULT {json}` lines.
 *
 * - step: 30 s off, sync must step it back;
 * - slew: 50 ms off, sync must hand the kernel an adjtime() slew and exit;
 *   the slew then goes on without it (ADJ_OFFSET_SS_READ shrinks by 500 us
 *   per second and the measured error with it);
 * - refuse: a real chronyd (not -x: it owns the guest's clock) runs; sync
 *   and `daemon --clock system` must refuse and name it, `sync --force`
 *   must go ahead;
 * - lock: an `ntpkit daemon --clock system` holds the PID lock file; sync
 *   and a second daemon must refuse, naming it, and the lock must be gone
 *   once the daemon has stopped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireNative, type NativeClockAddon } from '../clock/native.js';
import { readLockPid } from '../clock/ownership.js';
import { findTimeDaemons } from '../clock/time-daemons.js';
import { queryServer } from '../net/query.js';
import { realtime } from '../clock/realtime.js';
import { assertUmlGuest } from './uml.js';

export interface RunOutcome {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** The guest clock's error against the reference (positive: the guest is ahead), and the round trip it was measured over, seconds. */
export interface Measured {
  readonly error: number;
  readonly delay: number;
}

export interface StepResult {
  readonly name: 'step';
  /** The measurement the clock was put 30 s off from, then the guest's error before sync and after it. */
  readonly setup: Measured;
  readonly before: Measured;
  readonly sync: RunOutcome;
  readonly after: Measured;
}

export interface SlewResult {
  readonly name: 'slew';
  readonly setup: Measured;
  readonly before: Measured;
  readonly sync: RunOutcome;
  /** How long sync ran (it hands the slew to the kernel at its end), seconds. */
  readonly syncS: number;
  /** Right after sync exited, and `waitS` later (measured, about 6 s): the kernel's remaining adjtime() slew, seconds. */
  readonly remaining0: number;
  readonly remaining1: number;
  readonly waitS: number;
  /** The error measured right after each remaining read, and when each measurement ended, seconds after remaining0 was read. */
  readonly error0: Measured;
  readonly error1: Measured;
  readonly error0EndS: number;
  readonly error1EndS: number;
}

export interface RefuseResult {
  readonly name: 'refuse';
  readonly chronydPid: number;
  readonly seen: readonly string[];
  readonly sync: RunOutcome;
  readonly daemon: RunOutcome;
  readonly forced: RunOutcome;
  readonly after: Measured;
}

export interface LockResult {
  readonly name: 'lock';
  readonly lockPath: string;
  /** What the lock file held while the daemon ran, and the daemon's PID. */
  readonly lockPid: number | null;
  readonly daemonPid: number;
  readonly sync: RunOutcome;
  readonly second: RunOutcome;
  /** The daemon's own exit after SIGTERM, and whether the lock file was gone then. */
  readonly daemonExit: number | null;
  readonly daemonLog: string;
  readonly lockGone: boolean;
}

export type OneShotResult = StepResult | SlewResult | RefuseResult | LockResult;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The guest clock's error against the reference, from the least-delay exchange
 * of four, timestamped in JS (an injected clock makes queryServer use
 * node:dgram): the guest kernel's own stamps of the tap's packets are not
 * causal (seen: 25 us from its TX to its RX stamp around chronyd's 80 us
 * between receive and transmit), so only JS reads before the send and after
 * the receive bound the error by half the round trip.
 */
async function measure(server: string): Promise<Measured> {
  const r = await queryServer(server, { samples: 4, intervalMs: 20, timeoutMs: 2000, now: realtime });
  if (r.estimate === null) throw new Error(`Cannot measure against ${server}: ${r.error?.message ?? 'no estimate'}`);
  return { error: -r.estimate.best.offset, delay: r.estimate.best.delay };
}

/**
 * `ntpkit ARGS` from this build tree. Its command line does not contain
 * "ntpkit", so the process scan never names it: another ntpkit is then
 * found only through the lock file, which the lock case relies on. It runs
 * on node:dgram (NTPKIT_UDP=dgram), for the reason {@link measure} gives: so
 * the delays sync prints bound the error of the offset it acts on.
 */
function spawnCli(args: readonly string[]): ChildProcess {
  const main = new URL('../cli/main.js', import.meta.url).href;
  const code = `import { run } from ${JSON.stringify(main)}; process.exitCode = await run(process.argv.slice(1));`;
  return spawn(process.execPath, ['--input-type=module', '-e', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NTPKIT_UDP: 'dgram' } });
}

/** Runs `ntpkit ARGS` to its end; the timeout only catches a hang (node alone may take many seconds to start in a guest on a busy host). */
function runCli(args: readonly string[], timeoutMs = 120_000): Promise<RunOutcome> {
  const child = spawnCli(args);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve({ code: c, out, err });
    });
  });
}

/**
 * How sync samples when its result is checked: node:dgram's first replies in a
 * freshly started process come late in the guest (10-60 ms, seen), so eight
 * samples over most of a second leave warm ones for sync to pick the
 * least-delay one from.
 */
const SAMPLING = ['-n', '8', '-i', '0.1'];

/** Puts the guest clock `by` seconds further ahead (ADJ_SETOFFSET), as an operator's `date -s` would. */
function shift(a: NativeClockAddon, by: number): void {
  const ns = BigInt(Math.round(by * 1e9));
  const r = a.adjtimexWrite?.({ modes: 0x0100 | 0x2000, setOffsetNs: ns });
  if (r === undefined || r.state < 0) throw new Error(`Cannot put the guest clock off: ${r?.message ?? 'no adjtimexWrite'}`);
}

async function stepCase(a: NativeClockAddon, server: string): Promise<StepResult> {
  const setup = await measure(server);
  shift(a, 30 - setup.error);
  const before = await measure(server);
  // --force: one server is all this guest has, and sync refuses a single source without it.
  const sync = await runCli(['sync', '--force', ...SAMPLING, server]);
  return { name: 'step', setup, before, sync, after: await measure(server) };
}

async function slewCase(a: NativeClockAddon, server: string): Promise<SlewResult> {
  const setup = await measure(server);
  shift(a, 0.05 - setup.error);
  const before = await measure(server);
  const s0 = performance.now();
  // --force: one server is all this guest has, and sync refuses a single source without it.
  const sync = await runCli(['sync', '--force', ...SAMPLING, server]);
  const syncS = (performance.now() - s0) / 1000;
  const remaining = (): number => (a.adjtimeRemaining?.() ?? Number.NaN) / 1e6;
  // The times that really passed: a busy host stretches the sleep and the queries.
  const remaining0 = remaining();
  const t0 = performance.now();
  const since = (): number => (performance.now() - t0) / 1000;
  const error0 = await measure(server);
  const error0EndS = since();
  await sleep(6000);
  const remaining1 = remaining();
  const waitS = since();
  const error1 = await measure(server);
  const error1EndS = since();
  // Leave no slew behind for the next case.
  a.adjtimeSlew?.(0);
  return { name: 'slew', setup, before, sync, syncS, remaining0, remaining1, waitS, error0, error1, error0EndS, error1EndS };
}

async function refuseCase(a: NativeClockAddon, server: string, dir: string): Promise<RefuseResult> {
  // A real chronyd that owns the guest's clock (no -x), its one source a
  // silent address (chronyd exits with nothing to do), every file in the
  // run's dir: hostfs makes /run and /var/lib the host's.
  const conf = join(dir, 'guest-chronyd.conf');
  writeFileSync(conf, ['server 192.168.77.3 iburst', `pidfile ${join(dir, 'guest-chronyd.pid')}`, 'cmdport 0', 'bindcmdaddress /', 'port 0', `driftfile ${join(dir, 'guest-chronyd.drift')}`, ''].join('\n'));
  const chronyd: ChildProcess = spawn('chronyd', ['-d', '-u', 'root', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  chronyd.stdout?.on('data', (d: Buffer) => { log += d.toString(); });
  chronyd.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  try {
    let seen: string[] = [];
    for (const end = performance.now() + 60_000; seen.length === 0 && chronyd.exitCode === null && performance.now() < end;) {
      await sleep(100);
      seen = findTimeDaemons().map((d) => `${d.kind} ${d.pid}`);
    }
    if (seen.length === 0) throw new Error(`the guest's chronyd never showed up in /proc (exit ${chronyd.exitCode}): ${log}`);
    const sync = await runCli(['sync', '-n', '2', '-i', '0.05', server]);
    const conf2 = join(dir, 'guest-daemon.conf');
    writeFileSync(conf2, `server ${server} iburst\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\n`);
    const daemon = await runCli(['daemon', '-f', conf2, '--clock', 'system']);
    shift(a, 1 - (await measure(server)).error);
    const forced = await runCli(['sync', '--force', ...SAMPLING, server]);
    return { name: 'refuse', chronydPid: chronyd.pid ?? -1, seen, sync, daemon, forced, after: await measure(server) };
  } finally {
    chronyd.kill('SIGTERM');
    await new Promise((r) => { if (chronyd.exitCode !== null) r(null); else chronyd.once('exit', r); });
  }
}

async function lockCase(_a: NativeClockAddon, server: string, dir: string): Promise<LockResult> {
  const lockPath = process.env.NTPKIT_LOCK_FILE;
  if (lockPath === undefined) throw new Error('uml-guest-oneshot needs NTPKIT_LOCK_FILE (src/testing/uml.ts sets it)');
  const conf = join(dir, 'guest-lock.conf');
  writeFileSync(conf, `server ${server} iburst\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\n`);
  const daemon = spawnCli(['daemon', '-f', conf, '--clock', 'system']);
  let daemonLog = '';
  daemon.stdout?.on('data', (d: Buffer) => { daemonLog += d.toString(); });
  daemon.stderr?.on('data', (d: Buffer) => { daemonLog += d.toString(); });
  const exited = new Promise<number | null>((r) => daemon.once('exit', (c) => r(c)));
  try {
    // Node may take many seconds to start the daemon in a guest on a busy host: wait for the lock
    // (or the daemon's exit) with a deadline that only catches a hang.
    let lockPid: number | null = null;
    for (const end = performance.now() + 90_000; lockPid === null && daemon.exitCode === null && performance.now() < end;) {
      await sleep(100);
      lockPid = readLockPid(lockPath);
    }
    const sync = await runCli(['sync', '-n', '2', '-i', '0.05', server]);
    const second = await runCli(['daemon', '-f', conf, '--clock', 'system']);
    daemon.kill('SIGTERM');
    const daemonExit = await exited;
    return { name: 'lock', lockPath, lockPid, daemonPid: daemon.pid ?? -1, sync, second, daemonExit, daemonLog, lockGone: !existsSync(lockPath) };
  } finally {
    if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  assertUmlGuest(); // before anything can touch a clock
  const server = process.argv[2] ?? '192.168.77.1';
  const dir = process.env.NTPKIT_UML_DIR;
  if (dir === undefined) throw new Error('uml-guest-oneshot needs NTPKIT_UML_DIR');
  const a = requireNative();
  // The tap and chronyd may need a moment after boot (longer on a busy host).
  for (const end = performance.now() + 60_000; ;) {
    try {
      await measure(server);
      break;
    } catch (e) {
      if (performance.now() > end) throw e;
      await sleep(200);
    }
  }
  for (const c of [stepCase, slewCase, refuseCase, lockCase]) {
    const r = await c(a, server, dir);
    console.log(`RESULT ${JSON.stringify(r)}`);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(`uml-guest-oneshot: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  });
}
