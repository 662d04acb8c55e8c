#!/usr/bin/env node
// What the client daemon costs the machine, next to chronyd's in the same run:
// CPU time, threads and resident memory. Ten chronyd servers (`-x`, local
// stratum 1, each on its own 127.0.0.x:123) serve every case; each case is an
// `ntpkit daemon --clock virtual` and a `chronyd -x` client with the same
// `server` lines, all cases side by side. A case is SOURCES:POLL: POLL 0 polls
// every second (`minpoll 0 maxpoll 0`), POLL 6 is chronyd's default (no poll
// options: minpoll 6, maxpoll 10). After --warmup seconds the CPU time
// (utime + stime of /proc/PID/stat) is read, and again after --seconds more;
// the figure is the CPU milliseconds per second of wall time between the two.
// Threads and VmRSS come from /proc/PID/status at the end, VmHWM is the peak
// over the whole run. The goals: CPU at most twice chronyd's, peak RSS at most
// 50 MiB with 10 sources.
//
//   npm run build && node bench/daemon-cpu/run.mjs [--cases 4:0,10:0,10:6] [--warmup 20] [--seconds 120]
//     [--net 127.0.54 [--first 1]]   servers on NET.FIRST.. NET.FIRST+9 instead of reserved 127.0.0.x addresses
//     [--node-args="--cpu-prof --cpu-prof-dir=DIR"]   extra node options for the ntpkit daemons
//     [--bin OTHER/bin/ntpkit.js]   another build's daemon (before/after a change)
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fetchSnapshot } from '../../dist/control/daemon-client.js';
import { reserveLoopbackBlock, spawnManaged, startChronydClient, startChronydServer } from '../../dist/testing/index.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '4:0,10:0,10:6' },
    warmup: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '120' },
    net: { type: 'string' },
    first: { type: 'string', default: '1' },
    'node-args': { type: 'string', default: '' },
    bin: { type: 'string' },
  },
});
const cases = values.cases.split(',').map((c) => {
  const [n, poll] = c.split(':').map(Number);
  if (!(n >= 1 && n <= 10) || !(poll === 0 || poll === 6)) throw new Error(`bad case ${c}: SOURCES (1-10):POLL (0 or 6)`);
  return { n, poll };
});
const WARMUP = Number(values.warmup);
const SECONDS = Number(values.seconds);
const nodeArgs = values['node-args'].split(/\s+/).filter(Boolean);
const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux

function cpuMs(pid) {
  // utime and stime are fields 14 and 15; the command name (field 2) may hold spaces, so count from its ')'.
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

function status(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const n = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN);
  return { threads: n('Threads'), rss: n('VmRSS') / 1024, peak: n('VmHWM') / 1024 };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const block = values.net === undefined ? await reserveLoopbackBlock('bench-daemon-cpu', 10) : undefined;
const addresses = block?.addresses.slice(0, 10) ?? Array.from({ length: 10 }, (_, i) => `${values.net}.${i + Number(values.first)}`);
const dir = await mkdtemp(join(tmpdir(), 'ntpkit-bench-cpu-'));
const servers = [];
const runs = [];
try {
  for (const address of addresses) servers.push(await startChronydServer({ address }));
  const bin = values.bin ?? fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
  for (const [i, c] of cases.entries()) {
    const options = c.poll === 0 ? 'minpoll 0 maxpoll 0 iburst' : 'iburst';
    const own = addresses.slice(0, c.n);
    const socket = join(dir, `ntpkit-${i}.sock`);
    const conf = join(dir, `chrony-${i}.conf`);
    await writeFile(conf, [...own.map((a) => `server ${a} ${options}`), `controlsocket ${socket}`, 'bindcmdaddress /', 'cmdport 0',
      `driftfile ${join(dir, `drift-${i}`)}`, ''].join('\n'));
    const daemon = await spawnManaged(process.execPath, [...nodeArgs, bin, 'daemon', '-f', conf, '--clock', 'virtual']);
    runs.push({ c, socket, daemon });
    runs.at(-1).chronyd = await startChronydClient({ servers: own.map((address) => ({ address, options })) });
  }
  console.log(`ntpkit on node ${process.version}, chronyd -x; warm-up ${WARMUP} s, then ${SECONDS} s measured`);
  await sleep(WARMUP * 1000);
  const t0 = performance.now();
  const before = runs.map((r) => ({ ntpkit: cpuMs(r.daemon.pid), chronyd: cpuMs(r.chronyd.pid) }));
  await sleep(SECONDS * 1000);
  const wall = (performance.now() - t0) / 1000;
  console.log('case              ntpkit CPU   chronyd CPU  ratio  threads      ntpkit RSS (peak)   chronyd RSS (peak)  ntpkit state');
  for (const [i, r] of runs.entries()) {
    const nk = (cpuMs(r.daemon.pid) - before[i].ntpkit) / wall;
    const ch = (cpuMs(r.chronyd.pid) - before[i].chronyd) / wall;
    const [sn, sc] = [status(r.daemon.pid), status(r.chronyd.pid)];
    let state;
    try {
      const s = await fetchSnapshot(r.socket, { timeoutMs: 5000 });
      state = `synchronized ${s.tracking.synchronized}, reach ${s.sources.map((x) => x.reach.toString(8)).join(' ')}`;
    } catch (e) {
      state = `no snapshot: ${e.message}`;
    }
    const name = `${r.c.n} sources, poll ${r.c.poll === 0 ? '1 s' : '64 s+'}`;
    console.log(`${name.padEnd(18)}${nk.toFixed(2).padStart(6)} ms/s  ${ch.toFixed(2).padStart(6)} ms/s  ${(ch > 0 ? (nk / ch).toFixed(1) : '-').padStart(5)}  ${String(sn.threads).padStart(3)} / ${String(sc.threads).padEnd(3)}  `
      + `${sn.rss.toFixed(1).padStart(6)} MiB (${sn.peak.toFixed(1).padStart(5)})  ${sc.rss.toFixed(1).padStart(6)} MiB (${sc.peak.toFixed(1).padStart(4)})  ${state}`);
  }
} finally {
  for (const r of runs) {
    await r.daemon.stop(5000);
    await r.chronyd?.stop();
  }
  await Promise.all(servers.map((s) => s.stop()));
  block?.release();
  await rm(dir, { recursive: true, force: true });
}
