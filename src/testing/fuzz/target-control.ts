/**
 * The control protocol's request parser (src/control/protocol.ts
 * parseRequest) on mutated request lines. Invariants: no exception; an
 * accepted request has version 1, an id, a command name and object args;
 * a refusal has a known code, and its reply encodes to exactly one line.
 */
import { COMMAND_NAME, encodeReply, errorReply, parseRequest, PROTOCOL_VERSION } from '../../control/protocol.js';
import { type FuzzTarget, invariant } from './harness.js';
import { controlDictionary } from './dictionary.js';
import { utf8 } from './seeds.js';

const decoder = new TextDecoder('utf-8', { fatal: false });

export const CONTROL_SEEDS: readonly string[] = [
  '{"version":1,"id":1,"command":"snapshot"}',
  '{"version":1,"id":"a","command":"echo","args":{"x":[1,2,{"y":null}],"s":"\\u00e9"}}',
  '{"version":1,"id":2,"command":"add-source","args":{"line":"server 192.0.2.1 iburst"}}',
  '{"version":2,"id":3,"command":"tracking"}',
  '{"id":4}',
  '[1,2,3]',
];

const PARSE_CODES = new Set(['bad-json', 'bad-request', 'unsupported-version']);

export const controlTarget: FuzzTarget = {
  name: 'control',
  description: 'parseRequest on mutated control request lines; replies stay one line',
  maxLength: 2048,
  seeds: () => CONTROL_SEEDS.map(utf8),
  dictionary: controlDictionary,
  create: () => (input) => {
    const line = decoder.decode(input);
    const r = parseRequest(line);
    if (r.ok) {
      const q = r.request;
      invariant(q.version === PROTOCOL_VERSION && COMMAND_NAME.test(q.command), 'accepted a request without version 1 and a command name');
      invariant((typeof q.id === 'number' && Number.isFinite(q.id)) || typeof q.id === 'string', 'accepted a request without an id');
      invariant(typeof q.args === 'object' && q.args !== null && !Array.isArray(q.args), 'accepted args that are not an object');
      return 'ok';
    }
    invariant(PARSE_CODES.has(r.error.code), `unknown error code ${r.error.code}`);
    const text = encodeReply(errorReply(r.id, r.error.code, r.error.message));
    invariant(text.indexOf('\n') === text.length - 1, 'an error reply is not exactly one line');
    const back = JSON.parse(text) as { id: unknown };
    invariant(back.id === r.id || (typeof r.id === 'number' && !Number.isFinite(r.id)), 'the error reply lost the request id');
    return `error:${r.error.code}`;
  },
};
