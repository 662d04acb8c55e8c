/**
 * Real IPv4/UDP datagrams that no socket API sends, to real processes:
 * `ntpkit server` and `ntpkit daemon` from this build, on both transports
 * (node:dgram with NTPKIT_NATIVE=off, and the native socket). A request from
 * source port 0 used to kill the process on node:dgram (send() threw
 * ERR_SOCKET_BAD_PORT out of the receive path); one from a multicast source
 * was answered to the group. Both must get no reply, be counted by name, and
 * leave the process serving. A flood of such requests from rotating
 * addresses, with replies the kernel refuses mixed in, must not write a log
 * line per packet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callDaemon } from '../control/commands.js';
import type { ServerStats } from '../core/server/server-stats.js';
import { loadNativeUdp } from '../net/native-udp.js';
import { freeUdpPort, type ManagedProcess, probeNtp, requireSpoofing, sendSpoofed, type SpoofedDatagram, spawnManaged } from '../testing/index.js';
import { PROBLEM_SUMMARY_INTERVAL_MS } from './problem-log.js';

const BIN = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Where the normal client sends from. */
const CLIENT = '127.0.12.29';

/** A mode 3 request (or, with mode 4, something that looks like a reply), 48 bytes. */
function ntpPacket(mode: 3 | 4): Uint8Array {
  const p = new Uint8Array(48);
  p[0] = (4 << 3) | mode;
  if (mode === 4) p[1] = 1;
  p[47] = 1;
  return p;
}

/** Sources no reply can go to: port 0, and group addresses (multicast, broadcast, "this network"; 0.0.0.0 itself the kernel replaces with a local address). */
const PORT_ZERO = ['127.9.12.1', '127.9.12.2', '127.9.12.3'].map((a) => ({ source: a, sourcePort: 0 }));
const GROUPS = [
  { source: '224.0.0.1', sourcePort: 123 }, { source: '239.255.255.250', sourcePort: 1900 },
  { source: '255.255.255.255', sourcePort: 123 }, { source: '0.1.2.3', sourcePort: 68 },
];

interface Target {
  readonly address: string;
  readonly port: number;
  readonly proc: ManagedProcess;
  stats(): Promise<ServerStats>;
  /** The daemon's client socket (its polls go out and replies come in there), or null for `ntpkit server`. */
  clientPort(): Promise<number | null>;
  stop(): Promise<void>;
}

type Transport = 'dgram' | 'native';
const TRANSPORTS: readonly Transport[] = ['dgram', 'native'];
const envOf = (t: Transport): Record<string, string> => (t === 'dgram' ? { NTPKIT_NATIVE: 'off' } : {});
const nativeSkip = (t: Transport): string | false => (t === 'native' && !loadNativeUdp().ok ? 'native UDP unavailable' : false);

async function waitFor<T>(what: string, proc: ManagedProcess, f: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (proc.exitStatus() !== undefined) assert.fail(`the process exited (${JSON.stringify(proc.exitStatus())}) while waiting for ${what}:\n${proc.logs()}`);
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`no ${what} within ${ms} ms:\n${proc.logs().slice(-4000)}`);
    await sleep(50);
  }
}

/** Waits for `line` in the output and checks the transport it reports; stops the process if it never comes. */
async function ready(proc: ManagedProcess, line: string, transport: RegExp): Promise<void> {
  try {
    await waitFor(line, proc, () => (proc.logs().includes(line) ? true : undefined));
    assert.match(proc.logs(), transport);
  } catch (e) {
    await proc.stop();
    throw e;
  }
}

/** `ntpkit server`, statistics as JSON lines on SIGUSR1. */
async function startServer(transport: Transport, address: string): Promise<Target> {
  const port = await freeUdpPort(address);
  const proc = await spawnManaged(process.execPath, [BIN, 'server', '--bindaddress', address, '--port', String(port), '--allow', '--local-stratum', '1', '--json'], {
    env: envOf(transport),
  });
  await ready(proc, 'ntpkit server: serving', transport === 'native' ? /native UDP with kernel timestamps/ : /node:dgram/);
  const statLines = (): string[] => proc.logs().split('\n').filter((l) => l.startsWith('{"schema":"ntpkit.serverstats/1"'));
  return {
    address, port, proc,
    stats: async () => {
      const before = statLines().length;
      process.kill(proc.pid, 'SIGUSR1');
      const line = await waitFor('statistics', proc, () => statLines()[before]);
      return JSON.parse(line) as ServerStats;
    },
    clientPort: () => Promise.resolve(null),
    stop: async () => { await proc.stop(); },
  };
}

