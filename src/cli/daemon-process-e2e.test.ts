import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool, type ManagedProcess, pollFor, requireTool, runToCompletion, spawnNtpkit } from '../testing/index.js';

/** No one answers here: these tests are about the process, not synchronization. */
const NOBODY_HOME = '127.0.24.1';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-h14d-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function startDaemon(conf: string): Promise<ManagedProcess> {
  const d = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
  try {
    const started = await pollFor('the daemon to start', () => (/Started with/.test(d.logs()) ? true : d.exitStatus() !== undefined ? false : undefined), 30_000, () => d.logs());
    // Otherwise a test would go on to read /proc of a process that is gone, and fail without saying why.
    assert.ok(started, `the daemon exited before it started (${JSON.stringify(d.exitStatus())}):\n${d.logs()}`);
  } catch (e) {
    await d.stop();
    throw e;
  }
  return d;
}

test('pidfile: written at start, a second daemon refused while the first runs, removed at exit', { timeout: 90_000 }, async () => {
  await withDir(async (dir) => {
    const pidfile = join(dir, 'run', 'ntpkit.pid');
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `server ${NOBODY_HOME} iburst\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\npidfile ${pidfile}\n`);
    const first = await startDaemon(conf);
    let second: ManagedProcess | undefined;
    try {
      assert.equal(await readFile(pidfile, 'utf8'), `${first.pid}\n`);
      second = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
      const status = await pollFor('the second daemon to exit', () => second?.exitStatus(), 30_000, () => second?.logs() ?? '');
      assert.notEqual(status.code, 0, second.logs());
      // chronyd's words: "Another chronyd may already be running (pid=N), check FILE".
      assert.match(second.logs(), new RegExp(`not started: Another ntpkit may already be running \\(pid=${first.pid}\\), check ${pidfile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
      assert.equal(await readFile(pidfile, 'utf8'), `${first.pid}\n`, 'the refused daemon leaves the first one\'s file alone');
    } finally {
      await second?.stop();
      const status = await first.stop();
      assert.equal(status.code, 0, first.logs());
    }
    assert.equal(existsSync(pidfile), false, 'removed at exit');
  });
});

test('pidfile left by a dead process: stale, replaced', { timeout: 60_000 }, async () => {
  await withDir(async (dir) => {
    const pidfile = join(dir, 'ntpkit.pid');
    const conf = join(dir, 'chrony.conf');
    // PID 2^22 + 1 is above pid_max's ceiling: no process can have it.
    await writeFile(pidfile, `${2 ** 22 + 1}\n`);
    await writeFile(conf, `server ${NOBODY_HOME} iburst\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\npidfile ${pidfile}\n`);
    const d = await startDaemon(conf);
    try {
      assert.equal(await readFile(pidfile, 'utf8'), `${d.pid}\n`);
    } finally {
      await d.stop();
    }
  });
});

async function lockedKb(d: ManagedProcess): Promise<number> {
  const status = await readFile(`/proc/${d.pid}/status`, 'utf8').catch((e: unknown) => {
    throw new Error(`reading /proc/${d.pid}/status: ${String(e)}; the daemon ${JSON.stringify(d.exitStatus())}:\n${d.logs()}`);
  });
  const m = /^VmLck:\s+(\d+) kB$/m.exec(status);
  assert.ok(m !== null, 'VmLck in /proc/PID/status');
  return Number(m[1]);
}

test('lock_all: the daemon\'s program and libraries are locked (tens of MB), it runs and exits cleanly (V8 aborts on a locked heap page); without it nothing is', { timeout: 90_000 }, async () => {
  await withDir(async (dir) => {
    for (const lockAll of [true, false]) {
      const conf = join(dir, `${lockAll ? 'locked' : 'plain'}.conf`);
      await writeFile(conf, `server ${NOBODY_HOME} iburst\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\n${lockAll ? 'lock_all\n' : ''}`);
      const d = await startDaemon(conf);
      try {
        if (lockAll) {
          // The program and its libraries are locked whole (node alone is tens of MB), not a token page.
          const kb = await pollFor('locked memory', async () => { const k = await lockedKb(d); return k > 20_000 ? k : undefined; }, 30_000, () => d.logs());
          assert.ok(kb > 20_000, `${kb} kB locked`);
          assert.doesNotMatch(d.logs(), /mlock\(\) failed|setrlimit\(\) failed/);
          // V8 aborts (SIGTRAP) when it releases a locked page of JIT code, at the latest at exit: the
          // code area must have been left unlocked. Work that compiles and frees code, then a clean exit.
          await new Promise((r) => setTimeout(r, 2000));
        } else {
          assert.equal(await lockedKb(d), 0);
        }
      } finally {
        const status = await d.stop();
        assert.deepEqual(status, { code: 0, signal: null }, d.logs());
      }
    }
  });
});

test('hwtimestamp on an interface without hardware timestamping: chronyd 4.3 and ntpkit both refuse to start with "Could not enable HW timestamping on lo"', { timeout: 90_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  await withDir(async (dir) => {
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `server ${NOBODY_HOME} iburst\nbindcmdaddress /\ncmdport 0\nport 0\npidfile ${dir}/chronyd.pid\nhwtimestamp lo\n`);
    const chronyd = await runToCompletion(findTool('chronyd') as string, ['-x', '-d', '-f', conf], { timeoutMs: 30_000 });
    assert.match(chronyd.stderr + chronyd.stdout, /Fatal error : Could not enable HW timestamping on lo\n/);
    const d = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    try {
      const status = await pollFor('ntpkit to exit', () => d.exitStatus(), 30_000, () => d.logs());
      assert.notEqual(status.code, 0);
      assert.match(d.logs(), /ntpkit daemon: not started: Could not enable HW timestamping on lo \(/);
    } finally {
      await d.stop();
    }
  });
});

test('hwtimestamp *: no interface here can, so the daemon runs on kernel software timestamps and says so', { timeout: 90_000 }, async () => {
  await withDir(async (dir) => {
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `server ${NOBODY_HOME} iburst\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\nhwtimestamp *\n`);
    const d = await startDaemon(conf);
    try {
      assert.match(d.logs(), /No HW timestamping on (\S+, )*lo(, \S+)*: using kernel software timestamps/);
    } finally {
      assert.equal((await d.stop()).code, 0, d.logs());
    }
  });
});

/** The scheduling policy and real-time priority of a process's main thread (/proc/PID/stat fields 40 and 41). */
async function schedOf(pid: number): Promise<{ policy: number; rtPriority: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces, start after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rtPriority: Number(f[37]), policy: Number(f[38]) };
}

/** SCHED_FIFO in linux/sched.h. */
const SCHED_FIFO = 1;

test('sched_priority 1: the daemon\'s event loop runs SCHED_FIFO at priority 1; without it, the default policy', { timeout: 90_000 }, async () => {
  await withDir(async (dir) => {
    for (const prio of [1, 0]) {
      const conf = join(dir, `prio${prio}.conf`);
      await writeFile(conf, `server ${NOBODY_HOME} iburst\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\n${prio > 0 ? `sched_priority ${prio}\n` : ''}`);
      const d = await startDaemon(conf);
      try {
        const want = prio > 0 ? { policy: SCHED_FIFO, rtPriority: prio } : { policy: 0, rtPriority: 0 };
        await pollFor('the scheduling', async () => { const s = await schedOf(d.pid); return s.policy === want.policy && s.rtPriority === want.rtPriority ? s : undefined; }, 20_000, () => `${JSON.stringify(want)}\n${d.logs()}`);
        assert.doesNotMatch(d.logs(), /sched_setscheduler\(\) failed/);
      } finally {
        await d.stop();
      }
    }
  });
});
