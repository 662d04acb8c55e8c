/**
 * chrony's command protocol request parser (src/proto/candm parseRequest)
 * on mutated requests. Invariants: no exception; nothing the server could
 * answer is larger than the datagram (the reply its command asks for, or a
 * status-only reply); an accepted request re-encodes, as chronyc would
 * send it, to a request that parses to the same fields.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  encodeReply, encodeRequest, layoutSize, parseRequest, REPLY_HEADER_LENGTH, REPLY_LAYOUTS, REQUEST_SPECS, requestLength,
} from '../../proto/candm/index.js';
import { type FuzzTarget, invariant } from './harness.js';

function seeds(): Uint8Array[] {
  return Object.keys(REQUEST_SPECS).map((c) => encodeRequest(Number(c), { index: 1, new_minpoll: 4, threshold: 0.5 }, 0x01020304));
}

export const candmTarget: FuzzTarget = {
  name: 'candm',
  description: "parseRequest on mutated chronyc requests; no reply outgrows its request",
  maxLength: 1024,
  seeds,
  create: () => (input) => {
    const r = parseRequest(input);
    if (r.kind === 'drop') return `drop:${r.reason}`;
    if (r.kind === 'status') {
      invariant(encodeReply(r.header, r.status).length <= input.length, 'a status reply is larger than its request');
      return `status:${r.reason}`;
    }
    const q = r.request;
    const spec = REQUEST_SPECS[q.command];
    invariant(spec !== undefined && input.length >= requestLength(q.command), 'accepted a request shorter than its command');
    invariant(REPLY_HEADER_LENGTH + layoutSize(REPLY_LAYOUTS[spec.reply]) <= input.length, 'the reply this request asks for is larger than the request');
    const again = parseRequest(encodeRequest(q.command, q.body, q.sequence, q.attempt));
    invariant(again.kind === 'request' && isDeepStrictEqual(again.request.body, q.body), 'a re-encoded request does not parse back to its fields');
    return `request:${spec.body}`;
  },
};
