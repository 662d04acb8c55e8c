import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { access, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchSnapshot } from '../control/commands.js';
import { type EngineAction } from '../core/engine/engine-api.js';
import { SNAPSHOT_VERSION, type DaemonSnapshot } from '../core/engine/snapshot.js';
import type { SyncDaemon } from '../daemon/sync-daemon.js';
import type { Instant } from '../time/instant.js';
import { checkClockOwnership } from '../clock/ownership.js';
import { StubEngine } from './stub-engine.test-helper.js';
import { daemonCommand, type DaemonCommandDeps } from './daemon-command.js';
import { ExitCode } from './exit-codes.js';

/** A minimal engine: it lists its sources and reports a drift of 2 ppm. */
class ListingEngine extends StubEngine {
  override drift() { return { frequencyPpm: 2, skewPpm: 0.5 }; }
  override snapshot(now: Instant, clock: DaemonSnapshot['clock']): DaemonSnapshot {
    return {
      version: SNAPSHOT_VERSION, time: String(now), clock,
      sources: this.options.sources.map((s, i) => ({
        id: i + 1, kind: s.kind, name: s.host, address: s.host, port: s.port, verdict: 'unusable', reason: 'no samples', prefer: false, noselect: false,
        stratum: 0, referenceId: 0, poll: s.minpoll, reach: 0, lastRxAgo: null, lastSample: null, jitter: 0, rootDistance: 0, kissCode: null, kod: null, authProblem: null, interleaved: false,
        stats: { samples: 0, runs: 0, span: 0, frequencyPpm: 0, skewPpm: 0, offset: 0, stdDev: 0 },
      })),
      tracking: {
        referenceId: 0, referenceName: null, stratum: 0, refTime: null, systemTime: 0, lastOffset: 0, rmsOffset: 0, frequencyPpm: 0,
        residualFreqPpm: 0, skewPpm: 0, rootDelay: 1, rootDispersion: 1, updateInterval: 0, leapStatus: 'unsynchronized', synchronized: false,
      },
    };
  }
}

interface Run {
  readonly done: Promise<void>;
  readonly out: string[];
  readonly err: string[];
  code(): number | undefined;
  readonly signals: EventEmitter;
  readonly started: Promise<SyncDaemon>;
}

function start(args: string[], deps: Partial<DaemonCommandDeps> = {}): Run {
  const out: string[] = [];
  const err: string[] = [];
  let code: number | undefined;
  const signals = new EventEmitter();
  let resolveStarted: (d: SyncDaemon) => void = () => {};
  let rejectStarted: (e: Error) => void = () => {};
  const started = new Promise<SyncDaemon>((res, rej) => { resolveStarted = res; rejectStarted = rej; });
  // Tests that never await it must not see an unhandled rejection.
  started.catch(() => undefined);
  const cmd = daemonCommand({ out: (t) => out.push(t), err: (t) => err.push(t), setExitCode: (c) => { code = c; } }, {
    signals: signals as unknown as Pick<NodeJS.Process, 'on' | 'off'>,
    createEngine: (o) => new ListingEngine(o),
    resolve: async (h) => { throw new Error(`no DNS in tests (${h})`); },
    chooseClock: () => ({ ok: true, kind: 'virtual', reason: 'test: the system clock is not ours to touch', warnings: [] }),
    timestamps: false,
    onStarted: (d) => resolveStarted(d),
    ...deps,
  }).exitOverride();
  const done = cmd.parseAsync(args, { from: 'user' }).then(() => {});
  // A daemon that ends without starting must fail a test awaiting `started`, not hang it.
  done.then(() => rejectStarted(new Error(`the daemon ended before it started:\n${err.join('\n')}`)), (e: unknown) => rejectStarted(e as Error));
  return { done, out, err, code: () => code, signals, started };
}

/** Runs `body` on a started daemon and stops it whatever happens, so a failed assertion cannot leave it running (and the test file hanging). */
async function whileRunning(r: Run, body: (d: SyncDaemon) => Promise<void>): Promise<void> {
  try {
    await body(await r.started);
  } finally {
    if (r.code() === undefined) {
      r.signals.emit('SIGTERM');
      await r.done.catch(() => undefined);
    }
  }
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-daemon-cmd-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a config with errors: file:line messages, a usage exit, nothing started', async () => {
  await withDir(async (dir) => {
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `server 192.0.2.1 iburst\nserver 192.0.2.2 minpoll banana\nfrobnicate 3\ncontrolsocket ${dir}/s.sock\nbindcmdaddress /\ncmdport 0\n`);
    const r = start(['-f', conf]);
    await r.done;
    assert.equal(r.code(), ExitCode.USAGE);
    assert.ok(r.err.some((l) => l.startsWith(`ntpkit daemon: ${conf}:2: `)), r.err.join('\n'));
    assert.ok(r.err.some((l) => l.startsWith(`ntpkit daemon: ${conf}:3: `)), r.err.join('\n'));
    assert.ok(r.err.some((l) => /not started: the configuration has 2 errors/.test(l)), r.err.join('\n'));
    await assert.rejects(access(join(dir, 's.sock')), 'no control socket');
  });
});

