import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseControlMessage } from '../../proto/control.js';
import { fuzzParams } from '../../proto/arbitraries.test.js';
import { ControlErrorCode, ControlOpcode } from '../../proto/mode6.js';
import { buildAccessTable, type AccessTable } from './access.js';
import { ControlQueryServer, DEFAULT_QUERY_RATE_LIMIT, type QueryAction } from './mode6-server.js';
import { sampleQueryView } from './mode6-view.test-helper.js';

function table(rules: [boolean, string | null][]): AccessTable {
  const r = buildAccessTable(rules.map(([allow, subnet]) => ({ allow, subnet, all: false })));
  assert.ok(r.ok);
  return r.table;
}

const LOOPBACK = table([[true, '127.0.0.0/8'], [true, '::1/128']]);

function request(opcode: number, assoc = 0, data = '', sequence = 1): Uint8Array {
  const d = new TextEncoder().encode(data);
  const b = new Uint8Array(12 + d.length + ((4 - (d.length % 4)) % 4));
  const v = new DataView(b.buffer);
  v.setUint8(0, 0x16);
  v.setUint8(1, opcode);
  v.setUint16(2, sequence);
  v.setUint16(6, assoc);
  v.setUint16(10, d.length);
  b.set(d, 12);
  return b;
}

function server(access = LOOPBACK, rateLimit = DEFAULT_QUERY_RATE_LIMIT): ControlQueryServer {
  return new ControlQueryServer({ access, rateLimit });
}

let clock = 0;
function ask(s: ControlQueryServer, packet: Uint8Array, address = '127.0.0.1'): QueryAction {
  clock += 1;
  return s.handle({ packet, address, port: 40000, elapsed: clock, view: () => sampleQueryView() });
}

/** The response's data (fragments joined) and its last fragment's status, or its error code. */
function answer(a: QueryAction): { text: string; bytes: Uint8Array; status: number; error: number | null } {
  assert.equal(a.action, 'respond');
  if (a.action !== 'respond') throw new Error('unreachable');
  const parts = a.datagrams.map((d) => { const m = parseControlMessage(d); assert.ok(m.ok); return m.value; });
  const last = parts[parts.length - 1];
  assert.ok(last);
  const bytes = Uint8Array.from(parts.flatMap((p) => [...p.data]));
  return { text: new TextDecoder().decode(bytes), bytes, status: last.status, error: last.error ? last.status >> 8 : null };
}

test('READSTAT: every source with its association id and peer status word, and the system status', () => {
  const r = answer(ask(server(), request(ControlOpcode.ReadStatus)));
  const v = new DataView(r.bytes.buffer);
  const list = Array.from({ length: r.bytes.length / 4 }, (_, i) => [v.getUint16(4 * i), v.getUint16(4 * i + 2)]);
  // configured+reachable with sys.peer (6), candidate (4), falseticker (1); configured, unreachable, rejected (0).
  assert.deepEqual(list, [[1, 0x9600], [2, 0x9400], [3, 0x9100], [4, 0x8000]]);
  assert.equal(r.status, 0x0600, 'leap none, clock source NTP');
});

test('READVAR 0: the system variables in ntpd\'s units; a list of names gets those, in its order', () => {
  const all = answer(ask(server(), request(ControlOpcode.ReadVariables))).text;
  assert.match(all, /^version="ntpkit 0\.0\.0", processor="x86_64", system="Linux\/6\.1\.0",/);
  for (const re of [/leap=0,/, /stratum=2,/, /precision=-23,/, /rootdelay=0\.400,/, /rootdisp=0\.250,/, /refid=192\.0\.2\.1,/, /peer=1,/, /tc=6,/,
    /offset=-0\.012300,/, /frequency=-12\.345,/, /sys_jitter=0\.030000,/, /clk_jitter=0\.021000,/, /clk_wander=0\.050$/, /reftime=0x[0-9a-f]{8}\.[0-9a-f]{8}/]) {
    assert.match(all.replace(/\r\n/g, ' '), re);
  }
  assert.equal(answer(ask(server(), request(ControlOpcode.ReadVariables, 0, 'sys_jitter,offset'))).text, 'sys_jitter=0.030000, offset=-0.012300');
});

test('READVAR of an association: ntpq\'s peer variables, from the snapshot and ntpdata', () => {
  const t = answer(ask(server(), request(ControlOpcode.ReadVariables, 3))).text.replace(/\r\n/g, ' ');
  for (const re of [/^srcadr=192\.0\.2\.3, srcport=123,/, /stratum=1,/, /refid=GPS,/, /reach=0xff,/, /hpoll=6, ppoll=6,/, /offset=2500\.000,/, /delay=0\.400,/, /jitter=0\.030,/, /hmode=3, pmode=4,/]) {
    assert.match(t, re);
  }
  const never = answer(ask(server(), request(ControlOpcode.ReadVariables, 4))).text.replace(/\r\n/g, ' ');
  assert.match(never, /^srcadr=0\.0\.0\.0, srcport=123, srchost="ntp\.example\.net",/);
  assert.match(never, /leap=3, stratum=16,.*refid=INIT,/);
  assert.doesNotMatch(never, /rec=|reftime=/, 'nothing to date "when" by: ntpq shows "-"');
});

