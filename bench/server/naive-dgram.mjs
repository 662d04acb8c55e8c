#!/usr/bin/env node
// bench/server/naive-dgram.mjs: the naive node:dgram responder, the baseline any
// Node NTP server is measured against (no loss up to about 45k/s here, a median
// error of +8 to +27 us). A comparator for bench/server, not product code: one node:dgram
// socket, one 'message' handler, T2 = T3 = realtime() read when the handler
// runs (so T2 carries the event loop's latency and T3 ignores the send path).
// Answers mode 3 with mode 4, stratum 1, refid 127.127.1.1 (chrony's `local`
// refid), the client's version; drops everything else.
//
// Usage: node bench/server/naive-dgram.mjs --address 127.0.0.3 [--port 123]
// Prints one JSON line when listening. Loopback addresses only.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { parseArgs } from 'node:util';
import { realtime, realtimeInfo } from '../../dist/clock/realtime.js';

const { values } = parseArgs({
  options: { address: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '123' } },
});
const address = values.address;
const port = Number(values.port);
if (!(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || address === '::1')) {
  console.error(`naive-dgram: refusing to bind ${address}: loopback (127.0.0.0/8, ::1) only`);
  process.exit(2);
}

const REFID_LOCAL = 0x7f7f0101; // 127.127.1.1
const MASK64 = (1n << 64n) - 1n;
const reference = realtime() & MASK64;
const sock = dgram.createSocket(isIPv6(address) ? 'udp6' : 'udp4');

sock.on('message', (msg, rinfo) => {
  const now = realtime() & MASK64;
  if (msg.length < 48 || (msg[0] & 7) !== 3) return;
  const version = (msg[0] >> 3) & 7;
  const out = Buffer.alloc(48);
  out[0] = (version << 3) | 4; // LI 0, the client's VN, mode 4 (server)
  out[1] = 1; // stratum
  out[2] = msg[2]; // poll: echo
  out.writeInt8(-20, 3); // precision ~1 us
  out.writeUInt32BE(REFID_LOCAL, 12);
  out.writeBigUInt64BE(reference, 16);
  msg.copy(out, 24, 40, 48); // origin = the client's transmit timestamp
  out.writeBigUInt64BE(now, 32);
  out.writeBigUInt64BE(now, 40);
  sock.send(out, rinfo.port, rinfo.address);
});
sock.on('error', (e) => {
  console.error(`naive-dgram: ${e.message}`);
  process.exit(1);
});
sock.bind(port, address, () => {
  console.log(JSON.stringify({ listening: `${address}:${port}`, clock: realtimeInfo(), node: process.version }));
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => sock.close(() => process.exit(0)));
