#!/usr/bin/env node
// bench/nts-ntp/requests.mjs: NTS-protected NTP requests per second served on
// loopback by ntpkit's daemon and by chronyd 4.3, in the same run, so both
// see the same machine and the same load.
//
// Both servers get the same certificate (src/testing/nts-pki.ts) and serve
// NTS-KE plus NTP on their own 127.0.0.x:123: chronyd -x with
// ntsservercert/ntsserverkey/ntsport, and `ntpkit daemon --clock virtual`
// with `local stratum 3` and the same nts* directives. Neither has a rate
// limit configured.
//
// Requests: several NTS-KE exchanges per target give keys and cookies; each
// cookie becomes one prebuilt request as a client in steady state sends it
// (NtsClientAuthenticator with a full jar: unique identifier, one cookie, no
// placeholders, AEAD over it all). Servers keep no memory of cookies or
// unique identifiers, so resending the fixed set is full work for them every
// time: open the cookie, check the AEAD, seal a new cookie and the reply.
// Before loading, every prebuilt request is sent once and its reply must
// pass the client's own check (authenticated, echoes the identifier), so
// the figures are not of NTS NAKs.
//
// Load: this Node process sends the prebuilt requests from a few UDP
// sockets, paced by a 1 ms timer (the schedule rate x t, catching up at most
// two ticks' worth at once), and counts replies of mode 4 with a non-zero
// stratum. Rates step up per target, the targets alternating within each
// step so background load hits both alike; a step with more than --max-loss %
// lost is run once more, and a target stops after two failed steps in a row.
// Server CPU is utime+stime of its process tree over the step; socket drops
// (/proc/net/udp) tell the server's socket overflowing from the generator's.
// The achieved send rate is measured: a step where this generator fell short
// of the requested rate is marked, since then the figure is the client's
// ceiling, not the server's.
//
// Usage: node bench/nts-ntp/requests.mjs [--rates 1k,2k,3k,4k,5k,7k,10k,15k,20k,30k,40k,60k] [--seconds 3]
//   [--ke 8] [--sockets 4] [--max-loss 0.1] [--json FILE]
// Needs root (port 123 on 127.0.0.x), openssl and Debian's chrony; dist/ built.
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..', '..');
const DIST = join(ROOT, 'dist');
const imp = (p) => import(pathToFileURL(join(DIST, p)).href);
const { reserveLoopbackBlock, spawnManaged, startChronydServer } = await imp('testing/index.js');
const { makeTestPki, freeTcpPort } = await imp('testing/nts-pki.js');
const { ntsKeyExchange } = await imp('net/nts-ke-client.js');
const { NtsClientAuthenticator } = await imp('crypto/nts-client.js');

const { values } = parseArgs({ options: {
  rates: { type: 'string', default: '1k,2k,3k,4k,5k,7k,10k,15k,20k,30k,40k,60k' }, seconds: { type: 'string', default: '3' },
  ke: { type: 'string', default: '8' }, sockets: { type: 'string', default: '4' },
  'max-loss': { type: 'string', default: '0.1' }, json: { type: 'string' },
} });
const rates = values.rates.split(',').map((r) => Math.round(Number(r.replace(/k$/i, '')) * (/k$/i.test(r) ? 1000 : 1)));
if (rates.some((r) => !(r > 0))) throw new Error(`--rates: expected positive numbers like 5k,10000, got "${values.rates}"`);
const seconds = Number(values.seconds);
const keRounds = Number(values.ke);
const nSockets = Number(values.sockets);
const maxLossPct = Number(values['max-loss']);
const TICK_MS = 1;
const DRAIN_MS = 400;
// Below this share of the requested rate, the step measured the generator.
const CLIENT_SHORT = 0.97;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cpuSeconds = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
};
const treePids = (pid) => {
  const out = [pid];
  try { for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) out.push(...treePids(Number(c))); } catch { /* gone */ }
  return out;
};
const treeCpu = (pids) => pids.reduce((n, p) => { try { return n + cpuSeconds(p); } catch { return n; } }, 0);

