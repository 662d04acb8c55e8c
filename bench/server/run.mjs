#!/usr/bin/env node
// bench/server: NTP servers under load on loopback, side by side in one run.
//
// Targets, each on its own reserved 127.0.0.x:123, all started up front and
// measured interleaved (rate by rate, rotating the order), so background load
// on this shared machine hits them alike:
//   chronyd      chronyd 4.3 -x, `local stratum 1`, no `ratelimit` (the harness's startChronydServer)
//   naive-dgram  bench/server/naive-dgram.mjs: node:dgram, T2 = T3 = realtime() in the handler
//   ntpkit       `ntpkit server` (see ntpkitServerCommand below), or "not available (why)"
//   ntpkit-nocomp  the same with NTPKIT_TX_COMPENSATION=off: T3 as read, without the
//                measured read-to-wire latency added (shows what the compensation does)
// For each rate step, bench/server/ntpload.c (built here with cc -O2) sends
// mode 3 requests at that rate for --seconds and measures loss and the server
// timestamp error ((T2-T1)+(T3-T4))/2 from kernel timestamps; this script
// adds the server's CPU (utime+stime over the step, % of one core, process
// tree) and peak RSS (VmHWM). A step is retried when other processes on the
// machine used more than --max-background % of a core meanwhile.
//
// Usage: npm run build && node bench/server/run.mjs [--rates 20k,40k,...] [--seconds 3]
//        [--targets chronyd,naive-dgram,ntpkit,ntpkit-nocomp] [--workers 2] [--json FILE]
//        [--dist DIR]  (the compiled tree to run ntpkit and the harness from; default dist)
//        load: [--pacing busy|sleep] [--tick-us 100] [--sockets 16] [--tx-timestamp kernel|user]
//        [--tx-sample 4] [--generator-cpu N] [--drain-ms 500]
//        noise: [--max-background 10] [--retries 2] [--noise-budget 120]
// Needs root (port 123), cc, and Debian's chrony.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..', '..');
// --dist is read before the rest of the options: the harness comes from that tree.
const distArg = process.argv.findIndex((a) => a === '--dist' || a.startsWith('--dist='));
const DIST = distArg < 0 ? join(ROOT, 'dist') : (() => {
  const v = process.argv[distArg].includes('=') ? process.argv[distArg].slice(7) : process.argv[distArg + 1];
  return isAbsolute(v) ? v : resolvePath(process.cwd(), v);
})();
const { probeNtp, reserveLoopbackBlock, runToCompletion, spawnManaged, startChronydServer, toolPath } = await import(pathToFileURL(join(DIST, 'testing', 'index.js')).href);
const OUT = join(HERE, 'out');
const NTPLOAD_SRC = join(HERE, 'ntpload.c');
const NTPLOAD = join(OUT, 'ntpload');
const ALL_TARGETS = ['chronyd', 'naive-dgram', 'ntpkit', 'ntpkit-nocomp'];
const LOSS_LIMIT_PCT = 0.1;
/** Longest wait for a quiet machine before one step. */
const QUIET_WAIT_S = 20;

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '20k,40k,60k,80k,100k,120k,140k' },
    seconds: { type: 'string', default: '3' },
    targets: { type: 'string', default: ALL_TARGETS.join(',') },
    workers: { type: 'string', default: '2' },
    sockets: { type: 'string', default: '16' },
    'tick-us': { type: 'string', default: '100' },
    pacing: { type: 'string', default: 'busy' },
    'tx-timestamp': { type: 'string', default: 'kernel' },
    'tx-sample': { type: 'string', default: '4' },
    'generator-cpu': { type: 'string' },
    'drain-ms': { type: 'string', default: '500' },
    'max-background': { type: 'string', default: '10' },
    retries: { type: 'string', default: '2' },
    'noise-budget': { type: 'string', default: '120' },
    json: { type: 'string' },
    dist: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
  console.log(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.slice(3)).join('\n'));
  process.exit(0);
}

function parseRate(s) {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([kK]?)\s*$/.exec(s);
  if (!m) throw new Error(`Cannot parse --rates: current value is ${JSON.stringify(s)} (want e.g. 20k,40000)`);
  return Math.round(Number(m[1]) * (m[2] ? 1000 : 1));
}
const rates = values.rates.split(',').map(parseRate);
const seconds = Number(values.seconds);
const targets = values.targets.split(',').map((t) => t.trim());
for (const t of targets) if (!ALL_TARGETS.includes(t)) throw new Error(`Cannot use --targets: unknown target ${t} (known: ${ALL_TARGETS.join(', ')})`);
const maxBackground = Number(values['max-background']);
const retries = Number(values.retries);
/** Seconds the whole run may spend waiting for quiet and re-running noisy steps. */
let noiseBudgetS = Number(values['noise-budget']);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

