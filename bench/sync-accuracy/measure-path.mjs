#!/usr/bin/env node
// Measures, on this machine, the latencies the kernel-world simulator models
// (src/sim/measurement-path.ts): how late the daemon's timer fires, and how
// long a reply waits between the kernel's receive stamp and the JavaScript
// reading that the node:dgram path would use as t4, and between the JS
// reading before send() and the kernel's transmit stamp.
//
// Usage: npm run build && node bench/sync-accuracy/measure-path.mjs [--n 400]
// Loopback only (127.0.0.1, port 0). Prints quantiles in microseconds.
import { parseArgs } from 'node:util';
const { values } = parseArgs({ options: { n: { type: 'string', default: '400' }, dist: { type: 'string', default: new URL('../../dist/', import.meta.url).pathname } } });
const n = Number(values.n);
const { NativeUdpSocket } = await import(`${values.dist}net/native-udp.js`);
const { realtime } = await import(`${values.dist}clock/realtime.js`);
const { diffSeconds } = await import(`${values.dist}time/instant.js`);

const q = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `n=${s.length} min ${s[0].toFixed(1)} p10 ${at(0.1).toFixed(1)} median ${at(0.5).toFixed(1)} mean ${mean.toFixed(1)} p90 ${at(0.9).toFixed(1)} p99 ${at(0.99).toFixed(1)} max ${s.at(-1).toFixed(1)} us`;
};

// 1. Timer lateness as the engine driver arms it: ms = ceil(seconds * 1000), then setTimeout.
{
  const late = [];
  const extra = [];
  for (let i = 0; i < n; i++) {
    const want = 0.001 + Math.random() * 0.02;
    const start = realtime();
    const ms = Math.ceil(want * 1000);
    await new Promise((res) => setTimeout(res, ms));
    const took = diffSeconds(realtime(), start);
    late.push((took - want) * 1e6);
    extra.push((took - ms / 1000) * 1e6);
  }
  console.log(`timer fires after the instant asked (ceil to ms + setTimeout): ${q(late)}`);
  console.log(`setTimeout(ms) fires after ms: ${q(extra)}`);
}

// 2. Receive and transmit paths on loopback through the native socket.
{
  const rxToJs = [];
  const userToTx = [];
  const txToRx = [];
  let pending = null;
  const serverRx = [];
  const server = new NativeUdpSocket(4, {
    onMessage: (data, from, rx) => { if (rx !== null) serverRx.push(rx); server.send(data, from.address, from.port); },
    onError: () => {},
  });
  server.bind('127.0.0.1', 0);
  const sport = server.address().port;
  const tx = new Map();
  const txStamps = new Map();
  const client = new NativeUdpSocket(4, {
    onMessage: (_d, _f, rx) => {
      const js = realtime();
      if (rx !== null) rxToJs.push(diffSeconds(js, rx) * 1e6);
      pending?.();
    },
    onTxTime: (id, t) => { const u = tx.get(id); if (u !== undefined) { userToTx.push(diffSeconds(t, u) * 1e6); txStamps.set(id, t); } },
    onError: () => {},
  });
  client.bind('127.0.0.1', 0);
  for (let i = 0; i < n; i++) {
    const done = new Promise((res) => { pending = res; });
    const user = realtime();
    const id = client.send(new Uint8Array(48), '127.0.0.1', sport);
    if (id >= 0) tx.set(id, user);
    await done;
    const stamp = txStamps.get(id);
    const rx = serverRx.pop();
    if (stamp !== undefined && rx !== undefined) txToRx.push(diffSeconds(rx, stamp) * 1e6);
    await new Promise((res) => setTimeout(res, 2));
  }
  client.close();
  server.close();
  console.log(`kernel RX stamp -> JS reading in the message callback: ${q(rxToJs)}`);
  if (userToTx.length > 0) console.log(`JS reading before send() -> kernel TX stamp: ${q(userToTx)}`);
  if (txToRx.length > 0) console.log(`client's kernel TX stamp -> server's kernel RX stamp (loopback): ${q(txToRx)}`);
}