// Per-socket receive drops (last column of /proc/net/udp), to tell the
// server's socket overflowing from this generator's own sockets overflowing.
const hexAddr = (ip, port) => `${Buffer.from(ip.split('.').map(Number).reverse()).toString('hex').toUpperCase()}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
const udpDrops = (locals) => {
  let n = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 12 && locals.has(f[1])) n += Number(f[f.length - 1]);
  }
  return n;
};

const isServedReply = (m) => m.length >= 48 && (m[0] & 7) === 4 && m[1] !== 0;

/** Keys and cookies from `keRounds` NTS-KE exchanges, as steady-state requests. */
async function prebuildRequests(t, caPath) {
  const out = [];
  for (let i = 0; i < keRounds; i++) {
    const ke = await ntsKeyExchange({ host: t.host, port: t.kePort, trustedCerts: [caPath], noSystemCerts: true, timeoutMs: 5000 });
    if (ke.server !== t.host || ke.port !== 123) throw new Error(`${t.name}: NTS-KE names NTP server ${ke.server}:${ke.port}, expected ${t.host}:123`);
    for (let c = 0; c < ke.cookies.length; c++) {
      // A full jar with this cookie first: secure() then spends it and asks for one back (no placeholders).
      const cookies = [...ke.cookies.slice(c), ...ke.cookies.slice(0, c)];
      const auth = new NtsClientAuthenticator({ ...ke, cookies });
      const header = new Uint8Array(48);
      header[0] = (4 << 3) | 3;
      header.set(randomBytes(8), 40);
      const { packet, token } = auth.secure(header);
      out.push({ packet: Buffer.from(packet), auth, token });
    }
  }
  return out;
}

/** Sends each request once, one at a time; each reply must pass the client's NTS check. */
async function verify(t, reqs) {
  const sock = createSocket('udp4');
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));
  try {
    for (const [i, r] of reqs.entries()) {
      const reply = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => { sock.off('message', on); reject(new Error(`${t.name}: no reply to prebuilt request ${i} within 2 s`)); }, 2000);
        const on = (m) => { clearTimeout(timer); sock.off('message', on); resolve(new Uint8Array(m)); };
        sock.on('message', on);
        sock.send(r.packet, 123, t.host);
      });
      if (!isServedReply(reply)) throw new Error(`${t.name}: request ${i} answered with stratum ${reply[1]} mode ${reply[0] & 7} (a kiss-o'-death or no server reply)`);
      const res = r.auth.check(reply, r.token);
      if (!res.ok) throw new Error(`${t.name}: request ${i}: reply fails the NTS check: ${res.reason}`);
    }
  } finally { sock.close(); }
}

/** One step: `rate` requests/s for `seconds` to target `t`. */
async function step(t, reqs, rate) {
  const socks = [];
  for (let i = 0; i < nSockets; i++) {
    const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await new Promise((r) => s.bind(0, '127.0.0.1', r));
    s.connect(123, t.host);
    await new Promise((r) => s.once('connect', r));
    socks.push(s);
  }
  let received = 0;
  let bad = 0;
  for (const s of socks) s.on('message', (m) => { if (isServedReply(m)) received++; else bad++; });
  let sent = 0;
  let sendErrors = 0;
  const onSent = (e) => { if (e) sendErrors++; };
  const serverSock = new Set([hexAddr(t.host, 123)]);
  const clientSocks = new Set(socks.map((s) => hexAddr('127.0.0.1', s.address().port)));
  const serverDrops0 = udpDrops(serverSock);
  const pids = treePids(t.pid);
  const cpu0 = treeCpu(pids);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const maxBatch = Math.max(1, Math.ceil((2 * rate * TICK_MS) / 1000));
  let k = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(rate * seconds, Math.floor((rate * (now - t0)) / 1000));
      const n = Math.min(due - sent, maxBatch);
      for (let i = 0; i < n; i++, k++) socks[k % nSockets].send(reqs[k % reqs.length].packet, onSent);
      sent += Math.max(0, n);
      if (now >= end) resolve(); else setTimeout(tick, TICK_MS);
    };
    tick();
  });
  const sendSeconds = (performance.now() - t0) / 1000;
  await sleep(DRAIN_MS);
  const cpu = treeCpu(pids) - cpu0;
  const serverDrops = udpDrops(serverSock) - serverDrops0;
  const clientDrops = udpDrops(clientSocks);
  for (const s of socks) s.close();
  const accepted = sent - sendErrors;
  const lossPct = accepted > 0 ? (100 * (accepted - received)) / accepted : 100;
  return {
    rate, sent: accepted, sendErrors, received, malformed: bad, lossPct, serverSocketDrops: serverDrops, clientSocketDrops: clientDrops,
    achievedRate: accepted / sendSeconds, clientShort: accepted / sendSeconds < CLIENT_SHORT * rate,
    serverCpuPct: (100 * cpu) / sendSeconds, cpuUsPerRequest: received > 0 ? (1e6 * cpu) / received : NaN,
  };
}