// ---------------------------------------------------------------------------
// ntpkit's server command line: the one place that knows `ntpkit server`'s
// flags, so a change of flags is made HERE. Everything else treats it as a black box
// that must answer NTP on ADDRESS:123 and may fork or spawn workers.
function ntpkitServerConfig(address) {
  return [`bindaddress ${address}`, 'port 123', 'allow 127.0.0.0/8', 'local stratum 1', ''].join('\n');
}
function ntpkitServerCommand({ configPath, workers }) {
  // What bin/ntpkit.js does, from the --dist tree.
  return { file: process.execPath, args: [join(HERE, 'ntpkit-cli.mjs'), DIST, 'server', '--config', configPath, '--workers', String(workers)] };
}
// ---------------------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- interruption: Ctrl-C stops the running generator by PID; finally blocks stop the servers.
let interrupted = false;
let currentLoad;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (interrupted) process.exit(130); // second signal: the exit hooks of the harness SIGKILL what is left
    interrupted = true;
    console.error(`\n${sig}: stopping (servers are stopped by PID before exit)`);
    void currentLoad?.stop(500);
  });
}
function checkInterrupted() {
  if (interrupted) throw new Error('interrupted');
}

// --- /proc readings
function readStat(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // fields 14-17 (utime stime cutime cstime) are f[11..14]: cutime covers reaped children
  return { ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
}
function descendants(pid) {
  const out = [];
  const walk = (p) => {
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids = '';
      try {
        kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.trim().split(/\s+/).filter(Boolean).map(Number)) {
        out.push(k);
        walk(k);
      }
    }
  };
  walk(pid);
  return out;
}
/** CPU ticks of a process and its live descendants (reaped ones are in cutime/cstime). */
function treeTicks(pid) {
  let total = 0;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      total += readStat(p).ticks;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}
function statusKb(pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}
/** Peak RSS: VmHWM summed over the process tree (an upper bound for forked workers sharing pages). */
function treeHwmKb(pid) {
  let kb = 0;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      kb += statusKb(p, 'VmHWM');
    } catch {
      // exited
    }
  }
  return kb;
}
function machineTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  return { user, nice, system, idle, iowait, irq, softirq, steal };
}

// --- build the generator
async function buildNtpload() {
  mkdirSync(OUT, { recursive: true });
  if (existsSync(NTPLOAD) && statSync(NTPLOAD).mtimeMs >= statSync(NTPLOAD_SRC).mtimeMs) return;
  const r = await runToCompletion('cc', ['-O2', '-Wall', '-Wextra', '-pthread', '-o', NTPLOAD, NTPLOAD_SRC, '-lm'], { timeoutMs: 120_000, dieWithParent: false });
  if (r.status.code !== 0) throw new Error(`Cannot build ntpload: cc exited ${JSON.stringify(r.status)}\n${r.stderr}`);
}

// --- one generator run
async function runLoad(address, rate, secs) {
  const args = [
    '--address', address, '--port', '123', '--rate', String(rate), '--duration', String(secs),
    '--sockets', values.sockets, '--tick-us', values['tick-us'], '--pacing', values.pacing,
    '--tx-timestamp', values['tx-timestamp'], '--tx-sample', values['tx-sample'], '--drain-ms', values['drain-ms'],
    ...(values['generator-cpu'] === undefined ? [] : ['--cpu', values['generator-cpu']]),
  ];
  const proc = await spawnManaged(NTPLOAD, args);
  currentLoad = proc;
  const limit = setTimeout(() => void proc.stop(500), (secs * 3 + 30) * 1000);
  try {
    const status = await proc.exited;
    checkInterrupted();
    const line = proc.logs().split('\n').reverse().find((l) => l.startsWith('{'));
    if (status.code !== 0 || line === undefined) throw new Error(`ntpload ${args.join(' ')} failed: ${JSON.stringify(status)}\n${proc.logs()}`);
    return JSON.parse(line);
  } finally {
    clearTimeout(limit);
    await proc.stop(500);
    currentLoad = undefined;
  }
}

