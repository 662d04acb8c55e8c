/**
 * What must work where the native addon is missing (macOS, Windows, a failed
 * build), checked on Linux by hiding the addon with NTPKIT_NATIVE=off in
 * child processes of this build tree's CLI: `query`, `check -H` and `fleet`
 * against chronyd, and `daemon --clock virtual` synchronizing to chronyd servers and
 * answering `tracking` and `check`. `--clock system` must refuse, naming the
 * missing addon.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ChronydServer, findTool, type LoopbackBlock, type ManagedProcess, requireTool, reserveLoopbackBlock, runToCompletion, spawnManaged,
  startChronydServer,
} from '../testing/index.js';

const OFF = { NTPKIT_NATIVE: 'off' } as const;
const MAIN = new URL('./main.js', import.meta.url).href;
const SCRIPT = `import { run } from ${JSON.stringify(MAIN)}; process.exitCode = await run(process.argv.slice(1));`;
const CWD = fileURLToPath(new URL('.', import.meta.url));

let block: LoopbackBlock | undefined;
let servers: ChronydServer[] = [];
before(async () => { block = await reserveLoopbackBlock('portability.test', 3); });
after(async () => {
  for (const s of servers) await s.stop();
  servers = [];
  block?.release();
});

/** `ntpkit ARGS` from this build tree in a child process with the addon hidden (bin/ntpkit.js does the same over dist/). */
function ntpkit(args: readonly string[], timeoutMs = 30_000): ReturnType<typeof runToCompletion> {
  return runToCompletion(process.execPath, ['--input-type=module', '-e', SCRIPT, ...args], { env: OFF, cwd: CWD, timeoutMs });
}

async function chronydServers(): Promise<string[]> {
  const addrs = (block as LoopbackBlock).addresses;
  if (servers.length === 0) for (const address of addrs) servers.push(await startChronydServer({ address }));
  return [...addrs];
}

