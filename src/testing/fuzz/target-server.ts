/**
 * The server's request path (src/core/server/server.ts NtpResponder.handleRequest)
 * with access rules, rate limiting (with KoD), DENY KoDs and interleaved
 * mode on, over a few clients and configurations, time moving forward.
 * Invariants: a reply only to a request of at least 48 bytes and never
 * longer than it (no amplification); the reply echoes the request's version
 * and transmit timestamp (or, interleaved, its receive timestamp) and has the
 * mode the request calls for; a KoD is stratum 0 with its code as refid; the
 * counters add up.
 */
import { addSeconds, instantFromUnixSeconds, type Instant } from '../../time/instant.js';
import { buildAccessTable, type AccessTable } from '../../core/server/access.js';
import { NtpResponder, type ServerConfig, serverConfig } from '../../core/server/server.js';
import { DROP_REASONS } from '../../core/server/server-stats.js';
import { localReferenceState, synchronizedState, type SystemState, unsynchronizedState } from '../../core/system.js';
import { Leap } from '../../proto/constants.js';
import { refIdFromCode } from '../../proto/refid.js';
import { type FuzzTarget, invariant } from './harness.js';
import { packetDictionary } from './dictionary.js';
import { goldenPackets } from './seeds.js';

function table(rules: [boolean, string | null][]): AccessTable {
  const r = buildAccessTable(rules.map(([allow, subnet]) => ({ allow, subnet, all: false })));
  if (!r.ok) throw new Error(`bad fuzz access rules: ${JSON.stringify(rules)}`);
  return r.table;
}

const ADDRESSES: readonly (string | Uint8Array)[] = [
  '192.0.2.10', '192.0.2.11', '198.51.100.7', '2001:db8::1', '::ffff:192.0.2.10', '203.0.113.9',
  new Uint8Array([10, 0, 0, 1]), new Uint8Array(16).fill(0xfe), new Uint8Array(3), 'not-an-address',
];
const PORTS = [40123, 123, 0, 65535];

function u64(b: Uint8Array, pos: number): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(pos);
}

function sameRange(a: Uint8Array, ap: number, b: Uint8Array, bp: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ap + i] !== b[bp + i]) return false;
  return true;
}

const KOD_REFIDS = new Set([refIdFromCode('RATE'), refIdFromCode('DENY')]);

export const serverTarget: FuzzTarget = {
  name: 'server',
  description: 'NtpResponder.handleRequest with access rules, ratelimit (KoD), DENY KoD and interleaved mode: no reply larger than its request',
  maxLength: 1024,
  seeds: () => goldenPackets().filter((p) => p.direction !== 'server-to-client').map((p) => p.bytes),
  dictionary: packetDictionary,
  create: (seed) => {
    const t0 = instantFromUnixSeconds(1_795_000_000);
    const configs: ServerConfig[] = [
      serverConfig({ access: table([[true, null]]) }),
      serverConfig({ access: table([[true, null], [false, '192.0.2.11/32'], [false, '2001:db8::/32']]), rateLimit: { interval: -4, burst: 4, leak: 2, kod: 2 }, denied: 'kod' }),
      serverConfig({ access: table([[true, '192.0.2.0/24'], [true, '::/0']]), rateLimit: { interval: 1, burst: 1, leak: 1, kod: 0 }, xleave: true }),
      serverConfig({ access: table([[true, null]]), symmetric: false, unsynchronized: 'ignore', xleave: false }),
    ];
    const systems: SystemState[] = [
      localReferenceState(1, t0, -25),
      synchronizedState({ stratum: 3, leap: Leap.NoWarning, referenceId: 0xc0000201, referenceTime: t0, rootDelay: 0.01, rootDispersion: 0.002, precision: -20, dispersionRate: 15e-6 }),
      unsynchronizedState(-20),
    ];
    const responder = new NtpResponder({ seed, clientSlots: 64, reuseReply: (seed & 1) === 1 });
    let now: Instant = t0;
    // The receive timestamp of the last reply to each address: a client in interleaved mode names it in its origin field.
    const lastReceive = new Map<string | Uint8Array, Uint8Array>();
    return (input, rng) => {
      now = addSeconds(now, rng.chance(0.5) ? rng.below(1000) * 1e-6 : rng.below(4000) / 1000);
      const address = rng.pick(ADDRESSES);
      const prev = lastReceive.get(address);
      if (prev && input.length >= 48 && rng.chance(0.3)) input.set(prev, 24);
      const config = rng.pick(configs);
      const system = rng.pick(systems);
      const before = input.slice();
      const a = responder.handleRequest({
        packet: input, receivedAt: now, now: addSeconds(now, rng.below(100) * 1e-6), address, port: rng.pick(PORTS), system, config, random: rng.u32(),
      });
      invariant(sameRange(before, 0, input, 0, input.length), 'handleRequest modified the request buffer');
      const c = responder.counters;
      let dropped = 0;
      for (const r of DROP_REASONS) dropped += c.dropped[r];
      invariant(c.received === c.replied + dropped, () => `counters do not add up: received ${c.received}, replied ${c.replied}, dropped ${dropped}`);
      if (a.action === 'ignore') {
        invariant(DROP_REASONS.includes(a.reason), `unknown drop reason ${a.reason}`);
        return `drop:${a.reason}`;
      }
      const reply = a.reply;
      invariant(input.length >= 48, `replied to a ${input.length}-byte request`);
      // The amplification bound: with MACs and NTS fields a reply may exceed 48 bytes, never its request.
      invariant(reply.length >= 48 && reply.length <= input.length, `a ${reply.length}-byte reply to a ${input.length}-byte request`);
      const reqVersion = ((input[0] as number) >> 3) & 7;
      const reqMode = (input[0] as number) & 7;
      invariant((((reply[0] as number) >> 3) & 7) === reqVersion, 'reply version differs from the request');
      invariant(((reply[0] as number) & 7) === a.mode, 'reply mode byte differs from the action');
      invariant(a.mode === (reqMode === 1 ? 2 : 4), `mode ${a.mode} reply to a mode ${reqMode} request`);
      invariant(reqMode === 1 || reqMode === 3 || (reqMode === 0 && reqVersion === 1), `answered a mode ${reqMode} request`);
      if (a.interleaved) invariant(sameRange(reply, 24, input, 32, 8), 'interleaved reply origin is not the request receive timestamp');
      else invariant(sameRange(reply, 24, input, 40, 8), 'reply origin is not the request transmit timestamp');
      if (a.kod) {
        invariant(reply[1] === 0 && KOD_REFIDS.has(new DataView(reply.buffer, reply.byteOffset).getUint32(12)), 'a KoD without stratum 0 and its code');
      }
      if (a.transmitTicket && rng.chance(0.7)) responder.recordTransmit(a.transmitTicket, addSeconds(now, rng.below(2000) * 1e-6));
      if (u64(reply, 32) !== 0n) lastReceive.set(address, reply.slice(32, 40));
      return `reply:m${a.mode}:${a.kod ?? 'ok'}${a.interleaved ? ':interleaved' : ''}`;
    };
  },
};
