/**
 * The fuzzing campaign's CI share: the harness checked on targets that must
 * fail, then every real target for a fixed number of inputs (about half a
 * second each; bench/fuzz/run.mjs does the long runs), fast-check properties over
 * arbitrary bytes, and the control server's line framing over a real socket.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseRequest } from '../../control/protocol.js';
import { startControlServer } from '../../control/server.js';
import { describeFailures, type FuzzTarget, invariant, runFuzz } from './harness.js';
import { mutate } from './mutate.js';
import { Rng } from './rng.js';
import { CONTROL_SEEDS } from './target-control.js';
import { FUZZ_TARGETS, fuzzTarget } from './targets.js';
import { controlDictionary } from './dictionary.js';
import { utf8 } from './seeds.js';

/** A toy target with a planted bug: which failures does the driver see? */
function planted(check: (b: Uint8Array) => string): FuzzTarget {
  return { name: 'planted', description: 'test', maxLength: 64, seeds: () => [utf8('hello, fuzzer')], create: () => check };
}

test('the driver reports an exception escaping, with the input that caused it', () => {
  const r = runFuzz(planted((b) => {
    if (b.length > 3 && b[3] === 0xff) throw new TypeError('boom');
    return 'fine';
  }), { inputs: 20000, seed: 7 });
  assert.ok(r.failureCount > 0, 'the planted exception was never reached');
  const f = r.failures[0];
  assert.ok(f);
  assert.equal(f.kind, 'exception');
  assert.equal(f.message, 'TypeError: boom');
  assert.equal(Buffer.from(f.inputHex, 'hex')[3], 0xff);
});

test('the driver tells broken invariants and slow inputs apart from exceptions', () => {
  const inv = runFuzz(planted((b) => { invariant(b.length !== 5, 'length 5'); return 'fine'; }), { inputs: 20000, seed: 3 });
  assert.ok(inv.failures.length > 0 && inv.failures.every((f) => f.kind === 'invariant' && f.message === 'InvariantError: length 5'));
  // Input 0 is the seed itself; mutations almost never give it back.
  const slow = runFuzz(planted((b) => {
    if (Buffer.from(b).toString() === 'hello, fuzzer') { const t = performance.now(); while (performance.now() - t < 30) { /* spin */ } }
    return 'fine';
  }), { inputs: 200, seed: 3, maxInputMs: 20 });
  assert.ok(slow.failures.some((f) => f.kind === 'slow' && f.index === 0 && f.inputHex === Buffer.from('hello, fuzzer').toString('hex')), describeFailures(slow));
  // A stall that does not come back when the input is run again (a GC pause, a busy machine) is not a finding.
  let stalls = 0;
  const once = runFuzz(planted(() => {
    if (stalls++ === 100) { const t = performance.now(); while (performance.now() - t < 30) { /* spin */ } }
    return 'fine';
  }), { inputs: 500, seed: 3, maxInputMs: 20 });
  assert.equal(once.failureCount, 0, describeFailures(once));
  assert.ok(once.maxInputMs < 20);
});

test('a run is reproducible from its seed, and another seed gives other inputs', () => {
  const seen = (seed: number): string[] => {
    const inputs: string[] = [];
    runFuzz(planted((b) => { inputs.push(Buffer.from(b).toString('hex')); return b.length > 13 ? 'long' : 'short'; }), { inputs: 500, seed });
    return inputs;
  };
  assert.deepEqual(seen(11), seen(11));
  assert.notDeepEqual(seen(11), seen(12));
});

test('mutations stay within maxLength and change the input', () => {
  const rng = new Rng(5);
  const seed = new Uint8Array(48).fill(0x23);
  let changed = 0;
  for (let i = 0; i < 5000; i++) {
    const m = mutate(seed, rng, { maxLength: 64, pool: [seed, utf8('other')], dictionary: controlDictionary });
    assert.ok(m.length <= 64);
    if (Buffer.compare(m, seed) !== 0) changed++;
  }
  assert.equal(seed[0], 0x23, 'the seed itself was modified');
  assert.ok(changed > 4500, `only ${changed} of 5000 mutations changed the input`);
});

/**
 * Inputs per target in CI: about half a second each on an idle machine. A
 * fixed count rather than a time limit keeps the run, and so the outcomes
 * checked below, the same however busy the machine is.
 */
const CI_INPUTS: Readonly<Record<string, number>> = {
  packet: 25000, extension: 30000, 'extension-nts-inner': 30000, server: 10000, client: 8000, 'chrony-conf': 2500, 'ntp-conf': 2500, control: 10000,
  'nts-ke': 20000, 'nts-server': 4000, 'nts-client': 3000,
  candm: 20000, mode6: 5000,
};

