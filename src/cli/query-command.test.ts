/**
 * `ntpkit query` end to end, in-process, against responders on loopback that
 * misbehave in each way a real server can (silence, kiss-o'-death, an
 * unsynchronized server, a wrong origin, not NTP, a truncated reply). (Interop with real chronyd and
 * ntpdig is in query-interop.test.ts.)
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { realtime } from '../clock/realtime.js';
import { queryServers } from '../net/query.js';
import { Leap, Mode } from '../proto/constants.js';
import { encodeHeader, type NtpHeader, parseHeader } from '../proto/header.js';
import { assertOffsetNear, waitUntil } from '../testing/bounds.js';
import { toNtpTimestamp } from '../time/timestamp.js';
import { ExitCode } from './exit-codes.js';
import { run } from './main.js';

type Behaviour = (req: Buffer, reply: (b: Uint8Array) => void) => void;
const sockets: dgram.Socket[] = [];
after(() => { for (const s of sockets) s.close(); });

async function responder(behaviour: Behaviour): Promise<string> {
  const s = dgram.createSocket('udp4');
  sockets.push(s);
  s.on('message', (msg, rinfo) => behaviour(msg, (b) => s.send(b, rinfo.port, rinfo.address)));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return `127.0.0.1:${s.address().port}`;
}

/** A correct server-mode reply to `req`, timestamped with our own realtime(). */
function serverReply(req: Buffer, over: Partial<NtpHeader> = {}): Uint8Array {
  const rx = toNtpTimestamp(realtime());
  const h = parseHeader(req);
  assert.ok(h.ok);
  return encodeHeader({
    leap: Leap.NoWarning, version: h.value.version, mode: Mode.Server, stratum: 2, poll: 3, precision: -20,
    rootDelay: 0x20, rootDispersion: 0x40, referenceId: 0x7f000001, referenceTimestamp: rx,
    originTimestamp: h.value.transmitTimestamp, receiveTimestamp: rx, transmitTimestamp: toNtpTimestamp(realtime()),
    ...over,
  });
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(args, { out: (t) => { out += `${t}\n`; }, err: (t) => { err += `${t}\n`; }, setExitCode: () => { /* run() returns it */ } });
  return { code, out, err };
}

const FAST = ['query', '--samples', '2', '--interval', '0.02', '--timeout', '1'];

test('a correct responder: exit 0, offset near zero, stratum and refid shown', async () => {
  const addr = await responder((req, reply) => reply(serverReply(req)));
  const r = await cli([...FAST, '--json', addr]);
  assert.equal(r.code, ExitCode.OK, r.out + r.err);
  const doc = JSON.parse(r.out) as { schema: string; servers: { ok: boolean; offset: number; delay: number; stratum: number; refid: string; samples: unknown[] }[]; verdict: unknown };
  assert.equal(doc.schema, 'ntpkit.query/1');
  const s = doc.servers[0];
  assert.ok(s?.ok);
  assert.equal(s.stratum, 2);
  assert.equal(s.refid, '127.0.0.1');
  assert.equal(s.samples.length, 2);
  // The responder reads this process's clock: the offset is 0 within half the round trip.
  assertOffsetNear(s.offset, 0, s.delay, 'the responder');
  assert.equal(doc.verdict, null);
  const text = await cli([...FAST, addr]);
  assert.match(text.out, /^Server\s+St Refid/m);
  assert.match(text.out, /127\.0\.0\.1:\d+\s+2 127\.0\.0\.1/);
});

test('an unreachable port: exit 4, says port unreachable', async () => {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  s.close(); // nothing listens there any more: the kernel answers ICMP port unreachable
  const r = await cli([...FAST, `127.0.0.1:${port}`]);
  assert.equal(r.code, ExitCode.UNREACHABLE, r.out);
  assert.match(r.out, /error \[unreachable\].*port unreachable/);
});

test('a responder that does not speak NTP: exit 9', async () => {
  const addr = await responder((_req, reply) => reply(new TextEncoder().encode('HTTP/1.1 400 Bad Request\r\n\r\n'.padEnd(60, ' '))));
  const r = await cli([...FAST, addr]);
  assert.equal(r.code, ExitCode.NOT_NTP, r.out);
  assert.match(r.out, /error \[not-ntp\]: not a valid NTP reply: Cannot parse/);
});

test('an echo responder (our own mode 3 packet back) does not speak NTP: exit 9', async () => {
  const addr = await responder((req, reply) => reply(req));
  const r = await cli([...FAST, addr]);
  assert.equal(r.code, ExitCode.NOT_NTP, r.out);
  assert.match(r.out, /wrong-mode/);
});