const block = await reserveLoopbackBlock(`bench-nts-ntp-${process.pid}`, 2, { port: 123 });
const [chronyAddr, ntpkitAddr] = block.addresses;
const pki = await makeTestPki({ san: `IP:${chronyAddr},IP:${ntpkitAddr}` });
const dir = await mkdtemp(join(tmpdir(), 'ntpkit-bench-nts-ntp-'));
const cleanup = [];
try {
  const chronyKePort = await freeTcpPort(chronyAddr);
  const chronyd = await startChronydServer({
    address: chronyAddr,
    extraConfig: ['ntsservercert {dir}/server.crt', 'ntsserverkey {dir}/server.key', `ntsport ${chronyKePort}`],
    files: { 'server.crt': pki.cert, 'server.key': pki.key },
  });
  cleanup.push(() => chronyd.stop());

  const ntpkitKePort = await freeTcpPort(ntpkitAddr);
  await writeFile(join(dir, 'server.crt'), pki.cert);
  await writeFile(join(dir, 'server.key'), pki.key, { mode: 0o600 });
  const conf = join(dir, 'ntpkit.conf');
  await writeFile(conf, [
    'local stratum 3',
    'allow 127.0.0.0/8',
    `bindaddress ${ntpkitAddr}`,
    `controlsocket ${join(dir, 'cmd.sock')}\nbindcmdaddress /\ncmdport 0`,
    `ntsservercert ${join(dir, 'server.crt')}`,
    `ntsserverkey ${join(dir, 'server.key')}`,
    `ntsport ${ntpkitKePort}`,
    `ntsdumpdir ${dir}`,
  ].join('\n') + '\n');
  // NTPKIT_BENCH_NODE_ARGS: extra node options for the daemon, e.g. "--cpu-prof --cpu-prof-dir=DIR" to profile it.
  const nodeArgs = (process.env.NTPKIT_BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const ntpkit = await spawnManaged(process.execPath, [...nodeArgs, join(ROOT, 'bin', 'ntpkit.js'), 'daemon', '-f', conf, '--clock', 'virtual']);
  cleanup.push(() => ntpkit.stop(3000));
  for (let i = 0; i < 200 && !/Serving NTP on/.test(ntpkit.logs()); i++) await sleep(50);
  if (!/Serving NTP on/.test(ntpkit.logs())) throw new Error(`ntpkit daemon not serving within 10 s:\n${ntpkit.logs()}`);
  const servingLine = ntpkit.logs().split('\n').find((l) => /Serving NTP on/.test(l));

  const targets = [
    { name: 'chronyd 4.3', host: chronyAddr, kePort: chronyKePort, pid: chronyd.pid },
    { name: 'ntpkit daemon', host: ntpkitAddr, kePort: ntpkitKePort, pid: ntpkit.pid },
  ];
  // chronyd's KE server may take a moment after start.
  for (const t of targets) {
    for (let i = 0; ; i++) {
      try { await ntsKeyExchange({ host: t.host, port: t.kePort, trustedCerts: [pki.caCertPath], noSystemCerts: true, timeoutMs: 2000 }); break; } catch (e) {
        if (i >= 40) throw new Error(`${t.name}: NTS-KE not answering: ${e.message}`);
        await sleep(250);
      }
    }
  }
  const reqs = new Map();
  for (const t of targets) {
    const r = await prebuildRequests(t, pki.caCertPath);
    await verify(t, r);
    reqs.set(t.name, r);
    console.log(`${t.name}: ${r.length} prebuilt NTS requests of ${r[0].packet.length} B, each answered with an authenticated reply`);
  }

  // Idle CPU, so that a server's own background work is not read as per-request cost.
  for (const t of targets) {
    const pids = treePids(t.pid);
    const c0 = treeCpu(pids);
    await sleep(2000);
    t.idleCpuPct = (100 * (treeCpu(pids) - c0)) / 2;
    console.log(`${t.name}: idle CPU ${t.idleCpuPct.toFixed(1)} % over 2 s`);
  }
  const results = Object.fromEntries(targets.map((t) => [t.name, []]));
  const failures = Object.fromEntries(targets.map((t) => [t.name, 0]));
  for (const [i, rate] of rates.entries()) {
    for (const t of i % 2 === 0 ? targets : [...targets].reverse()) {
      if (failures[t.name] >= 2) continue;
      // A lossy step is run once more before it counts: on a shared machine a
      // server that is descheduled for a moment overflows its socket buffer
      // without being short of CPU.
      let passed = false;
      for (let attempt = 0; attempt < 2 && !passed; attempt++) {
        const r = await step(t, reqs.get(t.name), rate);
        r.attempt = attempt + 1;
        results[t.name].push(r);
        passed = r.lossPct <= maxLossPct;
        console.log(`  ${t.name.padEnd(13)} ${String(rate).padStart(6)}/s requested, ${r.achievedRate.toFixed(0).padStart(6)}/s sent${r.clientShort ? ' (GENERATOR SHORT)' : ''}, ` +
          `loss ${r.lossPct.toFixed(3)} % (socket drops: server ${r.serverSocketDrops}, generator ${r.clientSocketDrops}), server CPU ${r.serverCpuPct.toFixed(0)} %, ${r.cpuUsPerRequest.toFixed(1)} us/request${attempt ? ' (retry)' : ''}`);
        await sleep(300);
      }
      // Two failed steps in a row end the target's run.
      failures[t.name] = passed ? 0 : failures[t.name] + 1;
    }
  }

  console.log(`\n${availableParallelism()} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end (other processes share the machine)`);
  console.log(`NTS NTP requests/s on loopback, ${seconds} s steps, ${nSockets} sockets from one Node process, loss-free = <= ${maxLossPct} % lost`);
  if (servingLine) console.log(`ntpkit: ${servingLine.trim()}`);
  console.log('target         highest loss-free rate (sent)  requested  server CPU %  CPU us/request  note');
  const summary = {};
  for (const t of targets) {
    const rs = results[t.name];
    const ok = rs.filter((r) => r.lossPct <= maxLossPct);
    const best = ok.length ? ok.reduce((a, b) => (b.achievedRate > a.achievedRate ? b : a)) : null;
    const above = best ? rs.filter((r) => r.rate > best.rate && r.lossPct > maxLossPct) : [];
    const cpuAbove = above.length ? Math.max(...above.map((r) => r.serverCpuPct)) : NaN;
    const note = !best ? 'no step loss-free'
      : rs.some((r) => r.clientShort && r.lossPct <= maxLossPct && r.rate >= best.rate) ? 'generator-limited (the server kept up with what was sent)'
        : above.length ? `loss above this rate, server CPU there <= ${cpuAbove.toFixed(0)} %` : 'top step reached';
    summary[t.name] = { best, note, idleCpuPct: t.idleCpuPct, steps: rs };
    const f = (x, d) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));
    console.log(`${t.name.padEnd(14)} ${(best ? `${f(best.achievedRate, 0)}/s` : '-').padStart(29)}  ${(best ? `${best.rate}/s` : '-').padStart(9)}  ${f(best?.serverCpuPct, 0).padStart(12)}  ${f(best?.cpuUsPerRequest, 1).padStart(14)}  ${note}`);
  }
  if (values.json) writeFileSync(values.json, JSON.stringify({ seconds, sockets: nSockets, maxLossPct, rates, summary }, null, 2));
} finally {
  for (const f of cleanup.reverse()) await f().catch(() => {});
  await pki.remove();
  await rm(dir, { recursive: true, force: true });
  block.release();
}
