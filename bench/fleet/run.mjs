#!/usr/bin/env node
// bench/fleet: how long `ntpkit fleet` takes over 1000 hosts, and its peak
// memory, next to chronyd 4.3 querying the same 1000 servers in the same run.
//
// 1000 ntpkit servers (src/testing/fleet-servers.ts), each on its own
// 127.64.x.y:12300, spread over 4 child processes of 250; the addresses are
// reserved with reserveLoopbackBlock({ bulk: true }). Then, alternately for
// --rounds rounds, each under /usr/bin/time (wall time, max RSS):
//   ntpkit fleet -q --json -f HOSTS            (3 samples per host, least-delay kept)
//   chronyd -Q -f CONF                          (CONF: `server ADDR port 12300 iburst maxsamples 1`
//                                                for each host, `log measurements`: chronyd's
//                                                query-only mode, which never touches the clock)
// chronyd -Q polls every source (iburst: up to 4 requests, 2 s apart at
// most), then selects and prints the offset; it has no per-host report, so
// its measurements.log is counted for the hosts it heard from.
//
// Usage: npm run build && node bench/fleet/run.mjs [--hosts 1000] [--rounds 3]
// Needs chronyd (Debian's chrony); root is not needed (port 12300).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { reserveLoopbackBlock, spawnManaged, toolPath } from '../../dist/testing/index.js';

const { values } = parseArgs({ options: { hosts: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '3' } } });
const N = Number(values.hosts);
const ROUNDS = Number(values.rounds);
const PORT = 12300;
const PER_PROCESS = 250;
const BIN = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
const SERVERS = fileURLToPath(new URL('../../dist/testing/fleet-servers.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'ntpkit-bench-fleet-'));

/** Runs under /usr/bin/time; returns wall seconds, max RSS in MiB, and the program's output. */
function timed(file, args) {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', file, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  const m = /TIME ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (!m) throw new Error(`no /usr/bin/time figures: ${r.stderr.slice(-2000)}`);
  return { wall: Number(m[1]), rssMiB: Number(m[2]) / 1024, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };

const block = await reserveLoopbackBlock('bench-fleet', N, { port: PORT, bulk: true, timeoutMs: 60_000 });
const children = [];
try {
  const addrs = block.addresses;
  for (let i = 0; i < addrs.length; i += PER_PROCESS) {
    const spec = join(tmp, `servers-${i}.json`);
    writeFileSync(spec, JSON.stringify(addrs.slice(i, i + PER_PROCESS).map((address) => ({ address, port: PORT }))));
    children.push(await spawnManaged(process.execPath, [SERVERS, spec]));
  }
  const deadline = Date.now() + 60_000;
  while (!children.every((c) => c.logs().includes('ready'))) {
    const dead = children.find((c) => c.exitStatus());
    if (dead || Date.now() > deadline) throw new Error(`servers did not start: ${(dead ?? children[0]).logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const hosts = join(tmp, 'hosts');
  writeFileSync(hosts, addrs.map((a) => `${a}:${PORT}`).join('\n'));
  const conf = join(tmp, 'chrony.conf');
  const logdir = join(tmp, 'chrony-log');
  writeFileSync(conf, [...addrs.map((a) => `server ${a} port ${PORT} iburst maxsamples 1`), `pidfile ${join(tmp, 'chronyd.pid')}`, 'cmdport 0', `logdir ${logdir}`, 'log measurements', `minsources ${N}`, `driftfile ${join(tmp, 'drift')}`].join('\n'));

  const rows = { ntpkit: [], chronyd: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const k = timed(process.execPath, [BIN, 'fleet', '-q', '--json', '-f', hosts]);
    const doc = JSON.parse(k.stdout);
    rows.ntpkit.push({ wall: k.wall, rssMiB: k.rssMiB, answered: doc.summary.answered, inside: doc.elapsedSeconds, spread: doc.summary.spread?.range, transport: doc.transport });
    rmSync(logdir, { recursive: true, force: true });
    const c = timed(toolPath('chronyd'), ['-Q', '-t', '60', '-u', 'root', '-f', conf]);
    const wrong = /System clock wrong by (-?[0-9.]+) seconds/.exec(c.stderr);
    let heard = 0;
    try {
      const seen = new Set();
      for (const f of readdirSync(logdir)) {
        for (const line of readFileSync(join(logdir, f), 'utf8').split('\n')) {
          const ip = line.split(/\s+/)[2];
          if (ip && /^127\./.test(ip)) seen.add(ip);
        }
      }
      heard = seen.size;
    } catch { /* no log: heard stays 0 */ }
    rows.chronyd.push({ wall: c.wall, rssMiB: c.rssMiB, answered: heard, offset: wrong ? Number(wrong[1]) : null, status: c.status });
    process.stderr.write(`round ${round + 1}: ntpkit ${k.wall} s ${k.rssMiB.toFixed(1)} MiB (${doc.summary.answered} answered); chronyd -Q ${c.wall} s ${c.rssMiB.toFixed(1)} MiB (${heard} heard, exit ${c.status})\n`);
  }
  const line = (name, rs) => `${name.padEnd(24)} ${String(median(rs.map((r) => r.wall)).toFixed(2)).padStart(8)} s ${median(rs.map((r) => r.rssMiB)).toFixed(1).padStart(8)} MiB  ${String(median(rs.map((r) => r.answered))).padStart(5)}/${N}`;
  console.log(`bench/fleet: ${N} hosts (ntpkit servers on 127.64.x.y:${PORT}, ${Math.ceil(N / PER_PROCESS)} processes), ${ROUNDS} rounds, medians`);
  console.log(`${'tool'.padEnd(24)} ${'wall'.padStart(10)} ${'max RSS'.padStart(12)}  answered`);
  console.log(line('ntpkit fleet', rows.ntpkit));
  console.log(line('chronyd -Q (iburst)', rows.chronyd));
  console.log(`ntpkit: transport ${rows.ntpkit[0].transport}, time inside the query ${median(rows.ntpkit.map((r) => r.inside)).toFixed(2)} s, fleet spread (range) ${(median(rows.ntpkit.map((r) => r.spread)) * 1e6).toFixed(0)} us`);
  console.log(`chronyd -Q: offsets ${rows.chronyd.map((r) => r.offset).join(', ')}; exit ${rows.chronyd.map((r) => r.status).join(', ')}`);
} finally {
  for (const c of children) await c.stop();
  block.release();
  rmSync(tmp, { recursive: true, force: true });
}
