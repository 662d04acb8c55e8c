/**
 * `ntpkit fleet` end to end against 50 ntpkit servers on loopback, all in
 * one child process (src/testing/fleet-servers.ts): 44 honest, 3
 * falsetickers, 3 unsynchronized; plus 5 reserved addresses where nothing
 * listens, and 3 honest reference servers. Every server shares this
 * machine's clock, so a falseticker's offset is exactly the one planted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Leap, Mode } from '../proto/constants.js';
import { encodeHeader, parseHeader } from '../proto/header.js';
import { realtime } from '../clock/realtime.js';
import { toNtpTimestamp } from '../time/timestamp.js';
import { queryEndpoints } from '../net/fleet-query.js';
import { type LoopbackBlock, reserveLoopbackBlock } from '../testing/loopback.js';
import { type ManagedProcess, runToCompletion, spawnManaged } from '../testing/process.js';
import type { FleetServerSpec } from '../testing/fleet-servers.js';
import { assertOffsetNear, offsetBound, type ParsedSeconds, parseSeconds, STAMP_SLACK, TX_COMPENSATION_MAX } from '../testing/bounds.js';
import { run } from './main.js';

const PORT = 12300;
const FALSE = [0.25, -0.4, 2.5];
let block: LoopbackBlock;
let servers: ManagedProcess;
let dir: string;
let honest: string[];
let falsetickers: string[];
let unsynced: string[];
let unreachable: string[];
let refs: string[];

before(async () => {
  block = await reserveLoopbackBlock('fleet-command', 61, { port: PORT });
  const a = [...block.addresses];
  honest = a.splice(0, 44);
  falsetickers = a.splice(0, 3);
  unsynced = a.splice(0, 3);
  unreachable = a.splice(0, 5);
  refs = a.splice(0, 3);
  const specs: FleetServerSpec[] = [
    ...honest.map((address) => ({ address, port: PORT })),
    ...falsetickers.map((address, i) => ({ address, port: PORT, offset: FALSE[i] as number })),
    ...unsynced.map((address) => ({ address, port: PORT, unsynchronized: true })),
    ...refs.map((address) => ({ address, port: PORT, stratum: 1 })),
  ];
  dir = mkdtempSync(join(tmpdir(), 'ntpkit-fleet-'));
  writeFileSync(join(dir, 'servers.json'), JSON.stringify(specs));
  const script = fileURLToPath(new URL('../testing/fleet-servers.js', import.meta.url));
  servers = await spawnManaged(process.execPath, [script, join(dir, 'servers.json')]);
  const deadline = Date.now() + 20_000;
  while (!servers.logs().includes('ready')) {
    if (servers.exitStatus() || Date.now() > deadline) throw new Error(`fleet servers did not start: ${servers.logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const fleet = [...honest, ...falsetickers, ...unsynced, ...unreachable];
  writeFileSync(join(dir, 'hosts'), `# the fleet\n\n${fleet.map((h, i) => `${h}:${PORT}   web-${i} eu  # host ${i}`).join('\n')}\n`);
  writeFileSync(join(dir, 'honest'), honest.map((h) => `${h}:${PORT}`).join('\n'));
  writeFileSync(join(dir, 'chrony.conf'), refs.map((r) => `server ${r} port ${PORT} iburst`).join('\n'));
});

after(async () => {
  await servers?.stop();
  block?.release();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(['fleet', '--quiet', '-t', '0.3', '--retries', '1', ...args], { out: (t) => { out += `${t}\n`; }, err: (t) => { err += `${t}\n`; }, setExitCode: () => {} });
  return { code, out, err };
}

const withPort = (xs: readonly string[]): string[] => xs.map((x) => `${x}:${PORT}`);
/** Every default threshold turned off, so a test sets only the one it is about. */
const LAX = ['--warn-offset', '1000', '--crit-offset', '1000', '--warn-unreachable', '100%', '--max-unreachable', '100%', '--max-outliers', '1000000'];
const refArgs = (): string[] => refs.flatMap((r) => ['--ref', `${r}:${PORT}`]);