test('NTPKIT_NATIVE=off: query works over node:dgram with the hrtime clock, and says why', { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const [a, b, c] = await chronydServers() as [string, string, string];
  const r = await ntpkit(['query', '--json', '-n', '2', '-i', '0.2', a, b, c]);
  assert.equal(r.status.code, 0, r.stdout + r.stderr);
  const doc = JSON.parse(r.stdout) as { clockSource: string; clockSourceReason?: string; transport: string; transportReason?: string; servers: { offset?: number; error?: unknown }[] };
  assert.equal(doc.clockSource, 'hrtime-calibrated');
  assert.match(doc.clockSourceReason ?? '', /NTPKIT_NATIVE=off/);
  assert.equal(doc.transport, 'dgram');
  assert.equal(doc.servers.length, 3);
  const text = await ntpkit(['query', '-n', '1', a]);
  assert.equal(text.status.code, 0, text.stderr);
  assert.match(text.stdout, /calibrated hrtime \(The native clock addon is disabled by NTPKIT_NATIVE=off/);
});

test('NTPKIT_NATIVE=off: fleet queries every host over node:dgram and finds the consensus', { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const hosts = await chronydServers();
  const r = await ntpkit(['fleet', '--json', '-q', ...hosts]);
  assert.equal(r.status.code, 0, r.stdout + r.stderr);
  const doc = JSON.parse(r.stdout) as { status: string; transport: string; transportReason?: string; consensus: { ok: boolean }; summary: { answered: number } };
  assert.equal(doc.status, 'OK');
  assert.equal(doc.transport, 'dgram');
  assert.match(doc.transportReason ?? '', /NTPKIT_NATIVE=off/);
  assert.equal(doc.consensus.ok, true);
  assert.equal(doc.summary.answered, hosts.length);
});

test('NTPKIT_NATIVE=off: check -H is OK against chronyd, CRITICAL with a tight threshold', { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const [a] = await chronydServers() as [string];
  const ok = await ntpkit(['check', '-H', a]);
  assert.equal(ok.status.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^NTP OK: Offset -?0\.\d+ secs, stratum 1, /);
  // @0:1000 alerts on any offset within 1000 s: CRITICAL whatever the fallback clock's error.
  const crit = await ntpkit(['check', '-H', a, '-c', '@0:1000']);
  assert.equal(crit.status.code, 2, crit.stdout + crit.stderr);
});

test('NTPKIT_NATIVE=off: daemon --clock virtual synchronizes to chronyd and answers tracking and check', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const addrs = await chronydServers();
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-portability-'));
  let daemon: ManagedProcess | undefined;
  try {
    const sock = join(dir, 'ntpkit.sock');
    await writeFile(join(dir, 'chrony.conf'), `${addrs.map((s) => `server ${s} minpoll 0 maxpoll 2 iburst`).join('\n')}\ncontrolsocket ${sock}\nbindcmdaddress /\ncmdport 0\n`);
    daemon = await spawnManaged(process.execPath, ['--input-type=module', '-e', SCRIPT, 'daemon', '-f', join(dir, 'chrony.conf'), '--clock', 'virtual'], { env: OFF, cwd: CWD });
    const started = Date.now();
    let check = await ntpkit(['check', '-s', sock]);
    while (check.status.code !== 0 && Date.now() - started < 60_000) {
      if (daemon.exitStatus() !== undefined) assert.fail(`the daemon exited: ${daemon.logs()}`);
      await new Promise((r) => setTimeout(r, 1000));
      check = await ntpkit(['check', '-s', sock]);
    }
    assert.equal(check.status.code, 0, `not synchronized within 60 s: ${check.stdout}${check.stderr}\n${daemon.logs()}`);
    // Synchronized means a majority of the three agrees; on a loaded machine the third may still be settling.
    assert.match(check.stdout, /^NTP OK: .*[23] sources selectable/);
    const tracking = await ntpkit(['tracking', '--socket', sock]);
    assert.equal(tracking.status.code, 0, tracking.stderr);
    assert.match(tracking.stdout, /^Reference ID +: [0-9A-F]{8} \(127\./m);
    assert.match(tracking.stdout, /^Leap status +: Normal$/m);
    assert.match(daemon.logs(), /Disciplining the virtual clock: --clock virtual/);
    assert.deepEqual(await daemon.stop(5000), { code: 0, signal: null }, daemon.logs());
  } finally {
    await daemon?.stop(3000);
    await rm(dir, { recursive: true, force: true });
  }
});

test('NTPKIT_NATIVE=off: daemon --clock system refuses and names the missing addon', { timeout: 30_000 }, async (t) => {
  // Belt and braces: the child also loses CAP_SYS_TIME, so even a broken switch could not touch this machine's clock.
  const setpriv = findTool('setpriv');
  const root = process.getuid?.() === 0;
  if (root && setpriv === undefined) {
    t.skip('running as root without setpriv to drop CAP_SYS_TIME from the child');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-portability-'));
  try {
    await writeFile(join(dir, 'chrony.conf'), `server 192.0.2.1\ncontrolsocket ${join(dir, 'ntpkit.sock')}\nbindcmdaddress /\ncmdport 0\n`);
    const args = ['--input-type=module', '-e', SCRIPT, 'daemon', '-f', join(dir, 'chrony.conf'), '--clock', 'system'];
    const r = root
      ? await runToCompletion(setpriv as string, ['--bounding-set', '-sys_time', '--inh-caps', '-sys_time', '--', process.execPath, ...args], { env: OFF, cwd: CWD, timeoutMs: 20_000 })
      : await runToCompletion(process.execPath, args, { env: OFF, cwd: CWD, timeoutMs: 20_000 });
    assert.equal(r.timedOut, false, r.stderr);
    assert.equal(r.status.code, 1, r.stderr);
    assert.match(r.stderr, /ntpkit daemon: not started: The native clock addon is disabled by NTPKIT_NATIVE=off .*; use --clock virtual/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
