import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
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
  BUILT_IN_CONFIG_NAME, BUILT_IN_CONFIG_TEXT, builtInConfigText, defaultClientSocketPath, defaultUserSocketPath, SEED_SERVERS,
} from './default-config.js';
import { loadConfig, parseConfigText } from './parse-config.js';

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

test('the built-in configuration loads with no error and no warning: seven seed servers, no drift file, no makestep, loopback HTTP', () => {
  for (const text of [BUILT_IN_CONFIG_TEXT, builtInConfigText('/tmp/ntpkit-1000/ntpkit.sock')]) {
    const r = parseConfigText(text, BUILT_IN_CONFIG_NAME, { format: 'chrony' });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, []);
    const c = r.config;
    assert.ok(c);
    assert.deepEqual(c.sources.map((s) => s.options), SEED_SERVERS.map(seedOptions));
    assert.equal(c.driftfile, null);
    assert.deepEqual(c.discipline.makestep, parseConfigText('', 'empty', { format: 'chrony' }).config?.discipline.makestep, 'chrony\'s default: never step');
    assert.deepEqual(c.httpaddress, { address: '127.0.0.1', port: 9473 });
    assert.equal(c.server.access.length, 0, 'serves no NTP, so it needs no port 123');
  }
  assert.equal(parseConfigText(BUILT_IN_CONFIG_TEXT, BUILT_IN_CONFIG_NAME).config?.controlsocket, defaultUserSocketPath());
  assert.equal(parseConfigText(builtInConfigText('/tmp/x/s.sock'), BUILT_IN_CONFIG_NAME).config?.controlsocket, '/tmp/x/s.sock');
});

test('contrib/ntpkit.conf, the packaged default, loads with no error and no warning', async () => {
  const r = await loadConfig(fileURLToPath(new URL('../../contrib/ntpkit.conf', import.meta.url)));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, []);
  const c = r.config;
  assert.ok(c);
  assert.equal(c.format, 'chrony');
  assert.deepEqual(c.sources.map((s) => s.options), SEED_SERVERS.map(seedOptions));
  assert.equal(c.driftfile, '/var/lib/ntpkit/ntpkit.drift');
  assert.deepEqual(c.discipline.makestep, { threshold: 1, limit: 3 });
  assert.equal(c.controlsocket, '/run/ntpkit/ntpkit.sock');
  assert.equal(c.logdir, '/var/log/ntpkit');
  assert.deepEqual(c.httpaddress, { address: '127.0.0.1', port: 9473 });
  assert.equal(c.leapsectz, 'right/UTC');
  assert.equal(c.server.access.length, 0, 'a client only: it serves no NTP');
});

test('ntpkit daemon without -f runs the built-in configuration and says so', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-builtin-'));
  const err: string[] = [];
  let code: number | undefined;
  const signals = new EventEmitter();
  let started: (d: SyncDaemon) => void = () => {};
  const running = new Promise<SyncDaemon>((r) => { started = r; });
  try {
    const sock = join(dir, 'ntpkit.sock');
    // This test's own socket, and HTTP on a free port (the test must not take 9473 from anyone).
    const text = builtInConfigText(sock).replace(/^httpaddress 127\.0\.0\.1$/m, 'httpaddress 127.0.0.1 0');
    const cmd = daemonCommand({ out: () => {}, err: (t) => err.push(t), setExitCode: (c) => { code = c; } }, {
      signals: signals as unknown as Pick<NodeJS.Process, 'on' | 'off'>,
      // No DNS in tests: every seed name stays unresolved, as when offline.
      resolve: async (h) => { throw Object.assign(new Error(`no DNS in tests (${h})`), { code: 'EAI_AGAIN' }); },
      chooseClock: () => ({ ok: true, kind: 'virtual', reason: 'test', warnings: [] }),
      timestamps: false,
      builtInConfig: text,
      onStarted: (d) => started(d),
    }).exitOverride();
    const done = cmd.parseAsync(['--clock', 'virtual'], { from: 'user' });
    await running;
    assert.ok(err.some((l) => l.startsWith(`Using the built-in configuration (7 servers from ntp.cloud.aliyuncs.com and 6 more; control socket ${sock})`)), err.join('\n'));
    const snap = await fetchSnapshot(sock, { timeoutMs: 2000 });
    assert.deepEqual(snap.sources.map((s) => s.name), [...SEED_SERVERS]);
    signals.emit('SIGHUP');
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(err.some((l) => l === 'Reloading the built-in configuration (SIGHUP)'), err.join('\n'));
    signals.emit('SIGTERM');
    await done;
    assert.equal(code, ExitCode.OK, err.join('\n'));
  } finally {
    signals.emit('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
});