// --- servers: each returns { name, label, pid, address, stop() } or { name, unavailable }
async function waitServing(address, proc, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no reply';
  while (Date.now() < deadline) {
    checkInterrupted();
    const st = proc.exitStatus();
    if (st) return `exited (code ${st.code}, signal ${st.signal}) before answering: ${lastLines(proc.logs())}`;
    try {
      const r = await probeNtp(address, 123, { timeoutMs: 200 });
      if (r.header.mode === 4 && r.header.stratum >= 1) return undefined;
      last = `reply with stratum ${r.header.stratum} leap ${r.header.leap}`;
    } catch (e) {
      last = e.message;
    }
    await sleep(50);
  }
  return `no usable reply on ${address}:123 within ${timeoutMs} ms (${last}): ${lastLines(proc.logs())}`;
}
/** What a failed process said: its error lines if any, else its last lines. */
function lastLines(text, n = 3) {
  const lines = text.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => /error|cannot|unknown|fail/i.test(l));
  return (errors.length ? errors : lines).slice(-n).join(' | ').slice(0, 300) || '(no output)';
}

async function startTarget(name, address) {
  if (name === 'chronyd') {
    const version = /version (\S+)/.exec(spawnSync(toolPath('chronyd'), ['-v'], { encoding: 'utf8' }).stdout)?.[1] ?? '?';
    // startChronydServer writes no `ratelimit` line: chronyd then serves every request.
    const s = await startChronydServer({ address, port: 123, stratum: 1 });
    if (/^\s*ratelimit/m.test(s.configText)) throw new Error('chronyd config unexpectedly has ratelimit');
    let exited;
    void s.exited.then((st) => (exited = st));
    return { name, label: `chronyd ${version}`, pid: s.pid, address, stop: () => s.stop(), exitStatus: () => exited, logs: () => s.logs() };
  }
  if (name === 'naive-dgram') {
    const p = await spawnManaged(process.execPath, [join(HERE, 'naive-dgram.mjs'), '--address', address, '--port', '123']);
    const why = await waitServing(address, p, 5000);
    if (why) {
      await p.stop();
      throw new Error(`naive-dgram did not start: ${why}`);
    }
    return { name, label: `naive node:dgram (node ${process.version})`, pid: p.pid, address, stop: () => p.stop(), exitStatus: p.exitStatus, logs: p.logs };
  }
  // ntpkit: may not exist yet; any failure to serve is reported, not fatal.
  const dir = mkdtempSync(join(tmpdir(), 'ntpkit-bench-server-'));
  const configPath = join(dir, 'ntpkit.conf');
  writeFileSync(configPath, ntpkitServerConfig(address));
  const workers = Number(values.workers);
  const { file, args } = ntpkitServerCommand({ configPath, workers });
  let p;
  try {
    p = await spawnManaged(file, args, name === 'ntpkit-nocomp' ? { env: { NTPKIT_TX_COMPENSATION: 'off' } } : {});
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return { name, unavailable: e.message };
  }
  const stop = async () => {
    await p.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const why = await waitServing(address, p, 5000);
  if (why) {
    await stop();
    return { name, unavailable: why };
  }
  return { name, label: `ntpkit server --workers ${workers}${name === 'ntpkit-nocomp' ? ' (NTPKIT_TX_COMPENSATION=off)' : ''}`, pid: p.pid, address, stop, exitStatus: p.exitStatus, logs: p.logs };
}

// --- other sessions share this machine: wait until they leave it idle, within the noise budget
async function waitQuiet() {
  const t0 = Date.now();
  for (;;) {
    const m0 = machineTicks();
    await sleep(500);
    const m1 = machineTicks();
    const busyPct = (100 * (m1.user + m1.nice + m1.system - m0.user - m0.nice - m0.system)) / CLK_TCK / 0.5;
    const spent = (Date.now() - t0) / 1000;
    if (busyPct <= maxBackground || spent >= Math.min(QUIET_WAIT_S, noiseBudgetS)) {
      noiseBudgetS -= spent;
      return busyPct;
    }
    checkInterrupted();
  }
}

// --- one measured step, retried while other processes load the machine
async function step(server, rate) {
  const attempts = [];
  for (let a = 0; a <= retries; a++) {
    checkInterrupted();
    await waitQuiet();
    const m0 = machineTicks();
    const c0 = treeTicks(server.pid);
    const t0 = process.hrtime.bigint();
    const load = await runLoad(server.address, rate, seconds);
    const t1 = process.hrtime.bigint();
    const c1 = treeTicks(server.pid);
    const m1 = machineTicks();
    const wall = Number(t1 - t0) / 1e9;
    const d = Object.fromEntries(Object.keys(m0).map((k) => [k, (m1[k] - m0[k]) / CLK_TCK]));
    const serverCpuS = (c1 - c0) / CLK_TCK;
    const genCpuS = load.generator_user_s + load.generator_sys_s;
    // user+system time of everything else: softirq/irq time is left out (charged to no process here).
    const backgroundS = Math.max(0, d.user + d.nice + d.system - serverCpuS - genCpuS);
    const attempt = {
      rate,
      wall_s: wall,
      server_cpu_pct: (100 * serverCpuS) / wall,
      server_peak_rss_kb: treeHwmKb(server.pid),
      generator_cpu_pct: (100 * genCpuS) / wall,
      machine: {
        busy_pct: (100 * (d.user + d.nice + d.system + d.irq + d.softirq)) / wall,
        softirq_pct: (100 * d.softirq) / wall,
        steal_pct: (100 * d.steal) / wall,
        background_pct: (100 * backgroundS) / wall,
      },
      load,
    };
    attempt.noisy = attempt.machine.background_pct > maxBackground || attempt.machine.steal_pct > maxBackground;
    attempts.push(attempt);
    const e = load.error_us;
    console.error(
      `  ${server.name.padEnd(12)} ${String(rate / 1000).padStart(4)}k/s  loss ${fmt(load.loss_pct, 3).padStart(7)}%  ` +
        `achieved ${Math.round(load.achieved_rate)}/s  err med ${fmt(e.median, 2)} p99 ${fmt(e.p99, 2)} us  ` +
        `cpu ${fmt(attempt.server_cpu_pct, 0)}%  bg ${fmt(attempt.machine.background_pct, 0)}%${attempt.noisy ? `  (noisy${a < retries && noiseBudgetS > 0 ? ', retrying' : ''})` : ''}`,
    );
    if (!attempt.noisy) break;
    if (noiseBudgetS <= 0) break;
    noiseBudgetS -= wall;
  }
  const best = attempts.reduce((x, y) => (y.machine.background_pct < x.machine.background_pct ? y : x));
  return { ...best, attempts: attempts.length, discarded_attempts: attempts.filter((x) => x !== best) };
}

const fmt = (v, digits) => (v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits));
const fmtSigned = (v, digits) => (v === null || v === undefined || Number.isNaN(v) ? '—' : `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`);
const kRate = (r) => (r % 1000 === 0 ? `${r / 1000}k` : `${(r / 1000).toFixed(1)}k`);

