/**
 * The daemon's HTTP listener as a process shows it to the machine:
 * - `--http off` means no listening TCP socket at all, even with an
 *   `httpaddress` in the config;
 * - only requests whose Host names the server are answered (DNS rebinding);
 * - slow clients holding every connection with unfinished headers do not
 *   keep a normal client out, and are closed after the headers timeout.
 * Addresses: 127.0.13.0/24.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listeningTcpSockets, type ManagedProcess, spawnNtpkit } from '../testing/index.js';
import { HTTP_LIMITS } from './http-server.js';

const LISTEN = '127.0.13.1';
const URL_LINE = /Dashboard and metrics at (http:\/\/\S+\/)/;

async function withDaemon(confLines: readonly string[], args: readonly string[], fn: (d: ManagedProcess) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-http-e2e-'));
  let daemon: ManagedProcess | undefined;
  try {
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, ['server 127.0.13.250', 'controlsocket /\nbindcmdaddress /\ncmdport 0', ...confLines, ''].join('\n'));
    daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual', ...args]);
    await fn(daemon);
    const status = await daemon.stop(10_000);
    assert.deepEqual(status, { code: 0, signal: null }, daemon.logs());
  } finally {
    await daemon?.stop(3000);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Polls the daemon's log until `re` matches (or it exits, or 15 s pass). */
async function logMatch(d: ManagedProcess, re: RegExp): Promise<RegExpExecArray> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const m = re.exec(d.logs());
    if (m !== null) return m;
    if (d.exitStatus() !== undefined) assert.fail(`the daemon exited: ${JSON.stringify(d.exitStatus())}\n${d.logs()}`);
    if (Date.now() > deadline) assert.fail(`no ${re} in the log within 15 s:\n${d.logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET with a Host header of our choosing (fetch() will not send one). */
function get(url: string, path: string, host: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { headers: { host }, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

test('--http off: no TCP listener at all, though the config has an httpaddress', { timeout: 60_000 }, async () => {
  const conf = [`httpaddress ${LISTEN} 0`];
  // The same config without the flag listens, and /proc shows it: the check below can see a listener.
  await withDaemon(conf, [], async (d) => {
    const url = (await logMatch(d, URL_LINE))[1] as string;
    const port = Number(new URL(url).port).toString(16).toUpperCase().padStart(4, '0');
    assert.deepEqual(await listeningTcpSockets(d.pid), [`tcp 010D007F:${port}`]);
  });
  await withDaemon(conf, ['--http', 'off'], async (d) => {
    const m = await logMatch(d, /No dashboard or metrics \(--http off\)|Dashboard and metrics at (http:\/\/\S+\/)/);
    if (m[1] !== undefined) {
      const reached = await get(m[1], '/metrics', new URL(m[1]).host).then((r) => `answered ${r.status}`, (e: Error) => `not reached: ${e.message}`);
      assert.fail(`--http off, yet the daemon logs a listener at ${m[1]} (${reached})`);
    }
    assert.deepEqual(await listeningTcpSockets(d.pid), []);
    assert.doesNotMatch(d.logs(), /Dashboard and metrics at/);
  });
});

test('Host: the bound address, localhost and the listed names are answered; a rebinding page\'s name gets 421 and no data', { timeout: 60_000 }, async () => {
  // --http-host overrides the directive's names, as --http overrides httpaddress.
  await withDaemon(['httphost conf-name.test'], ['--http', `${LISTEN}:0`, '--http-host', 'dash.test', '--http-host', 'Other.Test.'], async (d) => {
    const url = (await logMatch(d, URL_LINE))[1] as string;
    const port = new URL(url).port;
    for (const host of [`${LISTEN}:${port}`, `localhost:${port}`, 'dash.test', `other.test:${port}`]) {
      const r = await get(url, '/api/snapshot', host);
      assert.equal(r.status, 200, host);
      assert.ok((JSON.parse(r.body) as { snapshot: { sources: unknown[] } }).snapshot.sources.length === 1, host);
    }
    for (const host of [`attacker.example:${port}`, 'conf-name.test', `127.0.13.2:${port}`]) {
      for (const path of ['/api/snapshot', '/metrics', '/']) {
        const r = await get(url, path, host);
        assert.equal(r.status, 421, `${host}${path}`);
        assert.doesNotMatch(r.body, /sources|ntpkit_|<html/i, `${host}${path}: no data in the refusal`);
      }
    }
    await logMatch(d, /HTTP server: refused \d+ requests? for a host it does not answer/);
  });
});

/**
 * A client that opens a request and sends its head one byte a second, as
 * slowloris does, from `localAddress`. Resolves once connected (or refused).
 */
function slowClient(port: number, localAddress: string): Promise<Socket> {
  const head = `GET /metrics HTTP/1.1\r\nHost: ${LISTEN}:${port}\r\nX-Slow: ${'a'.repeat(64)}\r\n`;
  const s = connect({ host: LISTEN, port, localAddress });
  let i = 0;
  const timer = setInterval(() => { if (i < head.length && s.writable) s.write(head[i++] as string); }, 1000);
  s.on('error', () => undefined);
  // Reading, so that a close by the server is seen.
  s.resume();
  s.once('close', () => clearInterval(timer));
  return new Promise((resolve) => {
    s.once('connect', () => resolve(s));
    s.once('close', () => resolve(s));
  });
}

test('slow headers: a normal client is served while slow clients hold every connection, and they are closed after the headers timeout', { timeout: 90_000 }, async (t) => {
  await withDaemon([], ['--http', `${LISTEN}:0`], async (d) => {
    const url = (await logMatch(d, URL_LINE))[1] as string;
    const port = Number(new URL(url).port);
    const host = `${LISTEN}:${port}`;

    // One slow client alone: closed within the headers timeout and one check of Node's, plus slack for a loaded machine.
    const t0 = Date.now();
    const lone = await slowClient(port, '127.0.13.9');
    const loneClosed = await new Promise<number>((resolve) => {
      if (lone.destroyed) resolve(Date.now() - t0);
      lone.once('close', () => resolve(Date.now() - t0));
    });
    const limit = HTTP_LIMITS.headersTimeoutMs + HTTP_LIMITS.checkIntervalMs + 2000;
    assert.ok(loneClosed <= limit, `a slow client lived ${loneClosed} ms, over ${limit} ms`);

    // Waves of slow clients: from one address (past its own limit), from several (up to the
    // global one), and twice the global limit from more.
    const waves = [['127.0.13.10'], ['127.0.13.11', '127.0.13.12', '127.0.13.13', '127.0.13.14'], Array.from({ length: 8 }, (_, i) => `127.0.13.${20 + i}`)];
    for (const [w, sources] of waves.entries()) {
      const perSource = (w === 2 ? 2 : 1) * Math.ceil(HTTP_LIMITS.maxConnections / sources.length);
      let slow: Socket[] = [];
      try {
        slow = await Promise.all(sources.flatMap((src) => Array.from({ length: perSource }, () => slowClient(port, src))));
        const latencies: number[] = [];
        for (let i = 0; i < 3; i++) {
          const start = Date.now();
          // The first try, within the headers timeout: served without waiting for any slow client to time out.
          const r = await get(url, '/metrics', host, HTTP_LIMITS.headersTimeoutMs);
          latencies.push(Date.now() - start);
          assert.equal(r.status, 200);
          assert.match(r.body, /^ntpkit_/m);
        }
        t.diagnostic(`${slow.length} slow clients from ${sources.length} address(es); /metrics answered in ${latencies.join(', ')} ms`);
      } finally {
        for (const s of slow) s.destroy();
      }
    }
  });
});
