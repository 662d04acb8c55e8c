import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthDataReport, SelectDataReport } from '../../core/engine/engine-api.js';
import {
  encodeReply, encodeRequest, IPADDR_ID, IPADDR_UNSPEC, parseReply, parseRequest, REQ, RPY, STT, UNSPEC_IP,
} from '../../proto/candm/index.js';
import { snapshotFromCapture, snapshotOf } from '../../testing/chronyc-csv.js';
import type { ControlReply } from '../protocol.js';
import { ipFromText } from './addresses.js';
import { answerRequest, type CandmContext } from './replies.js';

const NONE = { noselect: false, prefer: false, trust: false, require: false };
const SELECT: SelectDataReport[] = [
  {
    sourceId: 1, name: 'ntp.example', address: '192.0.2.1', referenceId: null, state: '*', authenticated: true,
    configuredOptions: { ...NONE, prefer: true }, effectiveOptions: { ...NONE, prefer: true, trust: true, require: true },
    lastSampleAgo: 3.7, score: 1, loLimit: -0.000125, hiLimit: 0.00025, leap: 'insert',
  },
  {
    sourceId: 2, name: 'GPS', address: null, referenceId: 0x47505300, state: 'N', authenticated: false,
    configuredOptions: { ...NONE, noselect: true }, effectiveOptions: { ...NONE, noselect: true },
    lastSampleAgo: 0, score: 2.5, loLimit: 0, hiLimit: 0, leap: 'unsynchronized',
  },
  {
    sourceId: 3, name: 'unresolved.example', address: null, referenceId: null, state: 's', authenticated: false,
    configuredOptions: NONE, effectiveOptions: NONE, lastSampleAgo: 0, score: 1, loLimit: 0, hiLimit: 0, leap: 'normal',
  },
];
const AUTH: AuthDataReport[] = [
  { sourceId: 1, name: 'ntp.example', address: '192.0.2.1', mode: 'symmetric', keyId: 7, keyType: 13, keyLengthBits: 128, lastKeAgo: null, keAttempts: 0, cookies: 0, cookieLength: 0, naks: 0 },
  { sourceId: 4, name: 'nts.example', address: '192.0.2.4', mode: 'nts', keyId: 2, keyType: 15, keyLengthBits: 256, lastKeAgo: 61.9, keAttempts: 1, cookies: 8, cookieLength: 100, naks: 3 },
];

function context(): CandmContext {
  const ok = (result: unknown): ControlReply => ({ version: 1, id: null, ok: true, result });
  return {
    snapshot: () => snapshotOf({}),
    call: async (name) => (name === 'selectdata' ? ok({ sources: SELECT }) : name === 'authdata' ? ok({ sources: AUTH }) : assert.fail(name)),
    cmdAllowed: () => false,
  };
}

/** The request chronyc sends, answered, encoded and read back as chronyc reads it. */
async function roundTrip(command: number, fields: Readonly<Record<string, unknown>>): Promise<{ status: number; reply: number; body: Record<string, unknown>; length: number; requestLength: number }> {
  const request = encodeRequest(command, fields, 5);
  const parsed = parseRequest(request);
  assert.equal(parsed.kind, 'request');
  if (parsed.kind !== 'request') throw new Error('unreachable');
  const answer = await answerRequest(parsed.request, context());
  const bytes = encodeReply({ command, sequence: 5 }, answer.status, answer.body);
  const back = parseReply(bytes);
  assert.ok(back.ok);
  return { status: back.reply.status, reply: back.reply.reply, body: back.reply.body as Record<string, unknown>, length: bytes.length, requestLength: request.length };
}