/** The highest step rate such that it and every lower step lost <= 0.1% and reached its rate. */
function noLossRate(steps) {
  let top;
  for (const s of [...steps].sort((a, b) => a.rate - b.rate)) {
    if (s.load.loss_pct <= LOSS_LIMIT_PCT && s.load.achieved_rate >= 0.97 * s.rate) top = s;
    else break;
  }
  return top;
}

function report(results, meta) {
  const lines = [];
  lines.push(`bench/server — ${meta.date}, ${meta.cpus}, Linux ${meta.kernel}, node ${process.version}`);
  lines.push(
    `load: ntpload (C), ${values.sockets} sockets from 127.0.0.1, ${values.pacing} pacing, ${values['tick-us']} us ticks, ` +
      `${seconds} s per step, T1 ${values['tx-timestamp'] === 'kernel' ? `kernel TX (1 request in ${values['tx-sample']})` : 'user clock_gettime'} / T4 kernel RX software timestamps`,
  );
  lines.push('');
  lines.push('| server | no-loss rate (≤0.1%) | error @20k: median / p99 / p99 of \\|err\\| | error @top: median / p99 / p99 of \\|err\\| | CPU @20k / @top | peak RSS |');
  lines.push('|---|---|---|---|---|---|');
  const at = (steps, rate) => steps.find((s) => s.rate === rate);
  for (const r of results) {
    if (r.unavailable) {
      lines.push(`| ${r.name} server | not available (${r.unavailable.replaceAll('|', '/').slice(0, 160)}) | | | | |`);
      continue;
    }
    const top = noLossRate(r.steps);
    const s20 = at(r.steps, 20000) ?? [...r.steps].sort((a, b) => a.rate - b.rate)[0];
    const e = (s) => (s ? `${fmtSigned(s.load.error_us.median, 2)} / ${fmtSigned(s.load.error_us.p99, 2)} / ${fmt(s.load.abs_error_us.p99, 2)} us` : '—');
    const maxRate = Math.max(...r.steps.map((s) => s.rate));
    const topText = top ? `${kRate(top.rate)}/s${top.rate === maxRate ? ' (highest tried)' : ''}` : `< ${kRate(Math.min(...r.steps.map((s) => s.rate)))}/s`;
    const rss = Math.max(...r.steps.map((s) => s.server_peak_rss_kb));
    lines.push(
      `| ${r.label}${r.died ? ' (died, see below)' : ''} | ${topText} | ${e(s20)}${s20 && s20.rate !== 20000 ? ` (@${kRate(s20.rate)})` : ''} | ${e(top)} | ` +
        `${fmt(s20?.server_cpu_pct, 0)}% / ${top ? `${fmt(top.server_cpu_pct, 0)}%` : '—'} | ${(rss / 1024).toFixed(1)} MB |`,
    );
  }
  lines.push('');
  lines.push('Per step: loss % · error median / p99 (us) · server CPU (% of one core); * = generator fell short of the rate, ! = background load stayed above the limit');
  const live = results.filter((r) => !r.unavailable);
  lines.push(`| rate | ${live.map((r) => r.name).join(' | ')} |`);
  lines.push(`|---|${live.map(() => '---|').join('')}`);
  for (const rate of rates) {
    const cells = live.map((r) => {
      const s = at(r.steps, rate);
      if (!s) return '—';
      const flags = `${s.load.achieved_rate < 0.97 * rate ? '*' : ''}${s.noisy ? '!' : ''}`;
      return `${fmt(s.load.loss_pct, 2)}% · ${fmtSigned(s.load.error_us.median, 2)} / ${fmtSigned(s.load.error_us.p99, 2)} · ${fmt(s.server_cpu_pct, 0)}%${flags}`;
    });
    lines.push(`| ${kRate(rate)}/s | ${cells.join(' | ')} |`);
  }
  for (const r of results) if (r.died) lines.push(`${r.name}: ${r.died}`);
  return lines.join('\n');
}

