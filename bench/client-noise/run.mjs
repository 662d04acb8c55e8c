#!/usr/bin/env node
// bench/client-noise: how noisy are the client's measurements? ntpkit's
// daemon and chronyd 4.3 as clients of the same three chronyd servers on
// loopback, in the same run, side by side.
//
// Three chronyd 4.3 servers (`-x`, `local stratum 1`, cmdport 0, each its own
// pidfile) serve on 127.0.41.1-3:123 (--base changes the first). Two clients
// poll all three with `minpoll 0 maxpoll 0` (one request a second; no iburst,
// so both windows fill at the same pace) for --seconds:
//   chronyd -x (never touches the clock) with its command socket in its temp
//     dir, read with `chronyc -h SOCK -n -c sourcestats`;
//   `node bin/ntpkit.js daemon -f CONF --clock virtual` (a software clock; the
//     host's is never touched), read with `ntpkit sourcestats --json`.
// Every process shares this machine's clock, so what either client measures
// is its own error plus the servers' (the same for both). Both reports are
// read at the end of the run, within a few milliseconds of each other.
//
// Std Dev is the same quantity for both: the delay-weighted standard
// deviation of the residuals of a weighted regression line through the
// samples kept, offsets corrected for jitter asymmetry (chronyd's
// sourcestats.c and regress.c; ntpkit computes it the same way in
// src/core/engine/residual-stddev.ts). The last column says who read the
// timestamps: chronyc ntpdata's TX/RX timestamping of the last sample, and
// ntpkit ntpdata's counts over every sample of the run (kernel / all).
//
// Usage: npm run build && node bench/client-noise/run.mjs [--seconds 120] [--runs 1] [--json] [--base 127.0.41.1] [--logdir DIR]
//   --logdir DIR   both clients also write measurements.log and statistics.log, to DIR/run-N/{chronyd,ntpkit}
// Needs root (port 123 on 127.0.41.x) and Debian's chrony.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const DIST = join(HERE, '..', '..', 'dist');
const BIN = join(HERE, '..', '..', 'bin', 'ntpkit.js');
const { spawnManaged, startChronyd, startChronydServer, toolPath } = await import(pathToFileURL(join(DIST, 'testing', 'index.js')).href);

const { values } = parseArgs({ options: {
  seconds: { type: 'string', default: '120' }, runs: { type: 'string', default: '1' },
  json: { type: 'boolean', default: false }, base: { type: 'string', default: '127.0.41.1' }, logdir: { type: 'string' },
} });
const seconds = Number(values.seconds);
const runs = Number(values.runs);
if (!(seconds >= 10) || !(runs >= 1)) {
  console.error(`Cannot run: --seconds must be >= 10 and --runs >= 1 (got ${values.seconds}, ${values.runs})`);
  process.exit(2);
}
const baseOctets = values.base.split('.').map(Number);
const servers = [0, 1, 2].map((i) => [...baseOctets.slice(0, 3), baseOctets[3] + i].join('.'));
const POLL = 'minpoll 0 maxpoll 0';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (s) => { if (!values.json) console.log(s); };

/** chronyc -c sourcestats: name,samples,runs,span,freq ppm,skew ppm,offset s,stddev s (offset: local - source, chronyd's sign). */
function chronySourcestats(sock) {
  const out = execFileSync(toolPath('chronyc'), ['-h', sock, '-n', '-c', 'sourcestats'], { encoding: 'utf8', timeout: 5000 });
  return out.trim().split('\n').filter(Boolean).map((l) => {
    const f = l.split(',');
    return { address: f[0], samples: Number(f[1]), runs: Number(f[2]), span: Number(f[3]), frequencyPpm: Number(f[4]), skewPpm: Number(f[5]), offset: Number(f[6]), stdDev: Number(f[7]) };
  });
}

/** chronyc ntpdata's "TX timestamping" line per source (Kernel or Daemon for chronyd 4.3). */
function chronyTxStamping(sock) {
  const out = execFileSync(toolPath('chronyc'), ['-h', sock, '-n', 'ntpdata'], { encoding: 'utf8', timeout: 5000 });
  const res = {};
  for (const block of out.split(/\n(?=Remote address)/)) {
    const addr = /^Remote address\s*:\s*(\S+)/m.exec(block)?.[1];
    if (addr) res[addr] = { tx: /^TX timestamping\s*:\s*(\S+)/m.exec(block)?.[1], rx: /^RX timestamping\s*:\s*(\S+)/m.exec(block)?.[1] };
  }
  return res;
}