test('errors: unknown association or variable, write opcodes, opcodes not served, fragmented requests', () => {
  const s = server();
  assert.equal(answer(ask(s, request(ControlOpcode.ReadVariables, 99))).error, ControlErrorCode.BadAssociation);
  assert.equal(answer(ask(s, request(ControlOpcode.ReadVariables, 0, 'offset,nosuchvar'))).error, ControlErrorCode.UnknownVariable);
  for (const op of [ControlOpcode.WriteVariables, ControlOpcode.WriteClock, ControlOpcode.SetTrap, ControlOpcode.Configure, ControlOpcode.SaveConfig, ControlOpcode.UnsetTrap]) {
    assert.equal(answer(ask(s, request(op, 0, 'leap=1'))).error, ControlErrorCode.Permission, `opcode ${op}`);
  }
  for (const op of [0, ControlOpcode.AsyncMessage, ControlOpcode.ReadMru, ControlOpcode.ReadOrderedList, ControlOpcode.RequestNonce, 20]) {
    assert.equal(answer(ask(s, request(op))).error, ControlErrorCode.BadOpcode, `opcode ${op}`);
  }
  const more = request(ControlOpcode.ReadVariables);
  more[1] = (more[1] as number) | 0x20;
  assert.equal(answer(ask(s, more)).error, ControlErrorCode.BadFormat);
  assert.equal(answer(ask(s, request(ControlOpcode.ReadClock, 1))).error, ControlErrorCode.BadAssociation, 'not a refclock');
  assert.equal(s.stats().refused, 16);
});

test('only permitted senders get an answer; responses and malformed packets are dropped; all counted', () => {
  const s = server();
  const ok = request(ControlOpcode.ReadStatus);
  assert.deepEqual(ask(s, ok, '192.0.2.50'), { action: 'ignore', reason: 'denied' });
  assert.deepEqual(ask(s, ok, '::ffff:10.0.0.1'), { action: 'ignore', reason: 'denied' });
  assert.equal(ask(s, ok, '::1').action, 'respond');
  assert.equal(ask(s, ok, '::ffff:127.0.0.1').action, 'respond');
  const resp = ok.slice();
  resp[1] = 0x81;
  assert.deepEqual(ask(s, resp), { action: 'ignore', reason: 'not-a-request' });
  assert.deepEqual(ask(s, ok.slice(0, 8)), { action: 'ignore', reason: 'malformed' });
  assert.deepEqual(s.handle({ packet: ok, address: '127.0.0.1', port: 0, elapsed: 0, view: () => sampleQueryView() }), { action: 'ignore', reason: 'bad-address' });
  const st = s.stats();
  assert.deepEqual(st.droppedByReason, { malformed: 1, 'not-a-request': 1, 'bad-address': 1, denied: 2, 'rate-limited': 0 });
  assert.equal(st.received, 7);
  assert.equal(st.answered, 2);
});

test('each address has a token bucket: a burst, then its rate; another address is not affected', () => {
  const s = server(LOOPBACK, { rate: 2, burst: 5 });
  const go = (address: string, at: number): string => s.handle({ packet: request(1), address, port: 1234, elapsed: at, view: () => sampleQueryView() }).action;
  const first = Array.from({ length: 8 }, () => go('127.0.0.1', 100));
  assert.deepEqual(first, ['respond', 'respond', 'respond', 'respond', 'respond', 'ignore', 'ignore', 'ignore']);
  assert.equal(go('127.0.0.2', 100), 'respond');
  assert.equal(go('127.0.0.1', 100.4), 'ignore', 'less than one token back after 0.4 s at 2/s');
  assert.equal(go('127.0.0.1', 100.6), 'respond');
  assert.equal(s.stats().droppedByReason['rate-limited'], 4);
});

test('a large association list is fragmented, and the view is read only for a permitted, well-formed request', () => {
  let reads = 0;
  const s = server();
  const a = s.handle({ packet: request(1), address: '127.0.0.1', port: 5, elapsed: 0, view: () => { reads++; return sampleQueryView(300); } });
  assert.equal(a.action === 'respond' && a.datagrams.length, 3, '300 sources are 1200 octets: three fragments');
  s.handle({ packet: request(1), address: '192.0.2.9', port: 5, elapsed: 0, view: () => { reads++; return sampleQueryView(); } });
  s.handle({ packet: request(1).slice(0, 5), address: '127.0.0.1', port: 5, elapsed: 0, view: () => { reads++; return sampleQueryView(); } });
  assert.equal(reads, 1);
});

test('fuzz: never throws, answers only permitted senders, every datagram a well-formed response to the request', () => {
  const s = server(LOOPBACK, { rate: 1e9, burst: 1e9 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 0, max: 31 }), fc.constantFrom('127.0.0.1', '192.0.2.1', '::1'), (rest, op, address) => {
    const buf = Uint8Array.from([0x16, op, ...rest]);
    const a = s.handle({ packet: buf, address, port: 123, elapsed: 0, view: () => sampleQueryView() });
    if (a.action === 'ignore') return;
    assert.notEqual(address, '192.0.2.1');
    for (const d of a.datagrams) {
      assert.equal(d.length % 4, 0);
      const m = parseControlMessage(d);
      assert.ok(m.ok);
      assert.equal(m.value.response, true);
      assert.equal(m.value.opcode, op);
      assert.equal(m.value.sequence, ((buf[2] ?? 0) << 8) | (buf[3] ?? 0));
    }
  }), fuzzParams(3000));
  const st = s.stats();
  let dropped = 0;
  for (const n of Object.values(st.droppedByReason)) dropped += n;
  assert.equal(st.received, st.answered + st.refused + dropped, 'the counters add up');
});