/** The local UDP ports of a process's sockets, from /proc. */
async function udpPortsOf(pid: number): Promise<number[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.add(m[1] as string);
  }
  const ports: number[] = [];
  for (const table of ['udp', 'udp6']) {
    const text = await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '');
    for (const row of text.split('\n').slice(1)) {
      const f = row.trim().split(/\s+/);
      if (f.length > 9 && inodes.has(f[9] as string)) ports.push(parseInt((f[1] as string).split(':')[1] as string, 16));
    }
  }
  return ports;
}

/** `ntpkit daemon` on the virtual clock, serving NTP, polling a source that never answers; statistics over its control socket. */
async function startDaemon(transport: Transport, address: string, dir: string): Promise<Target> {
  const port = await freeUdpPort(address);
  const socket = join(dir, 'ntpkit.sock');
  const conf = join(dir, 'chrony.conf');
  await writeFile(conf, [
    // Nothing listens there: the daemon keeps polling, and its client socket stays open.
    `server ${address} port ${await freeUdpPort(address)} minpoll 0 maxpoll 0 iburst`,
    'allow', 'local stratum 1', `bindaddress ${address}`, `port ${port}`, `controlsocket ${socket}\nbindcmdaddress /\ncmdport 0`, `driftfile ${join(dir, 'drift')}`, '',
  ].join('\n'));
  const proc = await spawnManaged(process.execPath, [BIN, 'daemon', '-f', conf, '--clock', 'virtual'], { env: envOf(transport) });
  await ready(proc, 'Control socket at', transport === 'native' ? /Serving NTP on .* \(kernel timestamps\)/ : /Serving NTP on .* \(node:dgram/);
  return {
    address, port, proc,
    stats: async () => (await callDaemon(socket, 'serverstats', {}, { timeoutMs: 5000 })) as ServerStats,
    clientPort: () => waitFor('the client socket', proc, async () => (await udpPortsOf(proc.pid)).find((p) => p !== port)),
    stop: async () => { await proc.stop(); },
  };
}

/** A normal client is answered with a mode 4 reply that is no kiss-o'-death. */
async function assertServes(t: Target): Promise<void> {
  const r = await probeNtp(t.address, t.port, { sourceAddress: CLIENT, timeoutMs: 3000 });
  assert.equal(r.header.mode, 4);
  assert.notEqual(r.header.stratum, 0, `a kiss-o'-death: ${r.header.referenceIdText}`);
}

const dropped = (s: ServerStats, r: 'bad-port' | 'not-unicast' | 'send-failed'): number => s.droppedByReason[r] ?? 0;

const KINDS = [['server', startServer], ['daemon', startDaemon]] as const;

/** Starts the process, checks it serves, runs `body`, and always stops it. */
async function withTarget(start: (typeof KINDS)[number][1], transport: Transport, address: string, body: (target: Target) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-spoofed-'));
  try {
    const target = await start(transport, address, dir);
    try {
      await assertServes(target);
      await body(target);
    } finally {
      await target.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const transport of TRANSPORTS) {
  for (const [kind, start] of KINDS) {
    test(`${kind}, ${transport}: requests from port 0 and from group addresses get no reply, are counted, and the process keeps serving`, {
      skip: nativeSkip(transport), timeout: 60_000,
    }, async (t) => {
      if (!requireSpoofing(t)) return;
      await withTarget(start, transport, kind === 'server' ? '127.0.12.20' : '127.0.12.21', async (target) => {
        const before = await target.stats();
        const rounds = 5;
        const toServer = [...PORT_ZERO, ...GROUPS].map((s): SpoofedDatagram => ({ ...s, destination: target.address, destinationPort: target.port, payload: ntpPacket(3) }));
        // The daemon's client socket gets "replies" from the same sources, and from its source's own address on port 0.
        const clientPort = await target.clientPort();
        const toClient = clientPort === null ? [] : [...PORT_ZERO, ...GROUPS, { source: target.address, sourcePort: 0 }]
          .map((s): SpoofedDatagram => ({ ...s, destination: target.address, destinationPort: clientPort, payload: ntpPacket(4) }));
        await sendSpoofed([...toServer, ...toClient], { repeat: rounds });
        const want = { 'bad-port': rounds * PORT_ZERO.length, 'not-unicast': rounds * GROUPS.length };
        const after = await waitFor('the drops counted', target.proc, async () => {
          const s = await target.stats();
          return dropped(s, 'bad-port') - dropped(before, 'bad-port') >= want['bad-port'] && dropped(s, 'not-unicast') - dropped(before, 'not-unicast') >= want['not-unicast'] ? s : undefined;
        });
        assert.equal(dropped(after, 'bad-port') - dropped(before, 'bad-port'), want['bad-port']);
        assert.equal(dropped(after, 'not-unicast') - dropped(before, 'not-unicast'), want['not-unicast']);
        assert.equal(after.ntpPacketsReplied, before.ntpPacketsReplied, 'nothing was answered');
        assert.equal(after.ntpPacketsReceived - before.ntpPacketsReceived, toServer.length * rounds);
        assert.equal(target.proc.exitStatus(), undefined);
        await assertServes(target);
        assert.doesNotMatch(target.proc.logs(), /ERR_SOCKET_BAD_PORT|Uncaught|\n\s+at /);
      });
    });
  }
}

for (const transport of TRANSPORTS) {
  for (const [kind, start] of KINDS) {
    test(`${kind}, ${transport}: a flood from rotating spoofed sources, with replies the kernel refuses, writes a bounded number of log lines`, {
      skip: nativeSkip(transport), timeout: 60_000,
    }, async (t) => {
      if (!requireSpoofing(t)) return;
      await withTarget(start, transport, kind === 'server' ? '127.0.12.22' : '127.0.12.23', async (target) => {
        const before = await target.stats();
        const logBefore = target.proc.logs().length;
        // Port 0 from 200 rotating addresses, group sources, and 127.255.255.255, lo's broadcast address:
        // no host address tells it from a host, so its replies reach the kernel, which refuses each (EACCES).
        const sources = [
          ...Array.from({ length: 200 }, (_, i) => ({ source: `127.9.12.${i + 1}`, sourcePort: 0 })),
          ...GROUPS, ...Array.from({ length: 20 }, () => ({ source: '127.255.255.255', sourcePort: 123 })),
        ];
        const started = Date.now();
        const sent = await sendSpoofed(sources.map((s) => ({ ...s, destination: target.address, destinationPort: target.port, payload: ntpPacket(3) })), { seconds: 3 });
        await assertServes(target);
        const after = await target.stats();
        const elapsed = (Date.now() - started) / 1000;
        const lines = target.proc.logs().slice(logBefore).split('\n').filter((l) => l.includes(`socket ${target.address}:${target.port}`));
        // The first problem at once, then at most one summary per interval.
        const bound = 2 + Math.ceil(elapsed / (PROBLEM_SUMMARY_INTERVAL_MS / 1000));
        const failed = dropped(after, 'send-failed') - dropped(before, 'send-failed');
        assert.ok(failed > 0, `no reply was refused: the flood did not reach the log path (${sent} sent)`);
        assert.ok(lines.length >= 1 && lines.length <= bound, `${lines.length} log lines in ${elapsed.toFixed(1)} s (bound ${bound}) for ${sent} datagrams, ${failed} refused replies:\n${lines.slice(0, 5).join('\n')}`);
        assert.ok(dropped(after, 'bad-port') - dropped(before, 'bad-port') > 0);
        assert.equal(target.proc.exitStatus(), undefined);
      });
    });
  }
}
