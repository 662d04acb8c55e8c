/**
 * `ntpkit tracking|sources|sourcestats|peers` end to end, in-process: each
 * command against a control server started here that serves a snapshot
 * holding the values of the chronyc captures (fixtures/), so the text must
 * be chronyc's byte for byte.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daemonHandlers } from '../control/commands.js';
import { type ControlServer, startControlServer } from '../control/server.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import { ExitCode } from './exit-codes.js';
import { fixture, snapshotOf, sourcesFromCsv, trackingFromCsv } from '../testing/chronyc-csv.js';
import { formatPeers, TALLY } from './peers-format.js';
import { runCaptured } from './run-captured.test-helper.js';

const dir = mkdtempSync(join(tmpdir(), 'ntpkit-report-'));
const sock = join(dir, 'ntpkit.sock');
let snapshot: DaemonSnapshot = snapshotOf({
  tracking: trackingFromCsv(fixture('chronyc-tracking.csv')),
  // chronyc's CSV has no refid column: chronyd's `local` servers send 127.127.1.1.
  sources: sourcesFromCsv(fixture('chronyc-sources.csv'), fixture('chronyc-sourcestats.csv'))
    .map((s) => ({ ...s, referenceId: s.stratum > 0 ? 0x7f7f0101 : 0 })),
});
let server: ControlServer;
let requests = 0;

before(async () => {
  server = await startControlServer({ path: sock, handlers: daemonHandlers({ snapshot: () => { requests++; return snapshot; } }) });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const cli = runCaptured;

for (const [args, file] of [
  [['tracking', '-n'], 'chronyc-tracking.txt'],
  [['sources', '-n'], 'chronyc-sources.txt'],
  [['sourcestats', '-n'], 'chronyc-sourcestats.txt'],
] as const) {
  test(`ntpkit ${args.join(' ')} prints what chronyc printed for the same state`, async () => {
    const before = requests;
    const r = await cli([...args, '--socket', sock]);
    assert.equal(r.err, '');
    assert.equal(r.code, ExitCode.OK);
    assert.equal(r.out, fixture(file));
    assert.equal(requests, before + 1, 'one snapshot request per command');
  });
}

test('ntpkit sources -v and sourcestats -v print the legends', async () => {
  const s = await cli(['sources', '-v', '-n', '--socket', sock]);
  assert.ok(s.out.startsWith(fixture('chronyc-sources-v.txt').split('MS Name')[0] ?? 'x'));
  assert.ok(s.out.endsWith(fixture('chronyc-sources.txt')));
  const st = await cli(['sourcestats', '--verbose', '-n', '--socket', sock]);
  assert.ok(st.out.startsWith('                             .- Number of sample points in measurement set.\n'));
});

test('ntpkit peers prints the ntpq -p table of the same sources', async () => {
  const r = await cli(['peers', '-n', '--socket', sock]);
  assert.equal(r.code, ExitCode.OK);
  assert.equal(r.out, formatPeers(snapshot, { numeric: true }));
  const lines = r.out.split('\n');
  assert.equal(lines[0], '     remote           refid      st t when poll reach   delay   offset  jitter');
  assert.deepEqual(lines.slice(2, -1).map((l) => l[0]), snapshot.sources.map((x) => TALLY[x.verdict]));
  assert.match(lines[2] ?? '', /^\*127\.0\.0\.2 {7}127\.127\.1\.1 {6}1 u +\d+ {4}1 {2}377 /);
});

test('--json prints the snapshot part with its schema', async () => {
  const t = JSON.parse((await cli(['tracking', '--json', '--socket', sock])).out) as Record<string, unknown>;
  assert.deepEqual(t, { schema: 'ntpkit.tracking/1', snapshotVersion: 1, time: snapshot.time, clock: snapshot.clock, tracking: JSON.parse(JSON.stringify(snapshot.tracking)) });
  const s = JSON.parse((await cli(['sources', '--json', '--socket', sock])).out) as { schema: string; sources: unknown[] };
  assert.equal(s.schema, 'ntpkit.sources/1');
  assert.deepEqual(s.sources, JSON.parse(JSON.stringify(snapshot.sources)));
  const st = JSON.parse((await cli(['sourcestats', '--json', '--socket', sock])).out) as { schema: string; sources: { name: string; stats: unknown }[] };
  assert.equal(st.schema, 'ntpkit.sourcestats/1');
  assert.deepEqual(st.sources[0]?.stats, JSON.parse(JSON.stringify(snapshot.sources[0]?.stats)));
  const p = JSON.parse((await cli(['peers', '--json', '--socket', sock])).out) as { schema: string; peers: { tally: string; verdict: string }[] };
  assert.equal(p.schema, 'ntpkit.peers/1');
  assert.deepEqual(p.peers.map((x) => x.tally), snapshot.sources.map((x) => TALLY[x.verdict]));
});

test('every command: no daemon -> exit 4 and the message naming the socket', async () => {
  const missing = join(dir, 'none', 'ntpkit.sock');
  for (const cmd of ['tracking', 'sources', 'sourcestats', 'peers']) {
    const r = await cli([cmd, '--socket', missing]);
    assert.equal(r.code, ExitCode.UNREACHABLE, cmd);
    assert.equal(r.out, '');
    assert.equal(r.err, `ntpkit ${cmd}: no daemon listening at ${missing} (is ntpkit daemon running? see --socket)\n`);
  }
});

test('a daemon that does not answer in time -> exit 3', async () => {
  const mute = join(dir, 'mute.sock');
  const held: import('node:net').Socket[] = [];
  const m: Server = createServer((c) => { held.push(c); }).listen(mute);
  try {
    await new Promise((r) => m.once('listening', r));
    const r = await cli(['tracking', '--socket', mute, '--timeout', '0.2']);
    assert.equal(r.code, ExitCode.TIMEOUT);
    assert.match(r.err, /no reply from the daemon at .*mute\.sock within 200 ms/);
  } finally {
    for (const c of held) c.destroy();
    m.close();
  }
});

test('a snapshot of another version -> exit 1 with the reason', async () => {
  const saved = snapshot;
  snapshot = { ...saved, version: 2 as 1 };
  try {
    const r = await cli(['sources', '--socket', sock]);
    assert.equal(r.code, ExitCode.GENERAL_FAILURE);
    assert.match(r.err, /snapshot of version 2; this ntpkit reads version 1/);
  } finally {
    snapshot = saved;
  }
});

test('usage errors exit 2', async () => {
  assert.equal((await cli(['tracking', '--timeout', '-1'])).code, ExitCode.USAGE);
  assert.equal((await cli(['peers', '-v'])).code, ExitCode.USAGE);
});
