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
const refArgs = (): string[] => refs.flatMap((r) => ['--ref', `${r}:${PORT}`]);

interface FleetJson {
  schema: string;
  status: string;
  consensus: { ok: boolean; source: string; agree: string[] };
  hosts: { host: string; label: string | null; status: string; offset: number | null; stratum: number | null; leap: string | null }[];
  summary: { total: number; answered: number; unreachable: string[]; unsynchronized: string[]; outliers: string[]; worst: { host: string; offset: number }; spread: { median: number; range: number; iqr: number; mad: number } };
  warnings: string[];
  transport: string;
  requestsSent: number;
}

function checkReport(doc: FleetJson): void {
  assert.equal(doc.schema, 'ntpkit.fleet/1');
  assert.equal(doc.summary.total, 55);
  assert.equal(doc.summary.answered, 47);
  assert.deepEqual([...doc.summary.unreachable].sort(), withPort(unreachable).sort());
  assert.deepEqual([...doc.summary.unsynchronized].sort(), withPort(unsynced).sort());
  assert.deepEqual([...doc.summary.outliers].sort(), withPort(falsetickers).sort());
  falsetickers.forEach((f, i) => {
    const h = doc.hosts.find((x) => x.host === `${f}:${PORT}`);
    assert.equal(h?.status, 'outlier');
    assert.ok(Math.abs((h?.offset ?? NaN) - (FALSE[i] as number)) < 0.005, `${f}: ${h?.offset} vs ${FALSE[i]}`);
  });
  for (const x of doc.hosts.filter((h) => honest.includes(h.host.split(':')[0] as string))) {
    assert.equal(x.status, 'ok');
    assert.ok(Math.abs(x.offset ?? NaN) < 0.005, `${x.host}: ${x.offset}`);
    assert.equal(x.stratum, 10);
    assert.equal(x.leap, 'normal');
  }
  assert.equal(doc.summary.worst.host, `${falsetickers[2]}:${PORT}`);
  assert.ok(Math.abs(doc.summary.spread.median) < 0.001);
  assert.ok(Math.abs(doc.summary.spread.range - 2.9) < 0.01);
  // Sorted by |offset|, largest first, hosts without an offset last.
  assert.equal(doc.hosts[0]?.host, `${falsetickers[2]}:${PORT}`);
  assert.equal(doc.hosts.at(-1)?.offset, null);
}

test('50 servers with references: falsetickers, unsynchronized and unreachable hosts are named; exit 0 without thresholds', async () => {
  const r = await cli(['--json', ...refArgs(), ...withPort([...honest, ...falsetickers, ...unsynced, ...unreachable])]);
  assert.equal(r.code, 0, r.err + r.out);
  const doc = JSON.parse(r.out) as FleetJson;
  checkReport(doc);
  assert.equal(doc.status, 'OK');
  assert.deepEqual(doc.consensus, { ...doc.consensus, ok: true, source: 'references' });
  assert.equal(doc.consensus.agree.length, 3);
  assert.deepEqual(doc.warnings, []);
});

test('hosts file with labels and the fleet\'s own consensus, over node:dgram (NTPKIT_UDP=dgram)', async () => {
  const saved = process.env.NTPKIT_UDP;
  process.env.NTPKIT_UDP = 'dgram';
  try {
    const r = await cli(['--json', '-f', join(dir, 'hosts')]);
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
  assert.match(ok.out, /^FLEET OK - 44 hosts, 44 answered, 0 outliers, 0 no time; worst [+-][\d.]+us at .* vs references \| worst_offset=/);

  const warn = await cli([...fleet, '--warn-offset', '1']);
  assert.equal(warn.code, 1, warn.out);
  assert.match(warn.out, /^FLEET WARNING .*worst offset 2\.(49|50)\d+s > 1\.000000s/);
  assert.equal((await cli([...fleet, '--max-outliers', '2'])).code, 1);
  assert.equal((await cli([...fleet, '--max-outliers', '3'])).code, 0);

  const crit = await cli([...fleet, '--warn-offset', '0.1', '--crit-offset', '2']);
  assert.equal(crit.code, 2, crit.out);
  assert.match(crit.out, /^FLEET CRITICAL /);
  assert.equal((await cli([...fleet, '--max-unreachable', '7'])).code, 2, 'five unreachable and three unsynchronized hosts give no time');
  assert.equal((await cli([...fleet, '--max-unreachable', '8'])).code, 0);
  assert.equal((await cli([...fleet, '--max-unreachable', '15%'])).code, 0);
  assert.equal((await cli([...fleet, '--max-unreachable', '14%'])).code, 2);

  // Two references that disagree have no majority: nothing to measure against.
  const split = await cli(['--ref', `${honest[0]}:${PORT}`, '--ref', `${falsetickers[0]}:${PORT}`, ...withPort(honest.slice(1, 5))]);
  assert.equal(split.code, 3, split.out);
  assert.match(split.out, /^FLEET UNKNOWN - .*no consensus/);
  assert.match(split.out, /Warning: only 2 references given/);
});

test('the text report lists unreachable hosts, outliers with their rule, the spread and the time taken', async () => {
  const r = await cli(['-f', join(dir, 'hosts'), ...refArgs(), '--sort', 'name']);
  assert.equal(r.code, 0);
  assert.match(r.out, new RegExp(`unreachable \\(5\\): ${withPort(unreachable).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).join(', ').replace(/\./g, '\\.')}`));
  assert.match(r.out, /outliers \(3, beyond both 5 x 1\.4826 x median \|offset\| = .* and the host's root distance\)/);
  assert.match(r.out, /unsynchronized \(3\)/);
  assert.match(r.out, /^Spread of 47 hosts: median [+-][\d.]+[nu]?s, min -(399|400)\.\d+ms, max \+2\.(49|50)\d+s, range 2\.(89|90)\d+s, IQR /m);
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
