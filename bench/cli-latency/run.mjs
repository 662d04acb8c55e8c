#!/usr/bin/env node
// How long a report command takes from start to answer, beside chronyc asking
// the same daemon: one chronyd server (`-x`, local stratum 1), one
// `ntpkit daemon --clock virtual` with it as source, serving both its JSON
// control socket (what `ntpkit tracking` reads) and chronyc's command protocol
// on a Unix socket (`bindcmdaddress`, what `chronyc -h SOCKET tracking`
// reads). Each command runs --runs times in turn with the others; wall time
// from spawn to exit and CPU time (GNU time's user + system, 10 ms steps:
// what the command costs when the machine is busy with other work), median
// and 90th percentile, and a bare `node -e 0` in the same rounds (the
// runtime's own start, which no lazy loading removes).
// The goal: a report command answers in at most 0.1 s.
//
//   npm run build && node bench/cli-latency/run.mjs [--runs 20] [--commands tracking,sources,sourcestats]
//     [--address 127.0.54.31]   the chronyd server's address instead of a reserved 127.0.0.x
//     [--bin OTHER/bin/ntpkit.js]   another build's CLI (before/after a change; the daemon stays this build's)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fetchSnapshot } from '../../dist/control/daemon-client.js';
import { reserveLoopbackBlock, spawnManaged, startChronydServer, toolPath } from '../../dist/testing/index.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    commands: { type: 'string', default: 'tracking,sources,sourcestats' },
    address: { type: 'string' },
    bin: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const commands = values.commands.split(',');
const ownBin = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
const cliBin = values.bin ?? ownBin;

// GNU time writes the child's CPU time (user + system) to a file of its own, apart from the command's output.
function timed(c) {
  const cpuFile = join(dir, 'cpu');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-o', cpuFile, '-f', '%U %S', c.cmd, ...c.args], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${c.cmd} ${c.args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  const [user, sys] = readFileSync(cpuFile, 'utf8').trim().split(/\s+/).map(Number);
  c.ms.push(ms);
  c.cpu.push((user + sys) * 1000);
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

const block = values.address === undefined ? await reserveLoopbackBlock('bench-cli-latency', 1) : undefined;
const address = values.address ?? block.addresses[0];
const dir = await mkdtemp(join(tmpdir(), 'ntpkit-bench-cli-'));
let server;
let daemon;
try {
  server = await startChronydServer({ address });
  const socket = join(dir, 'ntpkit.sock');
  const cmdSocket = join(dir, 'cmd.sock');
  await writeFile(join(dir, 'chrony.conf'), [`server ${address} iburst minpoll 0 maxpoll 2`, `controlsocket ${socket}`,
    `bindcmdaddress ${cmdSocket}`, 'cmdport 0', ''].join('\n'));
  daemon = await spawnManaged(process.execPath, [ownBin, 'daemon', '-f', join(dir, 'chrony.conf'), '--clock', 'virtual']);
  for (const deadline = Date.now() + 30_000; ;) {
    try {
      if ((await fetchSnapshot(socket, { timeoutMs: 1000 })).sources[0]?.reach > 0) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('the daemon never reached its source');
    await new Promise((r) => setTimeout(r, 200));
  }
  const chronyc = toolPath('chronyc');
  const cases = [{ name: 'node -e 0 (the floor)', cmd: process.execPath, args: ['-e', '0'], ms: [], cpu: [] }];
  for (const c of commands) {
    cases.push({ name: `ntpkit ${c}`, cmd: process.execPath, args: [cliBin, c, '--socket', socket], ms: [], cpu: [] });
    cases.push({ name: `chronyc ${c}`, cmd: chronyc, args: ['-h', cmdSocket, c], ms: [], cpu: [] });
  }
  for (const c of cases) timed(c); // warm the page cache
  for (const c of cases) c.ms.length = c.cpu.length = 0;
  for (let i = 0; i < RUNS; i++) for (const c of cases) timed(c);
  console.log(`node ${process.version}, ${RUNS} runs each, interleaved; ${cliBin === ownBin ? 'this build' : cliBin}`);
  console.log('                           wall time           CPU time (user + system)');
  console.log('command                    median     p90      median     p90');
  for (const c of cases) {
    const f = (xs, q) => `${quantile(xs, q).toFixed(0).padStart(5)} ms`;
    console.log(`${c.name.padEnd(26)} ${f(c.ms, 0.5)} ${f(c.ms, 0.9)}   ${f(c.cpu, 0.5)} ${f(c.cpu, 0.9)}`);
  }
} finally {
  await daemon?.stop(5000);
  await server?.stop();
  block?.release();
  await rm(dir, { recursive: true, force: true });
}
