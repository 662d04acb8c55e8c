import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonCommand } from '../cli/daemon-command.js';
import { ExitCode } from '../cli/exit-codes.js';
import { fetchSnapshot } from '../control/commands.js';
import { SOURCE_DEFAULTS } from '../core/engine/source-options.js';
import type { SyncDaemon } from '../daemon/sync-daemon.js';
import { DEFAULT_CONTROLSOCKET } from './config.js';
import {
  BUILT_IN_CONFIG_NAME, builtInConfigText, defaultClientSocketPath, defaultUserSocketPath, SEED_SERVERS,
} from './default-config.js';
import { loadConfig, parseConfigText } from './parse-config.js';
import { PUBLIC_SERVERS, type ServerSet, serversOf, VPC_SERVERS } from './server-set.js';

const seedOptions = (host: string) => ({ ...SOURCE_DEFAULTS, kind: 'server', host, minpoll: 4, maxpoll: 10, iburst: true });

test('the seed servers are those of seed 000\'s chrony.conf (seed 001\'s VPC column plus ntp.cloud.aliyuncs.com)', () => {
  assert.deepEqual([...SEED_SERVERS], ['ntp.cloud.aliyuncs.com', ...[7, 8, 9, 10, 11, 12].map((n) => `ntp${n}.cloud.aliyuncs.com`)]);
});

test('socket path: root gets /run/ntpkit, a user $XDG_RUNTIME_DIR/ntpkit, else /tmp/ntpkit-<uid>', () => {
  assert.equal(defaultUserSocketPath({ uid: 0, env: { XDG_RUNTIME_DIR: '/run/user/0' } }), DEFAULT_CONTROLSOCKET);
  assert.equal(defaultUserSocketPath({ uid: 1000, env: { XDG_RUNTIME_DIR: '/run/user/1000' } }), '/run/user/1000/ntpkit/ntpkit.sock');
  assert.equal(defaultUserSocketPath({ uid: 1000, env: {} }), '/tmp/ntpkit-1000/ntpkit.sock');
  // The XDG spec: a relative XDG_RUNTIME_DIR is invalid and ignored.
  assert.equal(defaultUserSocketPath({ uid: 1000, env: { XDG_RUNTIME_DIR: 'run/user' } }), '/tmp/ntpkit-1000/ntpkit.sock');
  assert.equal(defaultUserSocketPath({ uid: undefined, env: {} }), join(tmpdir(), 'ntpkit', 'ntpkit.sock'));
  // Clients prefer the system socket when a packaged daemon made it.
  assert.equal(defaultClientSocketPath(() => true, { uid: 1000, env: {} }), DEFAULT_CONTROLSOCKET);
  assert.equal(defaultClientSocketPath(() => false, { uid: 1000, env: {} }), '/tmp/ntpkit-1000/ntpkit.sock');
});

test('the built-in configuration loads with no error and no warning: either server set, no drift file, no makestep, loopback HTTP', () => {
  const cases: [string, readonly string[]][] = [
    [builtInConfigText(), PUBLIC_SERVERS],
    [builtInConfigText('/tmp/ntpkit-1000/ntpkit.sock', 'public'), PUBLIC_SERVERS],
    [builtInConfigText('/tmp/ntpkit-1000/ntpkit.sock', 'vpc'), VPC_SERVERS],
  ];
  for (const [text, servers] of cases) {
    const r = parseConfigText(text, BUILT_IN_CONFIG_NAME, { format: 'chrony' });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, []);
    const c = r.config;
    assert.ok(c);
    assert.deepEqual(c.sources.map((s) => s.options), servers.map(seedOptions));
    assert.equal(c.driftfile, null);
    assert.deepEqual(c.discipline.makestep, parseConfigText('', 'empty', { format: 'chrony' }).config?.discipline.makestep, 'chrony\'s default: never step');
    assert.deepEqual(c.httpaddress, { address: '127.0.0.1', port: 9473 });
    assert.equal(c.server.access.length, 0, 'serves no NTP, so it needs no port 123');
  }
  assert.equal(parseConfigText(builtInConfigText(), BUILT_IN_CONFIG_NAME).config?.controlsocket, defaultUserSocketPath());
  assert.equal(parseConfigText(builtInConfigText('/tmp/x/s.sock'), BUILT_IN_CONFIG_NAME).config?.controlsocket, '/tmp/x/s.sock');
});

test('contrib/ntpkit.conf, the packaged default, loads with no error and no warning; the public set is active, the VPC set one uncommenting away', async () => {
  const file = fileURLToPath(new URL('../../contrib/ntpkit.conf', import.meta.url));
  const r = await loadConfig(file);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, []);
  const c = r.config;
  assert.ok(c);
  assert.equal(c.format, 'chrony');
  assert.deepEqual(c.sources.map((s) => s.options), PUBLIC_SERVERS.map(seedOptions));
  const text = await readFile(file, 'utf8');
  const uncommented = text.replace(/^server .*\n/gm, '').replace(/^#(server .*cloud\.aliyuncs\.com.*)$/gm, '$1');
  const vpc = parseConfigText(uncommented, file, { format: 'chrony' });
  assert.deepEqual(vpc.errors, []);
  assert.deepEqual(vpc.config?.sources.map((s) => s.options), VPC_SERVERS.map(seedOptions));
  assert.equal(c.driftfile, '/var/lib/ntpkit/ntpkit.drift');
  assert.deepEqual(c.discipline.makestep, { threshold: 1, limit: 3 });
  assert.equal(c.controlsocket, '/run/ntpkit/ntpkit.sock');
  assert.equal(c.logdir, '/var/log/ntpkit');
  assert.deepEqual(c.httpaddress, { address: '127.0.0.1', port: 9473 });
  assert.equal(c.leapsectz, 'right/UTC');
  assert.equal(c.server.access.length, 0, 'a client only: it serves no NTP');
});

