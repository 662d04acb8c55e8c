import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnvironmentProbe } from './environment.js';
import { decodeTimex, type KernelTimeStatus, STATUS_FLAGS } from './kernel-status.js';
import type { RawTimex } from './native.js';
import {
  acquireClockLock, checkClockOwnership, claimSystemClock, clockLockPath, DEFAULT_CLOCK_LOCK, type OwnershipDeps, ownershipRefusal,
} from './ownership.js';
import type { ProcessProbe } from './time-daemons.js';

const IDLE: RawTimex = {
  state: 5, status: STATUS_FLAGS.STA_UNSYNC, offset: 0, freq: 0, maxerror: 16_000_000, esterror: 16_000_000, constant: 2,
  precision: 1, tolerance: 32_768_000, tick: 10_000, tai: 0, timeSec: 0, timeFrac: 0,
  ppsfreq: 0, jitter: 0, shift: 0, stabil: 0, jitcnt: 0, calcnt: 0, errcnt: 0, stbcnt: 0,
};
const idleKernel = (): KernelTimeStatus => decodeTimex(IDLE);
const HOST_ENV: EnvironmentProbe = { exists: () => false, readFile: (p) => (p === '/proc/1/cgroup' ? '0::/init.scope\n' : undefined), env: {}, platform: 'linux' };
const DOCKER_ENV: EnvironmentProbe = { ...HOST_ENV, exists: (p) => p === '/.dockerenv' };

function procs(tree: Record<number, { comm: string; cmdline: string[]; cgroup?: string }>, self = 1000): ProcessProbe {
  return {
    pids: () => Object.keys(tree).map(Number),
    comm: (pid) => tree[pid]?.comm,
    cmdline: (pid) => tree[pid]?.cmdline,
    exe: () => undefined,
    cgroup: (pid) => tree[pid]?.cgroup,
    self,
  };
}

function withTmp(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'ntpkit-own-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const deps = (dir: string, over: Partial<OwnershipDeps> = {}): OwnershipDeps => ({
  processes: procs({ 1: { comm: 'systemd', cmdline: ['/sbin/init'] } }),
  kernel: idleKernel,
  environment: HOST_ENV,
  lockPath: join(dir, 'ntpkit.pid'),
  pidAlive: () => false,
  ...over,
});

test('a quiet host: clear', () => withTmp((dir) => {
  assert.deepEqual(checkClockOwnership(deps(dir)), { clear: true, findings: [], skipped: [] });
}));

