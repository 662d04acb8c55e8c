/**
 * `ntpkit daemon`'s NTS-KE server, as a real process, against clients that
 * try to keep its session slots:
 * - maxntsconnections (default 100) idle TCP connections, then as many slow
 *   handshakes (a ClientHello trickled a byte a second), then as many slow
 *   requests (TLS done, the request trickled a byte a second). Each wave holds
 *   every slot, so real key exchanges are refused until the server frees them.
 *   Every hostile connection must be closed by the server no sooner than the
 *   session deadline after its connect (chronyd's 2 s, the daemon's default),
 *   and no later than that deadline counted from when the server had accepted
 *   it, plus a margin made of the event-loop delays measured in both
 *   processes; and ntpkit's own client, retrying, must get its cookies within
 *   a bound built from the same deadline;
 * - a mixed wave that holds all but two slots while chronyd 4.3 as an NTS
 *   client and ntpkit's client each do one key exchange, which must succeed
 *   at the first try, before any hostile connection is let go;
 * - and the NTS-KE counters: control `serverstats`, GET /metrics and GET
 *   /api/snapshot show the same non-zero figures.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { controlRequest } from '../control/client.js';
import { NTS_KE_DROP_REASONS } from '../core/server/server-stats.js';
import { parseExposition } from '../metrics/exposition-parse.test-helper.js';
import { ntsKeyExchange } from '../net/nts-ke-client.js';
import { startChronydClient } from '../testing/chronyd.js';
import { freeUdpPort } from '../testing/loopback.js';
import { type AcceptProbe, acceptedBy, captureClientHello, heldTcpSessions, type HostileConnection, type HostileKind, openHostile } from '../testing/nts-ke-hostile.js';
import { freeTcpPort, makeTestPki, type TestPki } from '../testing/nts-pki.js';
import { type ManagedProcess, spawnManaged } from '../testing/process.js';
import { interopSkip, toolPath } from '../testing/tools.js';
import { until } from '../testing/until.js';

const execFileAsync = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
/** This file's loopback address (its own range: nothing else binds it). */
const ADDRESS = '127.0.14.1';
/** chronyd's per-session limit (nts_ke_server.c SERVER_TIMEOUT), which the daemon uses by default. */
const DEADLINE_MS = 2000;
/** chrony.conf's maxntsconnections default, which the daemon keeps. */
const MAX_SESSIONS = 100;
/** How often the test's real client retries a refused key exchange. */
const RETRY_MS = 50;
/** chronyd waits 2^4 s before retrying a key exchange that could not connect (nts_ke.h NKE_RETRY_FACTOR2_CONNECT): cookies before that came from its first try. */
const CHRONYD_FIRST_RETRY_MS = 16_000;

interface NtsDaemon {
  readonly proc: ManagedProcess;
  readonly ntsPort: number;
  readonly control: string;
  readonly http: string;
}

async function startNtsDaemon(pki: TestPki, dir: string, name: string): Promise<NtsDaemon> {
  const ntsPort = await freeTcpPort(ADDRESS);
  const control = join(dir, `${name}.sock`);
  const conf = join(dir, `${name}.conf`);
  await writeFile(conf, [
    'local stratum 2', 'allow 127.0.0.0/8', `bindaddress ${ADDRESS}`, `port ${await freeUdpPort(ADDRESS)}`, `controlsocket ${control}\nbindcmdaddress /\ncmdport 0`,
    `ntsservercert ${pki.certPath}`, `ntsserverkey ${pki.keyPath}`, `ntsport ${ntsPort}`, `ntsdumpdir ${dir}`,
  ].join('\n') + '\n');
  const proc = await spawnManaged(process.execPath, [BIN, 'daemon', '-f', conf, '--clock', 'virtual', '--http', `${ADDRESS}:0`]);
  const http = await until('the daemon serving NTS-KE and HTTP', 20_000, async () => {
    const m = /Dashboard and metrics at (http:\/\/\S+\/)/.exec(proc.logs());
    return m !== null && /Serving NTS-KE on/.test(proc.logs()) ? m[1] as string : null;
  }, () => proc.logs());
  return { proc, ntsPort, control, http };
}

/** The daemon's largest event-loop delay since the previous call (prom-client resets its histogram at each scrape), in ms. */
async function serverLoopDelayMs(d: NtsDaemon): Promise<number> {
  const text = await (await fetch(new URL('/metrics', d.http))).text();
  return parseExposition(text).value('nodejs_eventloop_lag_max_seconds') * 1000;
}

