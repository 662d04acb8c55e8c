#!/usr/bin/env node
// bench/exporter: how many probes per second one `ntpkit exporter` sustains,
// next to what `ntpkit fleet` and chronyd 4.3 (`chronyd -Q`) take to query
// the same servers once, in the same run.
//
// --hosts ntpkit servers (src/testing/fleet-servers.ts), each on its own
// loopback address, port 12358 (from --net A.B.C: A.B.C.1 up, at most 250;
// else a block reserved in 127.64.0.0/16), in one child process; 3 of them
// are also the exporter's --ref references. Then:
//   ntpkit exporter --listen 127.0.0.1:0 --ref R1 --ref R2 --ref R3   (defaults: 3 samples per probe)
//   a closed loop of --concurrency HTTP clients (keep-alive), each asking
//   /probe?target=HOST:12358 for the hosts in turn, for --seconds seconds,
// and counts the answered probes, those with ntpkit_probe_success 1, and the
// latency; the exporter's CPU time is read from /proc. Then, once each, under
// /usr/bin/time: `ntpkit fleet -q --json -f HOSTS` and `chronyd -Q` with one
// `server ADDR port 12358 iburst maxsamples 1` line per host (as bench/fleet).
//
// Usage: npm run build && node bench/exporter/run.mjs [--hosts 200] [--seconds 20]
//        [--concurrency 16,64,256] [--net 127.0.56]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { reserveLoopbackBlock, spawnManaged, spawnNtpkit, toolPath } from '../../dist/testing/index.js';