test('SELECT_DATA: a source by index in chronyd 4.3\'s layout, never larger than the padded request', async () => {
  const a = await roundTrip(REQ.SELECT_DATA, { index: 0 });
  assert.equal(a.status, STT.SUCCESS);
  assert.equal(a.reply, RPY.SELECT_DATA);
  assert.equal(a.length, 76, 'header 28 + RPY_SelectData 48');
  assert.equal(a.requestLength, a.length);
  const b = a.body;
  assert.deepEqual(b.ip_addr, ipFromText('192.0.2.1'));
  assert.equal(b.ref_id, 0xc0000201, 'an IPv4 source\'s refid is its address');
  assert.equal(b.state_char, '*'.charCodeAt(0));
  assert.equal(b.authentication, 1);
  assert.equal(b.leap, 1);
  assert.equal(b.conf_options, 0x2, 'RPY_SD_OPTION_PREFER');
  assert.equal(b.eff_options, 0x2 | 0x4 | 0x8, 'prefer, trust, require');
  assert.equal(b.last_sample_ago, 3);
  assert.equal(b.score, 1);
  assert.ok(Math.abs((b.lo_limit as number) + 0.000125) < 1e-9 && Math.abs((b.hi_limit as number) - 0.00025) < 1e-9);

  // A reference clock has no address: chronyc names it by the refid.
  const r = (await roundTrip(REQ.SELECT_DATA, { index: 1 })).body;
  assert.equal((r.ip_addr as { family: number }).family, IPADDR_UNSPEC);
  assert.equal(r.ref_id, 0x47505300);
  assert.equal(r.state_char, 'N'.charCodeAt(0));
  assert.equal(r.conf_options, 0x1);
  assert.equal(r.leap, 3);
  assert.ok(Math.abs((r.score as number) - 2.5) < 1e-6);
  // An unresolved source carries an ID address, which chronyc lists only with -a.
  assert.equal(((await roundTrip(REQ.SELECT_DATA, { index: 2 })).body.ip_addr as { family: number }).family, IPADDR_ID);

  const missing = await roundTrip(REQ.SELECT_DATA, { index: 3 });
  assert.equal(missing.status, STT.NOSUCHSOURCE);
  assert.equal(missing.length, 28);
});

test('AUTH_DATA: an NTP source by address in chronyd 4.3\'s layout; a refclock or unknown address is no such source', async () => {
  const sk = await roundTrip(REQ.AUTH_DATA, { ip: ipFromText('192.0.2.1') });
  assert.equal(sk.status, STT.SUCCESS);
  assert.equal(sk.reply, RPY.AUTH_DATA);
  assert.equal(sk.length, 52, 'header 28 + RPY_AuthData 24');
  assert.equal(sk.requestLength, sk.length);
  assert.deepEqual(
    { ...sk.body },
    { mode: 1, key_type: 13, key_id: 7, key_length: 128, ke_attempts: 0, last_ke_ago: 0xffffffff, cookies: 0, cookie_length: 0, nak: 0, pad: 0 },
    'no key exchange: chronyc prints "-"',
  );
  const nts = (await roundTrip(REQ.AUTH_DATA, { ip: ipFromText('192.0.2.4') })).body;
  assert.deepEqual(
    { ...nts },
    { mode: 2, key_type: 15, key_id: 2, key_length: 256, ke_attempts: 1, last_ke_ago: 61, cookies: 8, cookie_length: 100, nak: 3, pad: 0 },
  );
  assert.equal((await roundTrip(REQ.AUTH_DATA, { ip: ipFromText('192.0.2.9') })).status, STT.NOSUCHSOURCE);
  assert.equal((await roundTrip(REQ.AUTH_DATA, { ip: UNSPEC_IP })).status, STT.NOSUCHSOURCE);
});

test('SOURCE_DATA: a source whose name is not resolved yet has an ID address, which chronyc shows only with -a, as chronyd\'s', async () => {
  const captured = snapshotFromCapture('sources');
  const [first, ...rest] = captured.sources;
  assert.ok(first !== undefined && first.kind !== 'refclock');
  const snapshot = { ...captured, sources: [{ ...first, address: null }, ...rest] };
  const request = encodeRequest(REQ.SOURCE_DATA, { index: 0 }, 9);
  const parsed = parseRequest(request);
  assert.ok(parsed.kind === 'request');
  const answer = await answerRequest(parsed.request, { ...context(), snapshot: () => snapshot });
  const back = parseReply(encodeReply({ command: REQ.SOURCE_DATA, sequence: 9 }, answer.status, answer.body));
  assert.ok(back.ok);
  assert.equal(back.reply.status, STT.SUCCESS);
  assert.equal(((back.reply.body as Record<string, unknown>).ip_addr as { family: number }).family, IPADDR_ID);
});