interface EndpointJson { host: string; measuredOffset: number | null; delay: number | null }
interface FleetJson {
  schema: string;
  status: string;
  consensus: { ok: boolean; source: string; agree: string[]; offset: number };
  references: EndpointJson[] | null;
  hosts: (EndpointJson & { label: string | null; status: string; offset: number | null; stratum: number | null; leap: string | null })[];
  summary: { total: number; answered: number; unreachable: string[]; unsynchronized: string[]; outliers: string[]; worst: { host: string; offset: number }; spread: { median: number; min: number; max: number; range: number; iqr: number; mad: number } };
  warnings: string[];
  transport: string;
  requestsSent: number;
}

/** The offset each answering host was given: 0 for the honest ones, FALSE[i] for the falsetickers. */
function planted(host: string): number | undefined {
  const address = host.split(':')[0] as string;
  if (honest.includes(address) || refs.includes(address)) return 0;
  const i = falsetickers.indexOf(address);
  return i < 0 ? undefined : FALSE[i];
}

/**
 * Every server reads this machine's clock, shifted by its planted offset, so
 * an exchange measures that offset within half its round trip (the servers
 * are ntpkit's, whose T3 may also run late by up to TX_COMPENSATION_MAX).
 */
const hostBound = (delay: number): number => offsetBound(delay, TX_COMPENSATION_MAX);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function checkReport(doc: FleetJson): void {
  assert.equal(doc.schema, 'ntpkit.fleet/1');
  assert.equal(doc.summary.total, 55);
  assert.equal(doc.summary.answered, 47);
  assert.deepEqual([...doc.summary.unreachable].sort(), withPort(unreachable).sort());
  assert.deepEqual([...doc.summary.unsynchronized].sort(), withPort(unsynced).sort());
  assert.deepEqual([...doc.summary.outliers].sort(), withPort(falsetickers).sort());
  // The consensus combines servers that each measured 0 within their own bound, so it is within the largest of them.
  const basis = doc.references ?? doc.hosts.filter((h) => planted(h.host) === 0);
  const consensusBound = Math.max(...basis.map((x) => hostBound(x.delay ?? NaN)));
  const c = doc.consensus.offset;
  assert.ok(Math.abs(c) <= consensusBound, `consensus ${c} s, beyond ${consensusBound} s`);
  for (const x of doc.hosts) {
    const truth = planted(x.host);
    if (truth === undefined) {
      assert.equal(x.offset, null, `${x.host} gave no time`);
      continue;
    }
    assert.equal(x.status, truth === 0 ? 'ok' : 'outlier', x.host);
    assertOffsetNear(x.measuredOffset ?? NaN, truth, x.delay ?? NaN, x.host, { late: TX_COMPENSATION_MAX });
    // The offset reported is from the consensus, not from this machine's clock.
    assert.ok(Math.abs((x.offset ?? NaN) - ((x.measuredOffset ?? NaN) - c)) <= STAMP_SLACK, `${x.host}: ${x.offset} vs ${x.measuredOffset} - ${c}`);
    if (truth === 0) {
      assert.equal(x.stratum, 10);
      assert.equal(x.leap, 'normal');
    }
  }
  assert.equal(doc.summary.worst.host, `${falsetickers[2]}:${PORT}`);
  // The spread is that of the offsets just checked; each end and the median follow from them.
  const offsets = doc.hosts.flatMap((h) => (h.offset === null ? [] : [h.offset]));
  assert.equal(offsets.length, 47);
  assert.ok(Math.abs(doc.summary.spread.median - median(offsets)) <= STAMP_SLACK);
  assert.equal(doc.summary.spread.min, Math.min(...offsets));
  assert.equal(doc.summary.spread.max, Math.max(...offsets));
  const ft = (i: number): EndpointJson => doc.hosts.find((h) => h.host === `${falsetickers[i]}:${PORT}`) as EndpointJson;
  const rangeBound = hostBound(ft(1).delay ?? NaN) + hostBound(ft(2).delay ?? NaN);
  assert.ok(Math.abs(doc.summary.spread.range - ((FALSE[2] as number) - (FALSE[1] as number))) <= rangeBound, `range ${doc.summary.spread.range}, bound ${rangeBound}`);
  // Sorted by |offset|, largest first, hosts without an offset last.
  assert.equal(doc.hosts[0]?.host, `${falsetickers[2]}:${PORT}`);
  assert.equal(doc.hosts.at(-1)?.offset, null);
}

