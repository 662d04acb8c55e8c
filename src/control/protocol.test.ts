import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeReply, errorReply, parseRequest, PROTOCOL_VERSION } from './protocol.js';

test('a well-formed request parses; args default to {}', () => {
  assert.deepEqual(parseRequest('{"version":1,"id":7,"command":"snapshot"}'), {
    ok: true, request: { version: 1, id: 7, command: 'snapshot', args: {} },
  });
  const r = parseRequest('{"version":1,"id":"a","command":"burst","args":{"good":4,"total":8}}');
  assert.ok(r.ok);
  assert.deepEqual(r.request.args, { good: 4, total: 8 });
});

test('each kind of bad request gets its code, and the id back when it had one', () => {
  const cases: [string, string, unknown][] = [
    ['{"version":1,', 'bad-json', null],
    ['[1,2]', 'bad-request', null],
    ['null', 'bad-request', null],
    ['{"version":2,"id":3,"command":"snapshot"}', 'unsupported-version', 3],
    ['{"version":"1","id":3,"command":"snapshot"}', 'bad-request', 3],
    ['{"version":1,"command":"snapshot"}', 'bad-request', null],
    ['{"version":1,"id":{},"command":"snapshot"}', 'bad-request', null],
    ['{"version":1,"id":4}', 'bad-request', 4],
    ['{"version":1,"id":4,"command":"SNAPSHOT"}', 'bad-request', 4],
    ['{"version":1,"id":4,"command":"__proto__"}', 'bad-request', 4],
    ['{"version":1,"id":4,"command":"snapshot","args":[1]}', 'bad-request', 4],
    ['{"version":1,"id":4,"command":"snapshot","args":null}', 'bad-request', 4],
  ];
  for (const [line, code, id] of cases) {
    const r = parseRequest(line);
    assert.equal(r.ok, false, line);
    if (r.ok) continue;
    assert.equal(r.error.code, code, line);
    assert.equal(r.id, id, line);
    assert.ok(r.error.message.length > 10, line);
  }
});

test('parseRequest never throws, whatever the line (fuzz: strings and JSON values)', () => {
  fc.assert(fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), (line) => {
    const r = parseRequest(line);
    assert.equal(typeof r.ok, 'boolean');
    if (!r.ok) assert.equal(typeof r.error.message, 'string');
  }), { numRuns: 2000 });
});

test('fuzz: request-shaped objects with random fields parse exactly when every field is valid', () => {
  fc.assert(fc.property(
    fc.record({
      version: fc.oneof(fc.constant(1), fc.jsonValue()),
      id: fc.oneof(fc.integer(), fc.string({ maxLength: 300 }), fc.jsonValue()),
      command: fc.oneof(fc.constantFrom('snapshot', 'reload', 'x-1'), fc.string()),
      args: fc.option(fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()), { nil: undefined }),
    }, { requiredKeys: [] }),
    (obj) => {
      const r = parseRequest(JSON.stringify(obj));
      const valid = obj.version === 1
        && ((typeof obj.id === 'number' && Number.isFinite(obj.id)) || (typeof obj.id === 'string' && obj.id.length <= 256))
        && typeof obj.command === 'string' && /^[a-z][a-z0-9-]{0,63}$/.test(obj.command)
        && (obj.args === undefined || (typeof obj.args === 'object' && obj.args !== null && !Array.isArray(obj.args)));
      assert.equal(r.ok, valid, JSON.stringify(obj));
    },
  ), { numRuns: 2000 });
});

test('a reply is one JSON line', () => {
  const line = encodeReply(errorReply(5, 'unknown-command', 'Unknown command "x"\nsecond line'));
  assert.equal(line.indexOf('\n'), line.length - 1);
  assert.deepEqual(JSON.parse(line), { version: PROTOCOL_VERSION, id: 5, ok: false, error: { code: 'unknown-command', message: 'Unknown command "x"\nsecond line' } });
});
