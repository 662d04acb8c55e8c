/**
 * `ntpkit check --phc` as a user runs it: the real ntpkit process, its addon
 * reading a fake PTP clock (testing/fake-phc.ts preloaded into it), and a
 * real non-PTP file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadNative } from '../clock/native.js';
import { buildFakePhc, type FakePhc, type FakePhcScript } from '../testing/fake-phc.js';
import { runToCompletion } from '../testing/process.js';

const bin = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
const native = loadNative();
let fake: FakePhc | undefined;
let unavailable: string | false = native.ok ? false : native.reason;

before(() => {
  if (unavailable) return;
  try {
    fake = buildFakePhc();
  } catch (e) {
    if (process.env.NTPKIT_REQUIRE_NATIVE === '1') throw e;
    unavailable = (e as Error).message;
  }
});
after(() => fake?.close());

async function check(args: readonly string[], script?: FakePhcScript) {
  const env = script && fake ? fake.env(script) : undefined;
  const r = await runToCompletion(process.execPath, [bin, 'check', ...args], { timeoutMs: 30_000, env: env?.env ?? {} });
  assert.equal(r.timedOut, false);
  return { code: r.status.code, out: r.stdout, err: r.stderr, ioctls: env?.ioctls() ?? [] };
}

test('check --phc reads the PHC once and judges its offset from the system clock', async (t) => {
  if (unavailable || !fake) return t.skip(unavailable || 'no fake PHC');
  // The best of the samples is 600 ns wide with the PHC stamp 50 ns past its middle: +250 us + 50 ns.
  const script = { fail: `precise=${constants.errno.EOPNOTSUPP}`, offsetNs: 250_000, widths: '3000,600', pos: '0,350' };
  const ok = await check(['--phc', fake.device, '-w', '0.001', '-c', '0.01'], script);
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.equal(ok.out, `NTP OK: Offset 0.00025005 secs (PHC ${fake.device}, extended reading)|offset=0.00025005s;0.001;0.01 delay=0.0000006s;;;0\n`);
  assert.deepEqual(ok.ioctls, ['GETCAPS', 'PRECISE', 'EXTENDED 25']);

  const warn = await check(['--phc', `${fake.device}:nocrossts`, '-w', '0.0001', '-c', '0.01', '--json'], script);
  assert.equal(warn.code, 1, warn.out + warn.err);
  const doc = JSON.parse(warn.out) as { state: string; target: unknown; metrics: { offset: number; delay: number } };
  assert.equal(doc.state, 'WARNING');
  assert.deepEqual(doc.target, { kind: 'phc', device: `${fake.device}:nocrossts` });
  assert.equal(doc.metrics.offset, 250_050e-9);
  assert.equal(doc.metrics.delay, 600e-9);
  assert.deepEqual(warn.ioctls, ['GETCAPS', 'EXTENDED 25']);
});

test('check --phc: a PHC that cannot be read is CRITICAL; no PHC at the path is UNKNOWN', async (t) => {
  if (unavailable || !fake) return t.skip(unavailable || 'no fake PHC');
  const down = await check(['--phc', fake.device], { fail: `precise=${constants.errno.EOPNOTSUPP},extended=${constants.errno.EIO}` });
  assert.equal(down.code, 2, down.out + down.err);
  assert.equal(down.out, `NTP CRITICAL: Cannot read PTP clock ${fake.device}: PTP_SYS_OFFSET_EXTENDED failed: Input/output error (EIO)\n`);

  const devnull = await check(['--phc', '/dev/null']);
  assert.equal(devnull.code, 3, devnull.out + devnull.err);
  assert.equal(devnull.out, 'NTP UNKNOWN: /dev/null is not a PTP hardware clock: PTP_CLOCK_GETCAPS failed: Inappropriate ioctl for device (ENOTTY)\n');
  assert.equal(devnull.err, '');

  const usage = await check(['--phc', `${fake.device}:extpps`]);
  assert.equal(usage.code, 3);
  assert.match(usage.out, /unknown option extpps/);

  const both = await check(['--phc', fake.device, '--min-sources', '2']);
  assert.equal(both.code, 3);
  assert.match(both.out, /--min-sources applies to the local daemon, not to --phc/);
});
