#!/usr/bin/env node
// bench/nts: NTS-KE handshakes per second on loopback, ntpkit's KE server and
// chronyd 4.3's in the same run.
//
// Both servers get the same certificate (P-256 ECDSA, made by openssl through
// src/testing/nts-pki.ts) and run in their own processes: chronyd -x with
// ntsservercert/ntsserverkey/ntsport (its default ntsprocesses), and
// bench/nts/ntpkit-ke-server.mjs (one Node process). The load is a full
// client exchange each time, from this process: TLS 1.3 with ALPN ntske/1,
// certificate verification, request, response with 8 cookies, key export
// (src/net/nts-ke-client.ts), with --concurrency exchanges in flight. Rounds
// alternate between the targets so background load hits both alike; the
// figures are the median round. Server CPU is utime+stime of its process tree
// over the round (% of one core, and per handshake). On a 2-core machine one
// Node client process saturates before either server does, so handshakes/s
// is the client's ceiling; CPU ms per handshake is the servers' own cost.
//
// Usage: npm run build && node bench/nts/run.mjs [--seconds 3] [--rounds 3] [--concurrency 8] [--json FILE]
// Needs root (chronyd on 127.0.0.x), openssl and Debian's chrony.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const DIST = join(HERE, '..', '..', 'dist');
const imp = (p) => import(pathToFileURL(join(DIST, p)).href);
const { reserveLoopbackBlock, spawnManaged, startChronydServer } = await imp('testing/index.js');
const { makeTestPki } = await imp('testing/nts-pki.js');
const { ntsKeyExchange } = await imp('net/nts-ke-client.js');

const { values } = parseArgs({ options: {
  seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '3' },
  concurrency: { type: 'string', default: '8' }, json: { type: 'string' },
} });
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const concurrency = Number(values.concurrency);

const freeTcpPort = (address) => new Promise((resolve, reject) => {
  const s = createServer();
  s.once('error', reject);
  s.listen(0, address, () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const cpuSeconds = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
};

const block = await reserveLoopbackBlock(`bench-nts-${process.pid}`, 2, { port: 123 });
const [chronyAddr, ntpkitAddr] = block.addresses;
const pki = await makeTestPki({ san: `IP:${chronyAddr},IP:${ntpkitAddr}` });
const cleanup = [];
try {
  const chronyPort = await freeTcpPort(chronyAddr);
  const chronyd = await startChronydServer({
    address: chronyAddr,
    extraConfig: ['ntsservercert {dir}/server.crt', 'ntsserverkey {dir}/server.key', `ntsport ${chronyPort}`],
    files: { 'server.crt': pki.cert, 'server.key': pki.key },
  });
  cleanup.push(() => chronyd.stop());
  const ntpkitPort = await freeTcpPort(ntpkitAddr);
  // NTPKIT_BENCH_NODE_ARGS: extra node options for ntpkit's KE server, e.g. "--cpu-prof --cpu-prof-dir=DIR" to profile it.
  const nodeArgs = (process.env.NTPKIT_BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const ntpkit = await spawnManaged(process.execPath, [...nodeArgs, join(HERE, 'ntpkit-ke-server.mjs'), DIST, pki.certPath, pki.keyPath, ntpkitAddr, String(ntpkitPort)]);
  cleanup.push(() => ntpkit.stop(3000));
  for (let i = 0; i < 100 && !/listening/.test(ntpkit.logs()); i++) await new Promise((r) => setTimeout(r, 50));
  // chronyd's NTS-KE helper is a child of chronyd: count the whole tree's CPU.
  const treePids = (pid) => {
    const out = [pid];
    try { for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) out.push(...treePids(Number(c))); } catch { /* gone */ }
    return out;
  };
  const targets = [
    { name: 'chronyd 4.3', host: chronyAddr, port: chronyPort, pid: chronyd.pid },
    { name: 'ntpkit', host: ntpkitAddr, port: ntpkitPort, pid: ntpkit.pid },
  ];
  // Warm-up and a correctness check: each must hand out 8 cookies.
  for (const t of targets) {
    const r = await ntsKeyExchange({ host: t.host, port: t.port, trustedCerts: [pki.caCertPath], noSystemCerts: true, timeoutMs: 5000 });
    if (r.cookies.length !== 8) throw new Error(`${t.name}: ${r.cookies.length} cookies`);
  }
  const results = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      const pids = treePids(t.pid);
      const cpu0 = pids.reduce((n, p) => n + cpuSeconds(p), 0);
      const t0 = performance.now();
      const end = t0 + seconds * 1000;
      let done = 0;
      let failed = 0;
      const worker = async () => {
        while (performance.now() < end) {
          try {
            await ntsKeyExchange({ host: t.host, port: t.port, trustedCerts: [pki.caCertPath], noSystemCerts: true, timeoutMs: 5000 });
            done++;
          } catch { failed++; }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      const elapsed = (performance.now() - t0) / 1000;
      const cpu = pids.reduce((n, p) => { try { return n + cpuSeconds(p); } catch { return n; } }, 0) - cpu0;
      results[t.name].push({ perSecond: done / elapsed, failed, serverCpuPct: (100 * cpu) / elapsed, cpuMsPerHandshake: done > 0 ? (1000 * cpu) / done : NaN });
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`NTS-KE handshakes/s, loopback, ${concurrency} in flight, ${rounds} rounds of ${seconds} s, median round`);
  console.log('target        handshakes/s  failed  server CPU %  server CPU ms/handshake');
  const summary = {};
  for (const t of targets) {
    const rs = results[t.name];
    summary[t.name] = { perSecond: median(rs.map((r) => r.perSecond)), failed: rs.reduce((n, r) => n + r.failed, 0), serverCpuPct: median(rs.map((r) => r.serverCpuPct)), cpuMsPerHandshake: median(rs.map((r) => r.cpuMsPerHandshake)), rounds: rs };
    const s = summary[t.name];
    console.log(`${t.name.padEnd(13)} ${s.perSecond.toFixed(0).padStart(12)}  ${String(s.failed).padStart(6)}  ${s.serverCpuPct.toFixed(0).padStart(12)}  ${s.cpuMsPerHandshake.toFixed(2).padStart(23)}`);
  }
  if (values.json) writeFileSync(values.json, JSON.stringify({ seconds, rounds, concurrency, summary }, null, 2));
} finally {
  for (const f of cleanup.reverse()) await f().catch(() => {});
  await pki.remove();
  block.release();
}
