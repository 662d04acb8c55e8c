import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChronydServer, startChronydServer } from './chronyd.js';
import { type LoopbackBlock, reserveLoopbackBlock } from './loopback.js';
import { parseNtpdigOutput, runNtpdig } from './ntpdig.js';
import { interopSkip, requireTool } from './tools.js';

// Output of `ntpdig -d -j -t 2 127.0.0.202` against a chronyd under FAKETIME=+2.5.
const SAMPLE_STDOUT = `org t1: eeae8fd3.33f91800 rec t2: eeae8fd5.b404effb
xmt t3: eeae8fd5.b407902e dst t4: eeae8fd3.340c8000
org t1: 1795428691.203020 rec t2: 1795428693.703200
xmt t3: 1795428693.703240 dst t4: 1795428691.203316
rec-org t21: 2.500181  xmt-dst t34: 2.499925
{"time":"2026-11-23T10:11:33.703240+0000","offset":2.500053,"precision":0.000128,"host":"127.0.0.202","ip":"127.0.0.202","stratum":1,"leap":"no-leap","adjusted":false}
`;

test('parses ntpdig -d -j output, computing the delay exactly from the hex timestamps', () => {
  const r = parseNtpdigOutput(SAMPLE_STDOUT, 'ntpdig: querying 127.0.0.202 (127.0.0.202)\n');
  assert.equal(r.offset, 2.500053);
  assert.equal(r.synchDistance, 0.000128);
  assert.equal(r.stratum, 1);
  assert.equal(r.leap, 'no-leap');
  assert.equal(r.ip, '127.0.0.202');
  assert.equal(r.timestamps?.t1, 0xeeae8fd333f91800n);
  assert.equal(r.timestamps?.t4, 0xeeae8fd3340c8000n);
  // (t4 - t1) - (t3 - t2) = 0x136800 - 0x2a033 fractions of 2^-32 s.
  assert.equal(r.delay, (0x136800 - 0x2a033) / 2 ** 32);
  assert.deepEqual(r.dropped, []);
});

test('collects the reasons ntpdig gives for rejecting replies', () => {
  const r = parseNtpdigOutput('', 'ntpdig: 127.0.0.9: Response dropped: stratum 0, probable KOD packet\nntpdig: no eligible servers\n');
  assert.deepEqual(r.dropped, ['stratum 0, probable KOD packet']);
  assert.equal(r.offset, undefined);
});

let block: LoopbackBlock | undefined;
let server: ChronydServer | undefined;
before(async () => {
  // Port 123 addresses can only be reserved (bound) as root, which chronyd needs anyway.
  if (interopSkip('chronyd', 'ntpdig') !== false) return;
  block = await reserveLoopbackBlock('testing/ntpdig.test', 2);
  server = await startChronydServer({ address: block.addresses[0] });
});
after(async () => {
  await server?.stop();
  block?.release();
});

test('runNtpdig against a real chronyd: stratum 1, offset within half the delay', async (t) => {
  if (!requireTool(t, 'chronyd', 'ntpdig') || !server) return;
  const r = await runNtpdig({ server: server.address });
  assert.ok(r.ok, r.stderr);
  assert.equal(r.exitCode, 0);
  assert.equal(r.stratum, 1);
  assert.equal(r.leap, 'no-leap');
  // Same clock on both ends: |offset| is error, bounded by half the round trip (ntpdig
  // takes T1 in Python before it sends, so a loaded machine inflates both).
  assert.ok((r.delay as number) > 0, `delay ${r.delay}`);
  assert.ok(Math.abs(r.offset as number) <= (r.delay as number) / 2 + 0.001, `offset ${r.offset}, delay ${r.delay}`);
});

test('runNtpdig against an address where nothing listens fails cleanly and in time', async (t) => {
  // The silent address comes from the block, which needs what chronyd needs (root).
  if (!requireTool(t, 'chronyd', 'ntpdig') || !block) return;
  const t0 = Date.now();
  const r = await runNtpdig({ server: block.addresses[1] as string, timeoutSeconds: 1 });
  assert.equal(r.ok, false);
  assert.notEqual(r.exitCode, 0);
  assert.equal(r.timedOut, false);
  assert.match(r.stderr, /no eligible servers/);
  assert.ok(Date.now() - t0 < 6000);
});