async function main() {
  await buildNtpload();
  const meta = {
    date: new Date().toISOString(),
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    options: { ...values, rates, seconds, targets },
    clk_tck: CLK_TCK,
  };
  const block = await reserveLoopbackBlock(`bench-server-${process.pid}`, targets.length);
  const servers = [];
  const results = [];
  try {
    for (const [i, name] of targets.entries()) {
      checkInterrupted();
      const s = await startTarget(name, block.addresses[i]);
      if (s.unavailable) {
        console.error(`${name}: not available (${s.unavailable})`);
        results.push({ name, unavailable: s.unavailable });
        continue;
      }
      servers.push(s);
      console.error(`${s.label}: pid ${s.pid} on ${s.address}:123`);
      results.push({ name, label: s.label, address: s.address, steps: [] });
    }
    // Warm-up: page in code paths and check that every server answers under light load.
    for (const s of servers) {
      const w = await runLoad(s.address, 2000, 0.5);
      if (w.received === 0) throw new Error(`${s.name} answered the probe but none of ${w.sent} warm-up requests`);
    }
    for (const [ri, rate] of rates.entries()) {
      for (let k = 0; k < servers.length; k++) {
        const s = servers[(ri + k) % servers.length];
        const r = results.find((x) => x.name === s.name);
        if (r.died) continue;
        const st = await step(s, rate);
        const dead = s.exitStatus();
        if (dead) {
          // Its CPU and RSS readings of this step are void; the loss is real.
          r.died = `exited during the ${kRate(rate)}/s step (${JSON.stringify(dead)}): ${lastLines(s.logs())}`;
          console.error(`${s.name}: ${r.died}`);
        }
        r.steps.push(st);
        await sleep(300);
      }
    }
  } finally {
    for (const s of servers.reverse()) await s.stop();
    block.release();
  }
  for (const r of results) r.steps?.sort((a, b) => a.rate - b.rate);
  const table = report(results, meta);
  console.log(table);
  const jsonPath = values.json ?? join(OUT, `results-${meta.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(jsonPath, `${JSON.stringify({ meta, results, table }, null, 2)}\n`);
  console.log(`\nraw step results: ${jsonPath}`);
}

try {
  await main();
} catch (e) {
  console.error(interrupted ? 'interrupted; every process started was stopped' : e.stack ?? e);
  process.exitCode = interrupted ? 130 : 1;
}