test('a missing config file is an error too', async () => {
  const r = start(['-f', '/nonexistent/ntpkit.conf']);
  await r.done;
  assert.equal(r.code(), ExitCode.USAGE);
  assert.match(r.err.join('\n'), /\/nonexistent\/ntpkit\.conf: cannot read/);
});

test('--virtual-* options contradict --clock system', async () => {
  const r = start(['-f', '/dev/null', '--clock', 'system', '--virtual-offset', '0.3']);
  await r.done;
  assert.equal(r.code(), ExitCode.USAGE);
  assert.match(r.err.join('\n'), /--virtual-offset and --virtual-freq apply to the virtual clock/);
});

test('a clock that cannot be used stops the start with the reason', async () => {
  await withDir(async (dir) => {
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, 'server 192.0.2.1\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\n');
    const r = start(['-f', conf, '--clock', 'system'], { chooseClock: () => ({ ok: false, error: 'Disciplining the system clock needs CAP_SYS_TIME' }) });
    await r.done;
    assert.equal(r.code(), ExitCode.GENERAL_FAILURE);
    assert.match(r.err.join('\n'), /not started: Disciplining the system clock needs CAP_SYS_TIME/);
  });
});

test('runs: control socket (0660) with the snapshot, SIGHUP reloads (a bad config keeps the old), SIGTERM saves the drift and exits 0', async () => {
  await withDir(async (dir) => {
    const conf = join(dir, 'chrony.conf');
    const sock = join(dir, 'run', 'ntpkit.sock');
    const common = `controlsocket ${sock}\nbindcmdaddress /\ncmdport 0\ndriftfile ${dir}/drift\n`;
    await writeFile(conf, `server 192.0.2.1 iburst\n${common}`);
    const r = start(['-f', conf, '--virtual-offset', '0.5', '--virtual-freq', '-20']);
    await whileRunning(r, async (d) => {
      assert.equal(d.clock.kind, 'virtual');
      assert.ok(r.err.some((l) => l === 'Disciplining the virtual clock: test: the system clock is not ours to touch (started 0.5 s and -20 ppm off the system clock)'), r.err.join('\n'));
      assert.equal((await stat(sock)).mode & 0o777, 0o660);
      let snap = await fetchSnapshot(sock, { timeoutMs: 2000 });
      assert.deepEqual(snap.sources.map((s) => s.name), ['192.0.2.1']);
      assert.equal(snap.clock, 'virtual');

      // A bad config: reported, the old one stays.
      await writeFile(conf, `server 192.0.2.5\nnotadirective\n${common}`);
      r.signals.emit('SIGHUP');
      await waitFor(() => r.err.some((l) => /the running configuration stays in force/.test(l)));
      assert.ok(r.err.some((l) => l.includes(`${conf}:2: `)), r.err.join('\n'));
      snap = await fetchSnapshot(sock, { timeoutMs: 2000 });
      assert.deepEqual(snap.sources.map((s) => s.name), ['192.0.2.1']);

      // A good one replaces the sources.
      await writeFile(conf, `server 192.0.2.7 iburst\npool pool.test\n${common}`);
      r.signals.emit('SIGHUP');
      await waitFor(() => r.err.some((l) => /Reloaded the configuration: 2 sources/.test(l)));
      snap = await fetchSnapshot(sock, { timeoutMs: 2000 });
      assert.deepEqual(snap.sources.map((s) => s.name), ['192.0.2.7', 'pool.test']);

      r.signals.emit('SIGTERM');
      await r.done;
      assert.equal(r.code(), ExitCode.OK);
      assert.equal(await readFile(join(dir, 'drift'), 'utf8'), '           -2.000000             0.500000\n');
      await assert.rejects(access(sock), 'the control socket is removed');
      assert.ok(r.err.some((l) => l === 'Stopping (SIGTERM)'));
    });
  });
});