interface TextRow { host: string; offsetText: string; offset: ParsedSeconds | null; delay: ParsedSeconds | null }

/**
 * The host table of the text report, its durations read back in whatever
 * unit they were printed. Columns are found from the header: a label may
 * hold spaces, and Offset and Delay are right-aligned under their titles.
 */
function textRows(out: string): TextRow[] {
  const lines = out.split('\n');
  const start = lines.findIndex((l) => l.startsWith('====='));
  const header = lines[start - 1] ?? '';
  const offEnd = header.indexOf('Offset') + 'Offset'.length;
  const delayEnd = header.indexOf('Delay') + 'Delay'.length;
  assert.ok(start > 0 && header.startsWith('Host') && offEnd > 12 && delayEnd > offEnd, out);
  const rows: TextRow[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line === '') break;
    const field = (end: number, width: number): string => line.slice(end - width, end).trim();
    const dur = (t: string): ParsedSeconds | null => (t === '-' ? null : parseSeconds(t));
    const offsetText = field(offEnd, 12);
    rows.push({ host: line.split(' ')[0] as string, offsetText, offset: dur(offsetText), delay: dur(field(delayEnd, 10)) });
  }
  return rows;
}

/**
 * Checks every row of a text report against the offset its host was given:
 * the row's offset is from the consensus, which the report prints as an
 * offset from this machine's clock; their sum is what the host measured.
 * Returns the rows with an offset.
 */
function checkTextRows(out: string): (TextRow & { offset: ParsedSeconds })[] {
  const cm = /they are (\S+) from this machine's clock/.exec(out);
  assert.ok(cm, out);
  const c = parseSeconds(cm[1] as string);
  const rows = textRows(out).filter((r): r is TextRow & { offset: ParsedSeconds } => r.offset !== null);
  for (const r of rows) {
    const truth = planted(r.host);
    assert.ok(truth !== undefined, `${r.host} should give no time`);
    assert.ok(r.delay, r.host);
    assertOffsetNear(r.offset.seconds + c.seconds, truth, r.delay.seconds + r.delay.halfUlp, r.host,
      { late: TX_COMPENSATION_MAX, extra: r.offset.halfUlp + c.halfUlp });
  }
  return rows;
}

/** Asserts a duration read back from the report equals `value` up to its printed rounding (and `value`'s own). */
function assertPrinted(p: ParsedSeconds, value: number, what: string, valueUlp = 0): void {
  assert.ok(Math.abs(p.seconds - value) <= p.halfUlp + valueUlp + 1e-12, `${what}: printed ${p.seconds} s, expected ${value} s`);
}

test('50 servers with references: falsetickers, unsynchronized and unreachable hosts are named; CRITICAL with no flags (a host 2.5 s off)', async () => {
  const r = await cli(['--json', ...refArgs(), ...withPort([...honest, ...falsetickers, ...unsynced, ...unreachable])]);
  assert.equal(r.code, 2, r.err + r.out);
  const doc = JSON.parse(r.out) as FleetJson;
  checkReport(doc);
  assert.equal(doc.status, 'CRITICAL');
  const lax = JSON.parse((await cli(['--json', ...LAX, ...refArgs(), ...withPort([...honest, ...falsetickers, ...unsynced, ...unreachable])])).out) as FleetJson;
  assert.equal(lax.status, 'OK', 'every rule turned off');
  assert.deepEqual(doc.consensus, { ...doc.consensus, ok: true, source: 'references' });
  assert.equal(doc.consensus.agree.length, 3);
  assert.deepEqual(doc.warnings, []);
});

test('hosts file with labels and the fleet\'s own consensus, over node:dgram (NTPKIT_UDP=dgram)', async () => {
  const saved = process.env.NTPKIT_UDP;
  process.env.NTPKIT_UDP = 'dgram';
  try {
    const r = await cli(['--json', ...LAX, '-f', join(dir, 'hosts')]);
    const doc = JSON.parse(r.out) as FleetJson;
    assert.equal(doc.transport, 'dgram');
    checkReport(doc);
    assert.equal(doc.consensus.source, 'fleet');
    assert.equal(doc.hosts.find((h) => h.host === `${honest[3]}:${PORT}`)?.label, 'web-3 eu');
    assert.equal(r.code, 0);
  } finally {
    if (saved === undefined) delete process.env.NTPKIT_UDP;
    else process.env.NTPKIT_UDP = saved;
  }
});

