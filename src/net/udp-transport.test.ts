/**
 * The two transports a query can use, held to the same contract, and the
 * choice between them (the CLI's NTPKIT_UDP=dgram, an injected clock, the addon).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { realtime, realtimeInfo } from '../clock/realtime.js';
import { Leap, Mode } from '../proto/constants.js';
import { encodeHeader, parseHeader } from '../proto/header.js';
import { assertOffsetNear } from '../testing/bounds.js';
import { runToCompletion } from '../testing/index.js';
import { keepKernelRxStampingOn } from '../testing/kernel-stamping.js';
import type { Instant } from '../time/instant.js';
import { toNtpTimestamp } from '../time/timestamp.js';
import { loadNativeUdp } from './native-udp.js';
import { environmentSwitches, UDP_TRANSPORT_ENV } from '../cli/environment-switches.js';
import { chooseUdpTransport, type ExchangeHandlers, type PacketTime, type SentRequest, type UdpTransport } from './udp-transport.js';

/** The native socket (the caller asks for nothing that makes the factory fall back), and node:dgram by preference. */
const nativeTransport = (): UdpTransport => chooseUdpTransport();
const dgramTransport = (): UdpTransport => chooseUdpTransport({ udp: { forceDgram: 'the test asks for it' } });

const native = loadNativeUdp();
const nativeSkip = native.ok ? false : native.reason;

const sockets: dgram.Socket[] = [];
after(() => { for (const s of sockets) s.close(); });

// Linux enables RX stamping stack-wide through deferred work when the first
// socket asks (net_enable_timestamp); until it has run, packets arrive
// unstamped. One stamping socket stays open here, and tests start once
// packets come stamped (native-udp.test.ts explains more).
let stopStamping: (() => void) | undefined;
before(async () => {
  if (native.ok) stopStamping = await keepKernelRxStampingOn();
});
after(() => { stopStamping?.(); });

/** A node:dgram responder on loopback; replies are whatever `reply` makes of the request. */
async function responder(family: 4 | 6, reply: (req: Buffer) => Uint8Array | null): Promise<number> {
  const s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
  sockets.push(s);
  s.on('message', (msg, rinfo) => { const r = reply(msg); if (r) s.send(r, rinfo.port, rinfo.address); });
  await new Promise<void>((r) => s.bind(0, family === 6 ? '::1' : '127.0.0.1', r));
  return s.address().port;
}

async function closedPort(family: 4 | 6): Promise<number> {
  const s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((r) => s.bind(0, family === 6 ? '::1' : '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

type Outcome =
  | { kind: 'reply'; data: Uint8Array; sent: SentRequest; arrival: PacketTime; before: Instant; after: Instant; readyAfterOpen: boolean }
  | { kind: 'error'; err: NodeJS.ErrnoException };

/** One exchange: send `payload` once ready, settle on the first reply or error. */
function exchange(t: UdpTransport, family: 4 | 6, port: number, payload: Uint8Array): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let opened = false;
    let readyAfterOpen = false;
    let sent: SentRequest | undefined;
    let before: Instant = 0n;
    const timer = setTimeout(() => { ex.close(); reject(new Error('no reply or error within 20 s')); }, 20_000);
    const handlers: ExchangeHandlers = {
      onReady: (send) => { readyAfterOpen = opened; before = realtime(); sent = send(payload); },
      onReply: (data, arrival) => {
        const afterT = realtime();
        clearTimeout(timer);
        ex.close();
        if (!sent) { reject(new Error('reply before send')); return; }
        resolve({ kind: 'reply', data, sent, arrival, before, after: afterT, readyAfterOpen });
      },
      onError: (err) => { clearTimeout(timer); ex.close(); resolve({ kind: 'error', err }); },
    };
    const ex = t.open(family, family === 6 ? '::1' : '127.0.0.1', port, handlers);
    opened = true;
  });
}

const transports: [string, () => UdpTransport, string | false][] = [
  ['native', nativeTransport, nativeSkip],
  ['dgram', dgramTransport, false],
];

for (const [name, make, skip] of transports) {
  for (const family of [4, 6] as const) {
    test(`${name} IPv${family}: an exchange gives the reply, t1 <= t4, both within the exchange; kernel stamps only from the native socket`, { skip }, async () => {
      const port = await responder(family, (req) => new Uint8Array([...req].reverse()));
      for (let i = 0; i < 5; i++) {
        const o = await exchange(make(), family, port, new Uint8Array([1, 2, 3, i]));
        assert.equal(o.kind, 'reply');
        assert.deepEqual([...o.data], [i, 3, 2, 1]);
        assert.ok(o.readyAfterOpen, 'onReady ran after open() returned');
        const t1 = o.sent.transmitTime();
        assert.equal(t1.kernel, name === 'native', 't1 source');
        assert.equal(o.arrival.kernel, name === 'native', 't4 source');
        assert.ok(o.before <= t1.time && t1.time < o.arrival.time && o.arrival.time <= o.after,
          `before ${o.before} <= t1 ${t1.time} < t4 ${o.arrival.time} <= after ${o.after}`);
      }
    });

    test(`${name} IPv${family}: a closed port is ECONNREFUSED`, { skip }, async () => {
      const o = await exchange(make(), family, await closedPort(family), new Uint8Array(48));
      assert.equal(o.kind, 'error');
      assert.equal(o.err.code, 'ECONNREFUSED');
    });
  }

  test(`${name}: close() before the socket is ready means no handler ever runs`, { skip }, async () => {
    const port = await responder(4, (req) => req);
    let calls = 0;
    const h: ExchangeHandlers = { onReady: (send) => { calls++; send(new Uint8Array(4)); }, onReply: () => { calls++; }, onError: () => { calls++; } };
    for (let i = 0; i < 20; i++) make().open(4, '127.0.0.1', port, h).close();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(calls, 0);
  });
}