test('maxchange exceeded for good (the engine says fatal): the daemon stops with a failure status, as chronyd exits', async () => {
  await withDir(async (dir) => {
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `server 192.0.2.1\nmaxchange 1 0 0\ncontrolsocket ${dir}/s.sock\nbindcmdaddress /\ncmdport 0\n`);
    class FatalEngine extends ListingEngine {
      override start(): EngineAction[] { return [{ kind: 'event', event: { type: 'maxchange', offset: 5, limit: 1, fatal: true } }]; }
    }
    const r = start(['-f', conf], { createEngine: (o) => new FatalEngine(o) });
    await r.done;
    assert.equal(r.code(), ExitCode.GENERAL_FAILURE);
    assert.ok(r.err.some((l) => /^Stopping: Adjustment of 5\.000 seconds exceeds the allowed maximum of 1\.000 seconds \(exiting\)$/.test(l)), r.err.join('\n'));
  });
});

async function waitFor(pred: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The lock a refused start must never reach: taking it is the last step before a SystemClock is created. */
const NO_LOCK = (): never => { throw new Error('the daemon went on to take the system clock'); };

test('--clock system refuses in a container (fake probe), with the FAQ\'s reason, and never reaches the clock', async () => {
  await withDir(async (dir) => {
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `server 192.0.2.1 iburst\ncontrolsocket ${dir}/s.sock\nbindcmdaddress /\ncmdport 0\n`);
    const docker = { exists: (p: string) => p === '/.dockerenv', readFile: () => undefined, env: {}, platform: 'linux' as const };
    const r = start(['-f', conf, '--clock', 'system'], {
      chooseClock: () => ({ ok: true, kind: 'system', reason: 'test', warnings: [] }),
      ownership: () => checkClockOwnership({ environment: docker, processes: { pids: () => [], comm: () => undefined, cmdline: () => undefined, exe: () => undefined, cgroup: () => undefined, self: 1 }, kernel: () => { throw new Error('not read in tests'); }, lockPath: join(dir, 'none.pid') }),
      lock: NO_LOCK,
    });
    await r.done;
    assert.equal(r.code(), ExitCode.GENERAL_FAILURE);
    const text = r.err.join('\n');
    assert.match(text, /not started: Refusing to discipline the system clock/);
    assert.match(text, /this is a container \(docker: \/\.dockerenv exists\)\. A container shares the host kernel's clock/);
    assert.match(text, /--force/);
    await assert.rejects(access(join(dir, 's.sock')), 'no control socket');
  });
});

test('--clock system refuses while chronyd runs (fake /proc), naming its PID and how to disable it', async () => {
  await withDir(async (dir) => {
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `server 192.0.2.1 iburst\ncontrolsocket ${dir}/s.sock\nbindcmdaddress /\ncmdport 0\n`);
    const procs = {
      pids: () => [1, 700], self: 1,
      comm: (p: number) => (p === 700 ? 'chronyd' : 'init'),
      cmdline: (p: number) => (p === 700 ? ['/usr/sbin/chronyd', '-F', '1'] : ['/sbin/init']),
      exe: () => undefined,
      cgroup: (p: number) => (p === 700 ? '0::/system.slice/chronyd.service\n' : undefined),
    };
    const host = { exists: () => false, readFile: () => undefined, env: {}, platform: 'linux' as const };
    const r = start(['-f', conf, '--clock', 'system'], {
      chooseClock: () => ({ ok: true, kind: 'system', reason: 'test', warnings: [] }),
      ownership: () => checkClockOwnership({ environment: host, processes: procs, kernel: () => { throw new Error('not read in tests'); }, lockPath: join(dir, 'none.pid') }),
      lock: NO_LOCK,
    });
    await r.done;
    assert.equal(r.code(), ExitCode.GENERAL_FAILURE);
    assert.match(r.err.join('\n'), /chronyd is running \(PID 700, unit chronyd\.service: \/usr\/sbin\/chronyd -F 1\); stop and disable it with: systemctl disable --now chronyd/);
  });
});

test('--clock virtual skips the ownership checks: they are about the system clock only', async () => {
  await withDir(async (dir) => {
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `server 192.0.2.1 iburst\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\n`);
    const r = start(['-f', conf, '--clock', 'virtual'], { ownership: () => { throw new Error('asked'); }, lock: NO_LOCK });
    await whileRunning(r, async () => {
      r.signals.emit('SIGTERM');
      await r.done;
    });
    assert.equal(r.code(), ExitCode.OK, r.err.join('\n'));
  });
});