/** A fake root whose /sys/class/dmi/id holds these fields. */
async function fakeDmiRoot(dir: string, fields: Record<string, string>): Promise<string> {
  const id = join(dir, 'root', 'sys', 'class', 'dmi', 'id');
  await mkdir(id, { recursive: true });
  for (const [k, v] of Object.entries(fields)) await writeFile(join(id, k), `${v}\n`);
  return join(dir, 'root');
}

async function runBuiltIn(args: string[], expected: ServerSet, firstLine: (sock: string, dmi: string) => string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-builtin-'));
  const err: string[] = [];
  let code: number | undefined;
  const signals = new EventEmitter();
  let started: (d: SyncDaemon) => void = () => {};
  const running = new Promise<SyncDaemon>((r) => { started = r; });
  try {
    const sock = join(dir, 'ntpkit.sock');
    const dmiRoot = await fakeDmiRoot(dir, { sys_vendor: 'Alibaba Cloud', product_name: 'Alibaba Cloud ECS' });
    const cmd = daemonCommand({ out: () => {}, err: (t) => err.push(t), setExitCode: (c) => { code = c; } }, {
      signals: signals as unknown as Pick<NodeJS.Process, 'on' | 'off'>,
      // No DNS in tests: every server name stays unresolved, as when offline.
      resolve: async (h) => { throw Object.assign(new Error(`no DNS in tests (${h})`), { code: 'EAI_AGAIN' }); },
      chooseClock: () => ({ ok: true, kind: 'virtual', reason: 'test', warnings: [] }),
      timestamps: false,
      // This test's own socket, and HTTP on a free port (the test must not take 9473 from anyone).
      builtInConfig: (set) => builtInConfigText(sock, set).replace(/^httpaddress 127\.0\.0\.1$/m, 'httpaddress 127.0.0.1 0'),
      dmiRoot,
      onStarted: (d) => started(d),
    }).exitOverride();
    const done = cmd.parseAsync(['--clock', 'virtual', ...args], { from: 'user' });
    // A daemon that ends without starting fails the test instead of leaving it waiting.
    await Promise.race([running, done.then(() => { throw new Error(`the daemon ended without starting (exit ${code}):\n${err.join('\n')}`); })]);
    assert.equal(err[0], firstLine(sock, join(dmiRoot, 'sys/class/dmi/id')), err.join('\n'));
    assert.equal(err[1], `(--servers ${expected === 'vpc' ? 'public' : 'vpc'} picks the other set; -f FILE gives another configuration)`);
    const snap = await fetchSnapshot(sock, { timeoutMs: 2000 });
    assert.deepEqual(snap.sources.map((s) => s.name), [...serversOf(expected)]);
    signals.emit('SIGHUP');
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(err.some((l) => l === 'Reloading the built-in configuration (SIGHUP)'), err.join('\n'));
    assert.deepEqual((await fetchSnapshot(sock, { timeoutMs: 2000 })).sources.map((s) => s.name), [...serversOf(expected)], 'a reload keeps the set');
    signals.emit('SIGTERM');
    await done;
    assert.equal(code, ExitCode.OK, err.join('\n'));
  } finally {
    signals.emit('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

test('ntpkit daemon without -f on an Alibaba Cloud instance runs the VPC set, and its first log line says why', async () => {
  await runBuiltIn([], 'vpc', (sock, dmi) => `Using the built-in configuration: Alibaba Cloud's VPC-internal NTP servers (ntp.cloud.aliyuncs.com and 6 more), because ${dmi}/sys_vendor says "Alibaba Cloud": an instance of Alibaba Cloud, whose VPC endpoints answer only inside its cloud; control socket ${sock}`);
});

test('ntpkit daemon --servers public overrides the detection', async () => {
  await runBuiltIn(['--servers', 'public'], 'public', (sock) => `Using the built-in configuration: Alibaba Cloud's public NTP servers (ntp.aliyun.com and 7 more), because --servers public was given; control socket ${sock}`);
});

test('ntpkit daemon: --servers with -f is a usage error (the file names its servers)', async () => {
  const err: string[] = [];
  let code: number | undefined;
  const cmd = daemonCommand({ out: () => {}, err: (t) => err.push(t), setExitCode: (c) => { code = c; } }).exitOverride();
  await cmd.parseAsync(['-f', '/etc/chrony/chrony.conf', '--servers', 'vpc'], { from: 'user' });
  assert.equal(code, ExitCode.USAGE);
  assert.deepEqual(err, ['ntpkit daemon: --servers chooses the built-in configuration\'s servers; /etc/chrony/chrony.conf names its own']);
});