const { values } = parseArgs({ options: {
  hosts: { type: 'string', default: '200' }, seconds: { type: 'string', default: '20' },
  concurrency: { type: 'string', default: '16,64,256' }, net: { type: 'string' },
} });
const N = Number(values.hosts);
const SECONDS = Number(values.seconds);
const LEVELS = values.concurrency.split(',').map(Number);
const PORT = 12358;
const BIN = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
const SERVERS = fileURLToPath(new URL('../../dist/testing/fleet-servers.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'ntpkit-bench-exporter-'));
const TICKS = 100; // USER_HZ on Linux

function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function timed(file, args) {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', file, ...args], { encoding: 'utf8', timeout: 180_000, maxBuffer: 64 << 20 });
  const m = /TIME ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (!m) throw new Error(`no /usr/bin/time figures: ${r.stderr.slice(-2000)}`);
  return { wall: Number(m[1]), rssMiB: Number(m[2]) / 1024, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const quantile = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };

function get(agent, host, port, path) {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A closed loop of `c` clients for SECONDS: every answer is followed by the next request. */
async function load(url, hosts, c, pid) {
  const agent = new Agent({ keepAlive: true, maxSockets: c });
  const { hostname, port } = new URL(url);
  let next = 0;
  let answered = 0;
  let success = 0;
  let errors = 0;
  const latencies = [];
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  const client = async () => {
    while (performance.now() < end) {
      const target = hosts[next++ % hosts.length];
      const s = performance.now();
      try {
        const r = await get(agent, hostname, port, `/probe?target=${target}`);
        latencies.push(performance.now() - s);
        answered++;
        if (r.status === 200 && /^ntpkit_probe_success 1$/m.test(r.body)) success++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: c }, client));
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  agent.destroy();
  return { c, rate: answered / wall, okRate: success / wall, okShare: success / Math.max(1, answered), errors, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), cpuShare: cpu / wall, rss: rssMiB(pid) };
}

let block = null;
const children = [];
try {
  let addrs;
  if (values.net !== undefined) {
    if (N > 250) throw new Error('--net gives at most 250 addresses');
    addrs = Array.from({ length: N }, (_, i) => `${values.net}.${i + 1}`);
  } else {
    block = await reserveLoopbackBlock('bench-exporter', N, { port: PORT, bulk: true, timeoutMs: 60_000 });
    addrs = [...block.addresses];
  }
  const refs = addrs.slice(0, 3);
  const spec = join(tmp, 'servers.json');
  writeFileSync(spec, JSON.stringify(addrs.map((address, i) => ({ address, port: PORT, ...(i < 3 ? { stratum: 1 } : {}) }))));
  const servers = await spawnManaged(process.execPath, [SERVERS, spec]);
  children.push(servers);
  const exporter = await spawnNtpkit(['exporter', '--listen', '127.0.0.1:0', '--max-queued', '100000', ...refs.flatMap((r) => ['--ref', `${r}:${PORT}`])]);
  children.push(exporter);
  const deadline = Date.now() + 60_000;
  let url;
  while (!(servers.logs().includes('ready') && (url = /listening on (http:\S+)/.exec(exporter.logs())?.[1]))) {
    const dead = children.find((c) => c.exitStatus());
    if (dead || Date.now() > deadline) throw new Error(`did not start: ${(dead ?? servers).logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const hosts = addrs.map((a) => `${a}:${PORT}`);
  const rows = [];
  for (const c of LEVELS) {
    const r = await load(url, hosts, c, exporter.pid);
    rows.push(r);
    process.stderr.write(`concurrency ${c}: ${r.rate.toFixed(0)} probes/s, ${(r.okShare * 100).toFixed(1)} % success, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, exporter CPU ${(r.cpuShare * 100).toFixed(0)} %\n`);
  }
  const hostsFile = join(tmp, 'hosts');
  writeFileSync(hostsFile, hosts.join('\n'));
  const k = timed(process.execPath, [BIN, 'fleet', '-q', '--json', '-f', hostsFile]);
  const doc = JSON.parse(k.stdout);
  const conf = join(tmp, 'chrony.conf');
  const logdir = join(tmp, 'chrony-log');
  writeFileSync(conf, [...addrs.map((a) => `server ${a} port ${PORT} iburst maxsamples 1`), `pidfile ${join(tmp, 'chronyd.pid')}`, 'cmdport 0', `logdir ${logdir}`, 'log measurements', `minsources ${N}`, `driftfile ${join(tmp, 'drift')}`].join('\n'));
  const c = timed(toolPath('chronyd'), ['-Q', '-t', '60', '-u', 'root', '-f', conf]);
  let heard = 0;
  try {
    const seen = new Set();
    for (const f of readdirSync(logdir)) for (const line of readFileSync(join(logdir, f), 'utf8').split('\n')) { const ip = line.split(/\s+/)[2]; if (ip && /^127\./.test(ip)) seen.add(ip); }
    heard = seen.size;
  } catch { /* no log */ }

  console.log(`bench/exporter: ${N} ntpkit servers on loopback (port ${PORT}, one process), 3 of them references; ${SECONDS} s per level`);
  console.log(`${'concurrency'.padEnd(12)} ${'probes/s'.padStart(9)} ${'success'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'exporter CPU'.padStart(13)} ${'RSS MiB'.padStart(8)}`);
  for (const r of rows) console.log(`${String(r.c).padEnd(12)} ${r.rate.toFixed(0).padStart(9)} ${`${(r.okShare * 100).toFixed(1)}%`.padStart(8)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${`${(r.cpuShare * 100).toFixed(0)}%`.padStart(13)} ${r.rss.toFixed(0).padStart(8)}`);
  console.log(`ntpkit fleet -f (all ${N} once, 3 samples each): ${k.wall.toFixed(2)} s wall, ${(N / k.wall).toFixed(0)} hosts/s, ${doc.summary.answered}/${N} answered`);
  console.log(`chronyd -Q (all ${N} once, iburst, maxsamples 1): ${c.wall.toFixed(2)} s wall, ${(N / c.wall).toFixed(0)} hosts/s, ${heard}/${N} heard, exit ${c.status}`);
} finally {
  for (const c of children.reverse()) await c.stop();
  block?.release();
  rmSync(tmp, { recursive: true, force: true });
}
