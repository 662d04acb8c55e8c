/**
 * NTS fuzz targets (NTS parses what any client or server on the network sends): the NTS-KE record codec, the NTS server's
 * request path and the NTS client's reply path. Every seed is a genuine
 * message made by our own KE codec, client and server under fixed keys, so
 * mutations start deep inside the protocol (valid cookies, valid AEAD tags).
 */
import { NtsClientAuthenticator, type NtsClientKeys } from '../../crypto/nts-client.js';
import { NtsServerAuthenticator } from '../../crypto/nts-server.js';
import { buildKeRequest, buildKeResponse, encodeNtsKeRecords, interpretKeRequest, scanNtsKeMessage } from '../../proto/nts-ke.js';
import { parseNtsPacketFields } from '../../proto/nts-fields.js';
import { FakeCookieCodec } from '../nts-cookie-fake.js';
import { type FuzzTarget, invariant } from './harness.js';
import { Rng } from './rng.js';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Deterministic "random" bytes, so seeds and checks agree run after run. */
function seededBytes(seed: number): (n: number) => Uint8Array {
  const rng = new Rng(seed);
  return (n) => Uint8Array.from({ length: n }, () => rng.below(256));
}

const MASTER = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const KEYS = { aeadId: 15, c2s: Uint8Array.from({ length: 32 }, (_, i) => i), s2c: Uint8Array.from({ length: 32 }, (_, i) => 255 - i) };

function clientKeys(codec: FakeCookieCodec): NtsClientKeys {
  return { ...KEYS, cookies: Array.from({ length: 8 }, () => codec.seal(KEYS)) };
}

function requestHeader(seed: number): Uint8Array {
  const h = new Uint8Array(48);
  h[0] = (4 << 3) | 3;
  h.set(seededBytes(seed)(8), 40);
  return h;
}

/** The reply header a responder would build for `request` (mode 4, stratum 2, origin = the request's transmit). */
function replyHeader(request: Uint8Array): Uint8Array {
  const h = new Uint8Array(48);
  h[0] = (4 << 3) | 4;
  h[1] = 2;
  h.set(request.subarray(40, 48), 24);
  return h;
}

export const ntsKeTarget: FuzzTarget = {
  name: 'nts-ke',
  description: 'NTS-KE messages (RFC 8915 §4): scanNtsKeMessage, re-encoding, and the server\'s request rules',
  maxLength: 2048,
  seeds: () => [
    encodeNtsKeRecords(buildKeRequest({ aeads: [15, 16, 17] })),
    encodeNtsKeRecords(buildKeResponse({ aeadId: 15, cookies: Array.from({ length: 8 }, (_, i) => new Uint8Array(104).fill(i)), server: '127.0.0.1', port: 123 })),
  ],
  create: () => (input) => {
    const r = scanNtsKeMessage(input);
    if (!r.ok) {
      invariant(r.message.length > 0, 'an NTS-KE error without a message');
      return `error:${r.reason}`;
    }
    if (!r.complete) return 'incomplete';
    invariant(r.length === input.length, 'a complete message that does not span its input');
    invariant(sameBytes(encodeNtsKeRecords(r.records), input), 'an accepted NTS-KE message does not re-encode to its bytes');
    const q = interpretKeRequest(r.records, [15, 16, 17]);
    return q.ok ? `request:aead${q.value.aeadId}` : `not-request:${q.reason}`;
  },
};

export const ntsServerTarget: FuzzTarget = {
  name: 'nts-server',
  description: 'the NTS server\'s request check and reply (RFC 8915 §5): never larger than the request, the unique identifier echoed',
  maxLength: 1024,
  seeds: () => {
    const codec = new FakeCookieCodec(MASTER);
    const client = new NtsClientAuthenticator(clientKeys(codec), { random: seededBytes(1) });
    return [1, 2, 3].map((s) => client.secure(requestHeader(s))?.packet as Uint8Array);
  },
  create: (seed) => {
    const server = new NtsServerAuthenticator({ cookies: new FakeCookieCodec(MASTER), random: seededBytes(seed) });
    return (input) => {
      // The responder drops anything shorter than a header before authentication is asked.
      if (input.length < 48) return 'short';
      const reply = replyHeader(input);
      const d = server.authenticate(input, reply);
      if (d.kind === 'drop') return `drop:${d.reason}`;
      if (d.kind === 'nts-nak' || d.kind === 'append') {
        invariant(48 + d.bytes.length <= input.length, `a reply of ${48 + d.bytes.length} octets to a request of ${input.length}`);
        const req = parseNtsPacketFields(input);
        const rep = parseNtsPacketFields(Uint8Array.from([...reply, ...d.bytes]));
        if (req.ok && rep.ok && req.value.uniqueId !== null) {
          invariant(rep.value.uniqueId !== null && sameBytes(req.value.uniqueId, rep.value.uniqueId), 'the reply does not echo the unique identifier');
        }
        return d.kind === 'append' ? `append:${d.authenticated ? 'auth' : 'plain'}` : 'nts-nak';
      }
      return 'unreachable';
    };
  },
};

/** One genuine reply to the request a client with seededBytes(7) sends first. */
function genuineClientReply(): { reply: Uint8Array } {
  const codec = new FakeCookieCodec(MASTER);
  const client = new NtsClientAuthenticator(clientKeys(codec), { random: seededBytes(7) });
  const secured = client.secure(requestHeader(7)) as { packet: Uint8Array };
  const server = new NtsServerAuthenticator({ cookies: codec, random: seededBytes(8) });
  const header = replyHeader(secured.packet);
  const d = server.authenticate(secured.packet, header);
  if (d.kind !== 'append') throw new Error(`the NTS fuzz seed is not answered: ${d.kind}`);
  return { reply: Uint8Array.from([...header, ...d.bytes]) };
}

export const ntsClientTarget: FuzzTarget = {
  name: 'nts-client',
  description: 'the NTS client\'s reply check: only a reply whose authenticated header is the genuine one passes',
  maxLength: 1024,
  seeds: () => [genuineClientReply().reply],
  create: () => {
    const codec = new FakeCookieCodec(MASTER);
    const keys = clientKeys(codec);
    const genuine = genuineClientReply().reply;
    return (input) => {
      // Each input answers a fresh client's first request, made with the same seeded randomness as the seed's.
      const client = new NtsClientAuthenticator(keys, { random: seededBytes(7) });
      const secured = client.secure(requestHeader(7)) as { packet: Uint8Array; token: unknown };
      const r = client.check(input, secured.token);
      if (!r.ok) return `rejected:${r.nak ? 'nak' : r.reason.split(':')[0]}`;
      invariant(input.length >= 48 && sameBytes(input.subarray(0, 48), genuine.subarray(0, 48)), 'a reply with an altered header passed the NTS check');
      return 'ok';
    };
  },
};