/** Outcomes each target must reach in its CI run: if it does not, it is not testing the deep paths. */
const MUST_REACH: Readonly<Record<string, readonly string[]>> = {
  packet: ['ok:v4:m3:ef0:nomac', 'ok:v4:m4:ef0:mac16', 'error:too-short', 'error:bad-field-length', 'control:control'],
  extension: ['ok:1:nts-unique-identifier', 'ok:2:nts-unique-identifier,nts-authenticator', 'ok:1:other', 'error:bad-field-length'],
  'extension-nts-inner': ['ok:1', 'ok:3', 'error:bad-field-length'],
  server: ['reply:m4:ok', 'reply:m2:ok', 'reply:m4:DENY', 'reply:m4:ok:interleaved', 'drop:denied', 'drop:too-short'],
  client: ['sample', 'sample:interleaved', 'ignored:origin-mismatch', 'kod:informational', 'unsynchronized'],
  'chrony-conf': ['ok:warnings:0', 'errors:1'],
  'ntp-conf': ['ok:warnings:0', 'errors:1'],
  control: ['ok', 'error:bad-json', 'error:bad-request', 'error:unsupported-version'],
  'nts-ke': ['request:aead15', 'incomplete', 'error:bad-record-length', 'error:data-after-end', 'not-request:unknown-critical'],
  'nts-server': ['append:auth', 'nts-nak', 'drop:nts-malformed'],
  'nts-client': ['ok', 'rejected:nts-bad-authenticator-tag', 'rejected:nts-unique-id-mismatch'],
  candm: ['request:null', 'request:source_data', 'request:ntp_source', 'status:bad-version', 'status:invalid-command', 'status:too-short', 'drop:not-request', 'drop:bad-length'],
  mode6: ['answer:one', 'answer:fragmented', 'error:3', 'error:4', 'error:5', 'error:7', 'drop:denied', 'drop:malformed', 'drop:not-a-request'],
};

for (const target of FUZZ_TARGETS) {
  test(`fuzz ${target.name}: ${target.description}`, () => {
    const r = runFuzz(target, { seed: 20261123, inputs: CI_INPUTS[target.name] ?? 2000 });
    assert.equal(r.failureCount, 0, describeFailures(r));
    for (const o of MUST_REACH[target.name] ?? []) assert.ok(r.outcomes.has(o), `never reached ${o}: ${JSON.stringify([...r.outcomes])}`);
  });
}

test('every target has its CI budget and the outcomes it must reach listed', () => {
  for (const t of FUZZ_TARGETS) assert.ok(MUST_REACH[t.name] && CI_INPUTS[t.name], `${t.name} has no MUST_REACH or CI_INPUTS entry`);
});

test('property: arbitrary bytes never break a packet-path target', () => {
  for (const name of ['packet', 'server', 'client', 'candm']) {
    const check = fuzzTarget(name).create(1);
    const rng = new Rng(1);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 160 }), (b) => { check(b, rng); }), { numRuns: 1000, interruptAfterTimeLimit: 300, markInterruptAsFailure: false });
  }
});

test('property: arbitrary text never breaks the config parsers or the control parser', () => {
  for (const name of ['chrony-conf', 'ntp-conf', 'control']) {
    const check = fuzzTarget(name).create(1);
    const rng = new Rng(1);
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 300 }).map(utf8), fc.uint8Array({ maxLength: 300 })), (b) => { check(b, rng); }), { numRuns: 1000, interruptAfterTimeLimit: 300, markInterruptAsFailure: false });
  }
});

const dir = mkdtempSync(join(tmpdir(), 'ntpkit-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Sends `payload` in chunks of random sizes, half-closes, and returns every reply line until the server ends. */
function exchange(path: string, payload: Uint8Array, rng: Rng): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let text = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error('no end from the control server within 10 s')); }, 10_000);
    s.on('connect', () => {
      for (let pos = 0; pos < payload.length;) {
        const n = 1 + rng.below(300);
        s.write(payload.subarray(pos, pos + n));
        pos += n;
      }
      s.end();
    });
    s.setEncoding('utf8');
    s.on('data', (d: string) => { text += d; });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('close', () => { clearTimeout(timer); resolve(text.split('\n').filter((l) => l !== '')); });
  });
}

test('control server line framing over a real socket: one reply per non-blank line, in order, with its id', async () => {
  const path = join(dir, 'ctl.sock');
  const server = await startControlServer({ path, handlers: { echo: (args) => args } });
  try {
    const rng = new Rng(20261123);
    const seeds = [...CONTROL_SEEDS, '{"version":1,"id":9,"command":"echo","args":{"a":1}}'].map(utf8);
    for (let conn = 0; conn < 6; conn++) {
      const lines: Uint8Array[] = [];
      for (let i = 0; i < 60; i++) lines.push(mutate(rng.pick(seeds), rng, { maxLength: 1024, pool: seeds, dictionary: controlDictionary }));
      const payload = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
      // What the server must see: the payload split at newlines (mutations may add some), blank lines skipped.
      const expected: string[] = [];
      let start = 0;
      for (let nl = payload.indexOf(0x0a); nl >= 0; start = nl + 1, nl = payload.indexOf(0x0a, start)) {
        const line = payload.subarray(start, nl).toString('utf8');
        if (line.trim() !== '') expected.push(line);
      }
      const replies = await exchange(path, payload, rng);
      assert.equal(replies.length, expected.length, `connection ${conn}: ${replies.length} replies to ${expected.length} lines`);
      replies.forEach((text, i) => {
        const reply = JSON.parse(text) as { version: number; id: unknown; ok: boolean; result?: unknown };
        const req = parseRequest(expected[i] as string);
        const id = req.ok ? req.request.id : req.id;
        assert.equal(reply.version, 1);
        assert.equal(JSON.stringify(reply.id), JSON.stringify(id), `reply ${i} of connection ${conn} is not for line ${i}`);
        assert.equal(reply.ok, req.ok && (req.request.command === 'echo' || req.request.command === 'commands'));
        if (req.ok && req.request.command === 'echo') assert.equal(JSON.stringify(reply.result), JSON.stringify(req.request.args));
      });
    }
    const again = await exchange(path, utf8('{"version":1,"id":"last","command":"echo","args":{"ok":true}}\n'), rng);
    assert.deepEqual(again.map((t) => JSON.parse(t) as unknown), [{ version: 1, id: 'last', ok: true, result: { ok: true } }]);
  } finally {
    await server.close();
  }
});
