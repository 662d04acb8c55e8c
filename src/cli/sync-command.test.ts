/**
 * `ntpkit sync` in-process, with the sampling, the ownership checks and the
 * clock injected: this host's clock is never touched (a fake clock records
 * what would have been done). The end-to-end runs against chronyd are in
 * sync-interop.test.ts, the real clock changes in sync-uml.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OwnershipReport } from '../clock/ownership.js';
import type { ServerEstimate } from '../core/tools/server-estimate.js';
import type { QueryOptions, QueryReport, ServerResult } from '../net/query.js';
import { ExitCode } from './exit-codes.js';
import { type SyncClock, type SyncCommandDeps, syncCommand } from './sync-command.js';

function server(spec: string, offset: number | null): ServerResult {
  const estimate = offset === null ? null : ({ best: { offset, delay: 0.0021, dispersion: 0 }, rootDistance: 0.002, jitter: 1e-5, rootDelay: 0, rootDispersion: 0, bestIndex: 0 } as unknown as ServerEstimate);
  return {
    spec, host: spec, port: 123, address: spec,
    samples: offset === null ? [] : [{ index: 0, status: 'ok', sample: { offset, delay: 0.0021 } as never }],
    estimate, error: offset === null ? { code: 'timeout', message: 'no reply within 5 s' } : null,
  };
}

function fakeQuery(offsets: Record<string, number | null>): { query: NonNullable<SyncCommandDeps['query']>; asked: string[][] } {
  const asked: string[][] = [];
  const query = async (specs: readonly string[], opts: QueryOptions): Promise<QueryReport> => {
    asked.push([...specs]);
    const servers = specs.map((s) => server(s, offsets[s] ?? null));
    for (const s of servers) for (const r of s.samples) opts.onSample?.(s.spec, r);
    return { servers, verdict: null } as unknown as QueryReport;
  };
  return { query, asked };
}

class FakeClock implements SyncClock {
  readonly calls: string[] = [];
  step(s: number): void { this.calls.push(`step ${s}`); }
  slewOnce(s: number) { this.calls.push(`slew ${s}`); return { seconds: s, durationSeconds: Math.abs(s) / 500e-6, replacedSeconds: 0 }; }
  close(): void { this.calls.push('close'); }
}

const CLEAR: OwnershipReport = { clear: true, findings: [], skipped: [] };
const CHRONYD: OwnershipReport = {
  clear: false, skipped: [],
  findings: [{ kind: 'process', daemon: { kind: 'chronyd', pid: 812, command: '/usr/sbin/chronyd -F 1', unit: 'chrony.service' }, message: 'chronyd is running (PID 812, unit chrony.service: /usr/sbin/chronyd -F 1); stop and disable it with: systemctl disable --now chrony' }],
};

async function runSync(args: string[], deps: SyncCommandDeps): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  let code: number = ExitCode.OK;
  const cmd = syncCommand({ out: (t) => { out += `${t}\n`; }, err: (t) => { err += `${t}\n`; }, setExitCode: (c) => { code = c; } }, deps).exitOverride();
  try {
    await cmd.parseAsync(args, { from: 'user' });
  } catch {
    code = ExitCode.USAGE;
  }
  return { code, out, err };
}

const GOOD = { a: 0.0123, b: 0.0124, c: 0.0122, liar: 2.5 };
const safe = (over: Partial<SyncCommandDeps> = {}): SyncCommandDeps & { clock: FakeClock } => {
  const clock = new FakeClock();
  return {
    clock, clockControl: () => ({ ok: true }), ownership: () => CLEAR,
    lock: () => ({ ok: true, path: '/nonexistent', release: () => { clock.calls.push('unlock'); } }),
    createClock: () => clock, query: fakeQuery(GOOD).query, ...over,
  };
};

test('a small offset is slewed: progress on stderr, the change on stdout, the liar named', async () => {
  const deps = safe();
  const r = await runSync(['a', 'b', 'c', 'liar'], deps);
  assert.equal(r.code, ExitCode.OK, r.err);
  assert.match(r.err, /^a: offset \+0\.012300 s, delay 0\.002100 s \(1\/4\)$/m);
  assert.match(r.err, /^liar: falseticker \(offset \+2\.500000 s, outside the majority's interval\): left out$/m);
  assert.match(r.out, /^Slewing the system clock by \+0\.01230\d s \(kernel adjtime, about 25 s at 500 ppm\)$/m);
  assert.equal(deps.clock.calls[0]?.startsWith('slew 0.0123'), true);
  assert.deepEqual(deps.clock.calls.slice(1), ['close', 'unlock']);
});

test('a large offset is stepped; --step and --slew force the choice; --threshold moves the line', async () => {
  const big = safe({ query: fakeQuery({ a: 0.7, b: 0.7, c: 0.7 }).query });
  const r = await runSync(['a', 'b', 'c'], big);
  assert.equal(r.code, ExitCode.OK, r.err);
  assert.equal(r.out.trim(), 'Stepped the system clock by +0.700000000 s');
  assert.deepEqual(big.clock.calls, ['step 0.7', 'close', 'unlock']);
  const forced = safe();
  await runSync(['--step', 'a', 'b', 'c'], forced);
  assert.match(forced.clock.calls[0] ?? '', /^step 0\.0123/);
  const slewed = safe({ query: fakeQuery({ a: 0.7, b: 0.7, c: 0.7 }).query });
  await runSync(['--slew', 'a', 'b', 'c'], slewed);
  assert.equal(slewed.clock.calls[0], 'slew 0.7');
  const low = safe();
  await runSync(['--threshold', '0.01', 'a', 'b', 'c'], low);
  assert.match(low.clock.calls[0] ?? '', /^step/);
  assert.equal((await runSync(['--step', '--slew', 'a'], safe())).code, ExitCode.USAGE);
});

test('refused when chronyd runs: names it, says how to disable it, changes nothing, and does not even sample', async () => {
  const { query, asked } = fakeQuery(GOOD);
  const deps = safe({ ownership: () => CHRONYD, query });
  const r = await runSync(['a', 'b', 'c'], deps);
  assert.equal(r.code, ExitCode.GENERAL_FAILURE);
  assert.match(r.err, /Refusing to set the system clock/);
  assert.match(r.err, /chronyd is running \(PID 812.*systemctl disable --now chrony/);
  assert.deepEqual(deps.clock.calls, []);
  assert.deepEqual(asked, []);
});

test('--force overrides, with a warning naming what it overrode', async () => {
  const deps = safe({ ownership: () => CHRONYD });
  const r = await runSync(['--force', 'a', 'b', 'c'], deps);
  assert.equal(r.code, ExitCode.OK, r.err);
  assert.match(r.err, /warning: --force: overriding 1 finding: chronyd is running \(PID 812/);
  assert.match(deps.clock.calls[0] ?? '', /^slew/);
});

test('without CAP_SYS_TIME: one clear line, no stack trace, and the hint of --dry-run', async () => {
  const deps = safe({ clockControl: () => ({ ok: false, reason: 'Disciplining the system clock needs CAP_SYS_TIME: run as root or grant the capability; use --clock virtual' }) });
  const r = await runSync(['a', 'b', 'c'], deps);
  assert.equal(r.code, ExitCode.GENERAL_FAILURE);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.match(r.err, /^ntpkit sync: cannot change the system clock: Disciplining the system clock needs CAP_SYS_TIME.*--dry-run/);
  assert.doesNotMatch(r.err, /use --clock virtual|at .*\.js/);
  assert.deepEqual(deps.clock.calls, []);
});

test('--dry-run needs neither the ownership checks nor privileges, and changes nothing', async () => {
  const deps = safe({
    clockControl: () => { throw new Error('must not be asked'); },
    ownership: () => { throw new Error('must not be asked'); },
    createClock: () => { throw new Error('must not be created'); },
  });
  const r = await runSync(['--dry-run', 'a', 'b', 'c', 'liar'], deps);
  assert.equal(r.code, ExitCode.OK, r.err);
  assert.match(r.out, /^Dry run: would slew the system clock by \+0\.0123\d\d s \(kernel adjtime, about 25 s at 500 ppm\)/m);
});

test('a clock change that fails (EPERM) is reported in a line, exit 1, the lock released', async () => {
  const clock = new FakeClock();
  clock.slewOnce = () => { throw new Error('Cannot slew the clock: adjtime says Operation not permitted'); };
  const deps = safe({ createClock: () => clock });
  const r = await runSync(['a', 'b', 'c'], deps);
  assert.equal(r.code, ExitCode.GENERAL_FAILURE);
  assert.match(r.err, /Operation not permitted; the clock was not changed/);
  assert.deepEqual(deps.clock.calls, ['unlock']);
});

test('--json gives the whole result', async () => {
  const r = await runSync(['--json', '--dry-run', 'a', 'b', 'c', 'liar'], safe());
  const doc = JSON.parse(r.out) as Record<string, unknown>;
  assert.equal(doc.schema, 'ntpkit.sync/1');
  assert.equal(doc.ok, true);
  assert.equal(doc.action, 'slew');
  assert.equal(doc.changed, false);
  assert.deepEqual(doc.falsetickers, ['liar']);
  assert.equal((doc.servers as unknown[]).length, 4);
  assert.equal(r.err, '', 'no progress lines mixed in with --json');
});

test('servers from -f CONFIG, and its makestep threshold', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ntpkit-sync-'));
  try {
    const conf = join(dir, 'chrony.conf');
    writeFileSync(conf, 'server 127.0.0.2 iburst\nserver 127.0.0.3 port 1123\npool 127.0.0.4\nmakestep 0.01 3\n');
    const { query, asked } = fakeQuery({ '127.0.0.2': 0.02, '127.0.0.3:1123': 0.02, '127.0.0.4': 0.02 });
    const deps = safe({ query });
    const r = await runSync(['-f', conf], deps);
    assert.equal(r.code, ExitCode.OK, r.err);
    assert.deepEqual(asked, [['127.0.0.2', '127.0.0.3:1123', '127.0.0.4']]);
    assert.deepEqual(deps.clock.calls[0], 'step 0.02'); // 20 ms > makestep's 10 ms
    writeFileSync(conf, 'server 127.0.0.2\nbogus directive here\n');
    const bad = await runSync(['-f', conf], safe());
    assert.equal(bad.code, ExitCode.USAGE);
    assert.match(bad.err, /chrony\.conf:2: /);
    writeFileSync(conf, 'driftfile /tmp/x\n');
    assert.match((await runSync(['-f', conf], safe())).err, /has no server or pool lines/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no majority or no answer: refused, clock untouched, exit codes as documented', async () => {
  const split = safe({ query: fakeQuery({ a: 0, b: 2.5, c: -3 }).query });
  const r = await runSync(['a', 'b', 'c'], split);
  assert.equal(r.code, ExitCode.GENERAL_FAILURE);
  assert.match(r.err, /No majority/);
  assert.deepEqual(split.clock.calls, []);
  const silent = safe({ query: fakeQuery({}).query });
  const s = await runSync(['a', 'b'], silent);
  assert.equal(s.code, ExitCode.TIMEOUT);
  assert.match(s.err, /No server gave a usable time/);
  assert.equal((await runSync([], safe())).code, ExitCode.USAGE);
});

test('a single server: warned, refused without --force (before sampling), set with --force; --dry-run only warns', async () => {
  const { query, asked } = fakeQuery(GOOD);
  const deps = safe({ query });
  const r = await runSync(['a'], deps);
  assert.equal(r.code, ExitCode.GENERAL_FAILURE);
  assert.equal(r.err, 'ntpkit sync: a is the only server: nothing checks that it tells the truth, and a wrong time from it would be set as it is; name 3 or more servers, or give --force to trust it alone; the clock was not changed\n');
  assert.deepEqual(asked, [], 'refused before sampling');
  assert.deepEqual(deps.clock.calls, []);

  const forced = safe();
  const f = await runSync(['--force', 'a'], forced);
  assert.equal(f.code, ExitCode.OK, f.err);
  assert.match(f.err, /^ntpkit sync: warning: a is the only server: nothing checks that it tells the truth; --force: its time is trusted alone$/m);
  assert.match(f.err, /warning: only 1 usable source \(a\)/);
  assert.match(forced.clock.calls[0] ?? '', /^slew 0\.0123/);

  const dry = await runSync(['--dry-run', 'a'], safe());
  assert.equal(dry.code, ExitCode.OK, dry.err);
  assert.match(dry.err, /warning: a is the only server/);
  assert.match(dry.out, /^Dry run: would slew/m);

  const json = await runSync(['--json', 'a'], safe());
  assert.equal((JSON.parse(json.out) as { reason: string }).reason, 'single-source');
});

test('several servers named, one answering: the same refusal without --force, after sampling', async () => {
  const deps = safe({ query: fakeQuery({ a: 0.0123 }).query });
  const r = await runSync(['a', 'b', 'c'], deps);
  assert.equal(r.code, ExitCode.GENERAL_FAILURE);
  assert.match(r.err, /ntpkit sync: a is the only one of the 3 servers that answered: nothing checks that it tells the truth.*--force.*the clock was not changed/);
  assert.deepEqual(deps.clock.calls, []);
  const forced = safe({ query: fakeQuery({ a: 0.0123 }).query });
  assert.equal((await runSync(['--force', 'a', 'b', 'c'], forced)).code, ExitCode.OK);
  assert.match(forced.clock.calls[0] ?? '', /^slew/);
});

test('a config with a single server line: validate\'s warning, and sync refuses it without --force', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ntpkit-sync-'));
  try {
    const conf = join(dir, 'ntp.conf');
    writeFileSync(conf, 'driftfile /var/lib/ntp/drift\nserver 127.0.0.2 iburst\n');
    const r = await runSync(['-f', conf], safe({ query: fakeQuery({ '127.0.0.2': 0.02 }).query }));
    assert.equal(r.code, ExitCode.GENERAL_FAILURE);
    assert.match(r.err, /127\.0\.0\.2 is the only server/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