interface Wave<T> {
  readonly hostile: readonly HostileConnection[];
  /** performance.now() when each hostile connection saw the server close it; Infinity: not within the wait. */
  readonly closedAt: readonly number[];
  /** performance.now() by which the server had accepted every hostile connection, and whether it then refused more (acceptedBy). */
  readonly accepted: AcceptProbe;
  /** The daemon's and the test process's largest event-loop delays over the wave, ms. */
  readonly serverDelayMs: number;
  readonly ownDelayMs: number;
  readonly result: T;
}

/**
 * Opens `count` hostile connections (kinds in turn from `kinds`), runs
 * `during` right after, then waits for the server to close every one.
 */
async function wave<T>(d: NtsDaemon, pki: TestPki, kinds: readonly HostileKind[], count: number, during: () => Promise<T>): Promise<Wave<T>> {
  // Nothing left from earlier waves: every slot is free when this one starts.
  await until('the server holding no session', 3 * DEADLINE_MS, async () => (heldTcpSessions(ADDRESS, d.ntsPort) === 0 ? true : null), () => d.proc.logs(), 20);
  const clientHello = await captureClientHello();
  await serverLoopDelayMs(d);
  const ownDelay = monitorEventLoopDelay({ resolution: 10 });
  ownDelay.enable();
  const hostile = Array.from({ length: count }, (_, i) => openHostile(kinds[i % kinds.length] as HostileKind, { host: ADDRESS, port: d.ntsPort, ca: pki.caCert, clientHello }));
  try {
    // `during` starts at once: the slots are taken from each connection's accept, handshake or not.
    const [accepted, result] = await Promise.all([acceptedBy(ADDRESS, d.ntsPort, pki.caCert), during()]);
    // Generous cap on the wait, only so that a server that never closes fails here instead of hanging.
    const cap = new Promise<number>((r) => setTimeout(() => r(Infinity), 4 * DEADLINE_MS + 10_000));
    const closedAt = await Promise.all(hostile.map((h) => Promise.race([h.closed, cap])));
    ownDelay.disable();
    return { hostile, closedAt, accepted, serverDelayMs: await serverLoopDelayMs(d), ownDelayMs: ownDelay.max / 1e6, result };
  } finally {
    ownDelay.disable();
    for (const h of hostile) h.destroy();
  }
}

/**
 * How late after its deadline a close may be seen: the daemon's timer can
 * wait one turn of its event loop, and our noticing the close one turn of ours.
 */
function marginMs(w: Wave<unknown>): number {
  return w.serverDelayMs + w.ownDelayMs;
}

/**
 * Each hostile connection was closed by the server no sooner than the
 * deadline after its connect (its accept came later), and no later than the
 * deadline after the server had accepted it, plus the margin.
 */
function assertClosedByDeadline(w: Wave<unknown>, what: string, diagnostic: (m: string) => void): void {
  const bad: string[] = [];
  w.hostile.forEach((h, i) => {
    const closed = w.closedAt[i] as number;
    if (!(closed - h.startedAt >= DEADLINE_MS && closed <= w.accepted.at + DEADLINE_MS + marginMs(w))) {
      bad.push(`${h.kind} held ${(closed - h.startedAt).toFixed(1)} ms, ${(closed - w.accepted.at - DEADLINE_MS).toFixed(1)} ms after its deadline at the latest (${h.sent()} bytes sent)`);
    }
  });
  const delays = `event-loop delays: daemon ${w.serverDelayMs.toFixed(1)} ms, test ${w.ownDelayMs.toFixed(1)} ms`;
  assert.deepEqual(bad, [], `${what}: every connection closed by the server at least ${DEADLINE_MS} ms after its connect and at most ${marginMs(w).toFixed(1)} ms after its deadline (${delays})`);
  const held = w.hostile.map((h, i) => (w.closedAt[i] as number) - h.startedAt);
  const late = w.closedAt.map((c) => c - w.accepted.at - DEADLINE_MS);
  diagnostic(`${what}: held ${Math.min(...held).toFixed(1)}..${Math.max(...held).toFixed(1)} ms, at most ${Math.max(...late).toFixed(1)} ms past the deadline; margin ${marginMs(w).toFixed(1)} ms (${delays}); all accepted within ${(w.accepted.at - Math.min(...w.hostile.map((h) => h.startedAt))).toFixed(1)} ms`);
}

interface RetriedExchange {
  /** performance.now() when the cookies arrived, or null if never within the cap. */
  readonly succeededAt: number | null;
  readonly refused: number;
  readonly lastError: string;
}

