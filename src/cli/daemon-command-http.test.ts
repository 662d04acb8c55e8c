/**
 * `ntpkit daemon --http` and `httpaddress`: the dashboard and metrics server
 * starts with the daemon, follows reloads only when its address changes, and
 * a port it cannot bind is logged while the daemon keeps running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DaemonSnapshot } from '../core/engine/snapshot.js';
import type { SyncDaemon } from '../daemon/sync-daemon.js';
import type { Instant } from '../time/instant.js';
import { fakeSnapshot } from '../web/test-snapshots.test-helper.js';
import { StubEngine } from './stub-engine.test-helper.js';
import { daemonCommand } from './daemon-command.js';
import { ExitCode } from './exit-codes.js';

/** An engine that sends nothing and reports one falseticker among its sources. */
class QuietEngine extends StubEngine {
  override snapshot(_now: Instant, _clock: DaemonSnapshot['clock']): DaemonSnapshot {
    return fakeSnapshot(this.options.sources.map((_s, i) => ({ id: i + 1, verdict: i === 0 ? 'falseticker' : 'selected' })));
  }
}

function start(args: string[]) {
  const err: string[] = [];
  let code: number | undefined;
  const signals = new EventEmitter();
  let resolveStarted: (d: SyncDaemon) => void = () => {};
  const started = new Promise<SyncDaemon>((r) => { resolveStarted = r; });
  const cmd = daemonCommand({ out: () => {}, err: (t) => err.push(t), setExitCode: (c) => { code = c; } }, {
    signals: signals as unknown as Pick<NodeJS.Process, 'on' | 'off'>,
    createEngine: (o) => new QuietEngine(o),
    resolve: async (h) => { throw new Error(`no DNS in tests (${h})`); },
    chooseClock: () => ({ ok: true, kind: 'virtual', reason: 'test', warnings: [] }),
    timestamps: false,
    onStarted: (d) => resolveStarted(d),
  }).exitOverride();
  const done = cmd.parseAsync(args, { from: 'user' }).then(() => {});
  return { done, err, code: () => code, signals, started };
}

async function withConf(text: string, fn: (conf: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-daemon-http-'));
  try {
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, text);
    await fn(conf);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function waitFor(pred: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const URL_LINE = /^Dashboard and metrics at (http:\/\/127\.0\.0\.1:(\d+)\/)$/;

function urls(err: readonly string[]): string[] {
  return err.flatMap((l) => { const m = URL_LINE.exec(l); return m ? [m[1] as string] : []; });
}

test('--http 127.0.0.1:0: the real port is logged, the snapshot and metrics are served, and stop closes it', async () => {
  await withConf('server 192.0.2.1\nserver 192.0.2.2\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\n', async (conf) => {
    const r = start(['-f', conf, '--http', '127.0.0.1:0']);
    await r.started;
    const [url] = urls(r.err);
    assert.ok(url !== undefined && !url.endsWith(':0/'), r.err.join('\n'));
    const api = await (await fetch(new URL('/api/snapshot', url))).json() as { snapshot: DaemonSnapshot; serverStats: unknown };
    assert.deepEqual(api.snapshot.sources.map((s) => s.verdict), ['falseticker', 'selected']);
    assert.equal(api.serverStats, null, 'no allow line: not serving NTP');
    const metrics = await fetch(new URL('/metrics', url));
    assert.equal(metrics.status, 200);
    // The history was sampled once at start.
    const hist = await (await fetch(new URL('/api/history', url))).json() as { t: number[] };
    assert.equal(hist.t.length, 1);
    r.signals.emit('SIGTERM');
    await r.done;
    assert.equal(r.code(), ExitCode.OK);
    await assert.rejects(fetch(new URL('/api/snapshot', url)), 'closed on stop');
  });
});

test('httpaddress: a reload with the same address keeps the server, without it stops it; --http off overrides', async () => {
  const base = 'server 192.0.2.1\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\n';
  await withConf(`${base}httpaddress 127.0.0.1 0\n`, async (conf) => {
    const r = start(['-f', conf]);
    await r.started;
    const [url] = urls(r.err);
    assert.ok(url !== undefined, r.err.join('\n'));

    await writeFile(conf, `${base}server 192.0.2.3\nhttpaddress 127.0.0.1 0\n`);
    r.signals.emit('SIGHUP');
    await waitFor(() => r.err.some((l) => /Reloaded the configuration/.test(l)));
    await writeFile(conf, base);
    r.signals.emit('SIGHUP');
    await waitFor(() => r.err.some((l) => l === `Stopped serving the dashboard and metrics at ${url}`));
    // Stopped once, by the second reload only: the first kept the same listener.
    assert.equal(r.err.filter((l) => l.startsWith('Stopped serving')).length, 1, r.err.join('\n'));
    assert.deepEqual(urls(r.err), [url]);
    await assert.rejects(fetch(new URL('/api/snapshot', url)));
    r.signals.emit('SIGTERM');
    await r.done;

    await writeFile(conf, `${base}httpaddress 127.0.0.1 0\n`);
    const off = start(['-f', conf, '--http', 'off']);
    await off.started;
    assert.deepEqual(urls(off.err), []);
    off.signals.emit('SIGTERM');
    await off.done;
    assert.equal(off.code(), ExitCode.OK);
  });
});

test('a port already taken: the failure is logged and the daemon runs on', async () => {
  const blocker: Server = createServer();
  await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
  const port = (blocker.address() as { port: number }).port;
  try {
    await withConf('server 192.0.2.1\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\n', async (conf) => {
      const r = start(['-f', conf, '--http', `127.0.0.1:${port}`]);
      const d = await r.started;
      // The code once: node's message names it already.
      assert.ok(r.err.some((l) => l.startsWith(`Cannot serve the dashboard and metrics at http://127.0.0.1:${port}/: listen EADDRINUSE: `) && l.endsWith('the daemon goes on without them')), r.err.join('\n'));
      assert.equal(d.snapshot().sources.length, 1);
      assert.equal(r.code(), undefined, 'still running');
      r.signals.emit('SIGTERM');
      await r.done;
      assert.equal(r.code(), ExitCode.OK);
    });
  } finally {
    await new Promise((res) => blocker.close(res));
  }
});

test('a bad --http value is a usage error naming the flag', async () => {
  const r = start(['-f', '/nonexistent.conf', '--http', 'localhost:80']);
  await assert.rejects(r.done, (e: Error & { code?: string }) => e.code === 'commander.invalidArgument' && /--http must be ADDRESS\[:PORT\]/.test(e.message));
});