test('ALLOW/DENY/CMDALLOW/CMDDENY and their ALL forms: the JSON command of that name with the subnet chronyc sent; a refused subnet is BADSUBNET', async () => {
  const calls: [string, Readonly<Record<string, unknown>>][] = [];
  const ctx: CandmContext = {
    snapshot: () => snapshotOf({}),
    call: async (name, args) => {
      calls.push([name, args]);
      return args.subnet === '192.0.2.1/40'
        ? { version: 1, id: null, ok: false, error: { code: 'bad-args', message: 'Bad subnet' } }
        : { version: 1, id: null, ok: true, result: args };
    },
    cmdAllowed: () => false,
  };
  const ask = async (command: number, ip: ReturnType<typeof ipFromText>, bits: number): Promise<number> => {
    const parsed = parseRequest(encodeRequest(command, { ip, subnet_bits: bits }, 9));
    if (parsed.kind !== 'request') return assert.fail('not a request');
    return (await answerRequest(parsed.request, ctx)).status;
  };
  assert.equal(await ask(REQ.ALLOW, ipFromText('192.0.2.0'), 24), STT.SUCCESS);
  assert.equal(await ask(REQ.DENYALL, ipFromText('2001:db8::'), 32), STT.SUCCESS);
  assert.equal(await ask(REQ.CMDALLOWALL, UNSPEC_IP, 0), STT.SUCCESS);
  assert.equal(await ask(REQ.CMDDENY, ipFromText('10.0.0.0'), 8), STT.SUCCESS);
  assert.deepEqual(calls, [
    ['allow', { subnet: '192.0.2.0/24', all: false }],
    ['deny', { subnet: '2001:db8::/32', all: true }],
    ['cmdallow', { subnet: null, all: true }],
    ['cmddeny', { subnet: '10.0.0.0/8', all: false }],
  ]);
  assert.equal(await ask(REQ.ALLOW, ipFromText('192.0.2.1'), 40), STT.BADSUBNET);
  // Every address takes only a prefix of 0 (addrfilt.c); nothing is asked of the table.
  const n = calls.length;
  assert.equal(await ask(REQ.DENY, UNSPEC_IP, 8), STT.BADSUBNET);
  assert.equal(calls.length, n);
});

test('DFREQ, RESELECT, RESELECTDISTANCE, ONOFFLINE: passed to the JSON commands of those names', async () => {
  const calls: [string, Readonly<Record<string, unknown>>][] = [];
  const ctx: CandmContext = {
    snapshot: () => snapshotOf({}),
    call: async (name, args) => { calls.push([name, args]); return { version: 1, id: null, ok: true, result: null }; },
    cmdAllowed: () => false,
  };
  for (const [command, fields] of [[REQ.DFREQ, { dfreq: 2.5 }], [REQ.RESELECT, {}], [REQ.RESELECTDISTANCE, { distance: 0.25 }], [REQ.ONOFFLINE, {}]] as const) {
    const parsed = parseRequest(encodeRequest(command, fields, 3));
    if (parsed.kind !== 'request') return assert.fail('not a request');
    assert.equal((await answerRequest(parsed.request, ctx)).status, STT.SUCCESS);
  }
  assert.deepEqual(calls.map(([n]) => n), ['dfreq', 'reselect', 'reselectdist', 'onoffline']);
  assert.ok(Math.abs((calls[0]?.[1].ppm as number) - 2.5) < 1e-6);
  assert.ok(Math.abs((calls[2]?.[1].distance as number) - 0.25) < 1e-6);
});