/** ntpkit's own client, retrying every RETRY_MS while refused, until `capMs` from now. */
async function exchangeUntilServed(d: NtsDaemon, pki: TestPki, capMs: number): Promise<RetriedExchange> {
  const end = performance.now() + capMs;
  let refused = 0;
  let lastError = '';
  while (performance.now() < end) {
    try {
      const r = await ntsKeyExchange({ host: ADDRESS, port: d.ntsPort, trustedCerts: [pki.caCertPath], noSystemCerts: true, timeoutMs: DEADLINE_MS });
      assert.equal(r.cookies.length, 8);
      return { succeededAt: performance.now(), refused, lastError };
    } catch (e) {
      refused++;
      lastError = (e as Error).message;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
  return { succeededAt: null, refused, lastError };
}

describe('ntpkit daemon\'s NTS-KE sessions under clients that hold them', { skip: interopSkip('openssl', 'chronyd', 'chronyc') }, () => {
  let pki: TestPki;
  let dir: string;
  before(async () => {
    pki = await makeTestPki({ san: `IP:${ADDRESS}` });
    dir = await mkdtemp(join(tmpdir(), 'ntpkit-nts-limits-'));
  });
  after(async () => {
    await pki?.remove();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('idle, slow-handshake and slow-request clients are closed at the session deadline; real key exchanges get through', { timeout: 180_000 }, async (t) => {
    const d = await startNtsDaemon(pki, dir, 'limits');
    t.after(() => d.proc.stop());
    let hostileTotal = 0;
    let served = 0;
    for (const kind of ['idle', 'slow-handshake', 'slow-request'] as const) {
      const REAL = 3;
      // Every slot is taken once the wave is up; the server must free them itself.
      const w = await wave(d, pki, [kind], MAX_SESSIONS, () => Promise.all(Array.from({ length: REAL }, () => exchangeUntilServed(d, pki, 4 * DEADLINE_MS + 10_000))));
      hostileTotal += w.hostile.length;
      assertClosedByDeadline(w, `${MAX_SESSIONS} ${kind} connections`, (m) => t.diagnostic(m));
      // The slots are free by acceptedBy + deadline + margin; an attempt in flight then ends within the
      // client's own deadline, the retry starts RETRY_MS later, and a served exchange fits in one session.
      const bound = w.accepted.at + DEADLINE_MS + marginMs(w) + DEADLINE_MS + RETRY_MS + DEADLINE_MS;
      for (const r of w.result) {
        assert.ok(r.succeededAt !== null, `${kind}: a real key exchange never got through (${r.refused} refused, last: ${r.lastError})\n${d.proc.logs()}`);
        assert.ok(r.succeededAt <= bound, `${kind}: a real key exchange got through ${(r.succeededAt - w.accepted.at).toFixed(0)} ms after the slots filled, over the ${(bound - w.accepted.at).toFixed(0)} ms bound`);
      }
      assert.ok(w.accepted.refused, `${kind}: the hostile connections held every slot`);
      served += REAL;
    }

    // All but two slots held while chronyd and ntpkit's client each key once, at the first try.
    type Stats = { ntsKeConnectionsAccepted: number; ntsKeDroppedByReason: Record<string, number> };
    const readStats = async (): Promise<Stats> => await controlRequest(d.control, 'serverstats', {}, { timeoutMs: 2000 }) as Stats;
    const acceptedBefore = (await readStats()).ntsKeConnectionsAccepted;
    // chronyd starts offline, so that its key exchange begins when `chronyc online` says, inside the wave.
    const chronyd = await startChronydClient({
      servers: [{ address: ADDRESS, options: `iburst nts ntsport ${d.ntsPort} minpoll 0 maxpoll 0 offline` }],
      extraConfig: ['ntstrustedcerts {dir}/ca.crt', 'bindcmdaddress {dir}/cmd.sock'],
      files: { 'ca.crt': pki.caCert },
    });
    t.after(() => chronyd.stop());
    const chronyc = async (...args: string[]): Promise<string> => (await execFileAsync(toolPath('chronyc'), ['-h', join(chronyd.dir, 'cmd.sock'), '-n', ...args], { encoding: 'utf8' })).stdout;
    await until('chronyd answering chronyc', 10_000, async () => ((await chronyc('tracking')).length > 0 ? true : null), () => chronyd.logs());
    const w = await wave(d, pki, ['idle', 'slow-handshake', 'slow-request'], MAX_SESSIONS - 2, async () => {
      const started = performance.now();
      const [ours] = await Promise.all([
        ntsKeyExchange({ host: ADDRESS, port: d.ntsPort, trustedCerts: [pki.caCertPath], noSystemCerts: true, timeoutMs: DEADLINE_MS }),
        chronyc('online'),
      ]);
      assert.equal(ours.cookies.length, 8);
      // Both exchanges done: when the daemon has counted them (compared below with the first hostile close).
      const bothServed = await until('the daemon serving chronyd\'s key exchange and ours', CHRONYD_FIRST_RETRY_MS - (performance.now() - started), async () => (
        (await readStats()).ntsKeConnectionsAccepted >= acceptedBefore + 2 ? performance.now() : null), () => `${chronyd.logs()}\n${d.proc.logs()}`, 50);
      // chronyc authdata: Name/IP address  Mode KeyID Type KLen ...: NTS, AEAD 15, 256-bit keys once chronyd has read the response.
      const keyed = new RegExp(`^${ADDRESS.replaceAll('.', '\\.')}\\s+NTS\\s+\\d+\\s+15\\s+256\\s`, 'm');
      await until('chronyd holding NTS keys from its first key exchange', CHRONYD_FIRST_RETRY_MS - (performance.now() - started), async () => (
        keyed.test(await chronyc('authdata')) ? true : null), () => `${chronyd.logs()}\n${d.proc.logs()}`, 50);
      return bothServed;
    });
    await chronyd.stop();
    hostileTotal += w.hostile.length;
    served += 2;
    assertClosedByDeadline(w, `${MAX_SESSIONS - 2} mixed connections`, (m) => t.diagnostic(m));
    assert.ok(!w.accepted.refused, 'two slots left free');
    assert.ok(w.result < Math.min(...w.closedAt), 'chronyd and ntpkit were served while every hostile connection was still held');

    // Each hostile session counted once, as a timeout; the real ones as accepted.
    const stats = await until('the counts settled', 3 * DEADLINE_MS, async () => {
      const s = await readStats();
      return s.ntsKeDroppedByReason.timeout === hostileTotal && s.ntsKeConnectionsAccepted >= served ? s : null;
    }, () => d.proc.logs());
    assert.equal(stats.ntsKeDroppedByReason.timeout, hostileTotal);
  });

  test('control serverstats, GET /metrics and GET /api/snapshot show the same NTS-KE counters', { timeout: 60_000 }, async (t) => {
    const d = await startNtsDaemon(pki, dir, 'views');
    t.after(() => d.proc.stop());
    for (let i = 0; i < 3; i++) {
      const r = await ntsKeyExchange({ host: ADDRESS, port: d.ntsPort, trustedCerts: [pki.caCertPath], noSystemCerts: true, timeoutMs: 5000 });
      assert.equal(r.cookies.length, 8);
    }
    // And one drop: a client without ALPN ntske/1, refused at the end of its handshake.
    await new Promise<void>((resolve) => {
      const s = tlsConnect({ host: ADDRESS, port: d.ntsPort, ca: pki.caCert, minVersion: 'TLSv1.3' });
      s.on('error', () => resolve());
      s.on('close', () => resolve());
    });
    type Stats = { ntsKeConnectionsAccepted: number; ntsKeConnectionsDropped: number; ntsKeDroppedByReason: Record<string, number> };
    const control = await until('serverstats counting 3 exchanges and 1 drop', 3 * DEADLINE_MS, async () => {
      const s = await controlRequest(d.control, 'serverstats', {}, { timeoutMs: 2000 }) as Stats;
      return s.ntsKeConnectionsAccepted === 3 && s.ntsKeDroppedByReason['no-alpn'] === 1 ? s : null;
    }, () => d.proc.logs());
    assert.equal(control.ntsKeConnectionsDropped, 1);

    const metrics = parseExposition(await (await fetch(new URL('/metrics', d.http))).text());
    assert.equal(metrics.value('ntpkit_server_nts_ke_connections_accepted_total'), control.ntsKeConnectionsAccepted);
    for (const r of NTS_KE_DROP_REASONS) {
      assert.equal(metrics.value('ntpkit_server_nts_ke_connections_dropped_total', { reason: r }), control.ntsKeDroppedByReason[r], `/metrics ${r}`);
    }
    assert.equal(metrics.find('ntpkit_server_nts_ke_connections_dropped_total').reduce((n, s) => n + s.value, 0), control.ntsKeConnectionsDropped);

    const api = await (await fetch(new URL('/api/snapshot', d.http))).json() as { serverStats: Stats };
    assert.equal(api.serverStats.ntsKeConnectionsAccepted, control.ntsKeConnectionsAccepted);
    assert.equal(api.serverStats.ntsKeConnectionsDropped, control.ntsKeConnectionsDropped);
    assert.deepEqual(api.serverStats.ntsKeDroppedByReason, control.ntsKeDroppedByReason);
  });
});