test('truncated replies: exit 10', async () => {
  const addr = await responder((req, reply) => reply(serverReply(req).subarray(0, 40)));
  const r = await cli([...FAST, addr]);
  assert.equal(r.code, ExitCode.TRUNCATED, r.out);
  assert.match(r.out, /error \[truncated\]: not a valid NTP reply: .*40 bytes/);
});

test('a wrong origin timestamp: exit 8', async () => {
  const addr = await responder((req, reply) => reply(serverReply(req, { originTimestamp: 0x1234n })));
  const r = await cli([...FAST, addr]);
  assert.equal(r.code, ExitCode.ORIGIN_MISMATCH, r.out);
  assert.match(r.out, /error \[origin-mismatch\]: reply's origin timestamp 0x0000000000001234 does not match/);
});

test('a kiss-o\'-death names the kiss code: exit 6, and no more requests go out', async () => {
  let requests = 0;
  const addr = await responder((req, reply) => { requests++; reply(serverReply(req, { stratum: 0, leap: Leap.Unsynchronized, referenceId: 0x44454e59 })); }); // DENY
  // The next request is due 1 s after the first: the kiss, answered at once, is in by then even on a busy machine.
  const r = await cli(['query', '--samples', '4', '--interval', '1', '--timeout', '5', addr]);
  assert.equal(r.code, ExitCode.KISS_OF_DEATH, r.out);
  assert.match(r.out, /error \[kod DENY\]: kiss-o'-death DENY/);
  assert.equal(requests, 1);
});

test('an unsynchronized server (leap 3): exit 7', async () => {
  const addr = await responder((req, reply) => reply(serverReply(req, { leap: Leap.Unsynchronized })));
  const r = await cli([...FAST, addr]);
  assert.equal(r.code, ExitCode.UNSYNCHRONIZED, r.out);
  assert.match(r.out, /error \[unsynchronized\]: server is not synchronized \(leap 3/);
});

test('a silent server: exit 3, and the command ends by --timeout, its samples squeezed into it', async () => {
  let requests = 0;
  const addr = await responder(() => { requests++; });
  const t0 = performance.now();
  const r = await cli(['query', '--json', '--samples', '4', '--interval', '1', '--timeout', '0.6', addr]);
  const elapsed = performance.now() - t0;
  assert.equal(r.code, ExitCode.TIMEOUT, r.out);
  const doc = JSON.parse(r.out) as { servers: { error: { code: string; message: string } }[]; settings: { intervalMs: number; timeoutMs: number } };
  assert.equal(doc.servers[0]?.error.code, 'timeout');
  assert.match(doc.servers[0]?.error.message ?? '', /^no reply within 0.6 s/);
  // The 1 s interval is cut so that all four requests go out within 60% of the timeout...
  assert.equal(doc.settings.timeoutMs, 600);
  assert.ok(Math.abs(doc.settings.intervalMs - 120) < 1e-9, String(doc.settings.intervalMs));
  await waitUntil(() => requests === 4, `the 4 requests (${requests} so far)`, 5000);
  // ...and the command waits for the timeout, not for four samples at the interval asked for
  // (3 s): a busy machine can only make it later than 0.6 s, not by the three intervals it skipped.
  assert.ok(elapsed >= 590 && elapsed < (4 - 1) * 1000, `took ${elapsed} ms with a 600 ms timeout`);
  const text = await cli(['query', '--samples', '1', '--timeout', '0.6', addr]);
  assert.match(text.out, /error \[timeout\]: no reply within 0.6 s/);
});

test('one good server among failures is success; all failing differently is exit 1', async () => {
  const good = await responder((req, reply) => reply(serverReply(req)));
  const silent = await responder(() => { /* never answers */ });
  const trunc = await responder((req, reply) => reply(serverReply(req).subarray(0, 10)));
  assert.equal((await cli([...FAST, good, silent])).code, ExitCode.OK);
  const r = await cli([...FAST, silent, trunc]);
  assert.equal(r.code, ExitCode.GENERAL_FAILURE, r.out);
  assert.match(r.out, /\[timeout\]/);
  assert.match(r.out, /\[truncated\]/);
});

test('usage errors exit 2 with a message', async () => {
  assert.equal((await cli(['query'])).code, ExitCode.USAGE);
  const r = await cli(['query', '--samples', '0', '127.0.0.1']);
  assert.equal(r.code, ExitCode.USAGE);
  assert.match(r.err, /--samples must be an integer from 1 to 64/);
  assert.equal((await cli(['query', '127.0.0.1:99999'])).code, ExitCode.USAGE);
});

test('a DNS failure is reported as such (resolver injected: tests send no DNS queries)', async () => {
  const report = await queryServers(['no-such-host.invalid'], {
    samples: 1, timeoutMs: 1000,
    lookup: () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })),
  });
  const s = report.servers[0];
  assert.equal(s?.error?.code, 'dns');
  assert.match(s.error.message, /Cannot resolve no-such-host\.invalid: no such host/);
});