test('an invalid address is an error through onError, not a throw from open()', { skip: nativeSkip }, async () => {
  const o = await exchange(nativeTransport(), 4, 70_000, new Uint8Array(4));
  assert.equal(o.kind, 'error');
  assert.equal(o.err.code, 'ERR_SOCKET_BAD_PORT');
});

test('the choice: native when the addon has it; dgram when forced, or with an injected clock', () => {
  const auto = chooseUdpTransport({ udp: environmentSwitches({}).udp });
  if (native.ok && realtimeInfo().kind === 'clock_gettime') assert.deepEqual(auto.info, { kind: 'native-kernel-timestamps' });
  else assert.equal(auto.info.kind, 'dgram');
  assert.deepEqual(chooseUdpTransport({ now: realtime }).info, { kind: 'dgram', reason: 'a clock was injected (QueryOptions.now)' });
  assert.deepEqual(chooseUdpTransport({ udp: environmentSwitches({ [UDP_TRANSPORT_ENV]: 'dgram' }).udp }).info, { kind: 'dgram', reason: 'NTPKIT_UDP=dgram forces it' });
});

/** A server-mode reply to `req`, stamped with realtime(). */
function ntpReply(req: Buffer): Uint8Array | null {
  const h = parseHeader(req);
  if (!h.ok) return null;
  const rx = toNtpTimestamp(realtime());
  return encodeHeader({
    leap: Leap.NoWarning, version: h.value.version, mode: Mode.Server, stratum: 2, poll: 3, precision: -20,
    rootDelay: 0, rootDispersion: 0, referenceId: 0x7f000001, referenceTimestamp: rx,
    originTimestamp: h.value.transmitTimestamp, receiveTimestamp: rx, transmitTimestamp: toNtpTimestamp(realtime()),
  });
}

test('ntpkit query in a child process: NTPKIT_UDP=dgram forces node:dgram; otherwise the native socket, named in JSON and text', async () => {
  const port = await responder(4, ntpReply);
  const here = new URL('.', import.meta.url).href;
  const script = `
    import { queryServers } from '${here}query.js';
    import { queryReportJson, queryReportText } from '${here}../cli/query-output.js';
    import { applyEnvironmentSwitches } from '${here}../cli/environment-switches.js';
    const { udp } = applyEnvironmentSwitches();
    const r = await queryServers(['127.0.0.1:${port}'], { samples: 2, intervalMs: 10, timeoutMs: 10000, udp });
    const doc = queryReportJson(r);
    console.log(JSON.stringify({ transport: doc.transport, transportReason: doc.transportReason, ok: doc.servers[0].ok, offset: doc.servers[0].offset, delay: doc.servers[0].delay }));
    console.log(queryReportText(r).split('\\n').find((l) => l.startsWith('Clock source')));
  `;
  type Doc = { transport: string; transportReason?: string; ok: boolean; offset: number; delay: number };
  const run = async (udp: string): Promise<{ doc: Doc; clockLine: string }> => {
    const r = await runToCompletion(process.execPath, ['--input-type=module', '-e', script], { env: { [UDP_TRANSPORT_ENV]: udp }, timeoutMs: 60_000 });
    assert.equal(r.timedOut, false, r.stdout + r.stderr);
    assert.equal(r.status.code, 0, r.stdout + r.stderr);
    const [json, clockLine] = r.stdout.trim().split('\n');
    return { doc: JSON.parse(json as string) as Doc, clockLine: clockLine ?? '' };
  };
  // The responder reads this machine's clock: the offset is 0 within half the round trip.
  const checkOffset = (doc: Doc): void => {
    assert.ok(doc.ok, JSON.stringify(doc));
    assertOffsetNear(doc.offset, 0, doc.delay, `the responder over ${doc.transport}`);
  };
  const forced = await run('dgram');
  assert.equal(forced.doc.transport, 'dgram');
  assert.equal(forced.doc.transportReason, 'NTPKIT_UDP=dgram forces it');
  checkOffset(forced.doc);
  assert.match(forced.clockLine, /^Clock source: .*, packets timestamped in JS around node:dgram \(NTPKIT_UDP=dgram forces it\)\./);
  const auto = await run('');
  if (native.ok && realtimeInfo().kind === 'clock_gettime') {
    assert.equal(auto.doc.transport, 'native-kernel-timestamps');
    assert.equal(auto.doc.transportReason, undefined);
    assert.match(auto.clockLine, /^Clock source: clock_gettime\(CLOCK_REALTIME\), packets timestamped by the kernel \(SO_TIMESTAMPING\)\./);
  } else {
    assert.equal(auto.doc.transport, 'dgram');
  }
  checkOffset(auto.doc);
});