test('exit codes follow the thresholds: OK, WARNING, CRITICAL, UNKNOWN', async () => {
  const fleet = ['-f', join(dir, 'hosts'), '--refs-from', join(dir, 'chrony.conf')];
  const ok = await cli(['-f', join(dir, 'honest'), '--refs-from', join(dir, 'chrony.conf'), '--warn-offset', '0.01', '--crit-offset', '0.1', '--max-unreachable', '0']);
  assert.equal(ok.code, 0, ok.out);
  // The worst offset is printed in whichever unit fits it (ns on a quiet machine, us or ms on a busy one).
  const okLine = /^FLEET OK - 44 hosts, 44 answered, 0 outliers, 0 no time; worst (\S+) at (\S+) vs references \| worst_offset=/.exec(ok.out);
  assert.ok(okLine, ok.out);
  const okRows = checkTextRows(ok.out);
  assert.equal(okRows.length, 44);
  const okWorst = okRows.find((r) => r.host === okLine[2]);
  assert.ok(okWorst, `${okLine[2]} in the table`);
  assert.equal(okWorst.offsetText, okLine[1], `the status line's worst is the table's ${okLine[2]}`);
  for (const r of okRows) assert.ok(Math.abs(r.offset.seconds) <= Math.abs(okWorst.offset.seconds) + r.offset.halfUlp + okWorst.offset.halfUlp, `${r.host} is further off than the worst`);

  const warn = await cli([...fleet, ...LAX, '--warn-offset', '1']);
  assert.equal(warn.code, 1, warn.out);
  const warnLine = /^FLEET WARNING .*worst offset (\S+) > 1\.000000s/.exec(warn.out);
  assert.ok(warnLine, warn.out);
  const far = checkTextRows(warn.out).find((r) => r.host === `${falsetickers[2]}:${PORT}`);
  assert.ok(far, warn.out);
  assertPrinted(parseSeconds(warnLine[1] as string), Math.abs(far.offset.seconds), 'worst offset', far.offset.halfUlp);
  assert.equal((await cli([...fleet, ...LAX, '--max-outliers', '2'])).code, 1);
  assert.equal((await cli([...fleet, ...LAX, '--max-outliers', '3'])).code, 0);
  assert.equal((await cli([...fleet, ...LAX, '--warn-unreachable', '7'])).code, 1, 'five unreachable and three unsynchronized hosts give no time');
  assert.equal((await cli([...fleet, ...LAX, '--warn-unreachable', '8'])).code, 0);

  const crit = await cli([...fleet, ...LAX, '--warn-offset', '0.1', '--crit-offset', '2']);
  assert.equal(crit.code, 2, crit.out);
  assert.match(crit.out, /^FLEET CRITICAL /);
  assert.equal((await cli([...fleet, ...LAX, '--max-unreachable', '7'])).code, 2, 'five unreachable and three unsynchronized hosts give no time');
  assert.equal((await cli([...fleet, ...LAX, '--max-unreachable', '8'])).code, 0);
  assert.equal((await cli([...fleet, ...LAX, '--max-unreachable', '15%'])).code, 0);
  assert.equal((await cli([...fleet, ...LAX, '--max-unreachable', '14%'])).code, 2);

  // Two references that disagree have no majority: nothing to measure against.
  const split = await cli(['--ref', `${honest[0]}:${PORT}`, '--ref', `${falsetickers[0]}:${PORT}`, ...withPort(honest.slice(1, 5))]);
  assert.equal(split.code, 3, split.out);
  assert.match(split.out, /^FLEET UNKNOWN - .*no consensus/);
  assert.match(split.out, /Warning: only 2 references given/);
});

