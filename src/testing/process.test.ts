import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { liveChildPids, pidAlive, runToCompletion, spawnManaged } from './process.js';
import { findTool } from './tools.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('stop() ends the process by PID and waits until it is gone', async () => {
  const p = await spawnManaged('/bin/sh', ['-c', 'echo started; exec sleep 30']);
  try {
    assert.ok(pidAlive(p.pid));
    assert.ok(liveChildPids().includes(p.pid));
    while (!p.logs().includes('started')) await sleep(10);
    const status = await p.stop();
    assert.equal(status.signal, 'SIGTERM');
    assert.equal(pidAlive(p.pid), false);
    assert.equal(liveChildPids().includes(p.pid), false);
    assert.match(p.logs(), /^started$/m);
    assert.deepEqual(await p.stop(), status, 'stop() is idempotent');
  } finally {
    await p.stop();
  }
});

test('a process that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
  const p = await spawnManaged('/bin/sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done']);
  try {
    while (!p.logs().includes('ready')) await sleep(10);
    const t0 = Date.now();
    const status = await p.stop(300);
    assert.equal(status.signal, 'SIGKILL');
    assert.ok(Date.now() - t0 >= 250, 'waited for the grace period first');
    assert.equal(pidAlive(p.pid), false);
  } finally {
    await p.stop();
  }
});

test('stop() after the process died on its own resolves with its exit status', async () => {
  const p = await spawnManaged('/bin/sh', ['-c', 'exit 7']);
  const st = await p.exited;
  assert.deepEqual(st, { code: 7, signal: null });
  assert.deepEqual(await p.stop(), st);
});

test('runToCompletion kills a program that overruns its time limit', async () => {
  const t0 = Date.now();
  const r = await runToCompletion('/bin/sleep', ['30'], { timeoutMs: 200 });
  assert.equal(r.timedOut, true);
  assert.equal(r.status.signal, 'SIGKILL');
  assert.ok(Date.now() - t0 < 5000);
});

test('children die with the test process (setpriv --pdeathsig), even when it is SIGKILLed', async (t) => {
  if (!findTool('setpriv')) {
    t.skip('util-linux setpriv not installed: only the exit hook protects against leaks');
    return;
  }
  // A separate node process starts a child through the harness, prints its PID, then is killed -9.
  const harness = new URL('./process.js', import.meta.url).href;
  const script = `import { spawnManaged } from ${JSON.stringify(harness)};
    const p = await spawnManaged('/bin/sleep', ['30']);
    console.log(p.pid);
    setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let grandchild = 0;
  try {
    grandchild = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      parent.once('exit', () => reject(new Error('parent exited early')));
    });
    assert.ok(pidAlive(grandchild));
    parent.kill('SIGKILL');
    const deadline = Date.now() + 3000;
    while (pidAlive(grandchild) && Date.now() < deadline) await sleep(20);
    assert.equal(pidAlive(grandchild), false, 'the grandchild outlived its parent');
  } finally {
    parent.kill('SIGKILL');
    if (grandchild && pidAlive(grandchild)) process.kill(grandchild, 'SIGKILL');
  }
});