function ntpkitJson(cmd, sock) {
  const r = spawnSync(process.execPath, [BIN, cmd, '--json', '--socket', sock], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ntpkit ${cmd} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** ntpkit sourcestats --json, in chronyc's units and signs (offset: local - source, as chronyc prints it). */
function ntpkitSourcestats(sock) {
  const doc = ntpkitJson('sourcestats', sock);
  return (doc.sources ?? doc).map((s) => ({
    address: s.address, samples: s.stats.samples, runs: s.stats.runs, span: s.stats.span,
    frequencyPpm: s.stats.frequencyPpm, skewPpm: s.stats.skewPpm, offset: -s.stats.offset, stdDev: s.stats.stdDev,
  }));
}

/** ntpkit ntpdata --json: per source, how many samples took T1 and T4 from the kernel. */
function ntpkitStamping(sock) {
  const doc = ntpkitJson('ntpdata', sock);
  const res = {};
  for (const s of doc.sources ?? doc) res[s.remoteAddress] = s.stamps ?? null;
  return res;
}

async function oneRun(run) {
  const dir = mkdtempSync(join(tmpdir(), 'ntpkit-bench-client-noise-'));
  const stops = [];
  const logLines = (who) => {
    if (values.logdir === undefined) return [];
    const d = join(values.logdir, `run-${run}`, who);
    mkdirSync(d, { recursive: true });
    return [`logdir ${d}`, 'log measurements statistics'];
  };
  try {
    for (const address of servers) {
      const s = await startChronydServer({ address });
      stops.push(() => s.stop());
    }
    // The chronyd client: no NTP port of its own, its command socket in its own dir.
    const chrony = await startChronyd({
      name: 'bench-client-noise',
      config: ['port 0', 'bindcmdaddress {dir}/chronyd.sock', ...logLines('chronyd'), ...servers.map((a) => `server ${a} ${POLL}`)],
    });
    stops.push(() => chrony.stop());
    const chronySock = join(chrony.dir, 'chronyd.sock');
    const conf = join(dir, 'ntpkit.conf');
    const ntpkitSock = join(dir, 'ntpkit.sock');
    writeFileSync(conf, [...servers.map((a) => `server ${a} ${POLL}`), `controlsocket ${ntpkitSock}\nbindcmdaddress /\ncmdport 0`, ...logLines('ntpkit'), ''].join('\n'));
    const ntpkit = await spawnManaged(process.execPath, [BIN, 'daemon', '-f', conf, '--clock', 'virtual']);
    stops.push(() => ntpkit.stop(5000));

    const t0 = Date.now();
    while (Date.now() - t0 < seconds * 1000) {
      await sleep(1000);
      if (ntpkit.exitStatus() !== undefined) throw new Error(`the ntpkit daemon exited: ${JSON.stringify(ntpkit.exitStatus())}\n${ntpkit.logs()}`);
      if (chrony.logs().includes('Fatal error')) throw new Error(`chronyd failed:\n${chrony.logs()}`);
    }
    const c = chronySourcestats(chronySock);
    const k = ntpkitSourcestats(ntpkitSock);
    const cStamp = chronyTxStamping(chronySock);
    const kStamp = ntpkitStamping(ntpkitSock);
    const rows = servers.map((a) => ({
      address: a,
      chronyd: { ...c.find((x) => x.address === a), stamping: cStamp[a] ?? null },
      ntpkit: { ...k.find((x) => x.address === a), stamping: kStamp[a] ?? null },
    }));
    return { run, seconds, rows };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

const us = (s) => (s === undefined || Number.isNaN(s) ? '-' : (s * 1e6).toFixed(3));
const fmt = (r) => (r?.samples === undefined ? '(no source)'
  : `${String(r.samples).padStart(3)} ${String(r.runs).padStart(3)} ${String(Math.round(r.span)).padStart(4)} ${r.frequencyPpm.toFixed(3).padStart(8)} ${r.skewPpm.toFixed(3).padStart(7)} ${us(r.offset).padStart(8)} ${us(r.stdDev).padStart(7)}`);
const stampText = (s) => {
  if (s === null || s === undefined) return '';
  if ('tx' in s && typeof s.tx === 'string') return `TX ${s.tx}, RX ${s.rx}`;
  return `T1 kernel ${s.txKernel}/${s.txKernel + s.txDaemon}, T4 kernel ${s.rxKernel}/${s.rxKernel + s.rxDaemon}`;
};

const results = [];
log(`client noise on loopback: chronyd 4.3 and ntpkit's daemon (--clock virtual) as clients of 3 chronyd 4.3 servers (local stratum 1) at ${servers.join(', ')}, '${POLL}', ${seconds} s per run`);
for (let run = 1; run <= runs; run++) {
  const r = await oneRun(run);
  results.push(r);
  log(`\nrun ${run}:             NP  NR Span  Freq ppm Skew ppm Offset us StdDev us   stamps`);
  for (const row of r.rows) {
    log(`${row.address.padEnd(12)} chronyd ${fmt(row.chronyd)}   ${stampText(row.chronyd.stamping)}`);
    log(`${''.padEnd(12)} ntpkit  ${fmt(row.ntpkit)}   ${stampText(row.ntpkit.stamping)}`);
  }
  const ratio = r.rows.map((x) => x.ntpkit.stdDev / x.chronyd.stdDev);
  log(`Std Dev ntpkit/chronyd per source: ${ratio.map((x) => x.toFixed(2)).join(', ')}`);
}
if (values.json) console.log(JSON.stringify({ servers, poll: POLL, seconds, runs: results }, null, 2));