test('the text report lists unreachable hosts, outliers with their rule, the spread and the time taken', async () => {
  const r = await cli(['-f', join(dir, 'hosts'), ...LAX, ...refArgs(), '--sort', 'name']);
  assert.equal(r.code, 0);
  assert.match(r.out, new RegExp(`unreachable \\(5\\): ${withPort(unreachable).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).join(', ').replace(/\./g, '\\.')}`));
  assert.match(r.out, /outliers \(3, beyond both 5 x 1\.4826 x median \|offset\| = .* and the host's root distance\)/);
  assert.match(r.out, /unsynchronized \(3\)/);
  // The spread's figures, in whatever unit each was printed, are those of the table's rows.
  const rows = checkTextRows(r.out);
  assert.equal(rows.length, 47);
  const sm = /^Spread of 47 hosts: median (\S+), min (\S+), max (\S+), range (\S+), IQR /m.exec(r.out);
  assert.ok(sm, r.out);
  const values = rows.map((x) => x.offset.seconds);
  const ulp = Math.max(...rows.map((x) => x.offset.halfUlp));
  assertPrinted(parseSeconds(sm[1] as string), median(values), 'median', ulp);
  assertPrinted(parseSeconds(sm[2] as string), Math.min(...values), 'min', ulp);
  assertPrinted(parseSeconds(sm[3] as string), Math.max(...values), 'max', ulp);
  assertPrinted(parseSeconds(sm[4] as string), Math.max(...values) - Math.min(...values), 'range', 2 * ulp);
  assert.ok(parseSeconds(sm[2] as string).seconds < 0 && parseSeconds(sm[3] as string).seconds > 0, 'the falsetickers lie either side');
  assert.match(r.out, /^Time taken: \d+\.\d\d s, \d+ requests/m);
  assert.match(r.out, /^Consensus: 3 of 3 references agree/m);
});

test('bad hosts-file lines are named file:line and nothing is queried (UNKNOWN)', async () => {
  const bad = join(dir, 'bad-hosts');
  writeFileSync(bad, `127.0.0.2\n\n# ok\n127.0.0.3:99999 db\n[::1:123\n`);
  const r = await cli(['-f', bad]);
  assert.equal(r.code, 3);
  assert.match(r.err, new RegExp(`${bad.replace(/[.]/g, '\\.')}:4: Cannot parse server "127\\.0\\.0\\.3:99999": port`));
  assert.match(r.err, new RegExp(`${bad.replace(/[.]/g, '\\.')}:5: `));
  assert.doesNotMatch(r.err, /:1: /);
  assert.equal((await cli([])).code, 3);
});

test('a reply with a forged origin is ignored and the real one is taken', async () => {
  const s = dgram.createSocket('udp4');
  s.on('message', (msg, rinfo) => {
    const h = parseHeader(msg);
    if (!h.ok) return;
    const now = toNtpTimestamp(realtime());
    const reply = (origin: bigint): Uint8Array => encodeHeader({
      leap: Leap.NoWarning, version: 4, mode: Mode.Server, stratum: 2, poll: 0, precision: -20, rootDelay: 0, rootDispersion: 0,
      referenceId: 0x7f000001, referenceTimestamp: now, originTimestamp: origin, receiveTimestamp: now, transmitTimestamp: now,
    });
    s.send(reply(h.value.transmitTimestamp ^ 1n), rinfo.port, rinfo.address);
    setTimeout(() => s.send(reply(h.value.transmitTimestamp), rinfo.port, rinfo.address), 5);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  try {
    const res = await queryEndpoints([{ host: '127.0.0.1', port: s.address().port }], { samples: 2, timeoutMs: 500 });
    assert.ok(res.results[0]?.estimate, JSON.stringify(res.results[0]?.error));
    assert.equal(res.results[0]?.samples.filter((x) => x.status === 'ok').length, 2);
    assert.equal(res.ignoredReplies, 2);
  } finally {
    s.close();
  }
});

test('as a program: progress lines on stderr (not a terminal), the report on stdout, the exit code', async () => {
  const bin = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
  const r = await runToCompletion(process.execPath, [bin, 'fleet', '-t', '0.3', '--retries', '0', '-f', join(dir, 'hosts'), '--crit-offset', '1'], { timeoutMs: 30_000 });
  assert.equal(r.status.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /^fleet: \d+\/55 hosts queried/m);
  assert.match(r.stderr, /^fleet: 55\/55 hosts queried/m);
  assert.match(r.stdout, /^FLEET CRITICAL/);
});