test('a running chronyd is a finding that names it, its PID and how to disable it; the refusal says --force', () => withTmp((dir) => {
  const r = checkClockOwnership(deps(dir, { processes: procs({ 812: { comm: 'chronyd', cmdline: ['/usr/sbin/chronyd', '-F', '1'], cgroup: '0::/system.slice/chronyd.service\n' } }) }));
  assert.equal(r.clear, false);
  assert.equal(r.findings.length, 1);
  const text = ownershipRefusal('set the system clock', r);
  assert.match(text, /^Refusing to set the system clock/);
  assert.match(text, /chronyd is running \(PID 812, unit chronyd\.service/);
  assert.match(text, /systemctl disable --now chronyd/);
  assert.match(text, /--force/);
}));

test('in a container: refused with the FAQ\'s reason, whatever else is quiet', () => withTmp((dir) => {
  const r = checkClockOwnership(deps(dir, { environment: DOCKER_ENV }));
  assert.equal(r.clear, false);
  assert.equal(r.findings[0]?.kind, 'container');
  assert.match(r.findings[0]?.message ?? '', /container \(docker: \/\.dockerenv exists\)\. A container shares the host kernel's clock/);
  assert.match(r.findings[0]?.message ?? '', /virtual clock/);
}));

test('the kernel\'s state counts when no process explains it (a daemon outside our PID namespace), and is skipped when unreadable', () => withTmp((dir) => {
  const synced = (): KernelTimeStatus => decodeTimex({ ...IDLE, state: 0, status: 0, maxerror: 30_000 });
  const r = checkClockOwnership(deps(dir, { kernel: synced }));
  assert.deepEqual(r.findings.map((f) => f.kind), ['kernel']);
  // A daemon already named explains the kernel state: one finding, not two.
  const both = checkClockOwnership(deps(dir, { kernel: synced, processes: procs({ 5: { comm: 'chronyd', cmdline: ['chronyd'] } }) }));
  assert.deepEqual(both.findings.map((f) => f.kind), ['process']);
  const unreadable = checkClockOwnership(deps(dir, { kernel: () => { throw new Error('the native addon is unavailable'); } }));
  assert.equal(unreadable.clear, true);
  assert.match(unreadable.skipped[0] ?? '', /adjtimex state was not checked: the native addon is unavailable/);
}));

test('a lock file held by a live PID is another ntpkit; a dead one is not', () => withTmp((dir) => {
  writeFileSync(join(dir, 'ntpkit.pid'), '31337\n');
  const live = checkClockOwnership(deps(dir, { pidAlive: (p) => p === 31337 }));
  assert.deepEqual(live.findings.map((f) => f.kind), ['lock']);
  assert.match(live.findings[0]?.message ?? '', /another ntpkit \(PID 31337\) holds .*ntpkit\.pid/);
  assert.equal(checkClockOwnership(deps(dir)).clear, true);
}));

test('acquireClockLock: exclusive, records the PID, recovers a stale lock, releases only its own', () => withTmp((dir) => {
  const path = join(dir, 'sub', 'ntpkit.pid');
  const a = acquireClockLock(path, () => true, 111);
  assert.ok(a.ok);
  assert.equal(readFileSync(path, 'utf8'), '111\n');
  const b = acquireClockLock(path, (p) => p === 111, 222);
  assert.ok(!b.ok);
  assert.equal(b.pid, 111);
  assert.match(b.message, /another ntpkit \(PID 111\) holds/);
  // 111 died without releasing: 222 takes the stale lock.
  const c = acquireClockLock(path, () => false, 222);
  assert.ok(c.ok);
  assert.equal(readFileSync(path, 'utf8'), '222\n');
  a.release(); // not 111's any more: left alone
  assert.equal(readFileSync(path, 'utf8'), '222\n');
  c.release();
  assert.equal(existsSync(path), false);
  // Garbage in the lock (a crash mid-write elsewhere) is stale too.
  writeFileSync(path, 'not a pid');
  const d = acquireClockLock(path, () => true, 333);
  assert.ok(d.ok);
  d.release();
}));

test('acquireClockLock: a directory it cannot create is reported, not thrown', () => withTmp((dir) => {
  writeFileSync(join(dir, 'file'), '');
  const r = acquireClockLock(join(dir, 'file', 'ntpkit.pid'));
  assert.ok(!r.ok);
  assert.equal(r.pid, null);
  assert.match(r.message, /Cannot create/);
}));

test('claimSystemClock: refuses on findings, --force logs what it overrides and takes the lock', () => withTmp((dir) => {
  const lockPath = join(dir, 'ntpkit.pid');
  const findings = () => checkClockOwnership(deps(dir, { environment: DOCKER_ENV }));
  const logs: string[] = [];
  const refused = claimSystemClock({ force: false, log: (l) => logs.push(l), check: findings, lock: () => acquireClockLock(lockPath) });
  assert.ok(!refused.ok);
  assert.match(refused.message, /Refusing to discipline the system clock/);
  assert.equal(existsSync(lockPath), false, 'no lock taken on refusal');
  const forced = claimSystemClock({ force: true, log: (l) => logs.push(l), check: findings, lock: () => acquireClockLock(lockPath) });
  assert.ok(forced.ok);
  assert.match(logs.join('\n'), /Warning: --force: overriding 1 finding: this is a container/);
  assert.equal(readFileSync(lockPath, 'utf8'), `${process.pid}\n`);
  forced.lock?.release();
  assert.equal(existsSync(lockPath), false);
  // Held by another live ntpkit: refused even when nothing else was found.
  writeFileSync(lockPath, '1\n');
  const held = claimSystemClock({ force: false, log: () => {}, check: () => ({ clear: true, findings: [], skipped: [] }), lock: () => acquireClockLock(lockPath, () => true) });
  assert.ok(!held.ok);
  assert.match(held.message, /PID 1/);
}));

test('clockLockPath: NTPKIT_LOCK_FILE, else /run/ntpkit/ntpkit.pid', () => {
  assert.equal(clockLockPath({}), DEFAULT_CLOCK_LOCK);
  assert.equal(clockLockPath({ NTPKIT_LOCK_FILE: '/tmp/x.pid' }), '/tmp/x.pid');
});

test('acquireClockLock (also the pidfile directive): a symlink planted at its temp file name is removed, not written through', () => withTmp((dir) => {
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'precious\n');
  const path = join(dir, 'ntpkit.pid');
  symlinkSync(victim, `${path}.4242.tmp`);
  const lock = acquireClockLock(path, () => false, 4242);
  assert.equal(lock.ok, true);
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  assert.equal(readFileSync(path, 'utf8'), '4242\n');
  if (lock.ok) lock.release();
}));
