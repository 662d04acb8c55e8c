/**
 * `ntpkit fleet` tells the truth with no flags: against real chronyd servers
 * on loopback, three honest, one under faketime 100 ms ahead and one address
 * where nothing listens, it reports WARNING (exit 1) and says why, where it
 * once said FLEET OK. The thresholds tune each rule.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { type ChronydServer, startChronydServer } from '../testing/chronyd.js';
import { runToCompletion } from '../testing/process.js';
import { requireTool } from '../testing/tools.js';
import { assertOffsetNear, STAMP_SLACK, TX_COMPENSATION_MAX } from '../testing/bounds.js';

// This file's own loopback addresses and port.
const PORT = 12355;
const HONEST = ['127.0.55.1', '127.0.55.2', '127.0.55.3'];
const AHEAD = '127.0.55.4';
const SILENT = '127.0.55.5';
const BIN = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));

let servers: ChronydServer[] = [];
let ready = false;

before(async () => {
  if (!requireTool({ skip: () => {} }, 'chronyd', 'libfaketime')) return;
  servers = await Promise.all([
    ...HONEST.map((address) => startChronydServer({ address, port: PORT })),
    // Shifted 0.2 s to be seen 0.1 s out: for a shift this small chronyd keeps the kernel's (real)
    // receive timestamp and shifts only its transmit timestamp, so a client measures half the shift
    // (2.5 s shifts both; the first test checks what is measured, not what was planted).
    startChronydServer({ address: AHEAD, port: PORT, fakeOffsetSeconds: 0.2 }),
  ]);
  ready = true;
});

after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

const hosts = [...HONEST, AHEAD, SILENT].map((h) => `${h}:${PORT}`);

async function fleet(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const r = await runToCompletion(process.execPath, [BIN, 'fleet', ...args, ...hosts], { timeoutMs: 60_000 });
  return { code: r.status.code, out: r.stdout, err: r.stderr };
}

test('fleet with no flags: a host 100 ms out and one unreachable is WARNING, not OK, and the line says why', async (t) => {
  if (!requireTool(t, 'chronyd', 'libfaketime')) return;
  assert.ok(ready);
  const j = await fleet(['--json']);
  assert.equal(j.code, 1, j.out + j.err);
  const doc = JSON.parse(j.out) as { status: string; hosts: { host: string; offset: number | null; delay: number | null; status: string }[] };
  assert.equal(doc.status, 'WARNING');
  const ahead = doc.hosts.find((h) => h.host === `${AHEAD}:${PORT}`);
  assert.ok(ahead?.offset != null && ahead.delay != null, j.out);
  // Offsets are from the consensus, the honest hosts' median: add what each of theirs may be off
  // (half its round trip), and the transmit compensation a reply's T3 may carry.
  const honestHalfDelay = Math.max(...doc.hosts.filter((h) => HONEST.some((a) => h.host === `${a}:${PORT}`)).map((h) => (h.delay ?? Infinity) / 2));
  assertOffsetNear(ahead.offset, 0.1, ahead.delay, 'the host 100 ms out', { late: TX_COMPENSATION_MAX, extra: honestHalfDelay + STAMP_SLACK });
  assert.equal(ahead.status, 'outlier');

  const r = await fleet([]);
  assert.equal(r.code, 1, r.out + r.err);
  const line = r.out.split('\n')[0] as string;
  assert.match(line, /^FLEET WARNING - 5 hosts, 4 answered, 1 outliers?, 1 no time/);
  // Each default rule that fired is named: the offset (100 ms > 50 ms), the silent host, the outlier.
  assert.match(line, /worst offset \S+ > 50\.0+ms/);
  assert.match(line, /1 of 5 hosts gave no time > 0/);
  assert.match(line, /1 outliers > 0/);
  assert.match(r.out, new RegExp(`unreachable \\(1\\): ${SILENT.replace(/\./g, '\\.')}:${PORT}`));
});

test('fleet: the thresholds tune the verdict both ways', async (t) => {
  if (!requireTool(t, 'chronyd', 'libfaketime')) return;
  assert.ok(ready);
  // The faketime host is 100 ms out (give or take the loopback delay): 0.5 s and 1 silent host are tolerated.
  const ok = await fleet(['--warn-offset', '0.5', '--warn-unreachable', '1', '--max-outliers', '1']);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /^FLEET OK - /);
  const crit = await fleet(['--crit-offset', '0.05']);
  assert.equal(crit.code, 2, crit.out);
  assert.match(crit.out, /^FLEET CRITICAL - .*worst offset \S+ > 50\.0+ms/);
  const silent = await fleet(['--max-unreachable', '0']);
  assert.equal(silent.code, 2, silent.out);
  assert.match(silent.out, /1 of 5 hosts gave no time > 0/);
});

test('fleet --help states the defaults', async () => {
  const r = await runToCompletion(process.execPath, [BIN, 'fleet', '--help'], { timeoutMs: 30_000 });
  assert.match(r.stdout, /With no flags the check\s+is OK only when every host answered, none is an outlier and all are within\s+50 ms/);
  assert.match(r.stdout, /--warn-offset <seconds>[^]*\(default: 0\.05\)/);
});
