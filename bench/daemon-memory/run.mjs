#!/usr/bin/env node
// Resident memory of the client daemon with 10 sources, next to chronyd's in
// the same run: 10 chronyd servers (`-x`, local stratum 1, each on its own
// 127.0.0.x:123); then `ntpkit daemon --clock virtual` and a `chronyd -x`
// client, each with the same 10 `server ... minpoll 0 maxpoll 2 iburst`
// lines, side by side. VmRSS and VmHWM (peak) are read from /proc at 5, 15,
// 30 and 60 s. The goal: under 80 MB for the daemon.
//
//   npm run build && node bench/daemon-memory/run.mjs [--sources 10] [--seconds 60]
//     [--net 127.0.54]   servers on NET.1.. and the daemon's bindaddress after them, instead of reserved 127.0.0.x addresses
// Past 60 s (a soak), a line every 5 minutes.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fetchSnapshot } from '../../dist/control/commands.js';
import { reserveLoopbackBlock, spawnManaged, startChronydClient, startChronydServer } from '../../dist/testing/index.js';

const { values } = parseArgs({ options: { sources: { type: 'string', default: '10' }, seconds: { type: 'string', default: '60' }, net: { type: 'string' } } });
const N = Number(values.sources);
const END = Number(values.seconds);
const soak = Array.from({ length: Math.floor(END / 300) }, (_, i) => (i + 1) * 300);
const checkpoints = [5, 15, 30, 60, ...soak].filter((t) => t < END).concat(END);

async function memory(pid) {
  const s = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

const block = values.net === undefined
  ? await reserveLoopbackBlock('bench-daemon-memory', N + 1)
  : { addresses: Array.from({ length: N + 1 }, (_, i) => `${values.net}.${i + 1}`), release: () => {} };
const dir = await mkdtemp(join(tmpdir(), 'ntpkit-bench-mem-'));
const servers = [];
let daemon;
let chronyd;
try {
  const addresses = block.addresses.slice(0, N);
  for (const address of addresses) servers.push(await startChronydServer({ address }));
  const socket = join(dir, 'ntpkit.sock');
  const lines = addresses.map((a) => `server ${a} minpoll 0 maxpoll 2 iburst`);
  await writeFile(join(dir, 'chrony.conf'), [...lines, 'allow 127.0.0.0/8', `bindaddress ${block.addresses[N]}`,
    `controlsocket ${socket}\nbindcmdaddress /\ncmdport 0`, `driftfile ${join(dir, 'drift')}`, ''].join('\n'));
  const bin = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
  daemon = await spawnManaged(process.execPath, [bin, 'daemon', '-f', join(dir, 'chrony.conf'), '--clock', 'virtual']);
  chronyd = await startChronydClient({ servers: addresses.map((address) => ({ address, options: 'minpoll 0 maxpoll 2 iburst' })) });
  console.log(`ntpkit ${process.version}, ${N} sources; daemon pid ${daemon.pid}, chronyd pid ${chronyd.pid}`);
  console.log('after   ntpkit RSS (peak)        chronyd RSS (peak)     ntpkit state');
  const t0 = Date.now();
  for (const t of checkpoints) {
    await new Promise((r) => setTimeout(r, Math.max(0, t * 1000 - (Date.now() - t0))));
    const [m, c] = await Promise.all([memory(daemon.pid), memory(chronyd.pid)]);
    let state = '';
    try {
      const s = await fetchSnapshot(socket, { timeoutMs: 2000 });
      state = `synchronized ${s.tracking.synchronized}, reach ${s.sources.map((x) => x.reach.toString(8)).join(' ')}`;
    } catch (e) {
      state = `no snapshot: ${e.message}`;
    }
    console.log(`${String(t).padStart(3)} s   ${m.rss.toFixed(1).padStart(6)} MiB (${m.peak.toFixed(1).padStart(5)})   ${c.rss.toFixed(1).padStart(6)} MiB (${c.peak.toFixed(1).padStart(5)})   ${state}`);
  }
} finally {
  await daemon?.stop(5000);
  await chronyd?.stop();
  await Promise.all(servers.map((s) => s.stop()));
  block.release();
  await rm(dir, { recursive: true, force: true });
}
