import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { requireTool } from './tools.js';
import { pidAlive } from './process.js';
import {
  UML_REQUIRED_ENV,
  assertUmlGuest,
  cleanupStaleUmlNamespaces,
  namespaceExists,
  requireUml,
  runInUml,
  umlUnavailableReason,
} from './uml.js';

test('requireUml skips with the reason, or fails under NTPKIT_REQUIRE_UML=1', () => {
  const why = umlUnavailableReason();
  const saved = process.env[UML_REQUIRED_ENV];
  try {
    let skipped: string | undefined;
    const t = { skip: (m?: string) => void (skipped = m ?? '') };
    delete process.env[UML_REQUIRED_ENV];
    assert.equal(requireUml(t), why === undefined);
    assert.equal(skipped, why);
    process.env[UML_REQUIRED_ENV] = '1';
    if (why === undefined) assert.equal(requireUml(t), true);
    else assert.throws(() => requireUml(t), /NTPKIT_REQUIRE_UML=1 requires the UML tests/);
  } finally {
    if (saved === undefined) delete process.env[UML_REQUIRED_ENV];
    else process.env[UML_REQUIRED_ENV] = saved;
  }
});

test('assertUmlGuest refuses to run on the host', () => {
  assert.throws(() => assertUmlGuest(), /not a User-mode Linux guest/);
});

test('a guest runs the command with its env, exit code and output; chronyd on the host side of the tap answers ntpdig', async (t) => {
  if (!requireUml(t) || !requireTool(t, 'chronyd', 'ntpdig')) return;
  // One boot for several checks: (d) the route to the host-side chronyd that
  // the end-to-end tests will use, the guest's network, and the plumbing.
  const script = [
    'ip -4 -o addr show dev eth0',
    'echo "guest env: $GREETING $NTPKIT_UML_GUEST"',
    'grep -m1 "^vendor_id" /proc/cpuinfo',
    'ntpdig -j -t 2 192.168.77.1',
    `${process.execPath} -e 'console.log("node in guest", process.version)'`,
    'exit 3',
  ].join('\n');
  const r = await runInUml({ command: ['/bin/sh', '-c', script], env: { GREETING: "it's me" }, chronyd: true, timeoutMs: 60_000 });
  t.diagnostic(`boot to init ${r.timings.bootToInitMs} ms, command ${r.timings.commandMs} ms, linux.uml ${r.timings.umlMs} ms, setup to end ${r.timings.totalMs} ms`);
  assert.equal(r.timedOut, false, r.console.slice(-2000));
  assert.equal(r.exitCode, 3, `${r.output}\n--- console ---\n${r.console.slice(-2000)}`);
  assert.equal(r.ok, false);
  assert.match(r.output, /inet 192\.168\.77\.2\/24/);
  assert.match(r.output, /guest env: it's me 1/);
  assert.match(r.output, /vendor_id\s*: User Mode Linux/);
  assert.match(r.output, /node in guest v\d+/);
  // ntpdig's JSON: the host-side chronyd (stratum 1, -x on the host clock) answered over the tap.
  const json = /^\{.*"offset".*\}$/m.exec(r.output);
  assert.ok(json, `no ntpdig reply:\n${r.output}\n--- chronyd ---\n${r.hostLogs}`);
  const reply = JSON.parse(json[0]) as { ip: string; stratum: number; offset: number };
  assert.equal(reply.ip, '192.168.77.1');
  assert.equal(reply.stratum, 1);
  // The guest clock starts as the host's, less what a loaded host makes UML
  // lose while booting (up to 0.4 s seen with two guests booting at once).
  assert.ok(Math.abs(reply.offset) < 1, `offset ${reply.offset}`);
  assert.match(r.hostLogs, /chronyd version/);
  assert.match(r.hostLogs, /Disabled control of system clock/);
  // Teardown: the namespace and the temp dir are gone.
  assert.equal(await namespaceExists(r.namespace), false);
  assert.equal(existsSync(r.dir), false);
  // Boot figures are in the diagnostics; only a gross regression fails here.
  assert.ok(r.timings.bootToInitMs !== null && r.timings.bootToInitMs < 30_000);
});

test('a guest that hangs is killed at the time limit and everything is torn down', async (t) => {
  if (!requireUml(t)) return;
  const started = Date.now();
  const r = await runInUml({ command: ['/bin/sleep', '600'], timeoutMs: 5000, chronyd: false });
  const took = Date.now() - started;
  assert.equal(r.timedOut, true);
  assert.equal(r.exitCode, null);
  assert.equal(r.ok, false);
  assert.ok(took < 15_000, `took ${took} ms`);
  assert.equal(await namespaceExists(r.namespace), false);
  assert.equal(existsSync(r.dir), false);
  // linux.uml leaves no process behind: its pid file was in the (removed) temp dir,
  // so look for any linux.uml whose command line names that dir.
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout;
  const left = ps.split('\n').filter((l) => l.includes(r.dir));
  assert.deepEqual(left, []);
});

test('namespaces left by a dead test process are removed; live ones are not', async (t) => {
  if (!requireUml(t)) return;
  const dead = spawnSync('true').pid;
  assert.ok(dead !== undefined && !pidAlive(dead));
  const stale = `ntpkit-uml-${dead}-1-test`;
  const mine = `ntpkit-uml-${process.pid}-999-test`;
  for (const ns of [stale, mine]) assert.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0);
  try {
    // (Another test process may clean it up first: what counts is that it is gone.)
    await cleanupStaleUmlNamespaces();
    assert.equal(await namespaceExists(stale), false);
    assert.equal(await namespaceExists(mine), true);
  } finally {
    spawnSync('ip', ['netns', 'del', mine]);
    spawnSync('ip', ['netns', 'del', stale]);
  }
});
